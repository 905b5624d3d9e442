"""The briefing: one self-contained HTML file with the map, the top sites, charts and caveats.

The map is the full offline map page embedded in an ``<iframe srcdoc>`` (escaped as an
attribute value, sandboxed to scripts and downloads), so it keeps its own styles and scripts
and the briefing still opens as a single file with no request. Charts are inline SVG
(:mod:`maps.charts`). Every value that comes from a table or the manifest is escaped.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from maps.assets import offline_problems
from maps.charts import (
    bar_chart_svg,
    paired_bar_chart_svg,
    step_chart_svg,
    week_hour_chart_svg,
)
from maps.errors import OfflineError
from maps.save import write_atomic
from maps.style import RISK_BINS, RISK_COLOURS, risk_classes, vendor_colours, vendor_name
from maps.tables import SITE_COLUMNS, _distance, _duration, _numbers, _percent, checked
from maps.text import MISSING, text

__all__ = ["CAVEATS", "briefing_html", "save_briefing"]

#: What every briefing says about the limits of its numbers.
CAVEATS: tuple[str, ...] = (
    "Exposure is an estimate from flight logs and a camera model, not a record of what was "
    "photographed. In potential mode a site counts as in view whenever it was within the "
    "camera's reach, wherever the camera actually pointed: the figures are an upper bound.",
    "Image quality is given on the civil NIIRS scale from the ground sample distance (GIQE 5 "
    "with assumed signal-to-noise and sharpness); haze, light, motion blur and compression "
    "lower it in practice.",
    "Without a terrain model the ground is taken as level with the take-off point; hills and "
    "buildings that block the view are not accounted for.",
    "Leak probabilities are scenario results: each channel's chance of leaking is an assumption "
    "listed with the leak run, and the results are only as good as those assumptions.",
    "Site outlines come from public catalogues; a point site is drawn as a circle of a "
    "standard radius for its category.",
)

_TOP_SITES = 15
_TOP_PATTERNS = 6
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_OUTLINED = ("high", "medium")  # a usual time worth pointing at

_CSS = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --band: #1f2933; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f5f7fa;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
.banner { background: var(--band); color: #fff; text-align: center; font-weight: 600;
  letter-spacing: 0.06em; font-size: 13px; line-height: 26px; padding: 0 12px; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 32px; }
header h1 { font-size: 24px; margin: 8px 0 2px; }
header p { margin: 0; color: var(--muted); }
.status { display: inline-block; margin-left: 6px; font-weight: 600; color: #1b7837; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px;
  padding: 14px 18px; margin: 16px 0; }
section h2 { font-size: 17px; margin: 0 0 8px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr));
  gap: 10px; }
.figure { border-left: 4px solid #1f4e9e; padding: 2px 10px; }
.figure b { display: block; font-size: 22px; }
.figure span { color: var(--muted); font-size: 12.5px; }
iframe.map { width: 100%; height: 720px; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { color: var(--muted); font-weight: 600; background: #f5f7fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.risk { display: inline-block; min-width: 3.2em; text-align: center; border-radius: 3px;
  padding: 0 4px; border: 1px solid rgba(0, 0, 0, 0.25); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr));
  gap: 12px 24px; }
.charts h3 { font-size: 14px; margin: 6px 0 4px; }
.note { color: var(--muted); font-size: 12.5px; }
dl.params { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
dl.params dt { color: var(--muted); }
dl.params dd { margin: 0; overflow-wrap: anywhere; }
@media print { iframe.map { height: 520px; } section { break-inside: avoid; } }
"""


def _risk_cell(score: float) -> str:
    if np.isnan(score):
        return MISSING
    k = int(risk_classes([score], bins=RISK_BINS)[0])
    ink = "#ffffff" if k >= 3 else "#1f2933"
    return (
        f'<span class="risk" style="background:{RISK_COLOURS[k]};color:{ink}">{score:.0f}</span>'
    )


def _top_sites_table(sites: pd.DataFrame, leaks: pd.DataFrame | None) -> str:
    seen = sites[_numbers(sites["flights"]) > 0]
    order = np.argsort(-np.nan_to_num(_numbers(seen["risk_score"]), nan=-1.0), kind="stable")
    top = seen.iloc[order[:_TOP_SITES]]
    leak_col = None
    if leaks is not None and {"site_id", "p_any_imagery_leaked"} <= set(leaks.columns):
        leak_col = pd.Series(
            _numbers(leaks["p_any_imagery_leaked"]), index=leaks["site_id"].astype("string")
        ).groupby(level=0).first()
    head = (
        "<tr><th class=num>#</th><th>Site</th><th>Category</th><th class=num>Sens.</th>"
        "<th class=num>Flights</th><th class=num>Drones</th><th class=num>In view</th>"
        "<th class=num>Closest</th><th>Best NIIRS</th><th class=num>Area imaged</th>"
        + ("<th class=num>Imagery leaked</th>" if leak_col is not None else "")
        + "<th class=num>Risk</th></tr>"
    )
    rows = []
    for i, r in enumerate(top.itertuples(index=False), start=1):
        niirs = float(pd.to_numeric(r.best_niirs, errors="coerce"))
        meaning = text(r.best_niirs_meaning)
        leak = ""
        if leak_col is not None:
            p = leak_col.get(str(r.site_id), np.nan)
            leak = f"<td class=num>{_percent(float(p))}</td>"
        rows.append(
            f"<tr><td class=num>{i}</td><td>{text(r.name)}<br><span class=note>"
            f"{text(r.site_id)}</span></td><td>{text(r.category)}</td>"
            f"<td class=num>{text(r.sensitivity)}</td><td class=num>{text(r.flights)}</td>"
            f"<td class=num>{text(r.drones)}</td>"
            f"<td class=num>{_duration(float(pd.to_numeric(r.seconds_in_view)))}</td>"
            f"<td class=num>{_distance(float(pd.to_numeric(r.min_slant_range_m)))}</td>"
            f"<td>{MISSING if np.isnan(niirs) else f'{niirs:.1f}'}"
            f"{'' if meaning == MISSING else f'<br><span class=note>{meaning}</span>'}</td>"
            f"<td class=num>{_percent(float(pd.to_numeric(r.coverage_fraction)))}</td>"
            f"{leak}<td class=num>{_risk_cell(float(pd.to_numeric(r.risk_score)))}</td></tr>"
        )
    if not rows:
        return "<p>No site came within reach of any flight.</p>"
    more = len(seen) - len(top)
    tail = f"<p class=note>and {more} more sites in view (see site_exposure.csv).</p>" * (more > 0)
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>{tail}"


def _hours(seconds: float) -> str:
    return _duration(seconds)


def _charts(
    sites: pd.DataFrame,
    passes: pd.DataFrame | None,
    flights: pd.DataFrame | None,
    leaks: pd.DataFrame | None,
    replacement: pd.DataFrame | None,
) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    seen = _numbers(sites["flights"]) > 0
    cats = pd.DataFrame({"c": sites["category"].astype("string").fillna("other"), "seen": seen,
                         "s": np.nan_to_num(_numbers(sites["seconds_in_view"]))})  # fmt: skip
    by_cat = cats.groupby("c").agg(seen=("seen", "sum"), total=("seen", "size"), s=("s", "sum"))
    by_cat = by_cat[by_cat["seen"] > 0].sort_values(["s", "seen"], ascending=False)
    if len(by_cat):
        out.append((
            "Exposure by category",
            bar_chart_svg(by_cat.index, by_cat["s"], title="Time in view by site category",
                          value_format=_hours),
            "Time in view summed over the sites of each category; "
            + ", ".join(f"{text(c)}: {int(n)} of {int(t)} sites seen"
                        for c, n, t in zip(by_cat.index, by_cat["seen"], by_cat["total"],
                                           strict=True)),
        ))  # fmt: skip
    if passes is not None and len(passes) and flights is not None and "vendor" in flights:
        vend = pd.Series(pd.DataFrame(flights)["vendor"].to_numpy(),
                         index=pd.DataFrame(flights)["flight_id"].astype("string"))
        vend = vend[~vend.index.duplicated()]
        p = pd.DataFrame({"v": passes["flight_id"].astype("string").map(vend).map(vendor_name),
                          "s": np.nan_to_num(_numbers(passes["seconds_in_view"]))})
        by_v = p.groupby("v")["s"].sum().sort_values(ascending=False)
        colours = vendor_colours(by_v.index)
        out.append((
            "Exposure by vendor",
            bar_chart_svg(by_v.index, by_v.to_numpy(), title="Time in view by vendor",
                          value_format=_hours, colours=[colours[v] for v in by_v.index]),
            "Time with a site in view, summed over all passes of the vendor's drones.",
        ))  # fmt: skip
    leaked = _leaked_coverage_column(leaks)
    if leaks is not None and leaked is not None:
        joined = pd.DataFrame(sites[["site_id", "name", "coverage_fraction", "risk_score"]]).assign(
            site_id=lambda f: f["site_id"].astype("string")
        ).merge(pd.DataFrame({"site_id": leaks["site_id"].astype("string"),
                              "leaked": _numbers(leaks[leaked])}), on="site_id", how="inner")
        joined = joined[np.isfinite(_numbers(joined["coverage_fraction"]))]
        joined = joined.sort_values("risk_score", ascending=False).head(10)
        if len(joined):
            out.append((
                "Leaked versus observed",
                paired_bar_chart_svg(joined["name"], _numbers(joined["coverage_fraction"]),
                                     _numbers(joined["leaked"]),
                                     names=("area imaged", "expected area leaked"),
                                     title="Observed and expected leaked coverage"),
                f"Share of each site's area imaged, and its expected leaked share "
                f"({text(leaked)}), for the riskiest sites.",
            ))  # fmt: skip
    if replacement is not None and {"cost", "cumulative_reduction_share"} <= set(replacement):
        plan = pd.DataFrame(replacement)
        if "rank" in plan:
            plan = plan.sort_values("rank", kind="stable")
        cost = np.nancumsum(_numbers(plan["cost"]))
        share = _numbers(plan["cumulative_reduction_share"])
        if len(plan):
            out.append((
                "Replacement curve",
                step_chart_svg(cost, share, title="Risk reduction against replacement cost",
                               x_label="cumulative replacement cost",
                               y_label="risk reduction"),
                "Drones replaced in order of risk reduction per unit of cost.",
            ))  # fmt: skip
    return out


def _pattern_note(r: pd.Series) -> str:
    def share(name: str) -> str:
        return _percent(float(pd.to_numeric(r.get(name), errors="coerce")))

    n = pd.to_numeric(r.get("visits"), errors="coerce")
    words = []
    if not pd.isna(r.get("usual_time")):
        words.append(f"Usual time {text(r.get('usual_time'))} ({text(r.get('time_zone'))}): "
                     f"{share('usual_share')} of {text(n)} visits within ±1 h; regularity "
                     f"{text(r.get('regularity'))}.")
    else:
        words.append(f"{text(n)} visit{'' if n == 1 else 's'} by the fleet: too few to rate "
                     "their regularity.")
    if not pd.isna(r.get("trend")):
        words.append(f"Last four weeks: {text(r.get('trend'))}.")
    if not pd.isna(r.get("operators")):
        words.append(f"Flown by {text(r.get('operators'))}.")
    third = pd.to_numeric(r.get("third_party_visits"), errors="coerce")
    if third > 0:
        words.append(f"{text(third)} visits by third parties' drones (orange dots).")
    if not pd.isna(pd.to_numeric(r.get("expected_share_known"), errors="coerce")):
        learnt = pd.to_numeric(r.get("p_usual_time_learnt"), errors="coerce")
        words.append(f"From leaked positions: {share('expected_share_known')} of visits known "
                     f"(5–95 %: {share('share_known_p05')}–{share('share_known_p95')})"
                     + ("." if pd.isna(learnt) else
                        f"; usual time learnt in {share('p_usual_time_learnt')} of draws."))
    return " ".join(words)


def _pattern_section(patterns: pd.DataFrame | None, visits: pd.DataFrame | None) -> str:
    """Weekday × hour charts of the most visited sites, or nothing without pattern tables."""
    if patterns is None or visits is None or "site_id" not in patterns or not {
        "site_id", "weekday", "hour"
    } <= set(visits.columns):
        return ""
    p = pd.DataFrame(patterns)
    own = np.nan_to_num(_numbers(p["visits"])) if "visits" in p else np.zeros(len(p))
    other = (np.nan_to_num(_numbers(p["third_party_visits"])) if "third_party_visits" in p
             else np.zeros(len(p)))
    share = (np.nan_to_num(_numbers(p["usual_share"])) if "usual_share" in p
             else np.zeros(len(p)))
    # The most visited first; among equals, the most predictable.
    order = np.lexsort((-other, -share, -own))
    top = p.iloc[order[: _TOP_PATTERNS]][(own + other)[order[: _TOP_PATTERNS]] > 0]
    if not len(top):
        return ""
    v = pd.DataFrame(visits)
    site = v["site_id"].astype("string").to_numpy(object)
    third = (v["third_party"].astype("boolean").fillna(False).to_numpy(bool)
             if "third_party" in v else np.zeros(len(v), bool))
    blocks = []
    # One chart per shown site (a handful), each over that site's visits.
    for _, r in top.iterrows():
        mine = site == str(r["site_id"])
        day, hour = r.get("usual_weekday"), pd.to_numeric(r.get("usual_hour"), errors="coerce")
        usual = ((_DAYS.index(day), int(hour))
                 if day in _DAYS and not pd.isna(hour) and r.get("regularity") in _OUTLINED
                 else None)
        name = r.get("name") if not pd.isna(r.get("name")) else r["site_id"]
        svg = week_hour_chart_svg(
            _numbers(v.loc[mine, "weekday"]), _numbers(v.loc[mine, "hour"]),
            third_party=third[mine], usual=usual,
            title=f"Visits to {name} by weekday and hour (local time)",
        )
        blocks.append(f"<div><h3>{text(name)}</h3>{svg}<p class=note>{_pattern_note(r)}</p></div>")
    return (
        "<section><h2>Visit patterns</h2><p class=note>When the most visited sites are visited, "
        "by weekday (rows) and hour (columns) in each site's local time, as someone holding the "
        "flights' positions would see it; a regular site's usual hour is outlined in red. See "
        "site_patterns.csv for every site.</p>"
        f'<div class="charts">{"".join(blocks)}</div></section>'
    )


def _leaked_coverage_column(leaks: pd.DataFrame | None) -> str | None:
    if leaks is None:
        return None
    found = [c for c in leaks.columns if str(c).startswith("expected_leaked_coverage")]
    if found:
        return str(sorted(found, key=len)[0])
    return "p_any_imagery_leaked" if "p_any_imagery_leaked" in leaks.columns else None


def _dl(items: Mapping[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, Mapping):
            return ", ".join(f"{text(k)} {text(x)}" for k, x in v.items())
        if isinstance(v, Sequence) and not isinstance(v, str):
            return ", ".join(text(x) for x in v)
        return text(v)

    rows = "".join(f"<dt>{text(k)}</dt><dd>{value(v)}</dd>" for k, v in items.items())
    return f'<dl class="params">{rows}</dl>'


def _figures(sites: pd.DataFrame, manifest: Mapping[str, object]) -> str:
    counts = manifest.get("counts") if isinstance(manifest.get("counts"), Mapping) else {}
    totals = manifest.get("totals") if isinstance(manifest.get("totals"), Mapping) else {}
    seen = int((_numbers(sites["flights"]) > 0).sum())
    high = int((_numbers(sites["risk_score"]) >= RISK_BINS[-2]).sum())
    logs = manifest.get("inputs", {})
    n_logs = len(logs.get("flight_logs", [])) if isinstance(logs, Mapping) else 0
    items = [
        (f"{seen:,} of {len(sites):,}", "sites within a camera's reach"),
        (f"{high:,}", f"sites with risk {RISK_BINS[-2]:g} or more"),
        (f"{counts.get('passes', MISSING)}", "passes (a site in view)"),
        (f"{n_logs:,}", "flight logs"),
        (f"{totals.get('rows_kept', counts.get('samples', MISSING))}", "telemetry samples"),
    ]
    return "".join(
        f'<div class="figure"><b>{text(a)}</b><span>{text(b)}</span></div>' for a, b in items
    )


def briefing_html(
    site_exposure: pd.DataFrame,
    *,
    map_page: str,
    manifest: Mapping[str, object],
    passes: pd.DataFrame | None = None,
    flights: pd.DataFrame | None = None,
    site_leaks: pd.DataFrame | None = None,
    replacement_plan: pd.DataFrame | None = None,
    site_patterns: pd.DataFrame | None = None,
    visits: pd.DataFrame | None = None,
    title: str = "Drone exposure of sensitive sites",
    banner: str | None = None,
    generated: str | None = None,
) -> str:
    """Build the briefing page.

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table. Not modified (nor is any other table).
    map_page : str
        The rendered offline map (:func:`maps.save.render_html`), embedded as it is.
    manifest : mapping
        The run's ``manifest.json``: assumptions, parameters, counts, versions.
    passes, flights : pandas.DataFrame, optional
        For the exposure-by-vendor chart.
    site_leaks : pandas.DataFrame, optional
        Per-site leak results: a column in the top-sites table and the leaked-versus-observed
        chart (``expected_leaked_coverage...`` or ``p_any_imagery_leaked``).
    replacement_plan : pandas.DataFrame, optional
        ``rank``, ``cost``, ``cumulative_reduction_share``: the replacement curve.
    site_patterns, visits : pandas.DataFrame, optional
        The tables of ``exposure patterns``: a weekday × hour chart of the visits to each of
        the most visited sites (``visits`` needs ``site_id``, ``weekday``, ``hour`` and
        optionally ``third_party``).
    title : str
        Heading; escaped.
    banner : str, optional
        Classification or caveat line at the top and bottom; escaped.
    generated : str, optional
        When the briefing was made (shown as given).

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    MapError
        If the site table lacks a column.
    OfflineError
        If the map or the page would make a network request.

    Examples
    --------
    >>> from shapely import box
    >>> import geopandas as gpd
    >>> row = dict.fromkeys(SITE_COLUMNS, float("nan")) | {"name": "Dam <1>", "flights": 2,
    ...        "risk_score": 70.0, "category": "dam", "seconds_in_view": 90.0}
    >>> sites = gpd.GeoDataFrame([row], geometry=[box(0, 0, 1, 1)], crs=4326)
    >>> page = briefing_html(sites, map_page="<p>map</p>", manifest={"assumptions": ["flat"]})
    >>> "Dam &lt;1&gt;" in page, 'srcdoc="&lt;p&gt;map&lt;/p&gt;"' in page, "flat" in page
    (True, True, True)
    """
    sites = checked(site_exposure, SITE_COLUMNS, what="site_exposure")
    problems = offline_problems(map_page)
    if problems:
        raise OfflineError("the embedded map would load: " + "; ".join(problems[:5]))
    charts = _charts(sites, passes, flights, site_leaks, replacement_plan)
    chart_html = "".join(
        f"<div><h3>{text(name)}</h3>{svg}<p class=note>{note}</p></div>"
        for name, svg, note in charts
    ) or "<p>No chart: nothing was in view.</p>"
    assumptions = manifest.get("assumptions") or []
    params = manifest.get("parameters") if isinstance(manifest.get("parameters"), Mapping) else {}
    versions = manifest.get("versions") if isinstance(manifest.get("versions"), Mapping) else {}
    stamp = generated or str(manifest.get("started_utc", MISSING))
    band = "" if banner is None else f'<div class="banner" role="note">{text(banner)}</div>'
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text(banner or title)}</title><style>{_CSS}</style></head>
<body>{band}<main>
<header><h1>{text(title)}</h1><p>Generated {text(stamp)} · exposure {text(
        versions.get("exposure", MISSING))}<span class="status">● offline: this file makes no
network request</span></p></header>
<section><h2>Key figures</h2><div class="figures">{_figures(sites, manifest)}</div></section>
<section><h2>Risk map</h2>
<iframe class="map" title="Interactive risk map" sandbox="allow-scripts allow-downloads"
 srcdoc="{html.escape(map_page, quote=True)}"></iframe>
<p class=note>Hover a site for its details; the layer control (top right) switches layers, the
time window (top left) filters flights and passes, and <b>Draw zones</b> exports proposed no-fly
zones as GeoJSON.</p></section>
<section><h2>Most exposed sites</h2>{_top_sites_table(sites, site_leaks)}</section>
<section><h2>Charts</h2><div class="charts">{chart_html}</div></section>
{_pattern_section(site_patterns, visits)}
<section><h2>Assumptions of this run</h2><ul>{
        "".join(f"<li>{text(a)}</li>" for a in assumptions) or "<li>none recorded</li>"
    }</ul><h3>Parameters</h3>{_dl(params)}</section>
<section><h2>Caveats</h2><ul>{"".join(f"<li>{text(c)}</li>" for c in CAVEATS)}</ul>
<p class=note>Versions: {text(", ".join(f"{k} {v}" for k, v in versions.items()))}</p></section>
</main>{band}</body></html>
"""
    outer = page.replace(html.escape(map_page, quote=True), "")
    problems = offline_problems(outer)
    if problems:
        raise OfflineError("the briefing would load: " + "; ".join(problems[:5]))
    return page


def save_briefing(page: str, path: str | os.PathLike[str]) -> Path:
    """Write a briefing page atomically (see :func:`maps.save.write_atomic`).

    Parameters
    ----------
    page : str
        Output of :func:`briefing_html`.
    path : str or os.PathLike
        Target file; its directory must exist.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    return write_atomic(page.encode("utf-8"), path)

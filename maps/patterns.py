"""The visit-pattern layer: how predictable each site's visits are.

One marker per site with a rated pattern (``site_patterns.csv`` of ``exposure patterns``), on a
point inside the site's polygon, filled by the ``regularity`` class: dark purple for ``high``
(most visits within ±1 h of one time of the week), lighter for ``medium`` and ``low``, white with
a dashed outline for sites with too few visits to rate. The tooltip gives the usual time in the
site's local time, the regularity measures, the trend, who flew, third parties' drones, and what
leaked positions would give away. The colours are ColorBrewer's sequential Purples, which stay
apart from the yellow-to-red site fills underneath.
"""

from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from maps.errors import MapError
from maps.layers import features, tooltip_for
from maps.panels import HtmlControl, add_page_style
from maps.tables import _numbers, _percent, checked
from maps.text import MISSING, text, texts

__all__ = ["PATTERN_COLOURS", "PATTERN_FIELDS", "add_site_patterns", "pattern_display"]

#: Fill of each regularity class, most predictable first; the last is "too few visits".
PATTERN_COLOURS: dict[str, str] = {
    "high": "#54278f", "medium": "#9e9ac8", "low": "#f2f0f7", "unrated": "#ffffff",
}
_LABELS = {
    "high": "high: one usual weekly time", "medium": "medium", "low": "low: no usual time",
    "unrated": "too few visits to rate",
}

#: Tooltip rows of a site's pattern: property name → label.
PATTERN_FIELDS: dict[str, str] = {
    "site": "Site",
    "visits": "Visits",
    "usual": "Usual time (local)",
    "regularity": "Regularity",
    "daily": "Daily rhythm",
    "trend": "Trend",
    "operators": "Flown by",
    "third": "Third-party drones",
    "leaked": "From leaked positions",
}

#: Columns of ``site_patterns`` the layer reads (the rest are shown where present).
PATTERN_COLUMNS = ("site_id", "visits", "regularity")


def _share(value: float) -> str:
    return MISSING if np.isnan(value) else f"{100 * value:.0f} %"


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series(pd.NA, index=frame.index, dtype="object")


def pattern_display(site_patterns: pd.DataFrame, sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Display text of each site's pattern, at a point inside the site.

    Parameters
    ----------
    site_patterns : pandas.DataFrame
        ``site_patterns`` (at least ``site_id``, ``visits``, ``regularity``). Not modified.
    sites : geopandas.GeoDataFrame
        ``site_id``, ``name`` and the site polygons. Not modified.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`PATTERN_FIELDS` (escaped strings), ``pattern_class`` and the marker
        points, EPSG:4326; sites without a polygon are left out.

    Raises
    ------
    MapError
        If a table lacks a column or a CRS.

    Examples
    --------
    >>> from shapely import box
    >>> sites = gpd.GeoDataFrame({"site_id": ["s"], "name": ["Dam <1>"]},
    ...                          geometry=[box(139, 35, 139.01, 35.01)], crs=4326)
    >>> patterns = pd.DataFrame({"site_id": ["s"], "visits": [10], "regularity": ["high"],
    ...     "usual_time": ["Tue 10:00"], "usual_share": [0.9], "time_zone": ["Asia/Tokyo"]})
    >>> d = pattern_display(patterns, sites).iloc[0]
    >>> d["site"], d["usual"], d["pattern_class"]
    ('Dam &lt;1&gt;', 'Tue 10:00 (Asia/Tokyo), 90 % of visits within ±1 h', 'high')
    """
    missing = [c for c in PATTERN_COLUMNS if c not in site_patterns]
    if missing:
        raise MapError(f"site_patterns: missing columns {missing}")
    shapes = checked(sites, ["site_id", "name"], what="sites")
    shapes = shapes.assign(site_id=shapes["site_id"].astype("string")).drop_duplicates("site_id")
    p = pd.DataFrame(site_patterns).assign(site_id=lambda f: f["site_id"].astype("string"))
    p = p.merge(shapes, on="site_id", how="inner", suffixes=("_pattern", ""))
    n = _numbers(p["visits"])
    cls = _column(p, "regularity").astype("string").fillna("unrated")
    cls = cls.where(cls.isin(list(PATTERN_COLOURS)), "unrated")
    share, daily = _numbers(_column(p, "usual_share")), _numbers(_column(p, "daily_share"))
    entropy = _numbers(_column(p, "entropy_score"))
    usual, zone = texts(_column(p, "usual_time")), texts(_column(p, "time_zone"))
    day = texts(_column(p, "daily_time"))
    third = _numbers(_column(p, "third_party_visits"))
    third_who = texts(_column(p, "third_party_operators"))
    known, ident = _numbers(_column(p, "expected_share_known")), _numbers(
        _column(p, "p_usual_time_learnt"))
    k05, k95 = _numbers(_column(p, "share_known_p05")), _numbers(_column(p, "share_known_p95"))
    names, ids = texts(p["name"]), texts(p["site_id"])
    out = pd.DataFrame({
        "site": [f"{a}" if a != MISSING else b for a, b in zip(names, ids, strict=True)],
        "visits": [MISSING if np.isnan(v) else f"{v:.0f}" for v in n],
        "usual": [MISSING if u == MISSING else f"{u} ({z}), {_share(s)} of visits within ±1 h"
                  for u, z, s in zip(usual, zone, share, strict=True)],
        "regularity": [
            _LABELS["unrated"] if c == "unrated"
            else f"{c}" + ("" if np.isnan(e) else f" (entropy score {e:.2f})")
            for c, e in zip(cls, entropy, strict=True)
        ],
        "daily": [MISSING if h == MISSING else f"{h}, {_share(d)} of visits within ±1 h"
                  for h, d in zip(day, daily, strict=True)],
        "trend": texts(_column(p, "trend")),
        "operators": texts(_column(p, "operators")),
        "third": [MISSING if np.isnan(t) or t == 0 else f"{t:.0f} visits ({w})"
                  for t, w in zip(third, third_who, strict=True)],
        "leaked": [
            MISSING if np.isnan(k)
            else f"{_percent(k)} of visits known (5–95 %: {_percent(a)}–{_percent(b)})"
            + ("" if np.isnan(i) else f"; usual time learnt in {_percent(i)} of draws")
            for k, a, b, i in zip(known, k05, k95, ident, strict=True)
        ],
        "pattern_class": cls.to_numpy(object),
    })
    points = shapely.point_on_surface(np.asarray(p.geometry.array, dtype=object))
    return gpd.GeoDataFrame(out, geometry=points, crs="EPSG:4326")


def _legend(classes: pd.Series, title: str) -> str:
    counts = classes.value_counts()
    rows = []
    for key, colour in PATTERN_COLOURS.items():
        n = int(counts.get(key, 0))
        dashed = " exposure-none" if key == "unrated" else ""
        rows.append(
            f'<div class="exposure-row"><span class="exposure-swatch{dashed}" style="background:'
            f'{colour};border-radius:50%;width:12px"></span>{text(_LABELS[key])}'
            f'<span class="exposure-count">{n} site{"" if n == 1 else "s"}</span></div>'
        )
    return (
        f'<div class="exposure-legend"><div class="exposure-panel-title">{text(title)}: how '
        f'predictable the visits are</div>{"".join(rows)}<div class="exposure-note">Regularity '
        "from the share of visits within ±1 h of the usual time of the week (site's local "
        "time): high from 75 %, medium from 40 %.</div></div>"
    )


def add_site_patterns(
    site_patterns: pd.DataFrame,
    *,
    m: folium.Map,
    sites: gpd.GeoDataFrame,
    name: str = "Visit patterns",
    tooltip: bool = True,
    legend: bool = True,
    show: bool = True,
) -> folium.Map:
    """Mark each visited site by how predictable its visits are.

    Parameters
    ----------
    site_patterns : pandas.DataFrame
        ``site_patterns`` from ``exposure patterns`` (see :func:`pattern_display`). Not modified.
    m : folium.Map
        The map; modified in place.
    sites : geopandas.GeoDataFrame
        ``site_id``, ``name`` and polygons: where the markers go. Not modified.
    name : str
        Layer name; escaped.
    tooltip, legend, show : bool
        Tooltips, the legend in the lower left, visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.

    Raises
    ------
    MapError
        If a table lacks a column or a CRS.

    Examples
    --------
    >>> from shapely import box
    >>> sites = gpd.GeoDataFrame({"site_id": ["s"], "name": ["Dam"]},
    ...                          geometry=[box(139, 35, 139.01, 35.01)], crs=4326)
    >>> patterns = pd.DataFrame({"site_id": ["s"], "visits": [10], "regularity": ["high"]})
    >>> page = add_site_patterns(patterns, m=folium.Map(tiles=None), sites=sites)
    >>> html = page.get_root().render()
    >>> "#54278f" in html, "how predictable" in html
    (True, True)
    """
    display = pattern_display(site_patterns, sites)
    styles: dict[str, dict[str, Any]] = {
        str(i): {
            "color": "#2d004b", "weight": 1.5, "opacity": 0.95, "fillOpacity": 0.95,
            "fillColor": PATTERN_COLOURS[k],
            **({"dashArray": "3 2", "color": "#6b6b6b"} if k == "unrated" else {}),
        }
        for i, k in enumerate(display["pattern_class"])
    }  # fmt: skip
    layer = folium.GeoJson(
        features(display, list(PATTERN_FIELDS)),
        name=text(name),
        style_function=lambda f: dict(styles[str(f["id"])]),
        highlight_function=lambda f: {"weight": 3},
        marker=folium.CircleMarker(radius=7),
        tooltip=tooltip_for(PATTERN_FIELDS) if tooltip and len(display) else None,
        show=show,
    )
    layer.add_to(m)
    add_page_style(m)
    if legend and len(display):
        m.add_child(HtmlControl(_legend(display["pattern_class"], name), position="bottomleft"))
    return m

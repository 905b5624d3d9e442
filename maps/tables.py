"""Check the tables a map draws and turn their rows into escaped display text.

Nothing here touches folium: each builder takes a GeoDataFrame and returns a new one whose
columns are ready-to-show HTML (the tooltip inserts them as HTML): every table value in it is
escaped, and the only markup is this module's own. There is no NaN (not valid JSON) and no
datetime (folium cannot serialise one). The input is never modified.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from maps.errors import MapError
from maps.style import RISK_BINS, risk_classes, risk_labels, vendor_name
from maps.text import MISSING, iso_times, texts

__all__ = [
    "SITE_COLUMNS",
    "SITE_FIELDS",
    "TRACK_COLUMNS",
    "TRACK_FIELDS",
    "bounds",
    "checked",
    "site_display",
    "track_display",
]

#: Columns of ``site_exposure`` that the site layer reads.
SITE_COLUMNS = (
    "site_id", "name", "category", "sensitivity", "flights", "drones", "seconds_in_view",
    "min_slant_range_m", "best_gsd_m", "best_niirs", "best_niirs_meaning", "coverage_fraction",
    "coverage_fraction_niirs5", "first_seen", "last_seen", "mode", "risk_score",
    "risk_explanation",
)  # fmt: skip

#: Columns of ``flights`` that the track layer reads.
TRACK_COLUMNS = ("flight_id", "drone_id", "model", "vendor", "camera", "start", "end", "n_samples")

#: Tooltip rows of a site: property name → label.
SITE_FIELDS: dict[str, str] = {
    "site": "Site",
    "category": "Category",
    "sensitivity": "Sensitivity",
    "visits": "Visits",
    "in_view": "Time in view",
    "closest": "Closest approach",
    "niirs": "Best NIIRS",
    "coverage": "Area imaged",
    "risk": "Risk score",
    "why": "Why",
    "seen": "Seen",
    "mode": "Mode",
}

#: Tooltip rows of a flight track: property name → label.
TRACK_FIELDS: dict[str, str] = {
    "flight": "Flight",
    "drone": "Drone",
    "model": "Model",
    "vendor": "Vendor",
    "camera": "Camera",
    "time": "Time",
    "samples": "Samples",
}


def checked(frame: object, columns: Sequence[str], *, what: str) -> gpd.GeoDataFrame:
    """Check that a table can be drawn and return it in EPSG:4326 without empty geometries.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The table.
    columns : sequence of str
        Columns that must be present.
    what : str
        The argument's name, for messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A new frame with a fresh index (the input is untouched).

    Raises
    ------
    MapError
        Naming every problem at once: not a GeoDataFrame, no CRS, missing columns.

    Examples
    --------
    >>> from shapely import Point
    >>> checked(gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs=4326), ["a", "b"],
    ...         what="sites")
    Traceback (most recent call last):
    ...
    maps.errors.MapError: sites: missing columns ['b']
    """
    if not isinstance(frame, gpd.GeoDataFrame):
        raise MapError(f"{what}: expected a GeoDataFrame, got {type(frame).__name__}")
    problems = []
    if frame.crs is None:
        problems.append("no CRS (expected EPSG:4326 or a CRS that converts to it)")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        problems.append(f"missing columns {missing}")
    if problems:
        raise MapError(f"{what}: " + "; ".join(problems))
    out = frame[[*columns, frame.geometry.name]].copy()
    if not out.crs.equals("EPSG:4326"):
        out = out.to_crs("EPSG:4326")
    keep = ~(out.geometry.isna() | out.geometry.is_empty).to_numpy()
    return out.loc[keep].reset_index(drop=True)


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)


def _duration(seconds: float) -> str:
    if np.isnan(seconds):
        return MISSING
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _distance(metres: float) -> str:
    if np.isnan(metres):
        return MISSING
    return f"{metres:,.0f} m" if metres < 1000 else f"{metres / 1000:,.1f} km"


def _percent(fraction: float) -> str:
    return MISSING if np.isnan(fraction) else f"{100 * fraction:.0f} %"


def _plural(n: float, noun: str) -> str:
    return f"{n:.0f} {noun}{'' if n == 1 else 's'}"


def _visits(flights: float, drones: float) -> str:
    if np.isnan(flights):
        return MISSING
    return f"{_plural(flights, 'flight')}, {_plural(0 if np.isnan(drones) else drones, 'drone')}"


def _niirs(niirs: float, gsd: float, meaning: str) -> str:
    if np.isnan(niirs):
        return MISSING
    out = f"{niirs:.1f}" + ("" if meaning == MISSING else f": {meaning}")
    return out + ("" if np.isnan(gsd) else f" (GSD {gsd:.2f} m)")


def _period(starts: pd.Series, ends: pd.Series) -> list[str]:
    # A timestamp must not break across lines in a narrow tooltip.
    def one(a: str, b: str) -> str:
        kept = [f'<span class="exposure-nowrap">{t}</span>' for t in (a, b) if t != MISSING]
        return " to ".join(kept) if kept else MISSING

    return [one(a, b) for a, b in zip(iso_times(starts), iso_times(ends), strict=True)]


def site_display(
    sites: gpd.GeoDataFrame,
    *,
    bins: Sequence[float] = RISK_BINS,
    extra: pd.DataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Display text for each site, plus its risk class; rows sorted so the riskiest draw last.

    Parameters
    ----------
    sites : geopandas.GeoDataFrame
        Output of :func:`checked` with :data:`SITE_COLUMNS`.
    bins : sequence of float
        Risk class breaks, see :mod:`maps.style`.
    extra : pandas.DataFrame, optional
        Further escaped display columns, one row per site in table order (see
        :func:`maps.siteinfo.site_extras`).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`SITE_FIELDS` (escaped strings), ``risk_class`` (int, -1 without a
        score) and the geometry.

    Examples
    --------
    >>> from shapely import box
    >>> row = dict.fromkeys(SITE_COLUMNS, float("nan"))
    >>> row.update(name="Dam <A>", category="dam", sensitivity=3, seconds_in_view=125.0,
    ...            coverage_fraction=0.42, coverage_fraction_niirs5=0.1, risk_score=50.0)
    >>> frame = gpd.GeoDataFrame([row], geometry=[box(0, 0, 1, 1)], crs=4326)
    >>> d = site_display(frame).iloc[0]
    >>> d["site"], d["in_view"], d["coverage"], d["risk"], int(d["risk_class"])
    ('Dam &lt;A&gt;', '2 min 05 s', '42 % (10 % at NIIRS ≥ 5)', '50.0 (class 40 – 60)', 2)
    """
    risk = _numbers(sites["risk_score"])
    # A site no flight came near has a score of 0 by definition: draw it as "no exposure".
    classes = risk_classes(np.where(_numbers(sites["flights"]) == 0, np.nan, risk), bins=bins)
    labels = risk_labels(bins=bins)
    niirs = _numbers(sites["best_niirs"])
    gsd = _numbers(sites["best_gsd_m"])
    cover = _numbers(sites["coverage_fraction"])
    cover5 = _numbers(sites["coverage_fraction_niirs5"])
    flights = _numbers(sites["flights"])
    drones = _numbers(sites["drones"])
    meaning = texts(sites["best_niirs_meaning"])
    ids = texts(sites["site_id"])
    names = texts(sites["name"])
    sensitivity = _numbers(sites["sensitivity"])
    out = pd.DataFrame(
        {
            "site": [n if i == MISSING else f"{n} ({i})" for n, i in zip(names, ids, strict=True)],
            "category": texts(sites["category"]),
            "sensitivity": [MISSING if np.isnan(s) else f"{s:.0f} of 5" for s in sensitivity],
            "visits": [_visits(f, d) for f, d in zip(flights, drones, strict=True)],
            "in_view": [_duration(s) for s in _numbers(sites["seconds_in_view"])],
            "closest": [_distance(r) for r in _numbers(sites["min_slant_range_m"])],
            "niirs": [_niirs(n, g, w) for n, g, w in zip(niirs, gsd, meaning, strict=True)],
            "coverage": [
                MISSING
                if np.isnan(c)
                else _percent(c) + ("" if np.isnan(c5) else f" ({_percent(c5)} at NIIRS ≥ 5)")
                for c, c5 in zip(cover, cover5, strict=True)
            ],
            "risk": [
                "none (no flight came near)" if k < 0 else f"{r:.1f} (class {labels[k]})"
                for r, k in zip(risk, classes, strict=True)
            ],
            "why": texts(sites["risk_explanation"]),
            "seen": _period(sites["first_seen"], sites["last_seen"]),
            "mode": texts(sites["mode"]),
            "risk_class": classes.astype("int64"),
        }
    )
    if extra is not None:
        out = pd.concat([out, extra.reset_index(drop=True)], axis=1)
    # Riskier sites last, so their outlines are drawn over neighbours; ties keep table order.
    order = np.argsort(np.where(np.isnan(risk), -np.inf, risk), kind="stable")
    geometry = sites.geometry.reset_index(drop=True)
    frame = gpd.GeoDataFrame(out, geometry=geometry, crs=sites.crs)
    return frame.iloc[order].reset_index(drop=True)


def track_display(flights: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Display text for each flight track, plus the vendor name used for colouring.

    Parameters
    ----------
    flights : geopandas.GeoDataFrame
        Output of :func:`checked` with :data:`TRACK_COLUMNS`.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns of :data:`TRACK_FIELDS` (escaped strings), ``vendor_key`` (unescaped name, for
        the colour lookup only) and the geometry, sorted by flight id.

    Examples
    --------
    >>> from shapely import LineString
    >>> row = dict.fromkeys(TRACK_COLUMNS, None)
    >>> row.update(flight_id="f1", drone_id='"><b>', vendor="DJI", n_samples=20)
    >>> frame = gpd.GeoDataFrame([row], geometry=[LineString([(0, 0), (1, 1)])], crs=4326)
    >>> d = track_display(frame).iloc[0]
    >>> d["drone"], d["vendor"], d["samples"], d["vendor_key"]
    ('&quot;&gt;&lt;b&gt;', 'DJI', '20', 'DJI')
    """
    samples = _numbers(flights["n_samples"])
    out = pd.DataFrame(
        {
            "flight": texts(flights["flight_id"]),
            "drone": texts(flights["drone_id"]),
            "model": texts(flights["model"]),
            "vendor": texts(flights["vendor"]),
            "camera": texts(flights["camera"]),
            "time": _period(flights["start"], flights["end"]),
            "samples": [MISSING if np.isnan(n) else f"{n:.0f}" for n in samples],
            "vendor_key": [vendor_name(v) for v in flights["vendor"]],
        }
    )
    geometry = flights.geometry.reset_index(drop=True)
    frame = gpd.GeoDataFrame(out, geometry=geometry, crs=flights.crs)
    order = np.argsort(flights["flight_id"].astype("string").fillna("").to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


def bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    """Bounding box ``(minx, miny, maxx, maxy)`` of all geometries, or None when there are none.

    Parameters
    ----------
    *frames : geopandas.GeoDataFrame
        Frames in one CRS.

    Returns
    -------
    tuple of float or None
        The box.

    Examples
    --------
    >>> from shapely import Point
    >>> bounds(gpd.GeoDataFrame(geometry=[Point(1, 2), Point(3, 4)], crs=4326))
    (1.0, 2.0, 3.0, 4.0)
    """
    geoms = np.concatenate([np.asarray(f.geometry.array, dtype=object) for f in frames] or [[]])
    if len(geoms) == 0:
        return None
    box = shapely.total_bounds(geoms)
    if not np.isfinite(box).all():
        return None
    return tuple(float(v) for v in box)  # type: ignore[return-value]

"""Display text of the further layers (passes, footprints, zones, violations, receivers).

Like :mod:`maps.tables`, each builder checks its table, returns a new GeoDataFrame in
EPSG:4326 whose tooltip columns are escaped strings, and never modifies its input. Columns
whose name starts with ``_`` or ends in ``_class``/``_key`` are for styling and timing only.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd

from maps.coverage import NIIRS_LABELS, niirs_classes
from maps.errors import MapError
from maps.tables import _distance, _duration, _numbers, _period, checked
from maps.text import MISSING, text, texts
from maps.tracks import epoch_seconds

__all__ = [
    "COVERAGE_FIELDS",
    "FOOTPRINT_FIELDS",
    "PASS_FIELDS",
    "RECEIVER_FIELDS",
    "VIOLATION_FIELDS",
    "ZONE_COLUMNS",
    "ZONE_FIELDS",
    "footprint_display",
    "pass_display",
    "receiver_display",
    "violation_display",
    "zone_display",
]

COVERAGE_FIELDS: dict[str, str] = {"site": "Site", "niirs": "Best NIIRS", "cells": "Grid cells"}

PASS_FIELDS: dict[str, str] = {
    "site": "Site in view",
    "flight": "Flight",
    "drone": "Drone",
    "time": "Time",
    "in_view": "Time in view",
    "closest": "Closest approach",
    "niirs": "Best NIIRS",
    "mode": "Mode",
    "capturing": "Camera recording",
}

FOOTPRINT_FIELDS: dict[str, str] = {"flight": "Flight", "site": "Site", "time": "Time"}

#: Columns of a zones table that the zone layer reads.
ZONE_COLUMNS = ("name", "restriction", "floor_m", "ceiling_m", "vertical_ref", "source")

ZONE_FIELDS: dict[str, str] = {
    "zone": "Zone",
    "status": "Status",
    "restriction": "Restriction",
    "limits": "Vertical limits",
    "source": "Source",
}

VIOLATION_FIELDS: dict[str, str] = {
    "zone": "Zone entered",
    "flight": "Flight",
    "drone": "Drone",
    "time": "Inside",
    "duration": "Duration",
}

RECEIVER_FIELDS: dict[str, str] = {"receiver": "Receiver", "range": "Assumed range"}


def _niirs_words(levels: np.ndarray) -> list[str]:
    classes = niirs_classes(levels)
    return [
        MISSING if k < 0 else f"{v:.1f} ({text(NIIRS_LABELS[k].split(': ', 1)[1])})"
        for v, k in zip(levels, classes, strict=True)
    ]


def _capturing(values: pd.Series) -> list[str]:
    flags = pd.array(values, dtype="boolean")
    return ["unknown" if pd.isna(v) else ("yes" if v else "no") for v in flags]


def pass_display(lines: gpd.GeoDataFrame, *, site_names: Mapping[str, str]) -> gpd.GeoDataFrame:
    """Display text of each pass line (see :func:`maps.overlays.pass_lines`).

    Parameters
    ----------
    lines : geopandas.GeoDataFrame
        Passes with a line geometry.
    site_names : mapping
        ``site_id`` → name (untrusted; escaped here).

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`PASS_FIELDS`, ``niirs_class`` and the geometry.

    Examples
    --------
    >>> from shapely import LineString
    >>> p = gpd.GeoDataFrame({"flight_id": ["f"], "drone_id": ["d"], "site_id": ["s1"],
    ...     "t_start": pd.to_datetime(["2024-01-01"], utc=True),
    ...     "t_end": pd.to_datetime(["2024-01-01 00:02"], utc=True), "seconds_in_view": [120.0],
    ...     "min_slant_range_m": [1500.0], "best_niirs": [6.4], "mode": ["potential"],
    ...     "capturing": [True]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326)
    >>> d = pass_display(p, site_names={"s1": "Dam <1>"}).iloc[0]
    >>> d["site"], d["in_view"], d["closest"], d["niirs"], d["capturing"]
    ('Dam &lt;1&gt; (s1)', '2 min 00 s', '1.5 km', '6.4 (car types)', 'yes')
    """
    ids = lines["site_id"].astype("string")
    names = [site_names.get(str(s)) for s in ids]
    niirs = _numbers(lines["best_niirs"])
    capturing = lines["capturing"] if "capturing" in lines else pd.Series([pd.NA] * len(lines))
    out = pd.DataFrame(
        {
            "site": [
                text(s) if n is None else f"{text(n)} ({text(s)})"
                for n, s in zip(names, ids, strict=True)
            ],
            "flight": texts(lines["flight_id"]),
            "drone": texts(lines["drone_id"]),
            "time": _period(lines["t_start"], lines["t_end"]),
            "in_view": [_duration(s) for s in _numbers(lines["seconds_in_view"])],
            "closest": [_distance(r) for r in _numbers(lines["min_slant_range_m"])],
            "niirs": _niirs_words(niirs),
            "mode": texts(lines["mode"]),
            "capturing": _capturing(capturing),
            "niirs_class": np.maximum(niirs_classes(niirs), 0),
        }
    )
    return gpd.GeoDataFrame(out, geometry=lines.geometry.reset_index(drop=True), crs="EPSG:4326")


def footprint_display(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Display text of camera footprints (``flight_id``, ``site_id``, ``time``).

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        Output of :func:`maps.tables.checked`.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`FOOTPRINT_FIELDS` and the geometry.
    """
    times = frame["time"]
    out = pd.DataFrame(
        {
            "flight": texts(frame["flight_id"]),
            "site": texts(frame["site_id"]),
            "time": _period(times, pd.Series([pd.NaT] * len(times))),
        }
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry.reset_index(drop=True), crs="EPSG:4326")


def _limit(value: float) -> str:
    return "" if np.isnan(value) else f"{value:,.0f}"


def zone_display(zones: gpd.GeoDataFrame, *, proposed: bool | None = None) -> gpd.GeoDataFrame:
    """Display text of no-fly zones, with ``status_key`` (``existing`` or ``proposed``).

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Zones with :data:`ZONE_COLUMNS` and optionally ``status``.
    proposed : bool, optional
        Status of every zone; by default each row's ``status`` (existing when absent).

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`ZONE_FIELDS`, ``status_key`` and the geometry.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column.
    """
    extra = ["status"] if "status" in getattr(zones, "columns", []) else []
    frame = checked(zones, [*ZONE_COLUMNS, *extra], what="zones")
    if proposed is not None:
        status = np.full(len(frame), "proposed" if proposed else "existing", dtype=object)
    elif extra:
        said = frame["status"].astype("string").str.strip().str.lower()
        status = np.where(said.fillna("").str.startswith("propos").to_numpy(bool),
                          "proposed", "existing")  # fmt: skip
    else:
        status = np.full(len(frame), "existing", dtype=object)
    floor, ceiling = _numbers(frame["floor_m"]), _numbers(frame["ceiling_m"])
    refs = texts(frame["vertical_ref"])
    limits = []
    for lo, hi, ref in zip(floor, ceiling, refs, strict=True):
        if np.isnan(lo) and np.isnan(hi):
            limits.append(MISSING)
            continue
        span = f"{_limit(lo) or 'ground'} – {_limit(hi) or 'unlimited'} m"
        limits.append(span + ("" if ref == MISSING else f" {ref}"))
    out = pd.DataFrame(
        {
            "zone": texts(frame["name"]),
            "status": list(status),
            "restriction": texts(frame["restriction"]),
            "limits": limits,
            "source": texts(frame["source"]),
            "status_key": list(status),
        }
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs="EPSG:4326")


def violation_display(violations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Display text of violation episodes, with ``_t0``/``_t1`` in epoch seconds.

    Parameters
    ----------
    violations : geopandas.GeoDataFrame
        ``flight_id``, ``drone_id``, ``zone``, ``t_entry``, ``t_exit`` and a geometry.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`VIOLATION_FIELDS`, ``_t0``, ``_t1`` and the geometry.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column.
    """
    frame = checked(
        violations, ["flight_id", "drone_id", "zone", "t_entry", "t_exit"], what="violations"
    )
    t0, t1 = epoch_seconds(frame["t_entry"]), epoch_seconds(frame["t_exit"])
    out = pd.DataFrame(
        {
            "zone": texts(frame["zone"]),
            "flight": texts(frame["flight_id"]),
            "drone": texts(frame["drone_id"]),
            "time": _period(frame["t_entry"], frame["t_exit"]),
            "duration": [_duration(s) for s in t1 - t0],
            "_t0": t0,
            "_t1": t1,
        }
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs="EPSG:4326")


def receiver_display(receivers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Display text of radio receivers, with the range in metres as ``_range``.

    Parameters
    ----------
    receivers : geopandas.GeoDataFrame
        Points with ``name`` and ``range_m``.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`RECEIVER_FIELDS`, ``_range`` and the geometry.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column, or a geometry is not a point.
    """
    frame = checked(receivers, ["name", "range_m"], what="receivers")
    bad = frame.geometry.geom_type != "Point"
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        raise MapError(f"receivers: rows {rows}: expected Point geometries (receiver positions)")
    radius = _numbers(frame["range_m"])
    out = pd.DataFrame(
        {
            "receiver": texts(frame["name"]),
            "range": [_distance(r) for r in radius],
            "_range": radius,
        }
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs="EPSG:4326")

"""Further map layers: coverage grid, passes, footprints, no-fly zones, violations, receivers.

Each function takes one table and a map ``m``, adds one layer (with a layer-control entry,
tooltips and, where it helps, a legend) and returns ``m``, so calls stack as with
:meth:`geopandas.GeoDataFrame.explore`. Tables are checked for a CRS and their columns first;
every value shown is escaped. Layers whose features have a time are registered with the time
slider (:mod:`maps.timeslider`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from maps.coverage import NIIRS_COLOURS, aggregate_coverage, niirs_legend_html
from maps.display import (
    COVERAGE_FIELDS,
    FOOTPRINT_FIELDS,
    PASS_FIELDS,
    RECEIVER_FIELDS,
    VIOLATION_FIELDS,
    ZONE_FIELDS,
    footprint_display,
    pass_display,
    receiver_display,
    violation_display,
    zone_display,
)
from maps.errors import MapError
from maps.layers import features, tooltip_for
from maps.panels import HtmlControl, add_page_style
from maps.tables import checked
from maps.text import text
from maps.timeslider import attach_times
from maps.tracks import epoch_seconds

__all__ = [
    "add_coverage",
    "add_footprints",
    "add_passes",
    "add_receivers",
    "add_violations",
    "add_zones",
    "pass_lines",
]

_ZONE_STYLE = {"existing": ("#b2182b", None), "proposed": ("#6a1b9a", "6 4")}


def _layer(
    display: gpd.GeoDataFrame,
    fields: Mapping[str, str],
    *,
    m: folium.Map,
    name: str,
    styles: Mapping[str, Mapping[str, Any]] | None,
    tooltip: bool,
    show: bool,
    highlight: Mapping[str, Any] | None = None,
) -> folium.GeoJson:
    layer = folium.GeoJson(
        features(display, list(fields)),
        name=text(name),
        style_function=(lambda f: dict(styles[str(f["id"])])) if styles else None,
        highlight_function=(lambda f: dict(highlight)) if highlight else None,
        marker=folium.CircleMarker(radius=6),
        tooltip=tooltip_for(fields) if tooltip and len(display) else None,
        show=show,
    )
    layer.add_to(m)
    add_page_style(m)
    return layer


def add_coverage(
    coverage: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Coverage (best NIIRS)",
    max_vertices: int | None = 200_000,
    legend: bool = True,
    tooltip: bool = True,
    show: bool = True,
) -> folium.Map:
    """Draw the per-site coverage grid as a heat layer of best NIIRS per cell.

    Cells of one site and one NIIRS class are merged into one shape first (see
    :func:`maps.coverage.aggregate_coverage`), so a national grid stays light.

    Parameters
    ----------
    coverage : geopandas.GeoDataFrame
        Square cells with ``site_id`` and ``best_niirs`` (``best_gsd_m`` optional), or their
        aggregate from :func:`maps.coverage.aggregate_coverage`. Not modified.
    m : folium.Map
        The map; modified in place.
    name : str
        Layer name; escaped.
    max_vertices : int, optional
        Vertex budget of the layer.
    legend, tooltip, show : bool
        Legend in the lower left, tooltips, visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column.

    Examples
    --------
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"site_id": ["s", "s"], "best_niirs": [6.2, 6.8]},
    ...                          geometry=[box(0, 0, 1e-4, 1e-4), box(1e-4, 0, 2e-4, 1e-4)],
    ...                          crs=4326)
    >>> page = add_coverage(cells, m=folium.Map(tiles=None)).get_root().render()
    >>> page.count('"type": "Feature"'), "car types" in page
    (1, True)
    """
    shapes = coverage
    if "niirs_class" not in coverage.columns:  # not yet aggregated
        shapes, _ = aggregate_coverage(coverage, max_vertices=max_vertices)
    styles = {
        str(i): {
            "color": NIIRS_COLOURS[k], "weight": 0, "fillColor": NIIRS_COLOURS[k],
            "fillOpacity": 0.75,
        }
        for i, k in enumerate(shapes["niirs_class"])
    }  # fmt: skip
    _layer(
        shapes, COVERAGE_FIELDS, m=m, name=name, styles=styles, tooltip=tooltip, show=show,
        highlight={"weight": 1.5, "color": "#000000"},
    )  # fmt: skip
    if legend:
        m.add_child(HtmlControl(niirs_legend_html(title=name), position="bottomleft"))
    return m


def pass_lines(passes: pd.DataFrame, tracks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cut from timed tracks the stretch flown during each pass.

    Parameters
    ----------
    passes : pandas.DataFrame
        The passes table (``flight_id``, ``t_start``, ``t_end`` and the rest). Not modified.
    tracks : geopandas.GeoDataFrame
        Output of :func:`maps.tracks.simplify_tracks` with ``vertex_times``.

    Returns
    -------
    geopandas.GeoDataFrame
        The passes that have a timed track, each with its stretch as a LineString (the drone's
        position interpolated at the pass's start and end), EPSG:4326.

    Examples
    --------
    >>> from shapely import LineString
    >>> tracks = gpd.GeoDataFrame({"flight_id": ["f"], "vertex_times": [np.array([0., 100.])]},
    ...                           geometry=[LineString([(0, 0), (1, 0)])], crs=4326)
    >>> passes = pd.DataFrame({"flight_id": ["f"], "t_start": pd.to_datetime([20], unit="s"),
    ...                        "t_end": pd.to_datetime([50], unit="s")})
    >>> pass_lines(passes, tracks).geometry.iloc[0].wkt
    'LINESTRING (0.2 0, 0.5 0)'
    """
    if "vertex_times" not in tracks.columns:
        raise MapError("tracks: no vertex_times (expected the output of maps.simplify_tracks)")
    timed = tracks[[v is not None for v in tracks["vertex_times"]]]
    lookup = {str(f): i for i, f in enumerate(timed["flight_id"])}
    geoms = np.asarray(timed.geometry.array, dtype=object)
    t_start = epoch_seconds(passes["t_start"])
    t_end = epoch_seconds(passes["t_end"])
    out: list[object] = []
    # One slice per pass (passes are few next to samples); the arithmetic is numpy.
    for fid, a, b in zip(passes["flight_id"].astype("string"), t_start, t_end, strict=True):
        k = lookup.get(str(fid))
        if k is None or not (np.isfinite(a) and np.isfinite(b)):
            out.append(None)
            continue
        times = timed["vertex_times"].iloc[k]
        xy = shapely.get_coordinates(geoms[k])
        inside = (times >= a) & (times <= b)
        ends = np.interp([a, b], times, xy[:, 0]), np.interp([a, b], times, xy[:, 1])
        pts = np.vstack([[ends[0][0], ends[1][0]], xy[inside], [ends[0][1], ends[1][1]]])
        out.append(shapely.linestrings(pts) if b >= times[0] and a <= times[-1] else None)
    frame = gpd.GeoDataFrame(pd.DataFrame(passes).reset_index(drop=True),
                             geometry=out, crs="EPSG:4326")  # fmt: skip
    return frame[~frame.geometry.isna()].reset_index(drop=True)


def add_passes(
    passes: pd.DataFrame,
    *,
    m: folium.Map,
    tracks: gpd.GeoDataFrame,
    site_names: Mapping[str, str] | None = None,
    name: str = "Passes",
    tooltip: bool = True,
    show: bool = True,
) -> folium.Map:
    """Draw each pass as the stretch of track flown while the site was in view.

    Lines are coloured by the pass's best NIIRS (the coverage colours) and filtered by the time
    slider.

    Parameters
    ----------
    passes : pandas.DataFrame
        The passes table of :mod:`exposure.results`. Not modified.
    m : folium.Map
        The map; modified in place.
    tracks : geopandas.GeoDataFrame
        Timed tracks from :func:`maps.tracks.simplify_tracks`.
    site_names : mapping, optional
        ``site_id`` → name, for the tooltips.
    name : str
        Layer name; escaped.
    tooltip, show : bool
        Tooltips; visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.
    """
    lines = pass_lines(passes, tracks)
    display = pass_display(lines, site_names=site_names or {})
    styles = {
        str(i): {"color": NIIRS_COLOURS[k], "weight": 7, "opacity": 0.8, "lineCap": "round"}
        for i, k in enumerate(display["niirs_class"])
    }
    layer = _layer(
        display, PASS_FIELDS, m=m, name=name, styles=styles, tooltip=tooltip, show=show,
        highlight={"weight": 10, "opacity": 1.0},
    )  # fmt: skip
    attach_times(
        layer, start=epoch_seconds(lines["t_start"]), end=epoch_seconds(lines["t_end"]),
        kind="passes",
    )  # fmt: skip
    return m


def add_footprints(
    footprints: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    passes: pd.DataFrame | None = None,
    max_features: int = 2000,
    name: str = "Footprints",
    tooltip: bool = True,
    show: bool = False,
) -> folium.Map:
    """Draw camera footprints, of selected passes only when ``passes`` is given.

    Parameters
    ----------
    footprints : geopandas.GeoDataFrame
        Polygons with ``flight_id``, ``site_id`` and ``time``. Not modified.
    m : folium.Map
        The map; modified in place.
    passes : pandas.DataFrame, optional
        Passes to show (``flight_id``, ``site_id``, ``t_start``, ``t_end``): a footprint is kept
        when it belongs to one of them.
    max_features : int
        At most this many footprints, evenly spaced in time within each flight.
    name : str
        Layer name; escaped.
    tooltip, show : bool
        Tooltips; visible when the page opens (off by default: footprints overlap heavily).

    Returns
    -------
    folium.Map
        ``m``.

    Examples
    --------
    >>> from shapely import box
    >>> fp = gpd.GeoDataFrame({"flight_id": ["f"] * 3, "site_id": ["s"] * 3,
    ...                        "time": pd.to_datetime([0, 10, 20], unit="s", utc=True)},
    ...                       geometry=[box(0, 0, 1e-3, 1e-3)] * 3, crs=4326)
    >>> page = add_footprints(fp, m=folium.Map(tiles=None), max_features=2).get_root().render()
    >>> page.count('"type": "Feature"')
    2
    """
    frame = checked(footprints, ["flight_id", "site_id", "time"], what="footprints")
    t = epoch_seconds(frame["time"])
    if passes is not None:
        p = pd.DataFrame(passes)
        key = frame[["flight_id", "site_id"]].astype("string").assign(_t=t, _row=range(len(t)))
        spans = p[["flight_id", "site_id"]].astype("string").assign(
            _a=epoch_seconds(p["t_start"]), _b=epoch_seconds(p["t_end"])
        )
        joined = key.merge(spans, on=["flight_id", "site_id"], how="inner")
        ok = joined[(joined["_t"] >= joined["_a"]) & (joined["_t"] <= joined["_b"])]
        frame = frame.iloc[np.unique(ok["_row"].to_numpy())].reset_index(drop=True)
        t = epoch_seconds(frame["time"])
    if len(frame) > max_features:
        order = np.lexsort((t, frame["flight_id"].astype("string").to_numpy()))
        keep = np.unique(np.linspace(0, len(frame) - 1, max_features).round().astype("int64"))
        frame = frame.iloc[np.sort(order[keep])].reset_index(drop=True)
        t = epoch_seconds(frame["time"])
    display = footprint_display(frame)
    style = {"color": "#0b6e4f", "weight": 1, "fillColor": "#21a179", "fillOpacity": 0.12}
    layer = _layer(
        display, FOOTPRINT_FIELDS, m=m, name=name, tooltip=tooltip, show=show,
        styles={str(i): style for i in range(len(display))},
        highlight={"weight": 2.5, "fillOpacity": 0.35},
    )  # fmt: skip
    attach_times(layer, start=t, end=t, kind="footprints")
    return m


def add_zones(
    zones: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "No-fly zones",
    proposed: bool | None = None,
    tooltip: bool = True,
    show: bool = True,
) -> folium.Map:
    """Draw no-fly zones: existing ones solid red, proposed ones dashed purple.

    Parameters
    ----------
    zones : geopandas.GeoDataFrame
        Polygons with ``name``, ``restriction``, ``floor_m``, ``ceiling_m``, ``vertical_ref``,
        ``source`` and optionally ``status`` (``existing`` or ``proposed``). Not modified.
    m : folium.Map
        The map; modified in place.
    name : str
        Layer name; escaped.
    proposed : bool, optional
        Treat every zone as proposed (True) or existing (False); by default each row's
        ``status`` decides, and a zone without one counts as existing.
    tooltip, show : bool
        Tooltips; visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.

    Examples
    --------
    >>> from shapely import box
    >>> z = gpd.GeoDataFrame({"name": ["Diet"], "restriction": ["PROHIBITED"], "floor_m": [0],
    ...                       "ceiling_m": [150], "vertical_ref": ["AGL"], "source": ["x"]},
    ...                      geometry=[box(139.74, 35.67, 139.75, 35.68)], crs=4326)
    >>> "150 m AGL" in add_zones(z, m=folium.Map(tiles=None)).get_root().render()
    True
    """
    display = zone_display(zones, proposed=proposed)
    styles = {}
    for i, status in enumerate(display["status_key"]):
        colour, dash = _ZONE_STYLE[status]
        styles[str(i)] = {
            "color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.1,
            **({"dashArray": dash} if dash else {}),
        }  # fmt: skip
    _layer(
        display, ZONE_FIELDS, m=m, name=name, styles=styles, tooltip=tooltip, show=show,
        highlight={"weight": 3.5, "fillOpacity": 0.25},
    )  # fmt: skip
    return m


def add_violations(
    violations: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Zone violations",
    tooltip: bool = True,
    show: bool = True,
) -> folium.Map:
    """Draw violation episodes (entry point or flown segment inside a zone), time-filtered.

    Parameters
    ----------
    violations : geopandas.GeoDataFrame
        ``flight_id``, ``drone_id``, ``zone``, ``t_entry``, ``t_exit`` and the entry point or
        segment as geometry. Not modified.
    m : folium.Map
        The map; modified in place.
    name : str
        Layer name; escaped.
    tooltip, show : bool
        Tooltips; visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.
    """
    display = violation_display(violations)
    style = {"color": "#67001f", "weight": 4, "fillColor": "#d6604d", "fillOpacity": 0.9}
    layer = _layer(
        display, VIOLATION_FIELDS, m=m, name=name, tooltip=tooltip, show=show,
        styles={str(i): style for i in range(len(display))}, highlight={"weight": 6},
    )  # fmt: skip
    attach_times(layer, start=display["_t0"], end=display["_t1"], kind="violations")
    return m


def _range_rings(lon: np.ndarray, lat: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    # Geodesic circles: 72 points at equal azimuths, each the true distance from the centre.
    n = 72
    az = np.tile(np.linspace(0.0, 360.0, n, endpoint=False), len(lon))
    x, y, _ = Geod(ellps="WGS84").fwd(
        np.repeat(lon, n), np.repeat(lat, n), az, np.repeat(radius_m, n)
    )
    rings = shapely.linearrings(np.column_stack([x, y]), indices=np.repeat(np.arange(len(lon)), n))
    return shapely.polygons(rings)


def add_receivers(
    receivers: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Radio receivers",
    tooltip: bool = True,
    show: bool = True,
) -> folium.Map:
    """Draw assumed radio receivers with their reception range as a geodesic circle.

    Parameters
    ----------
    receivers : geopandas.GeoDataFrame
        Points with ``name`` and ``range_m``. Not modified.
    m : folium.Map
        The map; modified in place.
    name : str
        Layer name; escaped.
    tooltip, show : bool
        Tooltips; visible when the page opens.

    Returns
    -------
    folium.Map
        ``m``.

    Examples
    --------
    >>> from shapely import Point
    >>> r = gpd.GeoDataFrame({"name": ["Rx"], "range_m": [5000.0]}, geometry=[Point(139, 35)],
    ...                      crs=4326)
    >>> page = add_receivers(r, m=folium.Map(tiles=None)).get_root().render()
    >>> "5.0 km" in page, page.count('"type": "Feature"')
    (True, 2)
    """
    display = receiver_display(receivers)
    pts = display[display.geometry.geom_type == "Point"]
    radius = pd.to_numeric(pts["_range"], errors="coerce").to_numpy("float64")
    ok = np.isfinite(radius) & (radius > 0)
    rings = pts.loc[ok].copy()
    rings["geometry"] = _range_rings(
        shapely.get_x(pts.geometry.array[ok]), shapely.get_y(pts.geometry.array[ok]), radius[ok]
    )
    both = gpd.GeoDataFrame(pd.concat([rings, display], ignore_index=True), crs="EPSG:4326")
    styles = {
        str(i): (
            {"color": "#8c510a", "weight": 1.5, "dashArray": "3 4", "fillColor": "#dfc27d",
             "fillOpacity": 0.08}
            if i < len(rings)
            else {"color": "#543005", "weight": 2, "fillColor": "#bf812d", "fillOpacity": 1.0}
        )
        for i in range(len(both))
    }  # fmt: skip
    _layer(both, RECEIVER_FIELDS, m=m, name=name, styles=styles, tooltip=tooltip, show=show)
    return m

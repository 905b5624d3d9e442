"""The whole risk map in one call: every layer there is a table for, controls and panels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element

from maps.assets import inline_leaflet
from maps.coverage import aggregate_coverage
from maps.draw import add_draw_tool
from maps.layers import add_sites, add_tracks
from maps.overlays import (
    add_coverage,
    add_footprints,
    add_passes,
    add_receivers,
    add_violations,
    add_zones,
)
from maps.panels import add_banner, add_provenance
from maps.patterns import add_site_patterns
from maps.style import RISK_BINS
from maps.tables import SITE_COLUMNS, TRACK_COLUMNS, bounds, checked
from maps.timeslider import TimeIndex, add_time_slider
from maps.tracks import simplify_tracks

__all__ = ["network_use", "risk_map"]


def _walk(element: Element) -> list[Element]:
    out = [element]
    for child in element._children.values():
        out.extend(_walk(child))
    return out


def network_use(m: folium.Map) -> str | None:
    """Say what a map would load from the network, or None if it loads nothing.

    Looks at the map's own script and style links and at its tile layers. It cannot see what
    arbitrary plugins do at run time; :func:`maps.save.save_html` checks the rendered page.

    Parameters
    ----------
    m : folium.Map
        The map.

    Returns
    -------
    str or None
        A short description such as ``"basemap tiles from tile.openstreetmap.org"``.

    Examples
    --------
    >>> network_use(inline_leaflet(folium.Map(tiles=None))) is None
    True
    >>> network_use(inline_leaflet(folium.Map(tiles="OpenStreetMap")))
    'basemap tiles from tile.openstreetmap.org'
    """
    uses = []
    hosts = sorted(
        {
            urlsplit(str(layer.tiles).replace("{s}", "a")).hostname or "a tile server"
            for layer in _walk(m)
            if isinstance(layer, folium.TileLayer)
        }
    )
    if hosts:
        uses.append("basemap tiles from " + ", ".join(hosts))
    if m.default_js or m.default_css:
        uses.append("scripts and styles from CDNs")
    return "; ".join(uses) or None


def risk_map(
    site_exposure: gpd.GeoDataFrame,
    *,
    flights: gpd.GeoDataFrame | None = None,
    points: pd.DataFrame | None = None,
    passes: pd.DataFrame | None = None,
    coverage: gpd.GeoDataFrame | None = None,
    footprints: gpd.GeoDataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    violations: gpd.GeoDataFrame | None = None,
    receivers: gpd.GeoDataFrame | None = None,
    site_leaks: pd.DataFrame | None = None,
    site_patterns: pd.DataFrame | None = None,
    color_tracks_by: str = "vendor",
    m: folium.Map | None = None,
    title: str | None = None,
    provenance: Mapping[str, object] | None = None,
    tiles: str | folium.TileLayer | None = None,
    bins: Sequence[float] = RISK_BINS,
    time_slider: bool = True,
    draw_tool: bool = True,
) -> folium.Map:
    """Build the interactive site-exposure map from whichever result tables there are.

    Layers, bottom to top, each in an always-open layer control: radio receivers, no-fly
    zones, sites filled by risk class (see :mod:`maps.style`), the coverage grid, camera
    footprints (hidden at first), flight tracks, passes and violations. Sites, tracks and the
    coverage grid have legends; every feature has a tooltip. A time window filters tracks,
    passes, footprints and violations; a drawing tool exports proposed zones as GeoJSON. The
    map fits what was exposed and flown and says in its lower right corner whether it is
    offline-safe, with the provenance and what was simplified to keep the page light.

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table of :mod:`exposure.results`. Not modified (nor is any other table).
    flights : geopandas.GeoDataFrame, optional
        The flights table, one track per flight, or its thinned form from
        :func:`maps.tracks.simplify_tracks` (then drawn as given).
    points : pandas.DataFrame, optional
        Timed track points (samples or ``tracks.parquet``): tracks and passes become timed.
    passes : pandas.DataFrame, optional
        The passes table: site tooltips name the drones and vendors, and with timed tracks each
        pass is drawn as the stretch flown while its site was in view.
    coverage : geopandas.GeoDataFrame, optional
        Coverage grid cells (``site_id``, ``best_niirs``), or their aggregate from
        :func:`maps.coverage.aggregate_coverage`.
    footprints : geopandas.GeoDataFrame, optional
        Camera footprints (``flight_id``, ``site_id``, ``time``); with ``passes``, only those of
        the passes.
    zones : geopandas.GeoDataFrame, optional
        No-fly zones, existing and proposed (see :func:`maps.overlays.add_zones`).
    violations : geopandas.GeoDataFrame, optional
        Zone violation episodes.
    receivers : geopandas.GeoDataFrame, optional
        Assumed radio receivers (points with ``name``, ``range_m``).
    site_leaks : pandas.DataFrame, optional
        Per-site leak results, shown in the site tooltips.
    site_patterns : pandas.DataFrame, optional
        Per-site visit patterns: a layer marking how predictable each site's visits are (see
        :func:`maps.patterns.add_site_patterns`).
    color_tracks_by : {"vendor", "leak"}
        Track colours; ``"leak"`` needs a ``p_any_leaked`` column in ``flights``.
    m : folium.Map, optional
        Map to draw on. By default a new map without basemap that carries Leaflet inline
        (see :func:`maps.assets.inline_leaflet`); a given map keeps its own assets.
    title : str, optional
        Caveat banner across the top and bottom of the page (e.g. ``"UNCLASSIFIED // demo
        data"``) and the page title; escaped.
    provenance : mapping, optional
        Inputs, parameters and versions to list in the provenance box; escaped.
    tiles : str or folium.TileLayer, optional
        Basemap. None (default) draws none and keeps the page offline; ``"OpenStreetMap"`` (or
        any folium tiles name or layer) makes the page load tiles from the network.
    bins : sequence of float
        Risk class breaks.
    time_slider : bool
        Add the time window when some layer is timed.
    draw_tool : bool
        Add the zone-drawing tool.

    Returns
    -------
    folium.Map
        The map; save it with :func:`maps.save.save_html`.

    Raises
    ------
    MapError
        If a table lacks a CRS or a column, or ``bins`` is invalid.

    Examples
    --------
    >>> from shapely import box
    >>> from maps.tables import SITE_COLUMNS
    >>> row = dict.fromkeys(SITE_COLUMNS, float("nan")) | {"name": "Port", "risk_score": 1.5}
    >>> sites = gpd.GeoDataFrame([row], geometry=[box(139, 35, 139.01, 35.01)], crs=4326)
    >>> page = risk_map(sites, title="UNCLASSIFIED // demo").get_root().render()
    >>> "offline: no network requests" in page, "UNCLASSIFIED // demo" in page
    (True, True)
    """
    sites = checked(site_exposure, SITE_COLUMNS, what="site_exposure")
    notes: list[str] = []
    tracks = None
    if flights is not None:
        checked(flights, TRACK_COLUMNS, what="flights")
        tracks = flights
        if "vertex_times" not in flights.columns:
            tracks, how = simplify_tracks(flights, points=points)
            notes.append(how.describe())
    shapes = None
    if coverage is not None:
        shapes = coverage
        if "niirs_class" not in coverage.columns:
            shapes, words = aggregate_coverage(coverage)
            notes.append(words)
    if m is None:
        m = inline_leaflet(folium.Map(tiles=None, control_scale=True))
    if tiles is not None:
        layer = tiles if isinstance(tiles, folium.TileLayer) else folium.TileLayer(tiles)
        layer.add_to(m)
    if receivers is not None:
        add_receivers(receivers, m=m)
    if zones is not None:
        add_zones(zones, m=m)
    add_sites(sites, m=m, bins=bins, passes=passes, flights=flights, leaks=site_leaks)
    if site_patterns is not None:
        add_site_patterns(site_patterns, m=m, sites=sites)
    if shapes is not None:
        add_coverage(shapes, m=m)
    if footprints is not None:
        add_footprints(footprints, m=m, passes=passes)
    if tracks is not None:
        add_tracks(tracks, m=m, color_by=color_tracks_by)
        timed = any(t is not None for t in tracks["vertex_times"])
        if passes is not None and timed:
            names = dict(zip(sites["site_id"].astype("string"), sites["name"], strict=True))
            add_passes(passes, m=m, tracks=tracks, site_names=names)
    if violations is not None:
        add_violations(violations, m=m)
    folium.LayerControl(collapsed=False).add_to(m)
    if time_slider and any(
        isinstance(e, TimeIndex) for e in _walk(m)
    ):
        add_time_slider(m)
    if draw_tool:
        add_draw_tool(m, position="topright")
    if title is not None:
        add_banner(m, title)
    shown = dict(provenance or {})
    if notes:
        shown["simplified for the page"] = [*_as_list(shown.get("simplified for the page")),
                                            *notes]  # fmt: skip
    add_provenance(m, shown, network=network_use(m))
    # Frame what was exposed and flown; a national catalogue would otherwise zoom out to the
    # whole country and hide every pass. Without exposure or flights, frame all sites.
    exposed = sites[pd.to_numeric(sites["flights"], errors="coerce").fillna(0).to_numpy() > 0]
    drawn = None if tracks is None else checked(tracks, ["flight_id"], what="flights")
    framed = [f for f in (exposed, drawn) if f is not None and len(f)]
    box = bounds(*(framed or [sites]))
    if box is not None:
        minx, miny, maxx, maxy = box
        # A single point or a tiny site would otherwise zoom in past any useful scale.
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30), max_zoom=16)
    return m


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]

"""The whole risk map in one call: sites, tracks, legends, banner and provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import folium
import geopandas as gpd
import pandas as pd
from branca.element import Element

from maps.assets import inline_leaflet
from maps.layers import add_sites, add_tracks
from maps.panels import add_banner, add_provenance
from maps.style import RISK_BINS
from maps.tables import SITE_COLUMNS, TRACK_COLUMNS, bounds, checked

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
    m: folium.Map | None = None,
    title: str | None = None,
    provenance: Mapping[str, object] | None = None,
    tiles: str | folium.TileLayer | None = None,
    bins: Sequence[float] = RISK_BINS,
) -> folium.Map:
    """Build the interactive site-exposure map.

    Sites are filled by risk class (see :mod:`maps.style`), tracks coloured by vendor; both have
    tooltips, legends and an entry in an always-open layer control. The map fits the data and
    says in its lower right corner whether it is offline-safe.

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table of :mod:`exposure.results`. Not modified.
    flights : geopandas.GeoDataFrame, optional
        The flights table, one track per flight. Not modified.
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
    tracks = None if flights is None else checked(flights, TRACK_COLUMNS, what="flights")
    if m is None:
        m = inline_leaflet(folium.Map(tiles=None, control_scale=True))
    if tiles is not None:
        layer = tiles if isinstance(tiles, folium.TileLayer) else folium.TileLayer(tiles)
        layer.add_to(m)
    add_sites(sites, m=m, bins=bins)
    if tracks is not None:
        add_tracks(tracks, m=m)
    folium.LayerControl(collapsed=False).add_to(m)
    if title is not None:
        add_banner(m, title)
    add_provenance(m, provenance, network=network_use(m))
    # Frame what was exposed and flown; a national catalogue would otherwise zoom out to the
    # whole country and hide every pass. Without exposure or flights, frame all sites.
    exposed = sites[pd.to_numeric(sites["flights"], errors="coerce").fillna(0).to_numpy() > 0]
    framed = [f for f in (exposed, tracks) if f is not None and len(f)]
    box = bounds(*(framed or [sites]))
    if box is not None:
        minx, miny, maxx, maxy = box
        # A single point or a tiny site would otherwise zoom in past any useful scale.
        m.fit_bounds([[miny, minx], [maxy, maxx]], padding=(30, 30), max_zoom=16)
    return m

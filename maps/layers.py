"""The map layers: site polygons coloured by risk, flight tracks coloured by vendor.

Like :meth:`geopandas.GeoDataFrame.explore`, each function adds one layer to a map ``m`` and
returns ``m``; unlike it, every value is escaped and the page needs no library from a CDN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd

from maps.legend import risk_legend_html, vendor_legend_html
from maps.panels import HtmlControl, add_page_style
from maps.style import NO_SCORE_COLOUR, RISK_BINS, RISK_COLOURS, check_bins, vendor_colours
from maps.tables import (
    SITE_COLUMNS,
    SITE_FIELDS,
    TRACK_COLUMNS,
    TRACK_FIELDS,
    checked,
    site_display,
    track_display,
)
from maps.text import text

__all__ = ["add_sites", "add_tracks"]

_SITE_STYLE: dict[str, Any] = {
    "color": "#3d3d3d",
    "weight": 1.5,
    "opacity": 0.9,
    "fillOpacity": 0.7,
}
# Unexposed sites stay visible as context but must not outweigh the exposed ones.
_NO_SCORE_STYLE: dict[str, Any] = {
    "color": "#6b6b6b", "weight": 0.8, "opacity": 0.7, "fillOpacity": 0.25, "dashArray": "4 3",
}
_TRACK_STYLE: dict[str, Any] = {"weight": 3, "opacity": 0.9, "fillOpacity": 0.9}


def _features(display: gpd.GeoDataFrame, fields: Sequence[str]) -> dict[str, Any]:
    # Feature ids are row numbers, never table values: folium writes them into script code.
    frame = display[[*fields, display.geometry.name]]
    return frame.to_geo_dict(na="null", show_bbox=False, drop_id=False)


def _tooltip(fields: Mapping[str, str]) -> folium.GeoJsonTooltip:
    # GeoJsonTooltip writes labels and values into the page as HTML: labels are escaped here,
    # values were escaped when the display table was built.
    return folium.GeoJsonTooltip(
        fields=list(fields),
        aliases=[text(label) for label in fields.values()],
        sticky=True,
        class_name="exposure-tooltip",
    )


def add_sites(
    site_exposure: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Sites",
    bins: Sequence[float] = RISK_BINS,
    tooltip: bool = True,
    legend: bool = True,
    show: bool = True,
    style_kwds: Mapping[str, Any] | None = None,
) -> folium.Map:
    """Draw site polygons coloured by risk class, with tooltips and a legend.

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table of :mod:`exposure.results` (any CRS; converted to EPSG:4326). Not
        modified. Rows with an empty geometry are skipped.
    m : folium.Map
        The map to draw on; modified in place.
    name : str
        Layer name in the layer control and legend heading; escaped.
    bins : sequence of float
        Risk class breaks, see :mod:`maps.style`.
    tooltip : bool
        Show a site's details on hover.
    legend : bool
        Add the risk legend in the lower left corner.
    show : bool
        Whether the layer is visible when the page opens.
    style_kwds : mapping, optional
        Leaflet path options (``weight``, ``fillOpacity``, ...) that override the defaults;
        the fill colour always follows the risk class.

    Returns
    -------
    folium.Map
        ``m``.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column, or ``bins`` is invalid.

    Examples
    --------
    >>> from shapely import box
    >>> from maps.tables import SITE_COLUMNS
    >>> row = dict.fromkeys(SITE_COLUMNS, float("nan")) | {"name": "Dam", "risk_score": 4.5}
    >>> sites = gpd.GeoDataFrame([row], geometry=[box(139, 35, 139.01, 35.01)], crs=4326)
    >>> m = add_sites(sites, m=folium.Map(tiles=None))
    >>> "#bd0026" in m.get_root().render()
    True
    """
    bins = check_bins(bins)
    display = site_display(checked(site_exposure, SITE_COLUMNS, what="site_exposure"), bins=bins)
    extra = dict(style_kwds or {})
    styles = {
        str(i): {
            **_SITE_STYLE,
            **(_NO_SCORE_STYLE if k < 0 else {}),
            **extra,
            "fillColor": RISK_COLOURS[k] if k >= 0 else NO_SCORE_COLOUR,
        }
        for i, k in enumerate(display["risk_class"])
    }
    layer = folium.GeoJson(
        _features(display, list(SITE_FIELDS)),
        name=text(name),
        style_function=lambda feature: styles[str(feature["id"])],
        highlight_function=lambda feature: {"weight": 3, "fillOpacity": 0.85},
        tooltip=_tooltip(SITE_FIELDS) if tooltip and len(display) else None,
        show=show,
    )
    layer.add_to(m)
    add_page_style(m)
    if legend:
        html = risk_legend_html(display["risk_class"].to_numpy(), title=name, bins=bins)
        m.add_child(HtmlControl(html, position="bottomleft"))
    return m


def add_tracks(
    flights: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Flight tracks",
    tooltip: bool = True,
    legend: bool = True,
    show: bool = True,
    style_kwds: Mapping[str, Any] | None = None,
) -> folium.Map:
    """Draw flight tracks coloured by vendor, with tooltips and a legend.

    Parameters
    ----------
    flights : geopandas.GeoDataFrame
        The flights table of :mod:`flightlogs.schema`: one LineString per flight, a Point for a
        one-sample flight (drawn as a small circle), empty geometries skipped. Not modified.
    m : folium.Map
        The map to draw on; modified in place.
    name : str
        Layer name in the layer control and legend heading; escaped.
    tooltip : bool
        Show a flight's details on hover.
    legend : bool
        Add the vendor legend in the lower left corner.
    show : bool
        Whether the layer is visible when the page opens.
    style_kwds : mapping, optional
        Leaflet path options (``weight``, ``opacity``, ...) that override the defaults; the
        colour always follows the vendor.

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
    >>> from shapely import LineString
    >>> from maps.tables import TRACK_COLUMNS
    >>> row = dict.fromkeys(TRACK_COLUMNS) | {"flight_id": "f1", "vendor": "DJI"}
    >>> tracks = gpd.GeoDataFrame([row], geometry=[LineString([(139, 35), (139.1, 35)])],
    ...                           crs=4326)
    >>> m = add_tracks(tracks, m=folium.Map(tiles=None))
    >>> "#1f4e9e" in m.get_root().render()
    True
    """
    display = track_display(checked(flights, TRACK_COLUMNS, what="flights"))
    colours = vendor_colours(display["vendor_key"])
    extra = dict(style_kwds or {})
    styles = {
        str(i): {**_TRACK_STYLE, **extra, "color": colours[v], "fillColor": colours[v]}
        for i, v in enumerate(display["vendor_key"])
    }
    layer = folium.GeoJson(
        _features(display, list(TRACK_FIELDS)),
        name=text(name),
        style_function=lambda feature: styles[str(feature["id"])],
        highlight_function=lambda feature: {"weight": 5},
        # Leaflet's default marker loads its icon by a path guessed from the stylesheet, which
        # fails once the images are inlined; a circle needs no image.
        marker=folium.CircleMarker(radius=5),
        tooltip=_tooltip(TRACK_FIELDS) if tooltip and len(display) else None,
        show=show,
    )
    layer.add_to(m)
    add_page_style(m)
    if legend:
        counts = Counter(display["vendor_key"])
        m.add_child(
            HtmlControl(vendor_legend_html(colours, counts, title=name), position="bottomleft")
        )
    return m

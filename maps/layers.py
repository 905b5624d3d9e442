"""The main map layers: site polygons coloured by risk, flight tracks by vendor or leak status.

Like :meth:`geopandas.GeoDataFrame.explore`, each function adds one layer to a map ``m`` and
returns ``m``; unlike it, every value is escaped and the page needs no library from a CDN.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from maps.errors import MapError
from maps.legend import leak_legend_html, risk_legend_html, vendor_legend_html
from maps.panels import HtmlControl, add_page_style
from maps.siteinfo import site_extras
from maps.style import (
    LEAK_BINS,
    LEAK_COLOURS,
    NO_SCORE_COLOUR,
    RISK_BINS,
    RISK_COLOURS,
    UNKNOWN_VENDOR,
    check_bins,
    vendor_colours,
)
from maps.tables import (
    SITE_COLUMNS,
    SITE_FIELDS,
    TRACK_COLUMNS,
    TRACK_FIELDS,
    _percent,
    checked,
    site_display,
    track_display,
)
from maps.text import MISSING, text
from maps.timeslider import attach_times
from maps.tracks import (
    DEFAULT_MAX_VERTICES,
    DEFAULT_TOLERANCE_M,
    epoch_seconds,
    simplify_tracks,
)

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


def features(display: gpd.GeoDataFrame, fields: Sequence[str]) -> dict[str, Any]:
    """GeoJSON of a display table's tooltip columns; feature ids are the row numbers.

    Parameters
    ----------
    display : geopandas.GeoDataFrame
        A display table (escaped strings).
    fields : sequence of str
        Columns to include as properties.

    Returns
    -------
    dict
        A FeatureCollection.
    """
    # Feature ids are row numbers, never table values: folium writes them into script code.
    frame = display[[*fields, display.geometry.name]]
    return frame.to_geo_dict(na="null", show_bbox=False, drop_id=False)


def tooltip_for(fields: Mapping[str, str]) -> folium.GeoJsonTooltip:
    """Tooltip showing ``fields`` (property → label) in the package's tooltip style.

    Parameters
    ----------
    fields : mapping
        Property name → label (trusted names, labels escaped here).

    Returns
    -------
    folium.GeoJsonTooltip
        The tooltip.
    """
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
    passes: pd.DataFrame | None = None,
    flights: pd.DataFrame | None = None,
    leaks: pd.DataFrame | None = None,
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
    passes : pandas.DataFrame, optional
        The passes table: the tooltip then names the drones longest in view of each site.
    flights : pandas.DataFrame, optional
        The flights table (``flight_id``, ``vendor``): with ``passes``, each vendor's share of
        the time in view.
    leaks : pandas.DataFrame, optional
        The per-site leak results (``site_id``, ``p_any_imagery_leaked``, ``p_visits_known``).
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
    sites = checked(site_exposure, SITE_COLUMNS, what="site_exposure")
    extra, extra_fields = site_extras(sites["site_id"], passes=passes, flights=flights, leaks=leaks)
    display = site_display(sites, bins=bins, extra=extra)
    fields = {**SITE_FIELDS, **extra_fields}
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
        features(display, list(fields)),
        name=text(name),
        style_function=lambda feature: styles[str(feature["id"])],
        highlight_function=lambda feature: {"weight": 3, "fillOpacity": 0.85},
        tooltip=tooltip_for(fields) if tooltip and len(display) else None,
        show=show,
    )
    layer.add_to(m)
    add_page_style(m)
    if legend:
        html = risk_legend_html(display["risk_class"].to_numpy(), title=name, bins=bins)
        m.add_child(HtmlControl(html, position="bottomleft"))
    return m


def _leak_classes(values: pd.Series) -> np.ndarray:
    p = pd.to_numeric(values, errors="coerce").to_numpy("float64", na_value=np.nan)
    return np.where(np.isnan(p), -1, np.digitize(p, LEAK_BINS))


def add_tracks(
    flights: gpd.GeoDataFrame,
    *,
    m: folium.Map,
    name: str = "Flight tracks",
    points: pd.DataFrame | None = None,
    color_by: str = "vendor",
    leak_column: str = "p_any_leaked",
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    max_vertices: int | None = DEFAULT_MAX_VERTICES,
    tooltip: bool = True,
    legend: bool = True,
    show: bool = True,
    style_kwds: Mapping[str, Any] | None = None,
) -> folium.Map:
    """Draw flight tracks coloured by vendor or by leak status, thinned and time-aware.

    Tracks are thinned with :func:`maps.tracks.simplify_tracks` unless the table already is its
    output. With timed ``points`` every kept vertex knows its time and the time slider trims
    each track to the window; otherwise a track is shown whole while its flight overlaps the
    window.

    Parameters
    ----------
    flights : geopandas.GeoDataFrame
        The flights table of :mod:`flightlogs.schema`: one LineString per flight, a Point for a
        one-sample flight (drawn as a small circle), empty geometries skipped. Not modified.
    m : folium.Map
        The map to draw on; modified in place.
    name : str
        Layer name in the layer control and legend heading; escaped.
    points : pandas.DataFrame, optional
        Timed track points (``flight_id``, ``time``, ``lon``, ``lat``): the samples or a result
        directory's ``tracks.parquet``.
    color_by : {"vendor", "leak"}
        Colour by vendor, or by the chance that the flight's data leaked (``leak_column``, a
        probability; classes below 10 %, 10–50 %, 50 % or more, and unknown).
    leak_column : str
        Column of ``flights`` with the leak probability, for ``color_by="leak"``.
    tolerance_m : float
        Douglas–Peucker tolerance on the ground, metres.
    max_vertices : int, optional
        Vertex budget of the layer.
    tooltip : bool
        Show a flight's details on hover.
    legend : bool
        Add the colour legend in the lower left corner.
    show : bool
        Whether the layer is visible when the page opens.
    style_kwds : mapping, optional
        Leaflet path options (``weight``, ``opacity``, ...) that override the defaults; the
        colour always follows the vendor or leak class.

    Returns
    -------
    folium.Map
        ``m``.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column, or ``color_by`` is unknown.

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
    if color_by not in ("vendor", "leak"):
        raise MapError(f"color_by: expected 'vendor' or 'leak', got {color_by!r}")
    columns = [*TRACK_COLUMNS, *([leak_column] if color_by == "leak" else [])]
    checked(flights, columns, what="flights")  # every problem reported before any work
    thin = flights
    if "vertex_times" not in flights.columns:
        thin, _ = simplify_tracks(
            flights, points=points, tolerance_m=tolerance_m, max_vertices=max_vertices
        )
    frame = checked(thin, [*columns, "vertex_times"], what="flights")
    # track_display orders flights by id; the time index must follow the same order.
    order = np.argsort(frame["flight_id"].astype("string").fillna("").to_numpy(), kind="stable")
    display = track_display(frame)
    fields = dict(TRACK_FIELDS)
    extra = dict(style_kwds or {})
    if color_by == "leak":
        p = pd.to_numeric(frame[leak_column], errors="coerce").to_numpy("float64", na_value=np.nan)
        display["leak"] = [MISSING if np.isnan(v) else _percent(v) for v in p[order]]
        fields["leak"] = "Chance data leaked"
        classes = _leak_classes(frame[leak_column])[order]
        colours = [LEAK_COLOURS[k] if k >= 0 else UNKNOWN_VENDOR[1] for k in classes]
    else:
        by_vendor = vendor_colours(display["vendor_key"])
        colours = [by_vendor[v] for v in display["vendor_key"]]
    styles = {
        str(i): {**_TRACK_STYLE, **extra, "color": c, "fillColor": c}
        for i, c in enumerate(colours)
    }
    layer = folium.GeoJson(
        features(display, list(fields)),
        name=text(name),
        style_function=lambda feature: styles[str(feature["id"])],
        highlight_function=lambda feature: {"weight": 5},
        # Leaflet's default marker loads its icon by a path guessed from the stylesheet, which
        # fails once the images are inlined; a circle needs no image.
        marker=folium.CircleMarker(radius=5),
        tooltip=tooltip_for(fields) if tooltip and len(display) else None,
        show=show,
    )
    times = [frame["vertex_times"].iloc[i] for i in order]
    start = epoch_seconds(frame["start"])[order]
    end = epoch_seconds(frame["end"])[order]
    for i, t in enumerate(times):
        if t is not None and len(t) and np.isfinite(t).all():
            start[i], end[i] = float(np.min(t)), float(np.max(t))
    attach_times(layer, start=start, end=end, vertex_times=times, kind="flights")
    layer.add_to(m)
    add_page_style(m)
    # Track legends go right, above the provenance box: the left column holds the site and
    # coverage legends, and together they would climb into the time window.
    if legend and color_by == "leak":
        html = leak_legend_html(classes, title=name)
        m.add_child(HtmlControl(html, position="bottomright"))
    elif legend:
        counts = Counter(display["vendor_key"])
        m.add_child(
            HtmlControl(vendor_legend_html(by_vendor, counts, title=name), position="bottomright")
        )
    return m

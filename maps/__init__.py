"""Interactive risk maps of site exposure that open on an air-gapped laptop.

The functions take the result tables (``site_exposure``, ``flights``, ``passes``, coverage,
zones, ...) and draw them with folium; they read no file except the assets of installed packages.
:func:`risk_map` builds the whole map; :func:`add_sites`, :func:`add_tracks`, :func:`add_coverage`,
:func:`add_passes`, :func:`add_footprints`, :func:`add_zones`, :func:`add_violations`,
:func:`add_receivers` and :func:`add_site_patterns` add single layers to a map ``m`` so that they
stack; :func:`add_time_slider` and :func:`add_draw_tool` add the time window and the zone drawing
tool; :func:`save_html` writes one self-contained, deterministic HTML file that makes no network
request; :func:`briefing_html` and :func:`save_png` make the briefing and a static image.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from maps.assets import inline_leaflet, leaflet_assets, offline_problems
from maps.coverage import NIIRS_COLOURS, aggregate_coverage
from maps.draw import add_draw_tool
from maps.errors import MapError, OfflineError
from maps.layers import add_sites, add_tracks
from maps.overlays import (
    add_coverage,
    add_footprints,
    add_passes,
    add_receivers,
    add_violations,
    add_zones,
    pass_lines,
)
from maps.patterns import add_site_patterns
from maps.report import briefing_html, save_briefing
from maps.riskmap import network_use, risk_map
from maps.save import render_html, save_html, write_atomic
from maps.static import save_png
from maps.style import NO_SCORE_COLOUR, RISK_BINS, RISK_COLOURS
from maps.timeslider import add_time_slider
from maps.tracks import Simplification, decimate_points, simplify_tracks

try:
    __version__ = version("exposure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "NIIRS_COLOURS",
    "NO_SCORE_COLOUR",
    "RISK_BINS",
    "RISK_COLOURS",
    "MapError",
    "OfflineError",
    "Simplification",
    "add_coverage",
    "add_draw_tool",
    "add_footprints",
    "add_passes",
    "add_receivers",
    "add_site_patterns",
    "add_sites",
    "add_time_slider",
    "add_tracks",
    "add_violations",
    "add_zones",
    "aggregate_coverage",
    "briefing_html",
    "decimate_points",
    "inline_leaflet",
    "leaflet_assets",
    "network_use",
    "offline_problems",
    "pass_lines",
    "render_html",
    "risk_map",
    "save_briefing",
    "save_html",
    "save_png",
    "simplify_tracks",
    "write_atomic",
]

"""Interactive risk maps of site exposure that open on an air-gapped laptop.

The functions take the result tables (``site_exposure``, ``flights``) and draw them with folium;
they read no file except Leaflet's own assets. :func:`risk_map` builds the whole map,
:func:`add_sites` and :func:`add_tracks` add single layers, and :func:`save_html` writes one
self-contained, deterministic HTML file that makes no network request.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from maps.assets import inline_leaflet, leaflet_assets, offline_problems
from maps.errors import MapError, OfflineError
from maps.layers import add_sites, add_tracks
from maps.riskmap import network_use, risk_map
from maps.save import render_html, save_html
from maps.style import NO_SCORE_COLOUR, RISK_BINS, RISK_COLOURS

try:
    __version__ = version("exposure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "NO_SCORE_COLOUR",
    "RISK_BINS",
    "RISK_COLOURS",
    "MapError",
    "OfflineError",
    "add_sites",
    "add_tracks",
    "inline_leaflet",
    "leaflet_assets",
    "network_use",
    "offline_problems",
    "render_html",
    "risk_map",
    "save_html",
]

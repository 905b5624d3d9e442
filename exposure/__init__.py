"""The exposure engine: camera geometry, image quality, per-site metrics, and the command line.

Computational functions take GeoDataFrames and return GeoDataFrames; they open no files and draw
nothing. The command line (:mod:`exposure.cli`) is the one place that wires readers, engine and
maps together.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from exposure.cameras import Camera, camera_for_model, load_cameras
from exposure.engine import Assessment, assess, risk_score
from exposure.errors import CameraError, ExposureError
from exposure.footprint import nadir_footprints
from exposure.quality import gsd_m, niirs, niirs_giqe5, niirs_meaning

try:
    __version__ = version("exposure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Assessment",
    "Camera",
    "CameraError",
    "ExposureError",
    "assess",
    "camera_for_model",
    "gsd_m",
    "load_cameras",
    "nadir_footprints",
    "niirs",
    "niirs_giqe5",
    "niirs_meaning",
    "risk_score",
]

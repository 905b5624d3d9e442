"""The exposure engine: camera geometry, image quality, per-site metrics, and the command line.

Computational functions take GeoDataFrames and return GeoDataFrames; they open no files and draw
nothing. The command line (:mod:`exposure.cli`) is the one place that wires readers, engine and
maps together.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from exposure.cameras import Camera, camera_for_model, focal_lengths, load_cameras
from exposure.engine import Assessment, assess, risk_score
from exposure.errors import CameraError, ExposureError
from exposure.footprint import footprint_rings, nadir_footprints
from exposure.footprint_frames import footprints
from exposure.leaks import LeakResult, compare_what_ifs, sensitivity_sweep, simulate_leaks
from exposure.nofly import buffer_table, observation_distance_m, plan_zones, whatif_zones
from exposure.pattern_leaks import leaked_patterns
from exposure.patterns import patterns_of_life
from exposure.pose import CameraPose, Mount, camera_pose, observation_mode
from exposure.quality import gsd_m, niirs, niirs_giqe5, niirs_meaning
from exposure.replacement import plan_replacement
from exposure.scenario import Scenario, load_scenario
from exposure.terrain import (
    Dem,
    TerrainError,
    heights_above_ground,
    local_dem,
    read_dem,
    visible,
)
from exposure.violations import violations
from exposure.whatif import WhatIf, load_what_if

try:
    __version__ = version("exposure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "Assessment",
    "Camera",
    "CameraError",
    "CameraPose",
    "Dem",
    "ExposureError",
    "LeakResult",
    "Mount",
    "Scenario",
    "TerrainError",
    "WhatIf",
    "assess",
    "buffer_table",
    "camera_for_model",
    "camera_pose",
    "compare_what_ifs",
    "focal_lengths",
    "footprint_rings",
    "footprints",
    "gsd_m",
    "heights_above_ground",
    "leaked_patterns",
    "load_cameras",
    "load_scenario",
    "load_what_if",
    "local_dem",
    "nadir_footprints",
    "niirs",
    "niirs_giqe5",
    "niirs_meaning",
    "observation_distance_m",
    "observation_mode",
    "patterns_of_life",
    "plan_replacement",
    "plan_zones",
    "read_dem",
    "risk_score",
    "sensitivity_sweep",
    "simulate_leaks",
    "violations",
    "visible",
    "whatif_zones",
]

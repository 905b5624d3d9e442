"""Read drone flight logs of every supported format into one canonical samples table.

The public functions return two GeoDataFrames, ``samples`` and ``flights``, whose columns are
fixed in :mod:`flightlogs.schema`. This package knows nothing about sites.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flightlogs.detect import FORMATS, detect_format
from flightlogs.errors import FlightLogError, SchemaError, UnknownFormatError
from flightlogs.fleet import apply_fleet, read_fleet
from flightlogs.io import (
    LogFile,
    iter_flight_logs,
    list_log_files,
    read_flight_log,
    read_flight_logs,
)
from flightlogs.photos import read_photo_folder
from flightlogs.schema import FLIGHT_COLUMNS, SAMPLE_COLUMNS, make_flights, make_samples
from flightlogs.store import StoreWriter, read_store, write_store

try:
    __version__ = version("exposure")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "FLIGHT_COLUMNS",
    "FORMATS",
    "SAMPLE_COLUMNS",
    "FlightLogError",
    "LogFile",
    "SchemaError",
    "StoreWriter",
    "UnknownFormatError",
    "apply_fleet",
    "detect_format",
    "iter_flight_logs",
    "list_log_files",
    "make_flights",
    "make_samples",
    "read_fleet",
    "read_flight_log",
    "read_flight_logs",
    "read_photo_folder",
    "read_store",
    "write_store",
]

"""The two public entry points: one file, or many."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd

from flightlogs.core import to_tables
from flightlogs.detect import FORMATS, detect_format
from flightlogs.errors import FlightLogError
from flightlogs.schema import empty_samples, make_flights

__all__ = ["read_flight_log", "read_flight_logs"]


def read_flight_log(
    path: str | Path, *, format: str | None = None, flight_id: str | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read one flight-log file into the canonical samples and flights tables.

    Parameters
    ----------
    path : str or pathlib.Path
        The log file.
    format : str, optional
        A key of :data:`flightlogs.FORMATS`; detected from the content when omitted.
    flight_id : str, optional
        The flight id; defaults to the file's stem.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        See :mod:`flightlogs.schema`.

    Raises
    ------
    FlightLogError
        With the file name and what was wrong: missing or empty file, unknown format, no
        position in any record, or a record that cannot be parsed.
    """
    path = Path(path)
    if format is None:
        format = detect_format(path)
    elif format not in FORMATS:
        raise FlightLogError(
            f"{path}: unknown format {format!r} (expected one of {sorted(FORMATS)})"
        )
    elif not path.is_file():
        raise FlightLogError(f"{path}: no such file")
    parsed = FORMATS[format](path)
    return to_tables(parsed, path=path, flight_id=flight_id)


def read_flight_logs(
    paths: Iterable[str | Path], *, format: str | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read many flight-log files into one samples and one flights table.

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        Log files; a directory is walked recursively (files in sorted order).
    format : str, optional
        Force one reader for every file.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        All flights, in the order of ``paths``.

    Raises
    ------
    FlightLogError
        Listing every file that could not be read, one per line, after trying them all; or if
        two files give the same flight id.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    samples_parts, flight_parts, errors = [], [], []
    for f in files:
        try:
            s, fl = read_flight_log(f, format=format)
        except FlightLogError as exc:
            errors.append(str(exc))
            continue
        samples_parts.append(s)
        flight_parts.append(fl)
    if errors:
        raise FlightLogError("\n".join(errors))
    if not flight_parts:
        raise FlightLogError("no flight-log files given")
    samples = gpd.GeoDataFrame(pd.concat(samples_parts, ignore_index=True), crs="EPSG:4326")
    flights = pd.concat(flight_parts, ignore_index=True)
    flights = make_flights(flights.drop(columns="geometry"), samples=samples, source="flight logs")
    return (samples if len(samples) else empty_samples()), flights

"""The public entry points: one file, many files, or many files one at a time."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from flightlogs.core import sha256_file, to_tables
from flightlogs.detect import FORMATS, detect_format
from flightlogs.errors import FlightLogError
from flightlogs.schema import empty_samples, make_flights
from flightlogs.store import read_store

__all__ = [
    "LogFile",
    "iter_flight_logs",
    "list_log_files",
    "read_flight_log",
    "read_flight_logs",
]

#: The format whose files already hold canonical tables (see :mod:`flightlogs.store`).
STORE_FORMAT = "geoparquet_store"
#: Largest flight-log file read (bytes): 24 hours of 50 Hz subtitles or 10 Hz CSV are a few
#: hundred megabytes. A store, written by ``exposure ingest``, is bounded by its samples instead.
MAX_LOG_BYTES = 4 * 1024**3


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
        The flight id; defaults to the file's stem. A store keeps its flights' own ids.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        See :mod:`flightlogs.schema`. A store (``geoparquet_store``) gives back the tables it
        holds, as they were written.

    Raises
    ------
    FlightLogError
        With the file name and what was wrong: missing or empty file, unknown format, a file
        larger than :data:`MAX_LOG_BYTES`, no position in any record, or a record that cannot
        be parsed.
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
    size = path.stat().st_size
    if format != STORE_FORMAT and size > MAX_LOG_BYTES:
        raise FlightLogError(
            f"{path}: {size} bytes, more than the {MAX_LOG_BYTES} accepted for one flight log "
            "(split it into flights)"
        )
    if format == STORE_FORMAT:
        if flight_id is not None:
            raise FlightLogError(
                f"{path}: a store keeps the ids of its flights; flight_id={flight_id!r} "
                "cannot rename them"
            )
        return read_store(path)
    # Hashing a large log takes seconds; hashlib releases the GIL, so it runs beside the
    # reading, at the lowest scheduling priority: it takes the cores the parser leaves idle
    # (the CSV readers use every core; row checks and geometry building use one).
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(_hash_when_idle, path, stop)
        try:
            parsed = FORMATS[format](path)
            return to_tables(parsed, path=path, flight_id=flight_id, sha256=digest)
        except BaseException:
            stop.set()  # a file that cannot be read needs no hash: do not wait for it
            raise


def _hash_when_idle(path: Path, stop: threading.Event) -> str:
    """Return the file's SHA-256, hashed by a thread that first gives up its priority."""
    if sys.platform.startswith("linux"):  # there a thread has a nice value of its own
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    return sha256_file(path, stop=stop)


def list_log_files(paths: Iterable[str | Path]) -> list[Path]:
    """List the files to read: files as given, directories walked recursively.

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        Files and directories. A path that does not exist is kept, so that reading it reports
        it.

    Returns
    -------
    list of pathlib.Path
        In the order given; each directory's files in sorted order (hidden files included).

    Examples
    --------
    >>> list_log_files(["a.srt", "b.csv"])
    [PosixPath('a.srt'), PosixPath('b.csv')]
    """
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p])
    return files


@dataclass(frozen=True)
class LogFile:
    """What reading one file gave: its tables, or the reason it could not be read.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    format : str or None
        The format it was read as; None when it could not be recognised.
    samples, flights : geopandas.GeoDataFrame or None
        The canonical tables; None when the file could not be read.
    error : FlightLogError or None
        Why the file could not be read; None when it was.
    """

    path: Path
    format: str | None
    samples: gpd.GeoDataFrame | None = None
    flights: gpd.GeoDataFrame | None = None
    error: FlightLogError | None = None

    @property
    def ok(self) -> bool:
        """True when the file was read."""
        return self.error is None


def iter_flight_logs(
    paths: Iterable[str | Path], *, format: str | None = None
) -> Iterator[LogFile]:
    """Read flight-log files one at a time, reporting each file's tables or error.

    Unlike :func:`read_flight_logs`, a file that cannot be read does not stop the others: its
    error is yielded in its place.

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        Log files; a directory is walked recursively (files in sorted order).
    format : str, optional
        Force one reader for every file.

    Yields
    ------
    LogFile
        One per file, in the order of :func:`list_log_files`.

    Examples
    --------
    >>> [(r.path.name, r.ok, str(r.error)) for r in iter_flight_logs(["missing.srt"])]
    [('missing.srt', False, 'missing.srt: no such file')]
    """
    for path in list_log_files(paths):
        found = format
        try:
            if found is None:
                found = detect_format(path)
            samples, flights = read_flight_log(path, format=found)
        except FlightLogError as exc:
            yield LogFile(path=path, format=found, error=exc)
            continue
        yield LogFile(path=path, format=found, samples=samples, flights=flights)


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
    samples_parts, flight_parts, errors = [], [], []
    for result in iter_flight_logs(paths, format=format):
        if result.error is not None:
            errors.append(str(result.error))
            continue
        samples_parts.append(result.samples)
        flight_parts.append(result.flights)
    if errors:
        raise FlightLogError("\n".join(errors))
    if not flight_parts:
        raise FlightLogError("no flight-log files given")
    samples = gpd.GeoDataFrame(pd.concat(samples_parts, ignore_index=True), crs="EPSG:4326")
    flights = pd.concat(flight_parts, ignore_index=True)
    flights = make_flights(flights.drop(columns="geometry"), samples=samples, source="flight logs")
    return (samples if len(samples) else empty_samples()), flights

"""What every reader returns, and the one place that turns it into canonical tables."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from flightlogs.errors import FlightLogError
from flightlogs.quality import reject_rows
from flightlogs.schema import constant_strings, make_flights, make_samples

__all__ = [
    "MAX_LISTED",
    "MAX_SAMPLES_PER_FLIGHT",
    "ParsedLog",
    "bad_cells",
    "sha256_file",
    "text_numbers",
    "to_tables",
]

#: Most records accepted in one flight: a day of flight at 200 Hz. Beyond it a "flight" is a
#: concatenation, or a damaged count, and the row checks would hold gigabytes at once.
MAX_SAMPLES_PER_FLIGHT = 20_000_000


@dataclass(frozen=True)
class ParsedLog:
    """One flight as a reader parsed it, before row rejection.

    Attributes
    ----------
    rows : pandas.DataFrame
        One row per record in file order, with columns named as in
        :data:`flightlogs.schema.SAMPLE_COLUMNS` (``flight_id`` excepted; ``lon``/``lat`` may be
        NaN and ``time`` NaT where the record lacks them: :func:`to_tables` rejects and counts
        those).
        ``source_row`` gives the record's 1-based line, row or frame number.
    source_format : str
        The registry key of the reader that produced it (``"airdata_csv"``, ``"dji_srt"``, ...).
    height_ref : str
        What ``height_agl_m`` is measured from: ``"takeoff"``, ``"ground"`` or ``"unknown"``.
    drone_id, model, vendor, camera : str or None
        What the file says about the aircraft; None when it says nothing.
    notes : list of str
        Assumptions the reader made (e.g. "times are the drone's clock, taken as UTC").
    suffix : str
        Appended to the file's stem to make the flight id when one file holds several flights.
    """

    rows: pd.DataFrame
    source_format: str
    height_ref: str = "unknown"
    drone_id: str | None = None
    model: str | None = None
    vendor: str | None = None
    camera: str | None = None
    notes: list[str] = field(default_factory=list)
    suffix: str = ""


#: Bad cells of a column named in an error message; the others are counted.
MAX_LISTED = 5


def bad_cells(column: str, rows: pd.Index, cells: pd.Series, expected: str) -> str:
    """Describe a column's bad cells in one line: the first few by row, then how many more.

    Examples
    --------
    >>> cells = pd.Series(["x", "y"], index=[3, 9])
    >>> bad_cells("height", cells.index, cells, "a number")
    "column 'height': row 3 'x', row 9 'y' (expected a number)"
    """
    listed = ", ".join(f"row {r} {cells[r]!r}" for r in rows[:MAX_LISTED])
    more = f" and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
    return f"column {column!r}: {listed}{more} (expected {expected})"


def text_numbers(
    text: pd.Series, column: str, problems: list[str], *, shown: pd.Series | None = None
) -> np.ndarray:
    """Convert text cells to floats (NaN where empty), recording every cell that is not one.

    ``shown`` gives the cells as the file has them, for the message, when ``text`` was
    normalised first (e.g. a decimal comma turned into a point).

    Examples
    --------
    >>> problems = []
    >>> text_numbers(pd.Series(["1.5", "", "abc"]), "yaw", problems).tolist(), problems
    ([1.5, nan, nan], ["column 'yaw': row 2 'abc' (expected a number)"])
    """
    values = pd.to_numeric(text, errors="coerce")
    bad = (values.isna() & text.notna() & (text != "")).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        problems.append(bad_cells(column, text.index[bad], text if shown is None else shown,
                                  "a number"))
    return values.to_numpy(dtype=float, na_value=np.nan)


def sha256_file(path: str | Path, *, stop: threading.Event | None = None) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.
    stop : threading.Event, optional
        Checked before each block: once set, hashing stops and the result is ``""``.

    Returns
    -------
    str
        64 lowercase hex digits (``""`` when stopped).
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                return ""
            digest.update(block)
    return digest.hexdigest()


#: Optional measurements in which an infinite value (``inf``, ``1e400``) means "not measured".
_MEASURES = (
    "alt_msl_m",
    "height_agl_m",
    "yaw_deg",
    "gimbal_pitch_deg",
    "gimbal_yaw_deg",
    "gimbal_roll_deg",
    "focal_length_mm",
    "zoom",
)


def _clear_infinite(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Set infinite optional measurements to NA (NA means unknown); say how many per column.

    An infinite height or angle is no measurement, and it would poison every sum and distance
    downstream; the row's position and time are still good, so the row is kept.
    """
    notes, fixed = [], {}
    for name in _MEASURES:
        if name not in rows or not pd.api.types.is_float_dtype(rows[name]):
            continue
        values = rows[name].to_numpy()
        infinite = np.isinf(values)
        if infinite.any():
            fixed[name] = np.where(infinite, np.nan, values)
            notes.append(f"{int(infinite.sum())} infinite {name} set to NA")
    return (rows.assign(**fixed) if fixed else rows), notes


def to_tables(
    parsed: list[ParsedLog],
    *,
    path: str | Path,
    flight_id: str | None = None,
    sha256: str | Future[str] | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Reject bad rows and build the canonical samples and flights tables for one file.

    Parameters
    ----------
    parsed : list of ParsedLog
        What the reader returned for the file (one entry per flight).
    path : str or pathlib.Path
        The file, for provenance (path and SHA-256).
    flight_id : str, optional
        Flight id to use instead of the file's stem.
    sha256 : str or concurrent.futures.Future, optional
        The file's SHA-256 when the caller already has it, or is computing it in another
        thread (awaited only when the flights table is made); computed here otherwise.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        The canonical tables (see :mod:`flightlogs.schema`).
    """
    path = Path(path)
    base = flight_id or path.stem
    sample_parts, flight_rows = [], []
    for log in parsed:
        fid = base + log.suffix
        if len(log.rows) > MAX_SAMPLES_PER_FLIGHT:
            raise FlightLogError(
                f"{path}: flight {fid!r} has {len(log.rows)} records, more than the "
                f"{MAX_SAMPLES_PER_FLIGHT} accepted for one flight (split the log)"
            )
        kept, rejected = reject_rows(log.rows)
        kept, cleared = _clear_infinite(kept)
        kept = kept.assign(
            flight_id=constant_strings(fid, len(kept)),
            height_ref=constant_strings(log.height_ref, len(kept)),
        )
        sample_parts.append(make_samples(kept, source=str(path)))
        flight_rows.append(
            {
                "flight_id": fid,
                "drone_id": log.drone_id,
                "model": log.model,
                "vendor": log.vendor,
                "camera": log.camera,
                "source_path": str(path),
                "source_format": log.source_format,
                "n_read": len(log.rows),
                "n_samples": len(kept),
                "n_rejected": sum(rejected.values()),
                "rejected_reasons": rejected,
                "height_ref": log.height_ref,
                "notes": "; ".join([*log.notes, *cleared]) or None,
            }
        )
    if isinstance(sha256, Future):
        digest = sha256.result()
    else:
        digest = sha256 or sha256_file(path)
    for row in flight_rows:
        row["sha256"] = digest
    samples = pd.concat(sample_parts, ignore_index=True)
    samples = gpd.GeoDataFrame(samples, geometry="geometry", crs=sample_parts[0].crs)
    flights = make_flights(pd.DataFrame(flight_rows), samples=samples, source=str(path))
    return samples, flights

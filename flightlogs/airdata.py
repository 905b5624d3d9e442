"""AirData CSV exports of DJI flight records (airdata.com, "CSV - Original").

One file is one flight, one row per sample (10 Hz for the DJI Mini 2 file in the test data).
Columns used (names are matched after stripping spaces: AirData writes some headers with a
leading space, e.g. ``" compass_heading(degrees)"``):

=================================  ===========================================================
AirData column                     canonical column
=================================  ===========================================================
``latitude``, ``longitude``        ``lat``, ``lon`` (required)
``datetime(utc)``                  time base (required): whole seconds, UTC
``time(millisecond)``              milliseconds since the first row (optional, see below)
``height_above_takeoff(feet)``     ``height_agl_m``, ``height_ref = "takeoff"``
``altitude_above_seaLevel(feet)``  ``alt_msl_m``
``compass_heading(degrees)``       ``yaw_deg``
``gimbal_heading(degrees)``        ``gimbal_yaw_deg``
``gimbal_pitch(degrees)``          ``gimbal_pitch_deg`` (AirData: 0 = horizon, -90 = down)
``isPhoto``, ``isVideo``           ``capturing`` (either one set; NA when both are empty)
=================================  ===========================================================

Heights may also be given in metres (``height_above_takeoff(meters)``, ``...(m)``); feet are
converted with 0.3048 m/ft (exact by definition). ``datetime(utc)`` has one-second resolution,
so times are the first dated row's ``datetime(utc)`` plus the ``time(millisecond)`` offsets:
relative times are exact to the millisecond, absolute times may be up to 1 s early. Without a
``time(millisecond)`` column each row's ``datetime(utc)`` is used as it is.

Row numbers in messages and in ``source_row`` count the header as row 1, as a spreadsheet shows
them. A cell that is not a number is an error naming its row, column and value; an empty cell
is NA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError

__all__ = ["read", "sniff"]

_FEET_TO_M = 0.3048

# Stripped header → (canonical name, factor to SI). Feet and metre spellings of one field map to
# the same canonical name; metre spellings come later, so a file with both keeps the metres.
_UNIT_COLUMNS: dict[str, tuple[str, float]] = {
    f"{stem}({unit})": (name, factor)
    for stem, name in (
        ("height_above_takeoff", "height_agl_m"),
        ("altitude_above_seaLevel", "alt_msl_m"),
    )
    for unit, factor in (("feet", _FEET_TO_M), ("meters", 1.0), ("m", 1.0))
}

_PLAIN_COLUMNS: dict[str, str] = {
    "latitude": "lat",
    "longitude": "lon",
    "time(millisecond)": "ms",
    "compass_heading(degrees)": "yaw_deg",
    "gimbal_heading(degrees)": "gimbal_yaw_deg",
    "gimbal_pitch(degrees)": "gimbal_pitch_deg",
    "isPhoto": "is_photo",
    "isVideo": "is_video",
}
_DATETIME = "datetime(utc)"
_WANTED = {*_UNIT_COLUMNS, *_PLAIN_COLUMNS, _DATETIME}
_FLAG_WORDS = {"true": "1", "false": "0", "yes": "1", "no": "0"}
_MAX_LISTED = 5


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like an AirData CSV.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the header line names ``latitude`` and ``longitude`` and either
        ``time(millisecond)`` or ``datetime(utc)``.

    Examples
    --------
    >>> sniff(b"time(millisecond),datetime(utc),latitude,longitude\n0,2021-09-06 02:23:48,1,2\n")
    True
    >>> sniff(b"lat,lon\n1,2\n")
    False
    """
    first = head.decode("utf-8-sig", errors="replace").splitlines()[:1]
    if not first:
        return False
    names = {n.strip() for n in first[0].split(",")}
    return {"latitude", "longitude"} <= names and bool({"time(millisecond)", _DATETIME} & names)


def _numbers(raw: pd.Series, column: str, problems: list[str]) -> np.ndarray:
    """Convert one column to float, recording every cell that is not a number."""
    if pd.api.types.is_bool_dtype(raw) or pd.api.types.is_numeric_dtype(raw):
        return raw.to_numpy(dtype=float, na_value=np.nan)
    text = raw.astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() & text.notna() & (text != "")
    if bad.any():
        rows = raw.index[bad.to_numpy()]
        listed = ", ".join(f"row {r} {text[r]!r}" for r in rows[:_MAX_LISTED])
        more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
        problems.append(f"column {column!r}: {listed}{more} (expected a number)")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _flags(raw: pd.Series, column: str, problems: list[str]) -> pd.Series:
    """Read a 0/1 (or true/false) flag column as a nullable boolean."""
    if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
        raw = raw.astype("string").str.strip().str.lower().replace(_FLAG_WORDS)
    values = _numbers(raw, column, problems)
    out = pd.Series(values != 0, index=raw.index, dtype="boolean")
    out[np.isnan(values)] = pd.NA
    return out


def _read_table(path: Path) -> pd.DataFrame:
    """Read the columns this reader uses, indexed by spreadsheet row number."""
    try:
        table = pd.read_csv(
            path,
            usecols=lambda name: name.strip() in _WANTED,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError:
        raise FlightLogError(f"{path}: the file is empty (expected an AirData CSV)") from None
    except pd.errors.ParserError as exc:
        raise FlightLogError(f"{path}: not a readable AirData CSV ({exc})") from None
    table.columns = [c.strip() for c in table.columns]
    # Spreadsheet numbering: the header is row 1. Blank lines were kept so that these numbers
    # match the file; they are not records, so they are dropped only now.
    table.index = pd.RangeIndex(2, len(table) + 2)
    return table.dropna(how="all")


def _times(
    table: pd.DataFrame, ms: np.ndarray | None, problems: list[str]
) -> tuple[pd.Series, str | None]:
    """Return the absolute UTC times of the rows and a note saying how they were made."""
    text = table[_DATETIME].astype("string").str.strip()
    stamp = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = stamp.isna() & text.notna() & (text != "")
    if bad.any():
        rows = table.index[bad.to_numpy()]
        listed = ", ".join(f"row {r} {text[r]!r}" for r in rows[:_MAX_LISTED])
        problems.append(f"column {_DATETIME!r}: {listed} (expected 'YYYY-MM-DD HH:MM:SS')")
    usable = stamp.notna().to_numpy() & (np.isfinite(ms) if ms is not None else True)
    if not usable.any():
        if not bad.any():
            problems.append(
                f"column {_DATETIME!r} has no date in any row (expected 'YYYY-MM-DD HH:MM:SS')"
            )
        return stamp, None
    if ms is None:
        return stamp, f"{_DATETIME} has whole seconds and there is no time(millisecond) column"
    first = int(np.flatnonzero(usable)[0])
    base = stamp.iloc[first] - pd.Timedelta(milliseconds=float(ms[first]))
    offsets = pd.to_timedelta(ms, unit="ms")
    return pd.Series(base + offsets, index=table.index), (
        f"times are {_DATETIME} of row {table.index[first]} (whole seconds) plus "
        "time(millisecond): absolute times may be up to 1 s early"
    )


def read(path: Path) -> list[ParsedLog]:
    r"""Read an AirData CSV into one parsed flight.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file.

    Returns
    -------
    list of ParsedLog
        One entry; heights in metres above the take-off point.

    Raises
    ------
    FlightLogError
        If the file is empty or not CSV, lacks ``latitude``/``longitude`` or
        ``datetime(utc)``, has no row with a position, or has cells that are not numbers or
        dates (every such column is listed with its first rows and values).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet)\n"
    ...         "0,2021-09-06 02:23:48,47.5,-122.6,10\n100,2021-09-06 02:23:48,47.5,-122.6,\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "f.csv"
    ...     _ = p.write_text(text)
    ...     rows = read(p)[0].rows
    >>> rows["height_agl_m"].round(3).tolist(), str(rows["time"].iloc[1])
    ([3.048, nan], '2021-09-06 02:23:48.100000+00:00')
    """
    path = Path(path)
    table = _read_table(path)
    present = set(table.columns)
    if not {"latitude", "longitude"} & present:
        raise FlightLogError(
            f"{path}: not an AirData CSV: no latitude/longitude columns "
            "(expected 'latitude', 'longitude')"
        )
    missing = [c for c in ("latitude", "longitude", _DATETIME) if c not in present]
    if missing:
        raise FlightLogError(
            f"{path}: AirData CSV without column(s) {missing} "
            f"(expected 'latitude', 'longitude' and '{_DATETIME}')"
        )

    if table.empty:
        raise FlightLogError(f"{path}: the AirData CSV has a header but no rows")

    problems: list[str] = []
    rows = pd.DataFrame(index=table.index)
    for column, name in _PLAIN_COLUMNS.items():
        if column in present and name not in ("is_photo", "is_video"):
            rows[name] = _numbers(table[column], column, problems)
    for column, (name, factor) in _UNIT_COLUMNS.items():
        if column in present:
            rows[name] = _numbers(table[column], column, problems) * factor
    flags = [_flags(table[c], c, problems) for c in ("isPhoto", "isVideo") if c in present]
    if flags:
        # Kleene logic: a set flag means capturing even when the other flag is empty.
        rows["capturing"] = flags[0] | flags[1] if len(flags) == 2 else flags[0]
    ms = rows.pop("ms").to_numpy() if "ms" in rows else None
    time, time_note = _times(table, ms, problems)
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))

    if not (np.isfinite(rows["lat"]) & np.isfinite(rows["lon"])).any():
        raise FlightLogError(
            f"{path}: none of the {len(rows)} rows has both a latitude and a longitude "
            "(expected decimal degrees in 'latitude' and 'longitude')"
        )
    rows["time"] = time
    rows["source_row"] = rows.index.to_numpy(dtype="int64")
    notes = [n for n in (time_note,) if n]
    has_height = "height_agl_m" in rows
    if has_height:
        notes.append("height_agl_m is height above the take-off point (height_above_takeoff)")
    return [
        ParsedLog(
            rows=rows.reset_index(drop=True),
            source_format="airdata_csv",
            height_ref="takeoff" if has_height else "unknown",
            vendor="DJI",
            notes=notes,
        )
    ]


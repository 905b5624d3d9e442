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

A row whose ``datetime(utc)`` is more than 2 s away from what ``time(millisecond)`` says (against
the median offset of the file) is marked ``clock_mismatch`` and rejected: real exports have such
rows, the last row before a recording gap stamped with the wall-clock second of the row after it.

Well-formed files are read with pyarrow's CSV reader on every core, in 4 MiB blocks, keeping only
the used columns, converted while reading (memory holds those columns, not the file); a file it
cannot take as it is (a cell that is not a number, a quoted header, a date with a time zone) is
read again with pandas, whose path reports every bad cell.

Row numbers in messages and in ``source_row`` count the header as row 1, as a spreadsheet shows
them. A cell that is not a number is an error naming its row, column and value; an empty cell
is NA.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from flightlogs.core import ParsedLog, bad_cells, text_numbers
from flightlogs.errors import FlightLogError
from flightlogs.quality import READER_REASON

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
_CLOCK_TOLERANCE_S = 2.0
_FLAG_WORDS = {"true": "1", "false": "0", "yes": "1", "no": "0"}


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
    return text_numbers(raw.astype("string").str.strip(), column, problems)


def _flags(raw: pd.Series, column: str, problems: list[str]) -> pd.Series:
    """Read a 0/1 (or true/false) flag column as a nullable boolean."""
    if raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
        raw = raw.astype("string").str.strip().str.lower().replace(_FLAG_WORDS)
    values = _numbers(raw, column, problems)
    out = pd.Series(values != 0, index=raw.index, dtype="boolean")
    out[np.isnan(values)] = pd.NA
    return out


def _header(path: Path) -> list[str] | None:
    """Return the raw (unstripped) column names of the first line, or None if unreadable."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            first = fh.readline()
    except OSError:
        return None
    return first.rstrip("\r\n").split(",") if first.strip() else None


def _read_table_fast(path: Path) -> dict[str, pd.Series] | None:
    """Read the used columns with pyarrow's CSV reader; None when the careful path is needed.

    This is the path every well-formed export takes: the file is parsed in 4 MiB blocks on all
    cores, numbers and dates are converted while it is read, and only the columns used are
    kept, so memory holds those columns and the blocks in flight. Each column becomes one
    NumPy array at the end, made once (nulls as NaN/NaT) and not copied afterwards. Anything
    unexpected (a cell that is not a number, a quoted header, a date with a time zone) returns
    None and the file is read again by :func:`_read_table`, whose messages name every bad cell.
    """
    header = _header(path)
    if header is None or any('"' in name for name in header):
        return None
    stripped = [name.strip() for name in header]
    if len(set(stripped)) != len(stripped):
        return None
    wanted = [raw for raw, name in zip(header, stripped, strict=True) if name in _WANTED]
    if not wanted:
        return None
    types = {raw: pa.float64() for raw in wanted}
    for raw in wanted:
        if raw.strip() == _DATETIME:
            types[raw] = pa.timestamp("ms")
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=1 << 22),
            # Blank lines become rows of nulls, so that row numbers still match the file.
            parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=wanted, column_types=types, timestamp_parsers=[pacsv.ISO8601]
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError):
        return None
    columns = {raw.strip(): table.column(raw) for raw in wanted}
    del table
    # Rows with none of the used cells filled (blank lines) are not records; a column without
    # nulls tells at once that there are none.
    empty = None
    if all(column.null_count for column in columns.values()):
        empty = np.logical_and.reduce(
            [column.is_null().to_numpy(zero_copy_only=False) for column in columns.values()]
        )
    data = {}
    for name in list(columns):
        data[name] = columns.pop(name).to_numpy()  # frees each Arrow column once converted
    index = pd.RangeIndex(2, len(next(iter(data.values()))) + 2)
    if empty is not None and empty.any():
        index = index[~empty]
        data = {name: values[~empty] for name, values in data.items()}
    # One Series per column, sharing the index: a DataFrame would copy them all into one block.
    return {
        name: pd.Series(values, index=index, name=name, copy=False)
        for name, values in data.items()
    }


def _read_table(path: Path) -> dict[str, pd.Series]:
    """Read the columns this reader uses, indexed by spreadsheet row number."""
    try:
        table = pd.read_csv(
            path,
            usecols=lambda name: name.strip() in _WANTED,
            # A row with more cells than the header must not turn the first column into the
            # index (which shifts every column by one): its extra cells are not read.
            index_col=False,
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
    table = table.dropna(how="all")
    return {name: table[name] for name in table.columns}


def _times(
    raw: pd.Series, ms: np.ndarray | None, problems: list[str]
) -> tuple[pd.Series, str | None, np.ndarray | None]:
    """Return the rows' UTC times, a note saying how they were made, and the clock mismatches.

    The third value marks rows whose ``datetime(utc)`` disagrees with ``time(millisecond)``
    (None without a millisecond column): see :func:`read`.
    """
    if pd.api.types.is_datetime64_any_dtype(raw):
        # A naive column (the fast path's) is UTC already: it is localised only when its own
        # stamps are returned, which the millisecond path does not need.
        stamp = None if raw.dt.tz is None else raw.dt.tz_convert("UTC")
    else:
        text = raw.astype("string").str.strip()
        stamp = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        bad = stamp.isna() & text.notna() & (text != "")
        if bad.any():
            rows = raw.index[bad.to_numpy()]
            problems.append(bad_cells(_DATETIME, rows, text, "'YYYY-MM-DD HH:MM:SS'"))
            return stamp, None, None
    dated = raw if stamp is None else stamp
    if ms is not None:
        # A millisecond count past ~30 years is a damaged cell, not a time: its row gets none.
        far = np.abs(ms) >= 1e12
        if far.any():
            ms = np.where(far, np.nan, ms)
    has_ms = np.isfinite(ms) if ms is not None else True
    usable = dated.notna().to_numpy() & has_ms
    if not usable.any() or ms is None:
        if stamp is None:
            stamp = raw.dt.tz_localize("UTC")
        if not usable.any():
            problems.append(
                f"column {_DATETIME!r} has no date in any row (expected 'YYYY-MM-DD HH:MM:SS')"
            )
            return stamp, None, None
        note = f"{_DATETIME} has whole seconds and there is no time(millisecond) column"
        return stamp, note, None
    # Each row's wall clock minus its flight clock is constant up to the 1 s truncation of
    # datetime(utc); a row more than 2 s off the median carries a stamp from another moment.
    # Real exports have them: the last row before a recording gap is stamped with the time at
    # which recording resumed. All in integer nanoseconds; rows that are not usable hold
    # meaningless values that the masks leave out.
    ns = dated.to_numpy(dtype="datetime64[ns]").view("int64")
    offset = ms * 1e6
    np.round(offset, out=offset)
    with np.errstate(invalid="ignore"):
        offset = offset.astype("int64")
    drift = ns - offset
    # The lower median is one row's own drift, so at least that row agrees with it (the mean
    # of the two middle rows of an even count may agree with neither).
    ordered = drift[usable]
    middle = (len(ordered) - 1) // 2
    reference = np.partition(ordered, middle)[middle]
    drift -= reference
    mismatch = usable & (np.abs(drift) > round(_CLOCK_TOLERANCE_S * 1e9))
    del drift, ordered
    first = int(np.flatnonzero(usable & ~mismatch)[0])
    offset += ns[first] - offset[first]
    offset[~has_ms] = np.iinfo(np.int64).min  # NaT
    times = pd.DatetimeIndex(offset.view("datetime64[ns]"), tz="UTC")
    return (
        pd.Series(times.array, index=raw.index, copy=False),
        f"times are {_DATETIME} of row {raw.index[first]} (whole seconds) plus "
        "time(millisecond): absolute times may be up to 1 s early",
        mismatch,
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
    table = _read_table_fast(path)
    if table is None:
        table = _read_table(path)
    present = set(table)
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

    index = table["latitude"].index
    if not len(index):
        raise FlightLogError(f"{path}: the AirData CSV has a header but no rows")

    problems: list[str] = []
    # Columns are gathered first and put into one frame without copying (adding them to a frame
    # one by one copies each).
    columns: dict[str, object] = {}
    for column, name in _PLAIN_COLUMNS.items():
        if column in present and name not in ("is_photo", "is_video"):
            columns[name] = _numbers(table[column], column, problems)
    for column, (name, factor) in _UNIT_COLUMNS.items():
        if column in present:
            values = _numbers(table[column], column, problems)
            if values.flags.writeable:
                # Only this function holds the array (pandas hands out views of its own data
                # read-only), so it is scaled in place rather than copied.
                values *= factor
            else:
                values = values * factor
            columns[name] = values
    flags = [_flags(table[c], c, problems) for c in ("isPhoto", "isVideo") if c in present]
    if flags:
        # Kleene logic: a set flag means capturing even when the other flag is empty.
        columns["capturing"] = (flags[0] | flags[1] if len(flags) == 2 else flags[0]).array
    ms = columns.pop("ms", None)
    time, time_note, mismatch = _times(table[_DATETIME], ms, problems)
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))

    if not (np.isfinite(columns["lat"]) & np.isfinite(columns["lon"])).any():
        raise FlightLogError(
            f"{path}: none of the {len(index)} rows has both a latitude and a longitude "
            "(expected decimal degrees in 'latitude' and 'longitude')"
        )
    columns["time"] = time.array
    columns["source_row"] = index.to_numpy(dtype="int64")
    if mismatch is not None and mismatch.any():
        columns[READER_REASON] = np.where(mismatch, "clock_mismatch", None)
    rows = pd.DataFrame(columns, index=index, copy=False)
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

"""DJI "Flight Reader" / PhantomHelp CSV exports and Litchi flight-log CSVs.

Both are tables of one row per sample (10 Hz) written from a DJI flight record by a third-party
tool; one file is one flight. Column names are matched after stripping spaces and ignoring case.

**Flight Reader / PhantomHelp** (``flightreader_csv``; also written by PhantomHelp's log viewer
and by DJI's ``TXTlogToCSVtool``). The first line may be Excel's ``sep=,`` hint; a file whose
header is separated by ``;`` is read with ``;`` between cells and a decimal comma, as Flight
Reader writes it on systems set to such a locale.

==========================================  ==================================================
column                                      canonical column
==========================================  ==================================================
``OSD.latitude``, ``OSD.longitude``         ``lat``, ``lon`` (required)
``OSD.height [ft]`` or ``[m]``              ``height_agl_m`` (above the take-off point)
``OSD.altitude [ft]`` or ``[m]``            ``alt_msl_m`` (take-off altitude plus barometric
                                            climb, as the app computes it)
``OSD.yaw [360]``, else ``OSD.yaw``         ``yaw_deg`` (the latter is -180..180, wrapped)
``GIMBAL.pitch``, ``GIMBAL.roll``           ``gimbal_pitch_deg`` (DJI: 0 = horizon, -90 = down),
                                            ``gimbal_roll_deg``
``GIMBAL.yaw [360]``, else ``GIMBAL.yaw``   ``gimbal_yaw_deg`` (earth-referenced, wrapped)
``CAMERA.isPhoto``, ``CAMERA.isVideo``      ``capturing`` (``CUSTOM.isPhoto``/``isVideo`` too)
``CUSTOM.date [UTC]`` + ``CUSTOM.updateTime
[UTC]``; else the ``[local]`` pair; else
``CUSTOM.updateTime`` (date and time)       ``time``
``RECOVER.aircraftSN`` / ``DETAILS.
aircraftSN`` (or ``...Sn``, ``...Serial``)  ``drone_id``
``DETAILS.droneType``, else ``RECOVER.
aircraftName`` / ``DETAILS.aircraftName``   ``model``
==========================================  ==================================================

Dates are ``M/D/YYYY`` as Flight Reader writes them (``YYYY/MM/DD``, ``YYYY-MM-DD`` and
``D.M.YYYY`` are recognised too; a column that only fits ``D/M/YYYY`` is read that way), times
``h:mm:ss[.ff] AM/PM`` or 24-hour ``HH:MM:SS[.fff]``. **Local times**: the ``[local]`` columns
are the phone's clock and the file says nothing of its UTC offset, so they are taken as UTC and
the flight's ``notes`` say so; the offset of the place and season (e.g. 9 h in Japan) is then
the error of every absolute time, while durations stay exact. The UTC columns are used whenever
the export has them.

**Litchi** (``litchi_csv``), the flight-log export of the Litchi app:

======================================================  =====================================
column                                                  canonical column
======================================================  =====================================
``latitude``, ``longitude``                             ``lat``, ``lon`` (required)
``datetime(utc)``                                       ``time`` (required)
``altitude(m)`` or ``altitude(feet)``                   ``height_agl_m`` (Litchi's altitude is
                                                        above the take-off point)
``yaw(deg)`` (or ``yaw``)                               ``yaw_deg`` (-180..180, wrapped)
``gimbalPitchRaw``, ``gimbalRollRaw``, ``gimbalYawRaw``  gimbal angles in tenths of a degree;
                                                        ``gimbalPitch`` etc. in degrees are
                                                        used when present
``isTakingPhoto``, ``isTakingVideo``                    ``capturing``
``FlyControllerSerialNumber``, ``Dronetype``            ``drone_id``, ``model``
======================================================  =====================================

When ``datetime(utc)`` has whole seconds only and ``time(millisecond)`` is present, times are the
first row's date plus the millisecond offsets, as for AirData.

Row numbers in messages and ``source_row`` are the file's line numbers (header on line 1, or 2
after a ``sep=`` line). A cell that is not a number is an error naming its row, column and value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from flightlogs.core import ParsedLog, bad_cells, text_numbers
from flightlogs.errors import FlightLogError
from flightlogs.mavlink import wrap360

__all__ = ["read_flightreader", "read_litchi", "sniff_flightreader", "sniff_litchi"]

_FT = 0.3048
_FLAG_WORDS = {"true": "1", "false": "0", "yes": "1", "no": "0"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2}(?:[.,]\d+)?)\s*([AaPp])?\.?[Mm]?\.?$")
_DATE_FORMATS = ("%m/%d/%Y", "%Y/%m/%d", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y")
_LITCHI_MARKERS = {
    "istakingphoto",
    "istakingvideo",
    "isflying",
    "gimbalpitchraw",
    "gimbalpitch",
    "flycontrollerserialnumber",
    "dronetype",
    "ultrasonicheight(m)",
    "ultrasonicheight(feet)",
}


def _head_lines(head: bytes) -> list[str]:
    return head.decode("utf-8-sig", errors="replace").splitlines()[:2]


def _header_of(lines: list[str]) -> tuple[list[str], str, int] | None:
    """Normalised column names, the cell separator and the header's line number."""
    if not lines:
        return None
    line, number = lines[0], 1
    if line.strip().lower().startswith("sep="):
        if len(lines) < 2:
            return None
        line, number = lines[1], 2
    sep = ";" if line.count(";") > line.count(",") else ","
    return [c.strip().strip('"').lower() for c in line.split(sep)], sep, number


def sniff_flightreader(head: bytes) -> bool:
    r"""Tell whether the first bytes look like a Flight Reader / PhantomHelp CSV.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True when the header names ``OSD.latitude`` and ``OSD.longitude``.

    Examples
    --------
    >>> sniff_flightreader(b"sep=,\nCUSTOM.date [local],OSD.latitude,OSD.longitude\n")
    True
    >>> sniff_flightreader(b"latitude,longitude,datetime(utc)\n")
    False
    """
    found = _header_of(_head_lines(head))
    return found is not None and {"osd.latitude", "osd.longitude"} <= set(found[0])


def sniff_litchi(head: bytes) -> bool:
    r"""Tell whether the first bytes look like a Litchi flight-log CSV.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True for ``latitude``, ``longitude`` and ``datetime(utc)`` with a column only Litchi
        writes (``isTakingPhoto``, ``gimbalPitchRaw``, ``Dronetype``, ...) and none of
        AirData's ``height_above_takeoff``.

    Examples
    --------
    >>> sniff_litchi(b"latitude,longitude,altitude(m),datetime(utc),isTakingVideo\n")
    True
    >>> sniff_litchi(b"time(millisecond),datetime(utc),latitude,longitude\n")
    False
    """
    found = _header_of(_head_lines(head))
    if found is None:
        return False
    names = set(found[0])
    return (
        {"latitude", "longitude", "datetime(utc)"} <= names
        and bool(names & _LITCHI_MARKERS)
        and not any(n.startswith("height_above_takeoff") for n in names)
    )


def _read_text(path: Path, wanted: Callable[[str], bool], what: str) -> pd.DataFrame:
    """Read the wanted columns as text, indexed by line number, names normalised."""
    try:
        with open(path, "rb") as fh:
            found = _header_of(_head_lines(fh.read(64 * 1024)))
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    if found is None:
        raise FlightLogError(f"{path}: the file is empty (expected a {what})")
    _, sep, header_line = found
    try:
        table = pd.read_csv(
            path,
            sep=sep,
            skiprows=header_line - 1,
            usecols=lambda name: wanted(name.strip().strip('"').lower()),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            encoding_errors="replace",
        )
    except pd.errors.EmptyDataError:
        raise FlightLogError(f"{path}: the file is empty (expected a {what})") from None
    except pd.errors.ParserError as exc:
        raise FlightLogError(f"{path}: not a readable {what} ({exc})") from None
    names = {c.strip().strip('"').lower(): c.strip().strip('"') for c in table.columns}
    table.columns = list(names)
    table.index = pd.RangeIndex(header_line + 1, header_line + 1 + len(table))
    if len(table.columns):
        # Blank lines were kept so that row numbers match the file; they are not records.
        blank = (table.apply(lambda c: c.str.strip()) == "").all(axis=1).to_numpy()
        table = table.loc[~blank]
    table.attrs["names"] = names  # normalised → as written, for messages
    if sep == ";":
        table.attrs["decimal_comma"] = True
    return table


def _name(table: pd.DataFrame, column: str) -> str:
    return table.attrs.get("names", {}).get(column, column)


def _numbers(table: pd.DataFrame, column: str, problems: list[str]) -> np.ndarray:
    """Convert a text column to floats (NaN if empty), recording every cell that is not one."""
    text = table[column].str.strip()
    if table.attrs.get("decimal_comma"):
        text = text.str.replace(",", ".", regex=False)
    return text_numbers(text, _name(table, column), problems, shown=table[column])


def _flags(table: pd.DataFrame, columns: list[str], problems: list[str]) -> pd.Series | None:
    """OR of 0/1 or true/false columns as a nullable boolean (a set flag wins over NA)."""
    out = None
    for column in columns:
        words = table[column].str.strip().str.lower().replace(_FLAG_WORDS)
        single = pd.DataFrame({column: words}, index=table.index)
        single.attrs = table.attrs
        values = _numbers(single, column, problems)
        flag = pd.Series(values != 0, index=table.index, dtype="boolean")
        flag[np.isnan(values)] = pd.NA
        out = flag if out is None else out | flag
    return out


def _first_text(table: pd.DataFrame, columns: tuple[str, ...]) -> tuple[str, str] | None:
    """Return the first non-empty cell among ``columns`` (in order) and its column."""
    for column in columns:
        if column in table:
            cells = table[column].str.strip()
            cells = cells[cells != ""]
            if len(cells):
                return str(cells.iloc[0]), column
    return None


def _bad_cells(table: pd.DataFrame, column: str, bad: np.ndarray, expected: str) -> str:
    return bad_cells(_name(table, column), table.index[bad], table[column], expected)


def _clock(table: pd.DataFrame, column: str, problems: list[str]) -> pd.Series:
    """Parse times of day, ``h:mm:ss[.ff] [AM|PM]`` or ``HH:MM:SS[.fff]``, as timedeltas."""
    text = table[column].str.strip()
    parts = text.str.extract(_TIME)
    hour = pd.to_numeric(parts[0]).to_numpy(dtype=float, na_value=np.nan)
    minute = pd.to_numeric(parts[1]).to_numpy(dtype=float, na_value=np.nan)
    second = pd.to_numeric(parts[2].str.replace(",", ".")).to_numpy(dtype=float, na_value=np.nan)
    half = parts[3].str.upper().to_numpy(dtype=object)
    # 12-hour clock: 12 AM is midnight, 12 PM noon, 1 PM is 13 h.
    hour = np.where(half == "A", hour % 12, np.where(half == "P", hour % 12 + 12, hour))
    bad = (text != "").to_numpy() & ~((hour < 24) & (minute < 60) & (second < 61))
    if bad.any():
        problems.append(_bad_cells(table, column, bad, "'h:mm:ss.ff AM' or 'HH:MM:SS.fff'"))
    seconds = hour * 3600 + minute * 60 + second
    return pd.Series(pd.to_timedelta(np.round(seconds * 1e6), unit="us"), index=table.index)


def _dates(table: pd.DataFrame, column: str, problems: list[str]) -> pd.Series:
    text = table[column].str.strip()
    filled = text != ""
    for fmt in _DATE_FORMATS:
        parsed = pd.to_datetime(text.where(filled), format=fmt, errors="coerce")
        if not (parsed.isna() & filled).any():
            return parsed
    parsed = pd.to_datetime(text.where(filled), format=_DATE_FORMATS[0], errors="coerce")
    problems.append(
        _bad_cells(table, column, (parsed.isna() & filled).to_numpy(), "a date like 8/29/2017")
    )
    return parsed


def _flightreader_times(table: pd.DataFrame, problems: list[str]) -> tuple[pd.Series, str | None]:
    for zone in ("utc", "local"):
        date, clock = f"custom.date [{zone}]", f"custom.updatetime [{zone}]"
        if date in table and clock in table:
            times = (_dates(table, date, problems) + _clock(table, clock, problems)).dt.tz_localize(
                "UTC"
            )
            if zone == "utc":
                return times, None
            return times, (
                "CUSTOM.date/updateTime [local] are the phone's local time and the file has no UTC "
                "offset: taken as UTC, so absolute times are off by the local UTC offset"
            )
    if "custom.updatetime" in table:
        text = table["custom.updatetime"].str.strip()
        times = pd.to_datetime(text.where(text != ""), format="mixed", errors="coerce")
        bad = (times.isna() & (text != "")).to_numpy()
        if bad.any():
            problems.append(
                _bad_cells(table, "custom.updatetime", bad, "'YYYY/MM/DD HH:MM:SS.fff'")
            )
        return times.dt.tz_localize("UTC"), ("CUSTOM.updateTime has no time zone: taken as UTC")
    problems.append(
        "no time columns (expected 'CUSTOM.date [local]' and 'CUSTOM.updateTime [local]', or "
        "their [UTC] versions)"
    )
    return pd.Series(pd.NaT, index=table.index, dtype="datetime64[ns, UTC]"), None


def _unit_column(table: pd.DataFrame, stem: str) -> tuple[str, float] | None:
    """Metre spelling first, then feet: ``stem [m]`` or ``stem [ft]``."""
    for unit, factor in (("m", 1.0), ("ft", _FT), ("feet", _FT)):
        if f"{stem} [{unit}]" in table:
            return f"{stem} [{unit}]", factor
    return None


_FR_WANTED = re.compile(
    r"^(osd\.(latitude|longitude|height|altitude|yaw)|gimbal\.(pitch|roll|yaw)|"
    r"(camera|custom)\.is(photo|video)|custom\.(date|updatetime)|"
    r"(recover|details)\.(aircraft(sn|serial|name)|dronetype))( \[.*\])?$"
)


def read_flightreader(path: Path) -> list[ParsedLog]:
    r"""Read a DJI Flight Reader / PhantomHelp CSV into one parsed flight.

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
        If the file is empty or not CSV, has no ``OSD.latitude``/``OSD.longitude``, no time
        columns, no row with a position, or cells that are not numbers, dates or times (every
        such column listed with its first rows and values).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("sep=,\nCUSTOM.date [local],CUSTOM.updateTime [local],OSD.latitude,"
    ...         "OSD.longitude,OSD.height [ft],GIMBAL.pitch\n"
    ...         "8/29/2017,2:30:28.90 PM,39.9612,-106.216,32.8084,-90\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "f.csv"
    ...     _ = p.write_text(text)
    ...     log = read_flightreader(p)[0]
    >>> r = log.rows
    >>> str(r.time[0]), round(float(r.height_agl_m[0]), 3), float(r.gimbal_pitch_deg[0])
    ('2017-08-29 14:30:28.900000+00:00', 10.0, -90.0)
    """
    path = Path(path)
    table = _read_text(path, lambda name: bool(_FR_WANTED.match(name)), "Flight Reader CSV")
    missing = [c for c in ("OSD.latitude", "OSD.longitude") if c.lower() not in table]
    if missing:
        raise FlightLogError(
            f"{path}: Flight Reader CSV without column(s) {missing} "
            "(expected 'OSD.latitude' and 'OSD.longitude')"
        )
    if table.empty:
        raise FlightLogError(f"{path}: the Flight Reader CSV has a header but no rows")
    problems: list[str] = []
    rows = pd.DataFrame(index=table.index)
    rows["lat"] = _numbers(table, "osd.latitude", problems)
    rows["lon"] = _numbers(table, "osd.longitude", problems)
    for stem, name in (("osd.height", "height_agl_m"), ("osd.altitude", "alt_msl_m")):
        found = _unit_column(table, stem)
        if found:
            rows[name] = _numbers(table, found[0], problems) * found[1]
    for target, columns in (
        ("yaw_deg", ("osd.yaw [360]", "osd.yaw")),
        ("gimbal_yaw_deg", ("gimbal.yaw [360]", "gimbal.yaw")),
    ):
        column = next((c for c in columns if c in table), None)
        if column:
            rows[target] = wrap360(_numbers(table, column, problems))
    for axis in ("pitch", "roll"):
        if f"gimbal.{axis}" in table:
            rows[f"gimbal_{axis}_deg"] = _numbers(table, f"gimbal.{axis}", problems)
    flags = [
        c
        for c in ("camera.isphoto", "camera.isvideo", "custom.isphoto", "custom.isvideo")
        if c in table
    ]
    if flags:
        rows["capturing"] = _flags(table, flags, problems)
    rows["time"], time_note = _flightreader_times(table, problems)
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))
    _require_positions(path, rows, "'OSD.latitude' and 'OSD.longitude'")
    rows["source_row"] = rows.index.to_numpy(dtype="int64")

    serial = _first_text(
        table,
        tuple(
            f"{group}.aircraft{kind}"
            for kind in ("sn", "serial")
            for group in ("recover", "details")
        ),
    )
    model = _first_text(
        table,
        ("details.dronetype", "recover.dronetype", "recover.aircraftname", "details.aircraftname"),
    )
    notes = [n for n in (time_note,) if n]
    if "height_agl_m" in rows:
        notes.append("height_agl_m is OSD.height, above the take-off point")
    if model:
        notes.append(f"model from {_name(table, model[1])}")
    return [
        ParsedLog(
            rows=rows.reset_index(drop=True),
            source_format="flightreader_csv",
            height_ref="takeoff" if "height_agl_m" in rows else "unknown",
            drone_id=serial[0] if serial else None,
            model=model[0] if model else None,
            vendor="DJI",
            notes=notes,
        )
    ]


def _require_positions(path: Path, rows: pd.DataFrame, expected: str) -> None:
    if not (np.isfinite(rows["lat"]) & np.isfinite(rows["lon"])).any():
        raise FlightLogError(
            f"{path}: none of the {len(rows)} rows has both a latitude and a longitude "
            f"(expected decimal degrees in {expected})"
        )


_LITCHI_COLUMNS = {
    "latitude",
    "longitude",
    "datetime(utc)",
    "time(millisecond)",
    "altitude(m)",
    "altitude(feet)",
    "yaw(deg)",
    "yaw",
    "gimbalpitchraw",
    "gimbalrollraw",
    "gimbalyawraw",
    "gimbalpitch",
    "gimbalroll",
    "gimbalyaw",
    "gimbalpitch(deg)",
    "gimbalroll(deg)",
    "gimbalyaw(deg)",
    "istakingphoto",
    "istakingvideo",
    "flycontrollerserialnumber",
    "dronetype",
    "planename",
}


def _litchi_times(table: pd.DataFrame, problems: list[str]) -> tuple[pd.Series, str | None]:
    text = table["datetime(utc)"].str.strip()
    stamp = pd.to_datetime(text.where(text != ""), format="ISO8601", utc=True, errors="coerce")
    bad = (stamp.isna() & (text != "")).to_numpy()
    if bad.any():
        problems.append(_bad_cells(table, "datetime(utc)", bad, "'YYYY-MM-DD HH:MM:SS.fff'"))
        return stamp, None
    whole = bool(
        (stamp.dropna().dt.microsecond == 0).all() and (stamp.dropna().dt.nanosecond == 0).all()
    )
    if not whole or "time(millisecond)" not in table:
        return stamp, None
    ms = _numbers(table, "time(millisecond)", problems)
    usable = np.flatnonzero(stamp.notna().to_numpy() & np.isfinite(ms))
    if not len(usable):
        return stamp, None
    first = int(usable[0])
    base = stamp.iloc[first] - pd.Timedelta(milliseconds=float(ms[first]))
    return pd.Series(base + pd.to_timedelta(ms, unit="ms"), index=table.index), (
        "datetime(utc) has whole seconds: times are its first value plus time(millisecond), "
        "so absolute times may be up to 1 s early"
    )


def read_litchi(path: Path) -> list[ParsedLog]:
    r"""Read a Litchi flight-log CSV into one parsed flight.

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
        If the file is empty or not CSV, lacks ``latitude``, ``longitude`` or
        ``datetime(utc)``, has no row with a position, or has cells that are not numbers or
        dates.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("latitude,longitude,altitude(feet),datetime(utc),gimbalPitchRaw,isTakingVideo\n"
    ...         "47.5,-122.6,100,2021-09-06 02:23:48.100,-900,1\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "litchi.csv"
    ...     _ = p.write_text(text)
    ...     r = read_litchi(p)[0].rows
    >>> round(float(r.height_agl_m[0]), 2), float(r.gimbal_pitch_deg[0]), bool(r.capturing[0])
    (30.48, -90.0, True)
    """
    path = Path(path)
    table = _read_text(path, lambda name: name in _LITCHI_COLUMNS, "Litchi CSV")
    missing = [c for c in ("latitude", "longitude", "datetime(utc)") if c not in table]
    if missing:
        raise FlightLogError(
            f"{path}: Litchi CSV without column(s) {missing} "
            "(expected 'latitude', 'longitude' and 'datetime(utc)')"
        )
    if table.empty:
        raise FlightLogError(f"{path}: the Litchi CSV has a header but no rows")
    problems: list[str] = []
    rows = pd.DataFrame(index=table.index)
    rows["lat"] = _numbers(table, "latitude", problems)
    rows["lon"] = _numbers(table, "longitude", problems)
    for column, factor in (("altitude(m)", 1.0), ("altitude(feet)", _FT)):
        if column in table:
            rows["height_agl_m"] = _numbers(table, column, problems) * factor
            break
    column = next((c for c in ("yaw(deg)", "yaw") if c in table), None)
    if column:
        rows["yaw_deg"] = wrap360(_numbers(table, column, problems))
    for axis in ("pitch", "roll", "yaw"):
        degrees = next((c for c in (f"gimbal{axis}", f"gimbal{axis}(deg)") if c in table), None)
        if degrees:
            values = _numbers(table, degrees, problems)
        elif f"gimbal{axis}raw" in table:
            values = _numbers(table, f"gimbal{axis}raw", problems) / 10.0  # tenths of a degree
        else:
            continue
        rows[f"gimbal_{axis}_deg"] = wrap360(values) if axis == "yaw" else values
    flags = [c for c in ("istakingphoto", "istakingvideo") if c in table]
    if flags:
        rows["capturing"] = _flags(table, flags, problems)
    rows["time"], time_note = _litchi_times(table, problems)
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))
    _require_positions(path, rows, "'latitude' and 'longitude'")
    rows["source_row"] = rows.index.to_numpy(dtype="int64")
    serial = _first_text(table, ("flycontrollerserialnumber",))
    model = _first_text(table, ("dronetype",))
    notes = [n for n in (time_note,) if n]
    if "height_agl_m" in rows:
        notes.append("height_agl_m is Litchi's altitude, above the take-off point")
    return [
        ParsedLog(
            rows=rows.reset_index(drop=True),
            source_format="litchi_csv",
            height_ref="takeoff" if "height_agl_m" in rows else "unknown",
            drone_id=serial[0] if serial else None,
            model=model[0] if model else None,
            vendor="DJI",
            notes=notes,
        )
    ]

"""Remote ID (ASTM F3411 / ASD-STAN prEN 4709-002, "OpenDroneID") receiver logs as CSV.

A receiver (a phone app such as Dronetag's Drone Scanner, or a Wi-Fi/Bluetooth sniffer) hears
the broadcasts of every drone in range, so **one file may hold several drones**: each UAS ID
becomes one flight, ``flight_id = <file stem>_<UAS ID>`` and ``drone_id`` = the UAS ID (the
serial number, when the ID type is one).

Accepted columns (names matched ignoring case, spaces, ``_`` and ``-``; a unit in parentheses
after the name, ``(m)``, ``(ft)``, is honoured for heights and altitudes):

=====================================================  ========================================
column                                                 use
=====================================================  ========================================
``Timestamp`` / ``Time`` / ``Detection Time`` /        ``time``: ISO 8601 (without a zone taken
``datetime(utc)``                                      as UTC, noted), or Unix seconds or
                                                       milliseconds
``UAS ID`` / ``BasicID`` / ``Serial Number``           ``drone_id`` (required, or a MAC address
                                                       to find it by)
``ID Type``                                            noted (serial number, CAA registration,
                                                       session ID, ...)
``Mac Address``                                        links a drone's messages to each other
``Message Type``                                       with it, one row per message: only
                                                       ``Location`` rows are samples
``Latitude``, ``Longitude``                            ``lat``, ``lon`` (required)
``Altitude Geodetic`` / ``AltitudeGeo``                ``alt_msl_m``
``Height`` with ``Height Type``                        ``height_agl_m``; ``height_ref`` is
                                                       ``ground`` for "Ground"/"AGL", otherwise
                                                       ``takeoff`` (the standard's default)
``Operator ID``                                        noted
``Operator Latitude``, ``Operator Longitude``          the pilot's position, noted (first one)
=====================================================  ========================================

Rows without a position cell and not of type ``Location`` are metadata messages (Basic ID,
Operator ID, System) and are not counted as samples. The standard's "unknown" values are read as
missing: altitude or height -1000 m; a (0, 0) position is kept and rejected as ``null_island``.
Speed, vertical speed and direction are not columns of the samples table; the direction is the
course over ground, not the heading, so ``yaw_deg`` stays NA. The geodetic altitude is above the
WGS 84 ellipsoid, stored as it is (the geoid undulation, up to about 100 m, is not removed).
The raw log of the OpenDroneID Android receiver (encoded integer fields and the phone's uptime
in nanoseconds, no wall-clock time) is not accepted: decode it first.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from flightlogs.core import ParsedLog, bad_cells, text_numbers
from flightlogs.errors import FlightLogError

__all__ = ["read", "sniff"]

_FT = 0.3048
_UNKNOWN_ALTITUDE = -1000.0
_ALIASES: dict[str, tuple[str, ...]] = {
    "time": ("timestamp", "time", "detectiontime", "datetime", "datetime(utc)", "timeutc",
             "receivedat", "receivetime"),
    "uas_id": ("uasid", "basicid", "serialnumber", "serial", "droneid"),
    "id_type": ("idtype", "uasidtype", "basicidtype"),
    "mac": ("macaddress", "mac"),
    "message": ("messagetype", "msgtype"),
    "lat": ("latitude", "lat", "dronelatitude", "uaslatitude"),
    "lon": ("longitude", "lon", "lng", "dronelongitude", "uaslongitude"),
    "alt": ("altitudegeodetic", "altitudegeo", "geodeticaltitude", "altgeo"),
    "height": ("height", "heightabovetakeoff", "heightagl"),
    "height_type": ("heighttype", "heightreference"),
    "operator_id": ("operatorid",),
    "operator_lat": ("operatorlatitude", "pilotlatitude", "operatorlat"),
    "operator_lon": ("operatorlongitude", "pilotlongitude", "operatorlon"),
}
_UNIT = re.compile(r"\(([^)]*)\)\s*$")


def _normal(name: str) -> tuple[str, str | None]:
    """Split a header into its normalised name and its unit in parentheses, if any."""
    raw = name.strip().strip('"')
    if raw.lower() == "datetime(utc)":
        return "datetime(utc)", None
    unit = _UNIT.search(raw)
    base = _UNIT.sub("", raw) if unit else raw
    return re.sub(r"[\s_\-]", "", base).lower(), unit[1].strip().lower() if unit else None


def _columns(header: list[str]) -> dict[str, tuple[str, str | None]]:
    """Field → (raw header, unit) for the accepted columns found in ``header``."""
    found: dict[str, tuple[str, str | None]] = {}
    normal = [(_normal(h), h) for h in header]
    for field, aliases in _ALIASES.items():
        for alias in aliases:
            match = next(((raw, unit) for (name, unit), raw in normal if name == alias), None)
            if match:
                found[field] = match
                break
    return found


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes look like a Remote ID receiver CSV.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True when the header has latitude and longitude and either a UAS ID column or a
        ``Message Type`` with a ``Mac Address``.

    Examples
    --------
    >>> sniff(b"Timestamp,UAS ID,Latitude,Longitude,Altitude Geodetic (m)\n")
    True
    >>> sniff(b"latitude,longitude,datetime(utc)\n")
    False
    """
    lines = head.decode("utf-8-sig", errors="replace").splitlines()
    if not lines or "," not in lines[0]:
        return False
    found = _columns(lines[0].split(","))
    return {"lat", "lon"} <= set(found) and (
        "uas_id" in found or {"message", "mac"} <= set(found)
    )


def _numbers(table: pd.DataFrame, raw: str, problems: list[str]) -> np.ndarray:
    return text_numbers(table[raw].str.strip(), raw, problems)


def _times(table: pd.DataFrame, raw: str, problems: list[str]) -> tuple[pd.Series, str | None]:
    text = table[raw].str.strip()
    numeric = pd.to_numeric(text.replace("", None), errors="coerce")
    if numeric.notna().any() and (numeric.notna() | (text == "")).all():
        # Unix time: milliseconds when the numbers are too large to be seconds (after 5138 AD).
        unit = "ms" if numeric.abs().max() > 1e11 else "s"
        return pd.to_datetime(numeric, unit=unit, utc=True), None
    zoned = text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    parsed = pd.to_datetime(text.where(text != ""), format="ISO8601", utc=True, errors="coerce")
    bad = (parsed.isna() & (text != "")).to_numpy()
    if bad.any():
        problems.append(
            bad_cells(raw, table.index[bad], text, "an ISO 8601 time or Unix seconds")
        )
    naive = bool(((text != "") & ~zoned).any())
    return parsed, (f"{raw} has no time zone: taken as UTC" if naive else None)


def _first(series: pd.Series) -> str | None:
    cells = series.dropna().astype(str).str.strip()
    cells = cells[cells != ""]
    return str(cells.iloc[0]) if len(cells) else None


def read(path: Path) -> list[ParsedLog]:
    r"""Read a Remote ID receiver CSV into one parsed flight per UAS ID.

    Parameters
    ----------
    path : pathlib.Path
        The CSV file.

    Returns
    -------
    list of ParsedLog
        One entry per drone heard, in order of first appearance, suffixed ``_<UAS ID>``.

    Raises
    ------
    FlightLogError
        If the file is not CSV, lacks a time, latitude, longitude or drone identity column,
        has no location report, or has cells that are not numbers or times.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("Timestamp,UAS ID,Latitude,Longitude,Height (ft),Height Type\n"
    ...         "2024-05-01T09:00:00Z,1581F5FJD123,35.6,139.7,328.084,Takeoff\n"
    ...         "2024-05-01T09:00:00Z,1596A2B3C4D5,35.7,139.8,,\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "rid.csv"
    ...     _ = p.write_text(text)
    ...     logs = read(p)
    >>> [(log.suffix, log.drone_id, len(log.rows)) for log in logs]
    [('_1581F5FJD123', '1581F5FJD123', 1), ('_1596A2B3C4D5', '1596A2B3C4D5', 1)]
    >>> round(float(logs[0].rows.height_agl_m[0]), 3)
    100.0
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False,
                            encoding="utf-8-sig", encoding_errors="replace")
    except pd.errors.EmptyDataError:
        raise FlightLogError(f"{path}: the file is empty (expected a Remote ID CSV)") from None
    except (pd.errors.ParserError, OSError) as exc:
        raise FlightLogError(f"{path}: not a readable Remote ID CSV ({exc})") from None
    table.index = pd.RangeIndex(2, len(table) + 2)  # spreadsheet rows: the header is row 1
    table = table.fillna("")  # a row shorter than the header: its missing cells are empty
    cols = _columns(list(table.columns))
    missing = [f for f in ("time", "lat", "lon") if f not in cols]
    if "uas_id" not in cols and "mac" not in cols:
        missing.append("uas_id")
    if missing:
        raise FlightLogError(
            f"{path}: Remote ID CSV without {missing} columns (expected e.g. 'Timestamp', "
            "'UAS ID' (or 'Mac Address'), 'Latitude', 'Longitude')"
        )
    raw = {field: column for field, (column, _) in cols.items()}
    blank = pd.Series("", index=table.index)
    uas = table[raw["uas_id"]].str.strip() if "uas_id" in raw else blank
    if "mac" in raw:
        # Position and identity arrive in different messages: link them by the sender's MAC.
        mac = table[raw["mac"]].str.strip()
        known = pd.Series(uas.to_numpy(), index=mac.to_numpy())
        by_mac = known[known != ""].groupby(level=0).first()
        # (as object: with no known id the map gives floats, which cannot be filled with "")
        uas = uas.where(uas != "", mac.map(by_mac).astype(object).fillna(""))
    position = (table[raw["lat"]].str.strip() != "") | (table[raw["lon"]].str.strip() != "")
    if "message" in raw:
        position |= table[raw["message"]].str.strip().str.lower().str.startswith("location")
    if not position.any():
        raise FlightLogError(f"{path}: no location report (no row with a latitude/longitude)")
    problems: list[str] = []
    rows = pd.DataFrame(index=table.index)
    rows["lat"] = _numbers(table, raw["lat"], problems)
    rows["lon"] = _numbers(table, raw["lon"], problems)
    for field, target in (("alt", "alt_msl_m"), ("height", "height_agl_m")):
        if field in raw:
            factor = _FT if cols[field][1] in ("ft", "feet") else 1.0
            values = _numbers(table, raw[field], problems)
            rows[target] = np.where(values == _UNKNOWN_ALTITUDE, np.nan, values * factor)
    rows["time"], time_note = _times(table, raw["time"], problems)
    if problems:
        raise FlightLogError(f"{path}: " + "; ".join(problems))
    rows["source_row"] = rows.index.to_numpy(dtype="int64")

    parsed = []
    ids = uas[position]
    for uas_id in pd.unique(ids):
        mine = position & (uas == uas_id)
        extra = table.loc[uas == uas_id]
        notes = [n for n in (time_note,) if n]
        ref = "unknown"
        if "height_agl_m" in rows and rows.loc[mine, "height_agl_m"].notna().any():
            kind = _first(extra[raw["height_type"]]) if "height_type" in raw else None
            ref = "ground" if kind and kind.lower() in ("ground", "agl", "aboveground") else \
                "takeoff"
        for field, label in (("id_type", "UAS ID type"), ("operator_id", "operator ID")):
            value = _first(extra[raw[field]]) if field in raw else None
            if value:
                notes.append(f"{label} {value}")
        if "operator_lat" in raw and "operator_lon" in raw:
            op = pd.DataFrame({"lat": pd.to_numeric(extra[raw["operator_lat"]], errors="coerce"),
                               "lon": pd.to_numeric(extra[raw["operator_lon"]], errors="coerce")})
            op = op[(op.lat.notna() & op.lon.notna()) & ~((op.lat == 0) & (op.lon == 0))]
            if len(op):
                notes.append(
                    f"operator (pilot) position first reported at {op.lat.iloc[0]:.6f}, "
                    f"{op.lon.iloc[0]:.6f}"
                )
        notes.append("Remote ID broadcast; direction is the course, not the heading")
        label = re.sub(r"[^A-Za-z0-9._-]", "-", uas_id) if uas_id else "unidentified"
        parsed.append(
            ParsedLog(
                rows=rows.loc[mine].reset_index(drop=True),
                source_format="remoteid_csv",
                height_ref=ref,
                drone_id=uas_id or None,
                notes=notes,
                suffix=f"_{label}",
            )
        )
    return parsed

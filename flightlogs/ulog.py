"""PX4 flight logs (ULog, ``.ulg``), read with pyulog.

One file is one flight. Topics used (the first instance of each):

==================================  ==========================================================
topic                               canonical column
==================================  ==========================================================
``vehicle_global_position``         ``lat``/``lon`` (degrees), ``alt`` (metres above sea level)
                                    → ``alt_msl_m``: the estimator's position, preferred
``vehicle_gps_position``,           positions when there is no ``vehicle_global_position``:
``sensor_gps``                      ``lat``/``lon`` in 1e-7 degrees and ``alt`` in millimetres
                                    (``latitude_deg``, ``longitude_deg``, ``altitude_msl_m`` in
                                    newer PX4). Rows with ``fix_type`` < 2 have no fix and are
                                    rejected as ``no_position``; a 2-D fix has no altitude.
``vehicle_attitude``                ``yaw_deg`` from the quaternion (ZYX, true north, clockwise)
``gimbal_device_attitude_status``   ``gimbal_pitch_deg``/``gimbal_roll_deg``/``gimbal_yaw_deg``
                                    from the quaternion, turned to true north when the yaw is
                                    relative to the vehicle (see :mod:`flightlogs.mavlink`)
``mount_orientation``               gimbal angles (radians, yaw relative to the vehicle) when
                                    there is no gimbal-device topic
``home_position``                   ``alt`` of the home point, for the height above take-off
==================================  ==========================================================

Decisions, also written into each flight's ``notes``:

- ULog timestamps count microseconds since boot. UTC is the GPS topic's ``time_utc_usec`` minus
  its ``timestamp``, the median over the rows with a fix. A log without it gets the time since
  boot counted from 1970-01-01T00:00:00 UTC: a placeholder that cannot pass for a real date.
- ``height_agl_m`` is the altitude above the home position in force at each sample
  (``home_position`` is set again at each arming), else above the first valid altitude;
  ``height_ref`` is ``"takeoff"`` either way.
- Attitude and gimbal angles are interpolated to each position's time along the shorter arc
  between the samples around it, each at most 1 s away (:func:`flightlogs.mavlink.align_angle`).
- ``drone_id`` is the flight controller's ``sys_uuid``, ``model`` its hardware (``ver_hw``,
  e.g. ``CUBEPILOT_CUBEORANGE``), ``vendor`` the flight stack (``sys_name``, ``PX4``).
- ``source_row`` is the 1-based number of the sample within its position topic.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
from pyulog import ULog

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError
from flightlogs.mavlink import (
    FIRST_FIX,
    FIX_3D,
    MAX_ALIGN_GAP_US,
    align_angle,
    earth_gimbal_yaw,
    gimbal_yaw_frames,
    quaternion_to_euler_deg,
)

__all__ = ["ULOG_MAGIC", "parse_topics", "read", "sniff"]

#: The first bytes of every ULog file ("ULog" and a fixed marker; byte 7 is the version).
ULOG_MAGIC = b"ULog\x01\x12\x35"

_POSITION_TOPICS = ("vehicle_global_position", "vehicle_gps_position", "sensor_gps")
_GPS_TOPICS = ("vehicle_gps_position", "sensor_gps")
_TOPICS = (
    *_POSITION_TOPICS,
    "vehicle_attitude",
    "home_position",
    "gimbal_device_attitude_status",
    "mount_orientation",
)
_EPOCH_NOTE = (
    "the log has no GPS time: times are the time since boot counted from 1970-01-01T00:00:00 "
    "UTC (a placeholder, not a real date)"
)

Topics = dict[str, dict[str, np.ndarray]]


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like a PX4 ULog.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the file starts with the ULog magic bytes.

    Examples
    --------
    >>> sniff(b"ULog\x01\x12\x35\x01" + bytes(8)), sniff(b"ULOG, a text file")
    (True, False)
    """
    return head.startswith(ULOG_MAGIC)


def read(path: Path) -> list[ParsedLog]:
    """Read a PX4 ULog into one parsed flight.

    Parameters
    ----------
    path : pathlib.Path
        The ``.ulg`` file.

    Returns
    -------
    list of ParsedLog
        One entry.

    Raises
    ------
    FlightLogError
        If the file is not a readable ULog, has no position topic (a log recorded without GPS),
        or no position with a fix.
    """
    path = Path(path)
    try:
        # An open file handle, so that pyulog cannot leave the file open when it fails.
        fh = open(path, "rb")
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    try:
        # pyulog prints what it finds damaged; the flight's notes say so instead (below).
        with fh, contextlib.redirect_stdout(io.StringIO()):
            ulog = ULog(_Bounded(fh, path.stat().st_size), list(_TOPICS))
    except _Runaway:
        raise FlightLogError(
            f"{path}: a damaged PX4 ULog that its parser (pyulog) re-reads without end; "
            "refused"
        ) from None
    except Exception as exc:  # pyulog reports damaged files with many exception types
        # (a damaged message size makes it seek before the start: an OSError, not I/O trouble)
        raise FlightLogError(f"{path}: not a readable PX4 ULog ({exc})") from None
    topics: Topics = {}
    for data in sorted(ulog.data_list, key=lambda d: d.multi_id):
        topics.setdefault(data.name, data.data)
    log = parse_topics(
        topics, info=ulog.msg_info_dict, params=ulog.initial_parameters, source=str(path)
    )
    if ulog.file_corruption:
        log.notes.append("the file is damaged in places; pyulog skipped what it could not read")
    return [log]


class _Runaway(RuntimeError):
    """pyulog read far more than the file holds: it is going round in circles."""


class _Bounded:
    """A read-only file that stops a parser reading it far more than once.

    On some damaged files pyulog seeks back by a message size it could not read at the end of
    the file and reads the same bytes again without end; a normal parse reads each byte about
    once, so eight times the file is a safe budget (in bytes, and in calls for tiny reads).
    """

    def __init__(self, raw: BinaryIO, size: int) -> None:
        self._raw = raw
        self._budget = 8 * size + (1 << 20)

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._budget -= max(len(data), 64)
        if self._budget < 0:
            raise _Runaway
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


def _gps_fields(table: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Latitude, longitude (degrees) and altitude (m) of a GPS topic, in either PX4 layout."""
    if "latitude_deg" in table:
        lat, lon = table["latitude_deg"], table["longitude_deg"]
        alt = table.get("altitude_msl_m", np.full(len(lat), np.nan))
        return lat.astype(float), lon.astype(float), alt.astype(float)
    return table["lat"] / 1e7, table["lon"] / 1e7, table["alt"] / 1000.0


def _utc_offset_us(topics: Topics) -> tuple[int | None, str]:
    """UTC − boot time (µs) from the GPS topic's rows with a fix, and a note."""
    for name in _GPS_TOPICS:
        table = topics.get(name)
        if table is None or "time_utc_usec" not in table:
            continue
        ok = (table["fix_type"] >= FIRST_FIX) & (table["time_utc_usec"] > 0)
        if ok.any():
            diff = table["time_utc_usec"][ok].astype(np.int64) - table["timestamp"][ok].astype(
                np.int64
            )
            return int(np.median(diff)), f"times are the boot clock set to UTC by {name}"
    return None, _EPOCH_NOTE


def _height(
    alt: np.ndarray, t: np.ndarray, home: dict[str, np.ndarray] | None
) -> tuple[np.ndarray, str]:
    """Height above the home position in force at each sample, or above the first altitude."""
    if home is not None and len(home.get("alt", ())):
        valid = (
            home["valid_alt"].astype(bool)
            if "valid_alt" in home
            else np.ones(len(home["alt"]), dtype=bool)
        )
        valid &= np.isfinite(home["alt"])
        if valid.any():
            home_t = home["timestamp"][valid].astype(float)
            home_alt = home["alt"][valid].astype(float)
            # The home set most recently before the sample; samples before the first home
            # belong to the first take-off.
            at = np.clip(np.searchsorted(home_t, t, side="right") - 1, 0, len(home_t) - 1)
            return alt - home_alt[at], (
                "height_agl_m is the altitude above home_position.alt (the take-off point)"
            )
    first = alt[np.isfinite(alt)]
    if len(first):
        return alt - first[0], (
            "no home position in the log: height_agl_m is the altitude above the first valid "
            "altitude, taken as the take-off point"
        )
    return np.full(len(alt), np.nan), "no altitude in the log"


def _gimbal(
    topics: Topics, t: np.ndarray, att_t: np.ndarray, att_yaw: np.ndarray
) -> tuple[dict[str, np.ndarray], str | None]:
    """Gimbal pitch, roll and earth-referenced yaw at the times ``t``, and a note."""
    device = topics.get("gimbal_device_attitude_status")
    mount = topics.get("mount_orientation")
    if device is not None and len(device["timestamp"]):
        g_t = device["timestamp"].astype(float)
        roll, pitch, yaw = quaternion_to_euler_deg(*(device[f"q[{i}]"] for i in range(4)))
        in_vehicle, vehicle_frame = gimbal_yaw_frames(device["device_flags"])
        vehicle_yaw = align_angle(att_t, att_yaw, g_t, max_gap=MAX_ALIGN_GAP_US)
        if "delta_yaw" in device:
            delta = np.degrees(device["delta_yaw"].astype(float))
            vehicle_yaw = np.where(in_vehicle & np.isfinite(delta), delta, vehicle_yaw)
        note = (
            f"gimbal from gimbal_device_attitude_status ({int(vehicle_frame.sum())} of "
            f"{len(vehicle_frame)} with yaw relative to the vehicle, turned to true north)"
        )
    elif mount is not None and len(mount["timestamp"]):
        g_t = mount["timestamp"].astype(float)
        roll, pitch, yaw = (
            np.degrees(mount[f"attitude_euler_angle[{i}]"].astype(float)) for i in range(3)
        )
        vehicle_frame = np.ones(len(g_t), dtype=bool)
        vehicle_yaw = align_angle(att_t, att_yaw, g_t, max_gap=MAX_ALIGN_GAP_US)
        note = "gimbal from mount_orientation (yaw relative to the vehicle, turned to true north)"
    else:
        nan = np.full(len(t), np.nan)
        return {"gimbal_pitch_deg": nan, "gimbal_roll_deg": nan, "gimbal_yaw_deg": nan}, None
    earth = earth_gimbal_yaw(yaw, vehicle_yaw, vehicle_frame)
    return {
        "gimbal_pitch_deg": align_angle(g_t, pitch, t, max_gap=MAX_ALIGN_GAP_US),
        "gimbal_roll_deg": align_angle(g_t, roll, t, max_gap=MAX_ALIGN_GAP_US),
        "gimbal_yaw_deg": align_angle(g_t, earth, t, max_gap=MAX_ALIGN_GAP_US),
    }, note


def _text(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def parse_topics(
    topics: Topics,
    *,
    info: dict[str, object] | None = None,
    params: dict[str, float] | None = None,
    source: str = "ulog",
) -> ParsedLog:
    """Build one parsed flight from ULog topics already decoded into arrays.

    Parameters
    ----------
    topics : dict of str to dict of str to numpy.ndarray
        Topic name → field name → values, as pyulog's ``ULog.Data.data`` holds them (e.g.
        ``topics["vehicle_attitude"]["q[0]"]``).
    info : dict, optional
        The log's info messages (``sys_uuid``, ``ver_hw``, ``sys_name``, ...).
    params : dict, optional
        The log's initial parameters (``SYS_AUTOSTART`` names the airframe).
    source : str
        Name used in messages (the file path).

    Returns
    -------
    ParsedLog

    Raises
    ------
    FlightLogError
        If no position topic has a row, or no row has a fix.

    Examples
    --------
    >>> t = np.array([1_000_000, 2_000_000], dtype=np.uint64)
    >>> log = parse_topics({"vehicle_gps_position": {
    ...     "timestamp": t, "time_utc_usec": t + np.uint64(1_700_000_000_000_000),
    ...     "lat": np.array([473977419, 0]), "lon": np.array([85455942, 0]),
    ...     "alt": np.array([488004, 0]), "fix_type": np.array([3, 0])}})
    >>> log.rows[["lat", "lon", "alt_msl_m"]].iloc[0].tolist(), str(log.rows["time"][0])
    ([47.3977419, 8.5455942, 488.004], '2023-11-14 22:13:21+00:00')
    >>> bool(np.isnan(log.rows["lat"][1])), log.height_ref
    (True, 'takeoff')
    """
    info, params = info or {}, params or {}
    name = next((n for n in _POSITION_TOPICS if len(topics.get(n, {}).get("timestamp", ()))), None)
    if name is None:
        found = ", ".join(sorted(topics)) or "none of the position or attitude topics"
        raise FlightLogError(
            f"{source}: PX4 ULog without GPS: no vehicle_global_position, vehicle_gps_position "
            f"or sensor_gps data (found: {found}); the flight cannot be placed on a map"
        )
    table = topics[name]
    t = table["timestamp"].astype(float)
    notes = []
    if name == "vehicle_global_position":
        lat, lon = table["lat"].astype(float), table["lon"].astype(float)
        alt = table["alt"].astype(float)
        # PX4 1.15 and later flag the rows the estimator does not vouch for.
        if "lat_lon_valid" in table:
            bad = ~table["lat_lon_valid"].astype(bool)
            lat, lon = np.where(bad, np.nan, lat), np.where(bad, np.nan, lon)
        if "alt_valid" in table:
            alt = np.where(table["alt_valid"].astype(bool), alt, np.nan)
        notes.append(f"positions from {len(t)} vehicle_global_position rows (the estimator)")
    else:
        lat, lon, alt = _gps_fields(table)
        fix = table["fix_type"]
        lat, lon = (
            np.where(fix >= FIRST_FIX, lat, np.nan),
            np.where(fix >= FIRST_FIX, lon, np.nan),
        )
        alt = np.where(fix >= FIX_3D, alt, np.nan)
        notes.append(f"positions from {len(t)} {name} rows")
        if (fix < FIRST_FIX).any():
            notes.append(
                f"{int((fix < FIRST_FIX).sum())} {name} rows without a fix (fix_type < 2) are "
                "counted as no_position"
            )
    if not (np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))).any():
        raise FlightLogError(
            f"{source}: {len(t)} {name} rows but none with a GPS fix (fix_type >= 2); the "
            "flight cannot be placed on a map"
        )
    offset, time_note = _utc_offset_us(topics)
    notes.append(time_note)
    us = t + (0 if offset is None else offset)
    time = pd.Series(pd.to_datetime(np.round(us).astype("int64") * 1000, unit="ns", utc=True))
    height, height_note = _height(alt, t, topics.get("home_position"))
    notes.append(height_note)

    attitude = topics.get("vehicle_attitude")
    if attitude is not None and len(attitude["timestamp"]):
        att_t = attitude["timestamp"].astype(float)
        att_yaw = quaternion_to_euler_deg(*(attitude[f"q[{i}]"] for i in range(4)))[2]
    else:
        att_t, att_yaw = np.zeros(0), np.zeros(0)
    gimbal, gimbal_note = _gimbal(topics, t, att_t, att_yaw)
    notes.extend(n for n in (gimbal_note,) if n)
    airframe = params.get("SYS_AUTOSTART")
    if airframe:
        notes.append(f"PX4 airframe SYS_AUTOSTART {int(airframe)}")
    rows = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "time": time,
            "alt_msl_m": alt,
            "height_agl_m": height,
            "yaw_deg": align_angle(att_t, att_yaw, t, max_gap=MAX_ALIGN_GAP_US),
            **gimbal,
            "source_row": np.arange(1, len(t) + 1, dtype="int64"),
        }
    )
    return ParsedLog(
        rows=rows,
        source_format="px4_ulog",
        height_ref="takeoff" if np.isfinite(height).any() else "unknown",
        drone_id=_text(info.get("sys_uuid")),
        model=_text(info.get("ver_hw")),
        vendor=_text(info.get("sys_name")) or "PX4",
        notes=notes,
    )

"""ArduPilot and MAVLink logs: telemetry logs (``.tlog``) and DataFlash logs (``.bin``).

Both are read through pymavlink. The angle and time helpers here are shared with the PX4 reader
(:mod:`flightlogs.ulog`), which follows the same MAVLink conventions.

MAVLink telemetry log (``.tlog``, format ``mavlink_tlog``)
    What a ground station records: every MAVLink packet it received, each prefixed by the
    receive time (8 bytes, big-endian microseconds since 1970). One flight per vehicle (MAVLink
    system id) that sent positions; with several vehicles the flight ids get ``-sys<id>``.

    ============================  ==============================================================
    message                       canonical column
    ============================  ==============================================================
    ``GLOBAL_POSITION_INT``       ``lat``/``lon`` (1e-7 deg), ``alt_msl_m`` (``alt`` mm),
                                  ``height_agl_m`` (``relative_alt`` mm, above home:
                                  ``height_ref = "takeoff"``); ``hdg`` (cdeg) when there is no
                                  ``ATTITUDE``
    ``GPS_RAW_INT``               position when there is no ``GLOBAL_POSITION_INT``; rows with
                                  ``fix_type`` < 2 have no fix and are rejected as
                                  ``no_position``; a 2-D fix has no altitude
    ``ATTITUDE``                  ``yaw_deg`` (rad, converted to degrees clockwise from true north)
    ``GIMBAL_DEVICE_ATTITUDE_``   ``gimbal_pitch_deg``, ``gimbal_roll_deg``, ``gimbal_yaw_deg``
    ``STATUS``                    from the quaternion; when its yaw is relative to the vehicle
                                  (flag ``YAW_IN_VEHICLE_FRAME``, or neither frame flag and
                                  ``YAW_LOCK`` unset) the vehicle's yaw is added (``delta_yaw``
                                  when given, else ``ATTITUDE``)
    ``MOUNT_ORIENTATION``,        gimbal angles when there is no gimbal-device message; their
    ``MOUNT_STATUS``              yaw is taken as relative to the vehicle (most ArduPilot mount
                                  drivers report the pan angle of the mount) and the vehicle's
                                  yaw is added
    ``SYSTEM_TIME``               UTC of the vehicle clock (``time_unix_usec``)
    ============================  ==============================================================

    Times are the vehicle's ``time_boot_ms`` plus the UTC offset that ``SYSTEM_TIME`` gives
    (the median over the boot session, so one late packet does not shift a flight). Without
    ``SYSTEM_TIME`` the offset comes from the ground station's receive times, which the notes
    say. A reboot (``time_boot_ms`` falling back by more than 5 s) starts a new session with its
    own offset. Attitude and gimbal angles are interpolated to each position's time along the
    shorter arc between the two messages around it when both are within 1 s (see
    :func:`align_angle`); the gimbal device runs its own clock, so its messages are placed by
    their receive times. ``source_row`` is the 1-based number of the packet in the file.

    The packets are decoded by pymavlink's generated ``ardupilotmega`` dialect (MAVLink 1 and
    2). The tlog framing (timestamp, then packet) is walked here rather than through
    ``pymavlink.mavutil``, because mavutil switches its dialect for the whole process through
    environment variables when it meets a MAVLink 2 packet.

ArduPilot DataFlash log (``.bin``, format ``ardupilot_dataflash``)
    What the autopilot writes to its SD card, read with pymavlink's ``DFReader``. ``POS``
    (EKF position: ``Lat``, ``Lng``, ``Alt`` above sea level, ``RelHomeAlt`` above home) gives
    the positions, else ``GPS`` (first receiver; ``Status`` < 2 is no fix). ``ATT.Yaw`` gives
    the heading; ``MNT`` the gimbal (``YawE`` is earth-referenced, ``YawB`` or an older
    ``Yaw`` relative to the vehicle). Times are ``TimeUS`` (since boot) plus the UTC offset of
    the GPS messages: ``GWk``/``GMS`` count GPS time from 1980-01-06, which runs ahead of UTC by
    the leap seconds in :data:`GPS_LEAP_SECONDS`. ``source_row`` is the 1-based number of the
    message among those of its type.

Without any UTC in the log, times are the time since boot counted from 1970-01-01T00:00:00 UTC:
a placeholder that cannot be mistaken for a real date (the notes say so).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pymavlink import DFReader
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError

__all__ = [
    "GPS_LEAP_SECONDS",
    "align_angle",
    "earth_gimbal_yaw",
    "gps_to_unix_us",
    "nearest",
    "quaternion_to_euler_deg",
    "read_dataflash",
    "read_tlog",
    "sniff_dataflash",
    "sniff_tlog",
    "wrap360",
]

#: (UTC date from which it holds, GPS − UTC in seconds). IERS Bulletin C has announced no leap
#: second after 2017-01-01.
GPS_LEAP_SECONDS: tuple[tuple[str, int], ...] = (
    ("1981-07-01", 1),
    ("1982-07-01", 2),
    ("1983-07-01", 3),
    ("1985-07-01", 4),
    ("1988-01-01", 5),
    ("1990-01-01", 6),
    ("1991-01-01", 7),
    ("1992-07-01", 8),
    ("1993-07-01", 9),
    ("1994-07-01", 10),
    ("1996-01-01", 11),
    ("1997-07-01", 12),
    ("1999-01-01", 13),
    ("2006-01-01", 14),
    ("2009-01-01", 15),
    ("2012-07-01", 16),
    ("2015-07-01", 17),
    ("2017-01-01", 18),
)
_GPS_EPOCH_UNIX_S = 315_964_800  # 1980-01-06T00:00:00Z
_WEEK_S = 7 * 86_400
# Each leap second's moment on the GPS clock: its UTC moment plus the offset then in force.
_LEAP_AT_GPS_S = np.array(
    [pd.Timestamp(day, tz="UTC").value // 10**9 + n for day, n in GPS_LEAP_SECONDS]
)
_LEAP_S = np.array([n for _, n in GPS_LEAP_SECONDS])

#: Largest gap (µs) between a position and the attitude or gimbal sample given to it.
MAX_ALIGN_GAP_US = 1_000_000
_REBOOT_MS = 5_000
_FIRST_FIX = 2  # MAVLink GPS_FIX_TYPE_2D_FIX; lower values mean no fix
_FIX_3D = 3
_PLACEHOLDER_NOTE = (
    "the log has no UTC time: times are the time since boot counted from "
    "1970-01-01T00:00:00 UTC (a placeholder, not a real date)"
)

# GIMBAL_DEVICE_FLAGS (MAVLink common.xml).
_YAW_LOCK = 16
_YAW_IN_VEHICLE_FRAME = 32
_YAW_IN_EARTH_FRAME = 64


# --------------------------------------------------------------------------- shared helpers


def quaternion_to_euler_deg(
    w: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Roll, pitch and yaw (degrees, ZYX order) of rotation quaternions ``w + xi + yj + zk``.

    The aerospace convention used by MAVLink and PX4: the quaternion rotates the body frame
    (forward-right-down) into north-east-down; yaw is clockwise from north in [0, 360), pitch
    is positive nose up in [-90, 90], roll positive right wing down.

    Parameters
    ----------
    w, x, y, z : numpy.ndarray
        Quaternion components (normalised here; NaN propagates).

    Returns
    -------
    roll, pitch, yaw : numpy.ndarray
        Degrees.

    Examples
    --------
    >>> import math
    >>> c, s = math.cos(math.radians(45)), math.sin(math.radians(45))
    >>> q = [np.array([v]) for v in (c, 0.0, 0.0, s)]  # 90° about the down axis
    >>> [round(float(a[0]), 9) for a in quaternion_to_euler_deg(*q)]
    [0.0, 0.0, 90.0]
    >>> round(float(quaternion_to_euler_deg(*[np.array([v]) for v in (c, 0, -s, 0)])[1][0]), 6)
    -90.0
    """
    w, x, y, z = (np.asarray(v, dtype=float) for v in (w, x, y, z))
    norm = np.sqrt(w * w + x * x + y * y + z * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        w, x, y, z = w / norm, x / norm, y / norm, z / norm
    # Tait-Bryan ZYX angles from a unit quaternion (Diebel 2006, "Representing attitude",
    # eq. 290); the arcsine argument is clipped against rounding just past +-1.
    roll = np.degrees(np.arctan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y)))
    pitch = np.degrees(np.arcsin(np.clip(2 * (w * y - z * x), -1.0, 1.0)))
    yaw = wrap360(np.degrees(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))))
    return roll, pitch, yaw


def nearest(
    t_from: np.ndarray, values: np.ndarray, t_to: np.ndarray, *, max_gap: float
) -> np.ndarray:
    """Give each time in ``t_to`` the value of the nearest time in ``t_from``.

    Parameters
    ----------
    t_from : numpy.ndarray
        Times of the values, in any order (sorted here; ties keep file order).
    values : numpy.ndarray
        One value per time in ``t_from``; NaN values are skipped.
    t_to : numpy.ndarray
        Times wanted.
    max_gap : float
        Largest distance in time accepted; farther gives NaN.

    Returns
    -------
    numpy.ndarray
        Float values aligned with ``t_to``.

    Examples
    --------
    >>> nearest(np.array([0.0, 10.0]), np.array([1.0, 2.0]), np.array([4.0, 6.0, 30.0]),
    ...         max_gap=5)
    array([ 1.,  2., nan])
    """
    t_from = np.asarray(t_from, dtype=float)
    values = np.asarray(values, dtype=float)
    t_to = np.asarray(t_to, dtype=float)
    ok = np.isfinite(t_from) & np.isfinite(values)
    out = np.full(t_to.shape, np.nan)
    if not ok.any() or not len(t_to):
        return out
    order = np.argsort(t_from[ok], kind="stable")
    ts, vs = t_from[ok][order], values[ok][order]
    right = np.clip(np.searchsorted(ts, t_to), 0, len(ts) - 1)
    left = np.clip(right - 1, 0, len(ts) - 1)
    pick = np.where(np.abs(ts[left] - t_to) <= np.abs(ts[right] - t_to), left, right)
    gap = np.abs(ts[pick] - t_to)
    return np.where(gap <= max_gap, vs[pick], np.nan)


def wrap360(degrees: np.ndarray) -> np.ndarray:
    """Angles folded into [0, 360).

    ``x % 360`` alone gives 360.0 for a tiny negative x, through rounding.

    Parameters
    ----------
    degrees : numpy.ndarray
        Any angles in degrees.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> wrap360(np.array([-1e-300, 370.0, -90.0]))
    array([  0.,  10., 270.])
    """
    out = np.mod(np.asarray(degrees, dtype=float), 360.0)
    return np.where(out >= 360.0, 0.0, out)


def align_angle(
    t_from: np.ndarray, degrees: np.ndarray, t_to: np.ndarray, *, max_gap: float
) -> np.ndarray:
    """Angles at the times ``t_to``, interpolated the short way round between the samples.

    Between two samples both within ``max_gap`` the angle is interpolated linearly along the
    shorter arc (350° and 10° give 0° half-way, not 180°); elsewhere the nearest sample within
    ``max_gap`` is used, and NaN beyond it.

    Parameters
    ----------
    t_from : numpy.ndarray
        Times of the samples, in any order.
    degrees : numpy.ndarray
        The angles; NaN samples are skipped.
    t_to : numpy.ndarray
        Times wanted.
    max_gap : float
        Largest distance in time to a sample that is used.

    Returns
    -------
    numpy.ndarray
        Degrees, in [0, 360) for yaw-like inputs (pitch and roll keep their sign).

    Examples
    --------
    >>> align_angle(np.array([0.0, 2.0]), np.array([350.0, 10.0]), np.array([1.0, 2.5, 9.0]),
    ...             max_gap=1.0)
    array([ 0., 10., nan])
    """
    t_from = np.asarray(t_from, dtype=float)
    degrees = np.asarray(degrees, dtype=float)
    t_to = np.asarray(t_to, dtype=float)
    near = nearest(t_from, degrees, t_to, max_gap=max_gap)
    ok = np.isfinite(t_from) & np.isfinite(degrees)
    if ok.sum() < 2 or not len(t_to):
        return near
    order = np.argsort(t_from[ok], kind="stable")
    ts, vs = t_from[ok][order], degrees[ok][order]
    turned = np.unwrap(vs, period=360.0)
    right = np.clip(np.searchsorted(ts, t_to), 1, len(ts) - 1)
    left = right - 1
    width = ts[right] - ts[left]
    inside = (ts[left] <= t_to) & (t_to <= ts[right]) & (width > 0)
    inside &= (t_to - ts[left] <= max_gap) & (ts[right] - t_to <= max_gap)
    share = np.where(inside, (t_to - ts[left]) / np.where(width > 0, width, 1.0), 0.0)
    between = turned[left] + share * (turned[right] - turned[left])
    # Fold back only what was a compass angle: pitch and roll stay in (-180, 180].
    compass = (vs.min() >= 0) if len(vs) else True
    between = wrap360(between) if compass else (between + 180.0) % 360.0 - 180.0
    return np.where(inside, between, near)


def earth_gimbal_yaw(
    gimbal_yaw: np.ndarray, vehicle_yaw: np.ndarray, vehicle_frame: np.ndarray
) -> np.ndarray:
    """Gimbal yaw from true north: the vehicle's yaw is added where the gimbal reports it relative.

    Parameters
    ----------
    gimbal_yaw : numpy.ndarray
        Degrees, as the gimbal reports them.
    vehicle_yaw : numpy.ndarray
        Vehicle heading (degrees from true north) at the same moments.
    vehicle_frame : numpy.ndarray of bool
        True where ``gimbal_yaw`` is relative to the vehicle's heading.

    Returns
    -------
    numpy.ndarray
        Degrees clockwise from true north in [0, 360); NaN where a relative yaw has no vehicle
        yaw to add to.

    Examples
    --------
    >>> earth_gimbal_yaw(np.array([-30.0, 10.0]), np.array([350.0, 350.0]),
    ...                  np.array([True, False]))
    array([320.,  10.])
    """
    gimbal_yaw = np.asarray(gimbal_yaw, dtype=float)
    absolute = np.where(
        vehicle_frame, gimbal_yaw + np.asarray(vehicle_yaw, dtype=float), gimbal_yaw
    )
    return wrap360(absolute)


def gps_to_unix_us(week: np.ndarray, ms_of_week: np.ndarray) -> np.ndarray:
    """Convert GPS week and milliseconds of week to UTC microseconds since 1970.

    Parameters
    ----------
    week : numpy.ndarray
        GPS week number (weeks since 1980-01-06, not rolled over at 1024).
    ms_of_week : numpy.ndarray
        Milliseconds since the start of the week (GPS time).

    Returns
    -------
    numpy.ndarray of int64
        UTC microseconds since 1970-01-01, leap seconds removed (:data:`GPS_LEAP_SECONDS`).

    Examples
    --------
    >>> str(pd.Timestamp(int(gps_to_unix_us(np.array([2000]), np.array([0]))[0]), unit="us"))
    '2018-05-05 23:59:42'
    """
    week = np.asarray(week, dtype=np.int64)
    ms = np.asarray(ms_of_week, dtype=np.int64)
    gps_us = (_GPS_EPOCH_UNIX_S + week * _WEEK_S) * 1_000_000 + ms * 1000
    gps_s_since_1970 = gps_us // 1_000_000
    count = np.searchsorted(_LEAP_AT_GPS_S, gps_s_since_1970, side="right")
    leap = np.where(count > 0, _LEAP_S[np.maximum(count - 1, 0)], 0)
    return gps_us - leap * 1_000_000


def _times(us: np.ndarray) -> pd.Series:
    """UTC datetimes from microseconds since 1970 (NaN → NaT), exact to the microsecond."""
    us = np.asarray(us, dtype=float)
    # (beyond ±2.9e5 years a time cannot be held in nanoseconds: a damaged clock, not a date)
    ok = np.isfinite(us) & (np.abs(us) < 9e15)
    ns = np.zeros(len(us), dtype="int64")
    # Whole microseconds first: float nanoseconds near 1.5e18 are only exact to 256 ns.
    ns[ok] = np.round(us[ok]).astype("int64") * 1000
    times = pd.Series(pd.to_datetime(ns, unit="ns", utc=True))
    return times.where(ok)


def _median_offset(values: np.ndarray) -> int | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return round(float(np.median(values))) if len(values) else None


# --------------------------------------------------------------------------- tlog


# Message → attributes collected (array attributes such as ``q`` are spread into q0..q3).
_TLOG_MESSAGES: dict[str, tuple[str, ...]] = {
    "GLOBAL_POSITION_INT": ("time_boot_ms", "lat", "lon", "alt", "relative_alt", "hdg"),
    "GPS_RAW_INT": ("time_usec", "fix_type", "lat", "lon", "alt"),
    "ATTITUDE": ("time_boot_ms", "yaw"),
    "SYSTEM_TIME": ("time_unix_usec", "time_boot_ms"),
    "HOME_POSITION": ("altitude",),
    "GIMBAL_DEVICE_ATTITUDE_STATUS": ("flags", "q", "delta_yaw"),
    "MOUNT_ORIENTATION": ("time_boot_ms", "roll", "pitch", "yaw"),
    "MOUNT_STATUS": ("pointing_a", "pointing_b", "pointing_c"),
}
# Messages read for what they say about the aircraft, kept whole.
_TLOG_INFO = ("HEARTBEAT", "AUTOPILOT_VERSION", "STATUSTEXT", "PARAM_VALUE")
_TLOG_IDS: dict[int, str] = {
    getattr(mavlink2, f"MAVLINK_MSG_ID_{name}"): name for name in (*_TLOG_MESSAGES, *_TLOG_INFO)
}
_MIN_TLOG_US = 946_684_800 * 10**6  # 2000-01-01: receive times before this are not a tlog
_MAX_TLOG_US = 4_102_444_800 * 10**6  # 2100-01-01


def _frame_size(buf: bytes | memoryview, at: int) -> int | None:
    """Length of the MAVLink packet starting at ``at``, or None if no packet starts there."""
    if at + 2 > len(buf):
        return None
    magic = buf[at]
    if magic == 0xFE:  # MAVLink 1: magic, len, seq, sys, comp, msgid, payload, crc16
        return 8 + buf[at + 1]
    if magic == 0xFD and at + 3 <= len(buf):  # MAVLink 2: 10-byte header, optional signature
        return 12 + buf[at + 1] + (13 if buf[at + 2] & 0x01 else 0)
    return None


def _tlog_record_at(buf: bytes | memoryview, at: int) -> int | None:
    """Size of a plausible tlog record (timestamp + packet) at ``at``, else None."""
    if at + 9 > len(buf):
        return None
    stamp = int.from_bytes(buf[at : at + 8], "big")
    if not _MIN_TLOG_US <= stamp < _MAX_TLOG_US:
        return None
    size = _frame_size(buf, at + 8)
    return None if size is None else 8 + size


def sniff_tlog(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like a MAVLink telemetry log.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the file starts with a plausible receive time (2000-2100) followed by a
        MAVLink 1 or 2 packet, and, if the head is long enough, a second such record.

    Examples
    --------
    >>> record = (1533737161912000).to_bytes(8, "big") + bytes([0xFE, 1, 0, 1, 1, 0, 7, 0, 0])
    >>> sniff_tlog(record * 2), sniff_tlog(b"\xfe" * 32)
    (True, False)
    """
    first = _tlog_record_at(head, 0)
    if first is None:
        return False
    if first + 9 > len(head):
        return first <= len(head)
    return _tlog_record_at(head, first) is not None


def _collect_tlog(path: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list], str]:
    """Read the wanted messages into one array per field, and the info messages as they are."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    rows: dict[str, list[list[float]]] = {name: [] for name in _TLOG_MESSAGES}
    info: dict[str, list] = {name: [] for name in _TLOG_INFO}
    damage = _TlogDamage()
    for number, stamp, sysid, compid, name, msg in _walk_records(data, damage):
        if name in info:
            info[name].append((sysid, compid, msg))
            continue
        values: list[float] = [number, stamp, sysid, compid]
        for attr in _TLOG_MESSAGES[name]:
            v = getattr(msg, attr)
            if isinstance(v, list | tuple):
                values.extend(float(x) for x in v)
            else:
                values.append(float(v))
        rows[name].append(values)
    tables: dict[str, dict[str, np.ndarray]] = {}
    for name, attrs in _TLOG_MESSAGES.items():
        names = ["number", "rx_us", "sysid", "compid"]
        for attr in attrs:
            names.extend([f"q{i}" for i in range(4)] if attr == "q" else [attr])
        array = np.array(rows[name], dtype=float).reshape(-1, len(names))
        tables[name] = {n: array[:, i] for i, n in enumerate(names)}
    return tables, info, damage.note()


class _TlogDamage:
    """Counts of what could not be read from a tlog, for the notes."""

    def __init__(self) -> None:
        self.skipped_bytes = 0
        self.bad_packets = 0

    def note(self) -> str:
        parts = []
        if self.skipped_bytes:
            parts.append(f"{self.skipped_bytes} damaged or cut-off bytes skipped")
        if self.bad_packets:
            parts.append(f"{self.bad_packets} packets with a bad checksum skipped")
        return "; ".join(parts)


def _walk_records(
    data: bytes, damage: _TlogDamage
) -> Iterator[tuple[int, int, int, int, str, Any]]:
    """Yield (packet number, receive µs, sysid, compid, name, message) for wanted packets."""
    buf = memoryview(data)
    mav = mavlink2.MAVLink(None)
    at, number = 0, 0
    while at < len(buf):
        size = _tlog_record_at(buf, at)
        if size is None:
            if at + 9 > len(buf):
                damage.skipped_bytes += len(buf) - at
                break
            at += 1  # damaged bytes: look for the next plausible record
            damage.skipped_bytes += 1
            continue
        if at + size > len(buf):
            damage.skipped_bytes += len(buf) - at  # the last record is cut off
            break
        number += 1
        stamp = int.from_bytes(buf[at : at + 8], "big")
        packet = buf[at + 8 : at + size]
        at += size
        if packet[0] == 0xFE:
            sysid, compid, msgid = packet[3], packet[4], packet[5]
        else:
            sysid, compid = packet[5], packet[6]
            msgid = int.from_bytes(packet[7:10], "little")
        name = _TLOG_IDS.get(msgid)
        if name is None:
            continue  # not needed: skip without decoding
        try:
            msg = mav.decode(bytearray(packet))
        except Exception:  # pymavlink reports a bad checksum or payload with several types
            damage.bad_packets += 1
            continue
        yield number, stamp, sysid, compid, name, msg


def _select(table: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in table.items()}


def _sessions(numbers: np.ndarray, boot_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boot session of each message: a new one starts where the boot clock falls back > 5 s.

    Packets delayed on the radio link arrive a little out of order (about 1 s in the shared
    log), which is no reboot. Returns the message numbers sorted and their session ids, for
    lookup with searchsorted.
    """
    order = np.argsort(numbers, kind="stable")
    numbers, boot = numbers[order], boot_ms[order]
    session = np.concatenate([[0], np.cumsum(np.diff(boot) < -_REBOOT_MS)]).astype(int)
    return numbers, session[: len(numbers)]


class _BootClock:
    """Maps one vehicle's boot-clock times (ms) to UTC microseconds, boot session by session.

    Each session's offset is the median of ``SYSTEM_TIME.time_unix_usec - time_boot_ms`` in
    it; a session without ``SYSTEM_TIME`` falls back to the ground station's receive times.
    """

    def __init__(
        self,
        numbers: np.ndarray,
        boot_ms: np.ndarray,
        rx_us: np.ndarray,
        system_time: dict[str, np.ndarray],
    ) -> None:
        order = np.argsort(numbers, kind="stable")
        self._numbers, self._session = _sessions(numbers, boot_ms)
        n_sessions = int(self._session.max()) + 1 if len(self._session) else 1
        rx_offset = (
            pd.Series(rx_us[order] - boot_ms[order] * 1000.0)
            .groupby(self._session)
            .median()
            .reindex(range(n_sessions))
        )
        self.offsets = rx_offset.to_numpy(dtype=float, copy=True)
        ok = system_time["time_unix_usec"] > 0
        st_session = self.session(system_time["number"][ok])
        st_offset = system_time["time_unix_usec"][ok] - system_time["time_boot_ms"][ok] * 1000.0
        by_session = pd.Series(st_offset).groupby(st_session).median()
        self.offsets[by_session.index.to_numpy(dtype=int)] = by_session.to_numpy()
        self.from_receive_times = sorted(set(range(n_sessions)) - set(by_session.index))
        self.n_sessions = n_sessions

    def session(self, numbers: np.ndarray) -> np.ndarray:
        """Session id of messages given by their packet numbers."""
        if not len(self._numbers):
            return np.zeros(len(numbers), dtype=int)
        at = np.clip(np.searchsorted(self._numbers, numbers), 0, len(self._numbers) - 1)
        return self._session[at]

    def utc_us(self, numbers: np.ndarray, boot_ms: np.ndarray) -> np.ndarray:
        """UTC microseconds of messages with their boot-clock times in milliseconds."""
        return np.round(boot_ms * 1000.0 + self.offsets[self.session(numbers)])


def _mode(values: np.ndarray) -> int | None:
    if not len(values):
        return None
    found, counts = np.unique(values.astype(int), return_counts=True)
    return int(found[np.argmax(counts)])


def _tlog_metadata(info: dict[str, list], sysid: int) -> tuple[str | None, str | None, str | None]:
    """(drone_id, model, vendor) from what a vehicle said about itself."""
    drone_id = model = vendor = None
    for sid, _, msg in info["AUTOPILOT_VERSION"]:
        if sid != sysid:
            continue
        if msg.uid:
            drone_id = f"{msg.uid:016X}"
        elif any(msg.uid2):
            drone_id = bytes(msg.uid2).hex().upper()
    for sid, _, msg in info["PARAM_VALUE"]:
        if drone_id is None and sid == sysid and msg.param_id == "BRD_SERIAL_NUM":
            drone_id = str(int(msg.param_value)) if msg.param_value else None
    for sid, _, msg in info["STATUSTEXT"]:
        found = _FIRMWARE.match(str(msg.text)) if sid == sysid else None
        if found and model is None:
            model = found.group(0)
    autopilots = Counter(msg.autopilot for sid, _, msg in info["HEARTBEAT"] if sid == sysid)
    for autopilot, _ in autopilots.most_common():
        if autopilot in _AUTOPILOTS:
            vendor = _AUTOPILOTS[autopilot]
            break
    return drone_id, model, vendor


_FIRMWARE = re.compile(r"(?:Ardu\w+|APM:\w+|PX4\w*|Blimp|AntennaTracker|Rover)\s+V?\d[\w.\-]*")
_AUTOPILOTS = {
    mavlink2.MAV_AUTOPILOT_ARDUPILOTMEGA: "ArduPilot",
    mavlink2.MAV_AUTOPILOT_PX4: "PX4",
}


def _gimbal_tlog(
    tables: dict[str, dict[str, np.ndarray]],
    sysid: int,
    *,
    att: dict[str, np.ndarray],
    att_utc: np.ndarray,
    att_yaw: np.ndarray,
    clock: _BootClock,
    pos_utc: np.ndarray,
    pos_rx: np.ndarray,
) -> tuple[dict[str, np.ndarray], str | None]:
    """Gimbal pitch, roll and earth-referenced yaw at each position, and a note on the source."""
    nan = np.full(len(pos_utc), np.nan)
    device = _select(
        tables["GIMBAL_DEVICE_ATTITUDE_STATUS"],
        tables["GIMBAL_DEVICE_ATTITUDE_STATUS"]["sysid"] == sysid,
    )
    orientation = _select(
        tables["MOUNT_ORIENTATION"], tables["MOUNT_ORIENTATION"]["sysid"] == sysid
    )
    status = _select(tables["MOUNT_STATUS"], tables["MOUNT_STATUS"]["sysid"] == sysid)
    if len(device["number"]):
        # The gimbal device runs its own clock: align on the ground station's receive times.
        roll, pitch, yaw = quaternion_to_euler_deg(
            device["q0"], device["q1"], device["q2"], device["q3"]
        )
        flags = device["flags"].astype(int)
        in_vehicle = (flags & _YAW_IN_VEHICLE_FRAME) != 0
        vehicle_frame = in_vehicle | (
            ((flags & _YAW_IN_EARTH_FRAME) == 0) & ((flags & _YAW_LOCK) == 0)
        )
        delta = np.degrees(device["delta_yaw"])
        vehicle_yaw = np.where(
            in_vehicle & np.isfinite(delta),
            delta,
            align_angle(att["rx_us"], att_yaw, device["rx_us"], max_gap=MAX_ALIGN_GAP_US),
        )
        t_from, t_to = device["rx_us"], pos_rx
        note = (
            f"gimbal from GIMBAL_DEVICE_ATTITUDE_STATUS ({int(vehicle_frame.sum())} of "
            f"{len(flags)} with yaw relative to the vehicle, turned to true north)"
        )
    elif len(orientation["number"]):
        roll, pitch, yaw = orientation["roll"], orientation["pitch"], orientation["yaw"]
        t_from = clock.utc_us(orientation["number"], orientation["time_boot_ms"])
        vehicle_yaw = align_angle(att_utc, att_yaw, t_from, max_gap=MAX_ALIGN_GAP_US)
        vehicle_frame = np.ones(len(yaw), dtype=bool)
        t_to = pos_utc
        note = "gimbal from MOUNT_ORIENTATION (yaw relative to the vehicle, turned to true north)"
    elif len(status["number"]):
        pitch, roll, yaw = (status[f"pointing_{c}"] / 100.0 for c in "abc")
        vehicle_yaw = align_angle(att["rx_us"], att_yaw, status["rx_us"], max_gap=MAX_ALIGN_GAP_US)
        vehicle_frame = np.ones(len(yaw), dtype=bool)
        t_from, t_to = status["rx_us"], pos_rx
        note = (
            "gimbal from MOUNT_STATUS; its yaw is taken as relative to the vehicle (the pan "
            "angle most ArduPilot mount drivers report) and turned to true north"
        )
    else:
        return {"gimbal_pitch_deg": nan, "gimbal_roll_deg": nan, "gimbal_yaw_deg": nan}, None
    earth_yaw = earth_gimbal_yaw(yaw, vehicle_yaw, vehicle_frame)
    return {
        "gimbal_pitch_deg": align_angle(t_from, pitch, t_to, max_gap=MAX_ALIGN_GAP_US),
        "gimbal_roll_deg": align_angle(t_from, roll, t_to, max_gap=MAX_ALIGN_GAP_US),
        "gimbal_yaw_deg": align_angle(t_from, earth_yaw, t_to, max_gap=MAX_ALIGN_GAP_US),
    }, note


def _tlog_flight(
    path: Path,
    tables: dict[str, dict[str, np.ndarray]],
    info: dict[str, list],
    sysid: int,
    *,
    suffix: str,
) -> ParsedLog:
    """One vehicle's flight from the collected messages."""

    def of_system(name: str, compid: int | None = None) -> dict[str, np.ndarray]:
        table = tables[name]
        mask = table["sysid"] == sysid
        if compid is not None:
            mask &= table["compid"] == compid
        return _select(table, mask)

    gpi_all, raw_all = of_system("GLOBAL_POSITION_INT"), of_system("GPS_RAW_INT")
    # Companion computers may send positions too: keep the component that sent the most.
    compid = _mode(gpi_all["compid"]) if len(gpi_all["compid"]) else _mode(raw_all["compid"])
    gpi, raw = of_system("GLOBAL_POSITION_INT", compid), of_system("GPS_RAW_INT", compid)
    att, st = of_system("ATTITUDE", compid), of_system("SYSTEM_TIME", compid)
    orientation = of_system("MOUNT_ORIENTATION", compid)
    raw_is_boot = raw["time_usec"] < 1e15  # MAVLink: larger values are UNIX time
    boot_parts = [
        (gpi["number"], gpi["time_boot_ms"], gpi["rx_us"]),
        (att["number"], att["time_boot_ms"], att["rx_us"]),
        (st["number"], st["time_boot_ms"], st["rx_us"]),
        (orientation["number"], orientation["time_boot_ms"], orientation["rx_us"]),
        (
            raw["number"][raw_is_boot],
            raw["time_usec"][raw_is_boot] / 1000.0,
            raw["rx_us"][raw_is_boot],
        ),
    ]
    clock = _BootClock(*(np.concatenate(p) for p in zip(*boot_parts, strict=True)), st)
    notes = []

    if len(gpi["number"]):
        pos = gpi
        pos_utc = clock.utc_us(gpi["number"], gpi["time_boot_ms"])
        lat, lon = gpi["lat"] / 1e7, gpi["lon"] / 1e7
        alt = gpi["alt"] / 1000.0
        height = gpi["relative_alt"] / 1000.0
        heading = np.where(gpi["hdg"] == 65535, np.nan, gpi["hdg"] / 100.0)
        notes.append(
            f"positions from {len(lat)} GLOBAL_POSITION_INT messages ({len(raw['number'])} "
            "GPS_RAW_INT also in the log); height_agl_m is relative_alt, the height above home "
            "(the take-off point)"
        )
    else:
        pos = raw
        pos_utc = np.where(
            raw_is_boot, clock.utc_us(raw["number"], raw["time_usec"] / 1000.0), raw["time_usec"]
        )
        fix = raw["fix_type"]
        lat = np.where(fix >= _FIRST_FIX, raw["lat"] / 1e7, np.nan)
        lon = np.where(fix >= _FIRST_FIX, raw["lon"] / 1e7, np.nan)
        alt = np.where(fix >= _FIX_3D, raw["alt"] / 1000.0, np.nan)
        home = of_system("HOME_POSITION")["altitude"] / 1000.0
        height, height_note = _height_above(alt, home, "HOME_POSITION.altitude")
        heading = np.full(len(lat), np.nan)
        notes.append(f"positions from {len(lat)} GPS_RAW_INT messages; {height_note}")
        if (fix < _FIRST_FIX).any():
            notes.append(
                f"{int((fix < _FIRST_FIX).sum())} GPS_RAW_INT rows without a fix (fix_type < 2) "
                "are counted as no_position"
            )
    if not (np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))).any():
        raise FlightLogError(
            f"{path}: vehicle {sysid} sent {len(lat)} positions but none with a GPS fix "
            "(all missing or at 0, 0); the flight cannot be placed on a map"
        )
    if clock.from_receive_times:
        notes.append(
            "no SYSTEM_TIME with a UTC time for "
            f"{len(clock.from_receive_times)} of {clock.n_sessions} boot session(s): their "
            "times come from the ground station's receive clock"
        )
    else:
        notes.append("times are the vehicle clock (time_boot_ms) set to UTC by SYSTEM_TIME")

    att_utc = clock.utc_us(att["number"], att["time_boot_ms"])
    att_yaw = wrap360(np.degrees(att["yaw"]))
    yaw = align_angle(att_utc, att_yaw, pos_utc, max_gap=MAX_ALIGN_GAP_US)
    yaw = np.where(np.isfinite(yaw), yaw, heading)
    gimbal, gimbal_note = _gimbal_tlog(
        tables,
        sysid,
        att=att,
        att_utc=att_utc,
        att_yaw=att_yaw,
        clock=clock,
        pos_utc=pos_utc,
        pos_rx=pos["rx_us"],
    )
    notes.extend(n for n in (gimbal_note,) if n)
    rows = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "time": _times(pos_utc),
            "alt_msl_m": alt,
            "height_agl_m": height,
            "yaw_deg": yaw,
            **gimbal,
            "source_row": pos["number"].astype("int64"),
        }
    )
    drone_id, model, vendor = _tlog_metadata(info, sysid)
    return ParsedLog(
        rows=rows,
        source_format="mavlink_tlog",
        height_ref="takeoff" if np.isfinite(height).any() else "unknown",
        drone_id=drone_id,
        model=model,
        vendor=vendor,
        notes=notes,
        suffix=suffix,
    )


def _height_above(alt: np.ndarray, home: np.ndarray, home_name: str) -> tuple[np.ndarray, str]:
    """Height above the home altitude, or above the first altitude, with a note saying which."""
    home = home[np.isfinite(home)]
    if len(home):
        return alt - home[0], f"height_agl_m is the altitude above {home_name} (the take-off point)"
    first = alt[np.isfinite(alt)]
    if len(first):
        return alt - first[0], (
            "no home altitude in the log: height_agl_m is the altitude above the first valid "
            "altitude, taken as the take-off point"
        )
    return np.full(len(alt), np.nan), "no altitude in the log"


def read_tlog(path: Path) -> list[ParsedLog]:
    """Read a MAVLink telemetry log into one parsed flight per vehicle.

    Parameters
    ----------
    path : pathlib.Path
        The ``.tlog`` file.

    Returns
    -------
    list of ParsedLog
        One per MAVLink system that sent positions, in system-id order.

    Raises
    ------
    FlightLogError
        If the file cannot be opened, holds no position message, or no position with a fix.
    """
    path = Path(path)
    tables, info, damage = _collect_tlog(path)
    systems = sorted(
        {int(s) for s in tables["GLOBAL_POSITION_INT"]["sysid"]}
        | {int(s) for s in tables["GPS_RAW_INT"]["sysid"]}
    )
    if not systems:
        found = sum(len(t["number"]) for t in tables.values())
        raise FlightLogError(
            f"{path}: MAVLink telemetry log without any position (no GLOBAL_POSITION_INT or "
            f"GPS_RAW_INT among the {found} messages read); the flight cannot be placed on a map"
        )
    logs = []
    for sysid in systems:
        log = _tlog_flight(
            path, tables, info, sysid, suffix=f"-sys{sysid}" if len(systems) > 1 else ""
        )
        if damage:
            log.notes.append(damage)
        logs.append(log)
    return logs


# --------------------------------------------------------------------------- DataFlash


# Message → (required fields, optional fields: NaN when the log's layout lacks them).
_DF_MESSAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "GPS": (("TimeUS", "Status", "GMS", "GWk", "Lat", "Lng", "Alt"), ("I",)),
    "POS": (("TimeUS", "Lat", "Lng", "Alt"), ("RelHomeAlt",)),
    "ATT": (("TimeUS", "Yaw"), ()),
    "MNT": (("TimeUS",), ("I", "Roll", "Pitch", "YawE", "YawB", "Yaw")),
}
_DF_INFO = ("MSG", "PARM")
_DF_HEAD = b"\xa3\x95"
_DF_FMT = 0x80
_DF_FMT_LENGTH = 89


def sniff_dataflash(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like an ArduPilot DataFlash log.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the file starts with the DataFlash FMT message that defines FMT itself
        (``A3 95 80 80 59``) followed by another message header.

    Examples
    --------
    >>> sniff_dataflash(b"\xa3\x95\x80\x80\x59" + bytes(84) + b"\xa3\x95\x80")
    True
    >>> sniff_dataflash(b"ULog\x01\x12\x35")
    False
    """
    return head[:5] == _DF_HEAD + bytes([_DF_FMT, _DF_FMT, _DF_FMT_LENGTH]) and head[
        _DF_FMT_LENGTH : _DF_FMT_LENGTH + 2
    ] in (_DF_HEAD, _DF_HEAD[: len(head) - 89])


@contextlib.contextmanager
def _silenced() -> Iterator[Callable[[], bool]]:
    """Keep what pymavlink prints about a damaged log off the terminal.

    It prints from Python (to ``sys.stdout``/``sys.stderr``) and from its compiled indexer
    (straight to file descriptors 1 and 2, one line per bad byte), so both levels are
    redirected while it parses. Yields a function telling whether anything was printed.
    """
    chatter = io.StringIO()
    printed = [False]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
                yield lambda: printed[0]
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            printed[0] = bool(chatter.getvalue().strip()) or os.fstat(sink.fileno()).st_size > 0


class _DataFlashReader(DFReader.DFReader_binary):
    """pymavlink's DataFlash reader that closes its file when the log cannot be parsed.

    ``DFReader_binary`` opens and maps the file before parsing it, and leaves both open when
    parsing fails.
    """

    def __init__(self, filename: str) -> None:
        try:
            super().__init__(filename, zero_time_base=True)
        except BaseException:
            self.close_quietly()
            raise

    def close_quietly(self) -> None:
        """Close the file, and the memory map unless pymavlink still holds a view of it."""
        data_map = getattr(self, "data_map", None)
        if data_map is not None:
            try:
                data_map.close()
            except BufferError:
                pass  # a view into the map is still alive; the map closes when it is freed
        handle = getattr(self, "filehandle", None)
        if handle is not None:
            handle.close()


def _collect_dataflash(path: Path) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list]]:
    rows: dict[str, list[list[float]]] = {name: [] for name in _DF_MESSAGES}
    info: dict[str, list] = {name: [] for name in _DF_INFO}
    missing: set[str] = set()
    try:
        reader = _DataFlashReader(str(path))
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    except Exception as exc:  # pymavlink reports damaged logs with many exception types
        raise FlightLogError(f"{path}: not a readable DataFlash log ({exc})") from None
    try:
        while True:
            try:
                msg = reader.recv_match(type=[*_DF_MESSAGES, *_DF_INFO])
            except Exception as exc:  # as above: a damaged message part-way through
                raise FlightLogError(
                    f"{path}: DataFlash log damaged after {sum(map(len, rows.values()))} "
                    f"messages ({exc})"
                ) from None
            if msg is None:
                break
            name = msg.get_type()
            if name in info:
                info[name].append(msg)
                continue
            required, optional = _DF_MESSAGES[name]
            fields = set(msg.get_fieldnames())
            lacking = [f for f in required if f not in fields]
            if lacking:
                missing.add(f"{name} without {', '.join(lacking)}")
                continue
            try:
                values = [float(getattr(msg, f)) for f in required] + [
                    float(getattr(msg, f)) if f in fields else np.nan for f in optional
                ]
            except (IndexError, ValueError, TypeError, AttributeError) as exc:
                # A record whose bytes do not match its format definition (pymavlink decodes
                # fields lazily, so the damage shows only here).
                raise FlightLogError(
                    f"{path}: DataFlash log damaged after {sum(map(len, rows.values()))} "
                    f"messages ({name}: {exc})"
                ) from None
            rows[name].append(values)
    finally:
        reader.close_quietly()
    if missing and not any(rows[n] for n in ("GPS", "POS")):
        raise FlightLogError(
            f"{path}: DataFlash log of an older layout ({'; '.join(sorted(missing))}); "
            "expected GPS or POS messages with TimeUS, as ArduPilot writes since 3.3"
        )
    tables = {}
    for name, (required, optional) in _DF_MESSAGES.items():
        names = [*required, *optional]
        array = np.array(rows[name], dtype=float).reshape(-1, len(names))
        table = {n: array[:, i] for i, n in enumerate(names)}
        table["number"] = np.arange(1, len(array) + 1, dtype=float)
        tables[name] = table
    return tables, info


def _dataflash_metadata(info: dict[str, list]) -> tuple[str | None, str | None]:
    """(drone_id, model) from the log's text messages and parameters."""
    # (a message whose format lacks the field, or holds a value that is no number, is a
    # damaged record of the kind fuzzing finds: it names nothing)
    texts = [str(getattr(msg, "Message", "")) for msg in info["MSG"]]
    model = next((m.group(0) for text in texts if (m := _FIRMWARE.match(text))), None)
    values = [
        getattr(msg, "Value", None)
        for msg in info["PARM"]
        if str(getattr(msg, "Name", "")) == "BRD_SERIAL_NUM"
    ]
    serial = next((v for v in values if isinstance(v, int | float) and np.isfinite(v) and v), None)
    return (str(int(serial)) if serial else None), model


def read_dataflash(path: Path) -> list[ParsedLog]:
    """Read an ArduPilot DataFlash log into one parsed flight.

    Parameters
    ----------
    path : pathlib.Path
        The ``.bin`` file.

    Returns
    -------
    list of ParsedLog
        One entry.

    Raises
    ------
    FlightLogError
        If the file cannot be parsed, has no GPS or POS message, or no position with a fix.
    """
    path = Path(path)
    with _silenced() as printed:
        tables, info = _collect_dataflash(path)
    gps = tables["GPS"]
    gps = _select(gps, ~(gps["I"] > 0))  # the first receiver; NaN: a layout without instances
    pos_table, notes = tables["POS"], []
    if printed():
        notes.append("the log is damaged in places; pymavlink skipped what it could not read")
    if not len(gps["TimeUS"]) and not len(pos_table["TimeUS"]):
        raise FlightLogError(
            f"{path}: DataFlash log without any GPS or POS message; the flight cannot be "
            "placed on a map"
        )
    fixed = (gps["Status"] >= _FIRST_FIX) & (gps["GWk"] > 0)
    offset = _median_offset(
        gps_to_unix_us(gps["GWk"][fixed], gps["GMS"][fixed]) - gps["TimeUS"][fixed]
    )
    if offset is None:
        notes.append(_PLACEHOLDER_NOTE)
        offset = 0
    else:
        notes.append("times are TimeUS set to UTC by the GPS week and time of week")

    if len(pos_table["TimeUS"]):
        pos, source = pos_table, "POS"
        lat, lon, alt = pos["Lat"], pos["Lng"], pos["Alt"]
        if np.isfinite(pos["RelHomeAlt"]).any():
            height = pos["RelHomeAlt"]
            notes.append(
                f"positions from {len(lat)} POS messages; height_agl_m is RelHomeAlt, the "
                "height above home (the take-off point)"
            )
        else:
            height, height_note = _height_above(alt, np.array([]), "home")
            notes.append(f"positions from {len(lat)} POS messages; {height_note}")
    else:
        pos, source = gps, "GPS"
        fix = gps["Status"]
        lat = np.where(fix >= _FIRST_FIX, gps["Lat"], np.nan)
        lon = np.where(fix >= _FIRST_FIX, gps["Lng"], np.nan)
        alt = np.where(fix >= _FIX_3D, gps["Alt"], np.nan)
        height, height_note = _height_above(alt, np.array([]), "home")
        notes.append(f"positions from {len(lat)} GPS messages; {height_note}")
        if (fix < _FIRST_FIX).any():
            notes.append(
                f"{int((fix < _FIRST_FIX).sum())} GPS rows without a fix (Status < 2) are "
                "counted as no_position"
            )
    if not (np.isfinite(lat) & np.isfinite(lon) & ((lat != 0) | (lon != 0))).any():
        raise FlightLogError(
            f"{path}: {len(lat)} {source} messages but none with a GPS fix (all missing or "
            "at 0, 0); the flight cannot be placed on a map"
        )
    t_us = pos["TimeUS"]
    att = tables["ATT"]
    att_yaw = wrap360(att["Yaw"])
    yaw = align_angle(att["TimeUS"], att_yaw, t_us, max_gap=MAX_ALIGN_GAP_US)
    gimbal = {c: np.full(len(t_us), np.nan) for c in ("pitch", "roll", "yaw")}
    mnt = tables["MNT"]
    mnt = _select(mnt, ~(mnt["I"] > 0))
    if len(mnt["TimeUS"]):
        relative = mnt["YawB"] if np.isfinite(mnt["YawB"]).any() else mnt["Yaw"]
        earth = np.isfinite(mnt["YawE"])
        vehicle_yaw = align_angle(att["TimeUS"], att_yaw, mnt["TimeUS"], max_gap=MAX_ALIGN_GAP_US)
        mount_yaw = earth_gimbal_yaw(np.where(earth, mnt["YawE"], relative), vehicle_yaw, ~earth)
        for name, values in (("pitch", mnt["Pitch"]), ("roll", mnt["Roll"]), ("yaw", mount_yaw)):
            gimbal[name] = align_angle(mnt["TimeUS"], values, t_us, max_gap=MAX_ALIGN_GAP_US)
        notes.append(
            "gimbal from MNT (YawE is from true north; YawB, or Yaw in older logs, is relative "
            "to the vehicle and turned to true north)"
        )
    rows = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "time": _times(t_us + offset),
            "alt_msl_m": alt,
            "height_agl_m": height,
            "yaw_deg": yaw,
            "gimbal_pitch_deg": gimbal["pitch"],
            "gimbal_roll_deg": gimbal["roll"],
            "gimbal_yaw_deg": gimbal["yaw"],
            "source_row": pos["number"].astype("int64"),
        }
    )
    drone_id, model = _dataflash_metadata(info)
    return [
        ParsedLog(
            rows=rows,
            source_format="ardupilot_dataflash",
            height_ref="takeoff" if np.isfinite(height).any() else "unknown",
            drone_id=drone_id,
            model=model,
            vendor="ArduPilot",
            notes=notes,
        )
    ]

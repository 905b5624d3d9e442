"""Conventions shared by the MAVLink-family logs, and the angle and time helpers that apply them.

The MAVLink telemetry-log reader (:mod:`flightlogs.tlog`), the ArduPilot DataFlash reader
(:mod:`flightlogs.dataflash`) and the PX4 ULog reader (:mod:`flightlogs.ulog`) follow the same
MAVLink conventions:

- Angles are in degrees. Yaw is clockwise from true north in [0, 360); attitude quaternions
  rotate the body frame (forward-right-down) into north-east-down, in ZYX order
  (:func:`quaternion_to_euler_deg`). A gimbal yaw reported relative to the vehicle is turned to
  true north by adding the vehicle's yaw (:func:`earth_gimbal_yaw`).
- Attitude and gimbal angles are interpolated to each position's time along the shorter arc
  between the two samples around it when both are within 1 s (:data:`MAX_ALIGN_GAP_US`,
  :func:`align_angle`); elsewhere the nearest sample within 1 s is used, and beyond that the
  angle is missing.
- A fix type below 2 (:data:`FIRST_FIX`) means no position: such rows are rejected as
  ``no_position``; a 2-D fix has no altitude (:data:`FIX_3D`).
- Where a log gives no height above home, ``height_agl_m`` is the altitude above the home
  altitude, else above the first valid altitude, taken as the take-off point
  (:func:`height_above`).
- GPS week and time of week count GPS time from 1980-01-06, which runs ahead of UTC by the leap
  seconds in :data:`GPS_LEAP_SECONDS` (:func:`gps_to_unix_us`).
- Without any UTC in the log, times are the time since boot counted from 1970-01-01T00:00:00
  UTC: a placeholder that cannot be mistaken for a real date (the notes say so).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = [
    "FIRMWARE_RE",
    "FIRST_FIX",
    "FIX_3D",
    "GPS_LEAP_SECONDS",
    "MAX_ALIGN_GAP_US",
    "align_angle",
    "earth_gimbal_yaw",
    "gimbal_yaw_frames",
    "gps_to_unix_us",
    "height_above",
    "nearest",
    "quaternion_to_euler_deg",
    "select_rows",
    "utc_times",
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
#: MAVLink GPS_FIX_TYPE_2D_FIX (and ArduPilot's GPS ``Status``): lower values mean no fix.
FIRST_FIX = 2
#: GPS_FIX_TYPE_3D_FIX: the lowest fix type with an altitude.
FIX_3D = 3
#: A firmware name and version as autopilots announce them in their text messages
#: ("ArduCopter V4.5.7 (2a3dc4b7)" names "ArduCopter V4.5.7").
FIRMWARE_RE = re.compile(r"(?:Ardu\w+|APM:\w+|PX4\w*|Blimp|AntennaTracker|Rover)\s+V?\d[\w.\-]*")


# GIMBAL_DEVICE_FLAGS (MAVLink common.xml).
_YAW_LOCK = 16
_YAW_IN_VEHICLE_FRAME = 32
_YAW_IN_EARTH_FRAME = 64


def gimbal_yaw_frames(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tell from GIMBAL_DEVICE_FLAGS whether each gimbal yaw is relative to the vehicle.

    Returns ``(in_vehicle, vehicle_frame)``: ``in_vehicle`` where the flag
    ``YAW_IN_VEHICLE_FRAME`` says so; ``vehicle_frame`` also where neither frame flag is set
    and ``YAW_LOCK`` is unset (a gimbal that follows the vehicle), the convention of gimbal
    devices older than the frame flags.

    Examples
    --------
    >>> in_vehicle, frame = gimbal_yaw_frames(np.array([32, 64, 0, 16]))
    >>> in_vehicle.tolist(), frame.tolist()
    ([True, False, False, False], [True, False, True, False])
    """
    flags = np.asarray(flags).astype(int)
    in_vehicle = (flags & _YAW_IN_VEHICLE_FRAME) != 0
    vehicle_frame = in_vehicle | (
        ((flags & _YAW_IN_EARTH_FRAME) == 0) & ((flags & _YAW_LOCK) == 0)
    )
    return in_vehicle, vehicle_frame


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


def utc_times(us: np.ndarray) -> pd.Series:
    """UTC datetimes from microseconds since 1970 (NaN → NaT), exact to the microsecond.

    Parameters
    ----------
    us : numpy.ndarray
        Microseconds since 1970-01-01T00:00:00 UTC; NaN, infinite or beyond about ±2.9e5
        years (a damaged clock, not a date) gives NaT.

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]`` values, one per input.

    Examples
    --------
    >>> [str(t) for t in utc_times(np.array([1.5e15, 1.5e15 + 1, np.nan]))]
    ['2017-07-14 02:40:00+00:00', '2017-07-14 02:40:00.000001+00:00', 'NaT']
    """
    us = np.asarray(us, dtype=float)
    # (beyond ±2.9e5 years a time cannot be held in nanoseconds: a damaged clock, not a date)
    ok = np.isfinite(us) & (np.abs(us) < 9e15)
    ns = np.zeros(len(us), dtype="int64")
    # Whole microseconds first: float nanoseconds near 1.5e18 are only exact to 256 ns.
    ns[ok] = np.round(us[ok]).astype("int64") * 1000
    times = pd.Series(pd.to_datetime(ns, unit="ns", utc=True))
    return times.where(ok)


def select_rows(table: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Keep the rows of a table of columns (one array per field) where ``mask`` is true.

    Parameters
    ----------
    table : dict of str to numpy.ndarray
        Columns of equal length.
    mask : numpy.ndarray of bool
        One entry per row.

    Returns
    -------
    dict of str to numpy.ndarray
        A new table with the same keys; the input is not altered.

    Examples
    --------
    >>> select_rows({"t": np.array([1.0, 2.0, 3.0])}, np.array([True, False, True]))
    {'t': array([1., 3.])}
    """
    return {k: v[mask] for k, v in table.items()}


def height_above(alt: np.ndarray, home: np.ndarray, home_name: str) -> tuple[np.ndarray, str]:
    """Height above the home altitude, or above the first altitude, with a note saying which.

    Parameters
    ----------
    alt : numpy.ndarray
        Altitudes in metres (NaN where unknown).
    home : numpy.ndarray
        Home altitudes in metres from the log; the first finite one is used. May be empty.
    home_name : str
        What the home altitude is called in the log, for the note.

    Returns
    -------
    height : numpy.ndarray
        Metres above home, else above the first finite altitude; all NaN without altitudes.
    note : str
        Which reference was used.

    Examples
    --------
    >>> height_above(np.array([np.nan, 101.0, 112.5]), np.array([np.nan, 99.0]), "home")
    (array([ nan,  2. , 13.5]), 'height_agl_m is the altitude above home (the take-off point)')
    >>> height_above(np.array([np.nan, 101.0, 112.5]), np.array([]), "home")[0]
    array([ nan,  0. , 11.5])
    """
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

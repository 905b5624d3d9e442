"""MAVLink telemetry logs (``.tlog``, format ``mavlink_tlog``), read through pymavlink.

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
:func:`flightlogs.mavlink.align_angle`); the gimbal device runs its own clock, so its messages
are placed by their receive times. ``source_row`` is the 1-based number of the packet in the file.

The packets are decoded by pymavlink's generated ``ardupilotmega`` dialect (MAVLink 1 and
2). The tlog framing (timestamp, then packet) is walked here rather than through
``pymavlink.mavutil``, because mavutil switches its dialect for the whole process through
environment variables when it meets a MAVLink 2 packet.

The angle, time and height conventions shared with the DataFlash and PX4 readers are described
in :mod:`flightlogs.mavlink`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError
from flightlogs.mavlink import (
    FIRMWARE_RE,
    FIRST_FIX,
    FIX_3D,
    MAX_ALIGN_GAP_US,
    align_angle,
    earth_gimbal_yaw,
    gimbal_yaw_frames,
    height_above,
    quaternion_to_euler_deg,
    select_rows,
    utc_times,
    wrap360,
)

__all__ = ["read_tlog", "sniff_tlog"]

_REBOOT_MS = 5_000



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
        found = FIRMWARE_RE.match(str(msg.text)) if sid == sysid else None
        if found and model is None:
            model = found.group(0)
    autopilots = Counter(msg.autopilot for sid, _, msg in info["HEARTBEAT"] if sid == sysid)
    for autopilot, _ in autopilots.most_common():
        if autopilot in _AUTOPILOTS:
            vendor = _AUTOPILOTS[autopilot]
            break
    return drone_id, model, vendor


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
    device = select_rows(
        tables["GIMBAL_DEVICE_ATTITUDE_STATUS"],
        tables["GIMBAL_DEVICE_ATTITUDE_STATUS"]["sysid"] == sysid,
    )
    orientation = select_rows(
        tables["MOUNT_ORIENTATION"], tables["MOUNT_ORIENTATION"]["sysid"] == sysid
    )
    status = select_rows(tables["MOUNT_STATUS"], tables["MOUNT_STATUS"]["sysid"] == sysid)
    if len(device["number"]):
        # The gimbal device runs its own clock: align on the ground station's receive times.
        roll, pitch, yaw = quaternion_to_euler_deg(
            device["q0"], device["q1"], device["q2"], device["q3"]
        )
        in_vehicle, vehicle_frame = gimbal_yaw_frames(device["flags"])
        delta = np.degrees(device["delta_yaw"])
        vehicle_yaw = np.where(
            in_vehicle & np.isfinite(delta),
            delta,
            align_angle(att["rx_us"], att_yaw, device["rx_us"], max_gap=MAX_ALIGN_GAP_US),
        )
        t_from, t_to = device["rx_us"], pos_rx
        note = (
            f"gimbal from GIMBAL_DEVICE_ATTITUDE_STATUS ({int(vehicle_frame.sum())} of "
            f"{len(vehicle_frame)} with yaw relative to the vehicle, turned to true north)"
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
        return select_rows(table, mask)

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
        lat = np.where(fix >= FIRST_FIX, raw["lat"] / 1e7, np.nan)
        lon = np.where(fix >= FIRST_FIX, raw["lon"] / 1e7, np.nan)
        alt = np.where(fix >= FIX_3D, raw["alt"] / 1000.0, np.nan)
        home = of_system("HOME_POSITION")["altitude"] / 1000.0
        height, height_note = height_above(alt, home, "HOME_POSITION.altitude")
        heading = np.full(len(lat), np.nan)
        notes.append(f"positions from {len(lat)} GPS_RAW_INT messages; {height_note}")
        if (fix < FIRST_FIX).any():
            notes.append(
                f"{int((fix < FIRST_FIX).sum())} GPS_RAW_INT rows without a fix (fix_type < 2) "
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
            "time": utc_times(pos_utc),
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


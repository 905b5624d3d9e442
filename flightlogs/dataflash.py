"""ArduPilot DataFlash logs (``.bin``, format ``ardupilot_dataflash``), read through pymavlink.

What the autopilot writes to its SD card, read with pymavlink's ``DFReader``. ``POS``
(EKF position: ``Lat``, ``Lng``, ``Alt`` above sea level, ``RelHomeAlt`` above home) gives
the positions, else ``GPS`` (first receiver; ``Status`` < 2 is no fix). ``ATT.Yaw`` gives
the heading; ``MNT`` the gimbal (``YawE`` is earth-referenced, ``YawB`` or an older
``Yaw`` relative to the vehicle). Times are ``TimeUS`` (since boot) plus the UTC offset of
the GPS messages: ``GWk``/``GMS`` count GPS time from 1980-01-06, which runs ahead of UTC by
the leap seconds in :data:`flightlogs.mavlink.GPS_LEAP_SECONDS`. ``source_row`` is the 1-based
number of the message among those of its type.

Without any GPS time in the log, times are the time since boot counted from
1970-01-01T00:00:00 UTC, a placeholder the notes point out; this and the angle and height
conventions shared with the telemetry-log and PX4 readers are described in
:mod:`flightlogs.mavlink`.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pymavlink import DFReader

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError
from flightlogs.mavlink import (
    FIRMWARE_RE,
    FIRST_FIX,
    FIX_3D,
    MAX_ALIGN_GAP_US,
    align_angle,
    earth_gimbal_yaw,
    gps_to_unix_us,
    height_above,
    select_rows,
    utc_times,
    wrap360,
)

__all__ = ["read_dataflash", "sniff_dataflash"]

_PLACEHOLDER_NOTE = (
    "the log has no UTC time: times are the time since boot counted from "
    "1970-01-01T00:00:00 UTC (a placeholder, not a real date)"
)

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
    model = next((m.group(0) for text in texts if (m := FIRMWARE_RE.match(text))), None)
    values = [
        getattr(msg, "Value", None)
        for msg in info["PARM"]
        if str(getattr(msg, "Name", "")) == "BRD_SERIAL_NUM"
    ]
    serial = next((v for v in values if isinstance(v, int | float) and np.isfinite(v) and v), None)
    return (str(int(serial)) if serial else None), model


def _median_offset(values: np.ndarray) -> int | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return round(float(np.median(values))) if len(values) else None


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
    gps = select_rows(gps, ~(gps["I"] > 0))  # the first receiver; NaN: a layout without instances
    pos_table, notes = tables["POS"], []
    if printed():
        notes.append("the log is damaged in places; pymavlink skipped what it could not read")
    if not len(gps["TimeUS"]) and not len(pos_table["TimeUS"]):
        raise FlightLogError(
            f"{path}: DataFlash log without any GPS or POS message; the flight cannot be "
            "placed on a map"
        )
    fixed = (gps["Status"] >= FIRST_FIX) & (gps["GWk"] > 0)
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
            height, height_note = height_above(alt, np.array([]), "home")
            notes.append(f"positions from {len(lat)} POS messages; {height_note}")
    else:
        pos, source = gps, "GPS"
        fix = gps["Status"]
        lat = np.where(fix >= FIRST_FIX, gps["Lat"], np.nan)
        lon = np.where(fix >= FIRST_FIX, gps["Lng"], np.nan)
        alt = np.where(fix >= FIX_3D, gps["Alt"], np.nan)
        height, height_note = height_above(alt, np.array([]), "home")
        notes.append(f"positions from {len(lat)} GPS messages; {height_note}")
        if (fix < FIRST_FIX).any():
            notes.append(
                f"{int((fix < FIRST_FIX).sum())} GPS rows without a fix (Status < 2) are "
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
    mnt = select_rows(mnt, ~(mnt["I"] > 0))
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
            "time": utc_times(t_us + offset),
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

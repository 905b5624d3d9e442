"""Writers for the log formats the demo produces, so that simulated flights take the real path.

The demo fleet is written as files in formats that real drones produce and then read back by the
readers of this package; nothing downstream can tell a simulated flight from a real one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["AIRDATA_HEADER", "write_airdata_csv", "write_dji_srt"]

_FT = 0.3048

#: The column header of an AirData CSV export, exactly as airdata.com writes it.
AIRDATA_HEADER = (
    "time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet),"
    "height_above_ground_at_drone_location(feet),ground_elevation_at_drone_location(feet),"
    "altitude_above_seaLevel(feet),height_sonar(feet),speed(mph),distance(feet),satellites,"
    "gpslevel,voltage(v),max_altitude(feet),max_ascent(feet),max_speed(mph),max_distance(feet),"
    " xSpeed(mph), ySpeed(mph), zSpeed(mph), compass_heading(degrees), pitch(degrees),"
    " roll(degrees),isPhoto,isVideo,rc_elevator,rc_aileron,rc_throttle,rc_rudder,"
    "gimbal_heading(degrees),gimbal_pitch(degrees),battery_percent,voltageCell1,voltageCell2,"
    "voltageCell3,voltageCell4,voltageCell5,voltageCell6,current(A),battery_temperature(f),"
    "altitude(feet),ascent(feet),flycStateRaw,flycState,message"
)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(float) if name in frame else np.full(len(frame), np.nan)


def write_airdata_csv(track: pd.DataFrame, path: str | Path) -> None:
    """Write one flight as an AirData CSV export.

    Parameters
    ----------
    track : pandas.DataFrame
        One flight in canonical sample columns: ``time`` (UTC), ``lon``, ``lat``,
        ``height_agl_m`` (above take-off), ``alt_msl_m``, ``yaw_deg``, ``gimbal_yaw_deg``,
        ``gimbal_pitch_deg``, ``capturing``. Not modified.
    path : str or pathlib.Path
        Output file, written atomically.
    """
    t = pd.to_datetime(track["time"], utc=True)
    ms = ((t - t.iloc[0]).dt.total_seconds() * 1000).round().astype("int64")
    # AirData stamps whole seconds: each row has its own second, the millisecond column the rest.
    stamp = t.dt.floor("s").dt.strftime("%Y-%m-%d %H:%M:%S")
    cap = (
        track["capturing"].astype("boolean").fillna(False).to_numpy()
        if "capturing" in track
        else None
    )
    cols = {name.strip(): "" for name in AIRDATA_HEADER.split(",")}
    n = len(track)
    values = {
        "time(millisecond)": ms.astype(str).to_numpy(),
        "datetime(utc)": stamp.to_numpy(),
        "latitude": np.char.mod("%.8f", track["lat"].to_numpy(float)),
        "longitude": np.char.mod("%.8f", track["lon"].to_numpy(float)),
        "height_above_takeoff(feet)": np.char.mod("%.3f", _col(track, "height_agl_m") / _FT),
        "altitude_above_seaLevel(feet)": np.char.mod("%.3f", _col(track, "alt_msl_m") / _FT),
        "satellites": np.full(n, "16"),
        "compass_heading(degrees)": np.char.mod("%.1f", _col(track, "yaw_deg")),
        "gimbal_heading(degrees)": np.char.mod("%.1f", _col(track, "gimbal_yaw_deg")),
        "gimbal_pitch(degrees)": np.char.mod("%.1f", _col(track, "gimbal_pitch_deg")),
        "isPhoto": np.full(n, "0"),
        "isVideo": np.where(cap, "1", "0") if cap is not None else np.full(n, ""),
    }
    table = pd.DataFrame({name: values.get(name, np.full(n, cols[name])) for name in cols})
    table = table.replace({"nan": ""})
    body = table.to_csv(index=False, header=False, lineterminator="\n")
    _atomic_write_text(Path(path), AIRDATA_HEADER + "\n" + body)


def _srt_clock(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def write_dji_srt(track: pd.DataFrame, path: str | Path, *, focal_eq_mm: float = 24.0) -> None:
    """Write one flight as DJI video-subtitle telemetry in the Mavic 3 dialect.

    Parameters
    ----------
    track : pandas.DataFrame
        One flight in canonical sample columns: ``time`` (written as the drone's clock),
        ``lon``, ``lat``, ``height_agl_m`` (written as ``rel_alt``), ``alt_msl_m`` (``abs_alt``).
    path : str or pathlib.Path
        Output file, written atomically.
    focal_eq_mm : float
        35-mm-equivalent focal length written in every frame.
    """
    t = pd.to_datetime(track["time"], utc=True)
    offset = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    step = np.diff(
        offset, append=offset[-1] + (offset[-1] - offset[-2] if len(offset) > 1 else 1.0)
    )
    clock = t.dt.strftime("%Y-%m-%d %H:%M:%S.").to_numpy()
    millis = (t.dt.microsecond // 1000).to_numpy()
    lat, lon = track["lat"].to_numpy(float), track["lon"].to_numpy(float)
    rel, absolute = _col(track, "height_agl_m"), _col(track, "alt_msl_m")
    blocks = []
    for i in range(len(track)):
        blocks.append(
            f"{i + 1}\n{_srt_clock(offset[i])} --> {_srt_clock(offset[i] + step[i])}\n"
            f'<font size="28">FrameCnt: {i + 1}, DiffTime: {round(step[i] * 1000)}ms\n'
            f"{clock[i]}{millis[i]:03d}\n"
            f"[iso: 100] [shutter: 1/1000.0] [fnum: 2.8] [ev: 0] [ct: 5500] "
            f"[color_md : default] [focal_len: {focal_eq_mm:.2f}] [latitude: {lat[i]:.6f}] "
            f"[longitude: {lon[i]:.6f}] [rel_alt: {rel[i]:.3f} abs_alt: {absolute[i]:.3f}] "
            "</font>\n"
        )
    _atomic_write_text(Path(path), "\n".join(blocks))

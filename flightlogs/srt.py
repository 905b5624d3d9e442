"""DJI video-subtitle telemetry (``.SRT`` files written next to each recorded video).

Each subtitle (cue) covers one video frame or one second of video and carries a line of
telemetry whose layout depends on the model and firmware. The dialects read here:

``[latitude: ..] [longitude: ..]`` (Mavic 3, Air 2S, Mavic 2; Mavic 2 spells ``longtitude``)
    A date line ``2021-12-25 12:27:52.373`` or ``2022-08-07 13:40:40,774,808`` (seconds, then
    milliseconds and microseconds). ``rel_alt`` is the height above the take-off point and
    ``abs_alt`` the absolute altitude; ``[altitude: ..]`` is absolute too (the Mavic 2 Zoom
    file starts at 214 m in Lahore, whose ground lies at about 215 m above sea level).
    ``focal_len`` is the 35-mm-equivalent focal length, in millimetres when written with a
    decimal point (``24.00``), in tenths of a millimetre when written as an integer (``240``).
``GPS(a, b, c) BAROMETER: h`` (Mavic Pro, Matrice 300, older firmware)
    ``GPS(lat, lon, altM)`` when the third value ends in ``M`` (an altitude in metres,
    Matrice 300), otherwise ``GPS(lon, lat, satellites)`` (Mavic Pro). ``BAROMETER`` is the
    height above the take-off point. The date is ``2022.06.21 16:06:17``.
``F/2.8, SS .., ISO .., EV .., GPS (lon, lat, satellites), D ..m, H ..m`` (Mini, Phantom 4)
    ``H`` is the height above the take-off point, ``D`` the distance from home. The Phantom 4
    RTK adds ``F.PRY (pitch°, roll°, yaw°)`` for the aircraft and ``G.PRY (pitch°, roll°, yaw°)``
    for the gimbal (pitch 0 at the horizon, negative down, yaw from true north).
    These files carry **no date and no clock time**.

Decisions, also written into each flight's ``notes``:

- Times are the date written in the first dated cue plus each cue's offset from the start of
  the video: the video timeline is exact, while the dates written in the cues have whole
  seconds in some dialects and can repeat a second. The date is the drone's clock, which is
  normally local time; with no time zone in the file it is taken as UTC.
- A file without any date has only the cue offsets from the start of the video. Its times are
  those offsets counted from 1970-01-01T00:00:00 UTC: a placeholder that cannot be mistaken
  for a real date (a file's modification time would look real but is often the time it was
  copied).
- The 35-mm-equivalent focal length is stored as ``zoom = f_eq / 24 mm`` (24 mm is the
  equivalent focal length DJI writes for these cameras at no zoom), and ``focal_length_mm`` is
  left NA: the real focal length depends on the sensor, which the file does not name.
- ``abs_alt``, ``[altitude: ..]`` and the ``GPS(..., altM)`` altitude go to ``alt_msl_m`` as
  DJI writes them (DJI does not say whether above the geoid or the ellipsoid). A GPS altitude
  that is exactly 0 in every cue is a placeholder and is dropped.
- Subtitles exist only while a video is being recorded, so ``capturing`` is true throughout.
- A cue without a position (such as the last, cut-off cue of a truncated file) is kept as a row
  with no position and is counted as rejected with the reason ``no_position``.

SRT is a plain-text format and no maintained parsing library knows these telemetry dialects,
so the file is parsed here with regular expressions run over the whole text at once: one scan
per field, each match assigned to its cue by the match position. ``source_row`` is the cue's
sequence number.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import numpy as np
import pandas as pd

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError

__all__ = ["read", "sniff"]

_NUM = r"([-+]?(?:\d+(?:\.\d*)?|\.\d+))"
_CUE = re.compile(
    r"^[ \t]*(\d+)[ \t]*\n[ \t]*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})[ \t]*-->[^\n]*", re.M
)
# Hours are bounded: an unbounded \d+ backtracks over every start in a long run of digits
# (quadratic: 12 s on a 64 KiB run), and no video runs 10,000 hours.
_TIMING = re.compile(r"\d{1,4}:\d{1,2}:\d{1,2}[,.]\d{1,3}[ \t]*-->")
_MARKERS = re.compile(
    r"GPS\s*\(|\[\s*latitude\s*:|FrameCnt\s*:|SrtCnt\s*:|\bF/\d+(?:\.\d+)?,\s*SS\b"
    r"|\[\s*iso\s*:|\bISO:\d|BAROMETER\s*:|HOME\s*\("
)
_ANGLES = r"\s*\(\s*" + _NUM + r"[^,)]*,\s*" + _NUM + r"[^,)]*,\s*" + _NUM + r"[^,)]*\)"

# Field → (literal that must occur in the text for the scan to be worth running, pattern).
_FIELDS: dict[str, tuple[str, re.Pattern[str]]] = {
    "date": (
        ":",
        re.compile(
            r"(\d{4})[-./](\d{2})[-./](\d{2})[ T]+(\d{2}:\d{2}:\d{2})"
            r"(?:[.,](\d{1,6}))?(?:,(\d{1,3}))?"
        ),
    ),
    "latitude": ("latitude", re.compile(r"\[\s*latitude\s*:\s*" + _NUM)),
    "longitude": ("itude", re.compile(r"\[\s*longt?itude\s*:\s*" + _NUM)),
    # The optional unit after the third value tells which order the values are in.
    "gps": (
        "GPS",
        re.compile(
            r"GPS\s*\(\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*,\s*" + _NUM + r"\s*([Mm]?)\s*\)"
        ),
    ),
    "rel_alt": ("rel_alt", re.compile(r"\brel_alt\s*:\s*" + _NUM)),
    "abs_alt": ("abs_alt", re.compile(r"\babs_alt\s*:\s*" + _NUM)),
    "altitude": ("altitude", re.compile(r"\[\s*altitude\s*:\s*" + _NUM)),
    "barometer": ("BAROMETER", re.compile(r"BAROMETER\s*:\s*" + _NUM)),
    "h": ("H ", re.compile(r"(?<![\w.])H\s+" + _NUM + r"\s*m\b")),
    "focal": ("focal_len", re.compile(r"\[\s*focal_len\s*:\s*" + _NUM)),
    "fpry": ("F.PRY", re.compile(r"F\.PRY" + _ANGLES)),
    "gpry": ("G.PRY", re.compile(r"G\.PRY" + _ANGLES)),
}

#: Equivalent focal length (mm) that DJI writes for these cameras at no zoom.
_BASE_EQUIVALENT_FOCAL_MM = 24.0
_EPOCH = pd.Timestamp("1970-01-01T00:00:00Z")


def _decode(raw: bytes) -> str:
    """Decode subtitle bytes: BOMs first, then UTF-8, then Windows-1252 (old degree signs)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = raw.decode("utf-16", errors="replace")
    elif raw.startswith(codecs.BOM_UTF8):
        text = raw[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like DJI subtitle telemetry.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the text has SRT timing lines (``-->``) and a DJI telemetry marker
        (``GPS(``, ``[latitude:``, ``FrameCnt``, ``SrtCnt``, ``F/2.8, SS``, ``[iso:``, ...).
        An ordinary film subtitle has the first but not the second.

    Examples
    --------
    >>> sniff(b"1\n00:00:00,000 --> 00:00:01,000\nGPS(149.0251,-20.2533,16) BAROMETER:1.9\n")
    True
    >>> sniff(b"1\n00:00:01,000 --> 00:00:03,000\nWhere is the GPS?\n")
    False
    """
    text = _decode(head)
    if not _TIMING.search(text):
        return False
    return _MARKERS.search(text) is not None


def _extract(text: str, name: str, starts: np.ndarray) -> pd.DataFrame:
    """Return the groups of the first match of a field's pattern in each cue (NA where none)."""
    literal, pattern = _FIELDS[name]
    empty = pd.array([pd.NA] * len(starts), dtype="string")
    frame = pd.DataFrame({k: empty.copy() for k in range(pattern.groups)})
    if literal not in text:
        return frame
    pos, groups = [], []
    for match in pattern.finditer(text):
        pos.append(match.start())
        groups.append(match.groups())
    if not pos:
        return frame
    cue = np.searchsorted(starts, np.asarray(pos), side="right") - 1
    cue_ids, first = np.unique(cue, return_index=True)
    keep = cue_ids >= 0  # matches before the first cue belong to none
    values = np.asarray(groups, dtype=object)[first[keep]]
    for k in range(pattern.groups):
        frame.loc[cue_ids[keep], k] = values[:, k]
    return frame


def _num(column: pd.Series) -> np.ndarray:
    """Convert matched text to floats (NaN where a cue had no match)."""
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _first_finite(*arrays: np.ndarray) -> np.ndarray:
    """Take, per cue, the first of the alternative fields that has a value."""
    out = np.full(len(arrays[0]), np.nan)
    for values in arrays:
        out = np.where(np.isnan(out), values, out)
    return out


def _dates(text: str, starts: np.ndarray) -> pd.Series:
    """Return the date and clock time written in each cue (NaT where there is none)."""
    parts = _extract(text, "date", starts)
    stamp = pd.to_datetime(
        parts[0] + "-" + parts[1] + "-" + parts[2] + " " + parts[3],
        format="%Y-%m-%d %H:%M:%S",
        utc=True,
        errors="coerce",
    )
    # "52.373" is 373 ms; "40,774,808" is 774 ms and 808 µs.
    micro = np.nan_to_num(_num("0." + parts[4])) * 1e6 + np.nan_to_num(_num(parts[5]))
    return stamp + pd.to_timedelta(np.round(micro).astype(np.int64), unit="us")



def _positions(
    text: str, starts: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return longitude, latitude and GPS altitude per cue, noting the GPS order used."""
    gps = _extract(text, "gps", starts)
    a, b, c = _num(gps[0]), _num(gps[1]), _num(gps[2])
    # "GPS(36.6146,-6.1120,0.0M)": an altitude in metres, so latitude first (Matrice 300);
    # "GPS(149.0251,-20.2533,16)": a satellite count, so longitude first (Mavic Pro, Phantom 4).
    lat_first = gps[3].isin(["M", "m"]).to_numpy()
    lon = _first_finite(_num(_extract(text, "longitude", starts)[0]), np.where(lat_first, b, a))
    lat = _first_finite(_num(_extract(text, "latitude", starts)[0]), np.where(lat_first, a, b))
    with_gps = np.isfinite(a)
    if with_gps.any():
        used = lat_first[with_gps]
        orders = [
            order
            for order, found in (
                ("GPS(lat, lon, altitude)", used.any()),
                ("GPS(lon, lat, satellites)", not used.all()),
            )
            if found
        ]
        notes.append(f"positions read as {' and '.join(orders)}")
    gps_alt = np.where(lat_first, c, np.nan)
    measured = gps_alt[np.isfinite(gps_alt)]
    if len(measured) and (measured == 0).all():
        gps_alt = np.full(len(starts), np.nan)
        notes.append("the GPS altitude is 0.0 in every subtitle: treated as missing")
    return lon, lat, gps_alt


def _times(
    text: str,
    starts: np.ndarray,
    offset: pd.TimedeltaIndex,
    numbers: np.ndarray,
    notes: list[str],
) -> pd.DatetimeIndex:
    """Return UTC times: the first written date plus the cue offsets, or the epoch if undated."""
    dates = _dates(text, starts)
    dated = np.flatnonzero(dates.notna().to_numpy())
    if len(dated):
        # The video timeline is exact and regular, while the clock written in the cues has whole
        # seconds in some dialects and can repeat a second (the Mavic Pro file does, 5 times).
        base = dates.iloc[dated[0]] - offset[dated[0]]
        notes.append(
            f"times are the date of subtitle {numbers[dated[0]]} (the drone's clock, taken as "
            "UTC) plus the subtitle offsets from the start of the video"
        )
    else:
        base = _EPOCH
        notes.append(
            "the file has no date: times are the offsets from the start of the video counted "
            "from 1970-01-01 UTC (a placeholder, not the date of the flight)"
        )
    return base + offset


def _heights(
    text: str, starts: np.ndarray, gps_alt: np.ndarray, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Return height above take-off and absolute altitude per cue."""
    height = _first_finite(
        _num(_extract(text, "rel_alt", starts)[0]),
        _num(_extract(text, "barometer", starts)[0]),
        _num(_extract(text, "h", starts)[0]),
    )
    alt = _first_finite(
        _num(_extract(text, "abs_alt", starts)[0]),
        _num(_extract(text, "altitude", starts)[0]),
        gps_alt,
    )
    if np.isfinite(height).any():
        notes.append("height_agl_m is height above the take-off point (rel_alt, BAROMETER or H)")
    if np.isfinite(alt).any():
        notes.append("alt_msl_m is the absolute altitude DJI writes (datum not documented)")
    return height, alt


def _zoom(text: str, starts: np.ndarray, notes: list[str]) -> np.ndarray:
    """Return the zoom factor per cue from the 35-mm-equivalent ``focal_len``."""
    written = _extract(text, "focal", starts)[0]
    focal_eq = _num(written)
    # With a decimal point the value is in mm (Mavic 3: "24.00"); as an integer, in tenths of a
    # millimetre (Air 2S, Mavic 2: "240").
    tenths = ~written.str.contains(".", regex=False).fillna(True).to_numpy(dtype=bool)
    focal_eq = np.where(tenths, focal_eq / 10, focal_eq)
    if np.isfinite(focal_eq).any():
        notes.append(
            "focal_len is a 35-mm-equivalent focal length: stored as zoom = f_eq / 24 mm; "
            "focal_length_mm left empty (the sensor is not named in the file)"
        )
    return focal_eq / _BASE_EQUIVALENT_FOCAL_MM


def read(path: Path) -> list[ParsedLog]:
    r"""Read a DJI subtitle telemetry file into one parsed flight.

    Parameters
    ----------
    path : pathlib.Path
        The ``.SRT`` file.

    Returns
    -------
    list of ParsedLog
        One entry, one row per cue; ``source_row`` is the cue number.

    Raises
    ------
    FlightLogError
        If the file is empty, has no SRT cues, or no cue has a position (some dialects record
        camera settings only).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ("1\n00:00:00,000 --> 00:00:01,000\n2022.06.21 16:06:17\n"
    ...         "GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M\n")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "m300.srt"
    ...     _ = p.write_text(text)
    ...     row = read(p)[0].rows.iloc[0]
    >>> float(row["lat"]), float(row["lon"]), float(row["height_agl_m"]), str(row["time"])
    (36.6146, -6.112, 0.3, '2022-06-21 16:06:17+00:00')
    """
    path = Path(path)
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be read ({exc.strerror})") from None
    if not text.strip():
        raise FlightLogError(f"{path}: the file is empty (expected DJI SRT subtitles)")
    cues = [(m.start(), *m.groups()) for m in _CUE.finditer(text)]
    if not cues:
        raise FlightLogError(
            f"{path}: no SRT subtitles found (expected numbered cues with "
            "'HH:MM:SS,mmm --> HH:MM:SS,mmm' timing lines)"
        )
    cue = np.asarray(cues, dtype=object)
    starts = cue[:, 0].astype(np.int64)
    numbers = cue[:, 1].astype(np.int64)
    h, m, s, ms = (cue[:, k].astype(np.int64) for k in range(2, 6))
    offset = pd.to_timedelta(((h * 60 + m) * 60 + s) * 1000 + ms, unit="ms")

    notes: list[str] = []
    lon, lat, gps_alt = _positions(text, starts, notes)
    has_position = np.isfinite(lon) & np.isfinite(lat)
    if not has_position.any():
        raise FlightLogError(
            f"{path}: no position in any of the {len(starts)} subtitles (this DJI SRT dialect "
            "records camera settings only; expected 'GPS(...)' or '[latitude: ...] "
            "[longitude: ...]')"
        )
    if not has_position[-1] and has_position[:-1].any():
        notes.append(
            f"subtitle {numbers[-1]}, the last, has no position (the file looks truncated): "
            "counted as rejected (no_position)"
        )
    time = _times(text, starts, offset, numbers, notes)
    height, alt = _heights(text, starts, gps_alt, notes)
    zoom = _zoom(text, starts, notes)
    # Phantom 4 RTK: F.PRY is the aircraft's and G.PRY the gimbal's (pitch, roll, yaw), degrees.
    fpry = _extract(text, "fpry", starts)
    gpry = _extract(text, "gpry", starts)
    rows = pd.DataFrame(
        {
            "time": time,
            "lon": lon,
            "lat": lat,
            "alt_msl_m": alt,
            "height_agl_m": height,
            "yaw_deg": _num(fpry[2]),
            "gimbal_pitch_deg": _num(gpry[0]),
            "gimbal_roll_deg": _num(gpry[1]),
            "gimbal_yaw_deg": _num(gpry[2]),
            "zoom": zoom,
            "capturing": pd.array(np.ones(len(starts), dtype=bool), dtype="boolean"),
            "source_row": numbers,
        }
    )
    has_height = bool(np.isfinite(height).any())
    notes.append("subtitles are written only while recording video: capturing is true")
    return [
        ParsedLog(
            rows=rows,
            source_format="dji_srt",
            height_ref="takeoff" if has_height else "unknown",
            vendor="DJI",
            notes=notes,
        )
    ]

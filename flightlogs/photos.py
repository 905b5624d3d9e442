"""Drone photo metadata: EXIF/XMP in JPEGs, and JSON extracts of it.

**One photo is one sample**: where and when it was taken, how the camera pointed, with
``capturing`` true. Read one at a time through :func:`flightlogs.read_flight_log` (formats
``photo_jpeg`` and ``photo_json``) each photo is a flight of one sample, as every other file is
one flight. A folder of survey photos is better read with :func:`read_photo_folder`, which makes
one flight of each camera's photos taken without a pause longer than ``max_gap_s`` (10 minutes by
default: a battery change) between them, in time order; an analyst then sees the survey flight
as one track, as the drone flew it.

JPEG fields (EXIF read by Pillow; XMP parsed by defusedxml with DTDs and entities refused):

- position: EXIF GPS latitude/longitude with their N/S/E/W references;
- heights: DJI XMP ``drone-dji:RelativeAltitude`` → ``height_agl_m`` (above the take-off
  point), ``drone-dji:AbsoluteAltitude`` → ``alt_msl_m``, else EXIF ``GPSAltitude`` (below sea
  level when ``GPSAltitudeRef`` is 1) → ``alt_msl_m``;
- pose: DJI XMP ``GimbalPitchDegree`` (already 0 = horizon, -90 = down), ``GimbalYawDegree``,
  ``GimbalRollDegree``, ``FlightYawDegree`` (→ ``yaw_deg``); Pix4D / senseFly XMP
  ``Camera:Pitch``/``Roll``/``Yaw``, whose pitch is 0 at nadir and 90 at the horizon (Pix4D's
  convention), so ``gimbal_pitch_deg = Camera:Pitch - 90``; yaws wrapped to [0, 360);
- time: EXIF GPS date and time (UTC) when present; else ``DateTimeOriginal`` with
  ``SubSecTimeOriginal`` and ``OffsetTimeOriginal``; without an offset the camera clock is taken
  as UTC (noted);
- camera: ``FocalLength`` → ``focal_length_mm``, ``DigitalZoomRatio`` → ``zoom``, image size and
  35-mm focal length in the notes, ``Make``/``Model`` → vendor/model (DJI's camera codes such as
  ``FC8482`` are named after their drone, from :data:`DJI_CAMERA_MODELS`), ``BodySerialNumber``
  or XMP ``DroneSerialNumber`` → ``drone_id``.

JSON extracts (one object, or a list of objects, one sample each, put in time order with
``source_row`` the object's place in the list) use exiftool-like names with or
without a group prefix, matched ignoring case, spaces and ``/``: ``GPS Latitude``, ``GPS
Longitude``, ``GPS Altitude``, ``GimbalPitchDegree``, ``GimbalYawDegree``, ``GimbalRollDegree``
(or ``Camera:Roll``), ``FlightYawDegree``, ``RelativeAltitude``, ``AbsoluteAltitude``,
``Focal Length``, ``Focal Length 35``, ``Digital Zoom Ratio``, ``ImageWidth``, ``ImageHeight``,
``Make``/``Camera Make``, ``Model``/``Camera Model``, ``Comment`` (a drone name, used as the
model), ``timestamp_8601`` (ISO 8601) or ``Date/Time Original`` (camera clock, taken as UTC).

**Pitch convention of JSON extracts.** OpenAthena and ThetaTools store the gimbal pitch as a
positive angle *below* the horizon (their "theta"). Their extracts are recognised by the keys
they add for the target pixel (``xprop``, ``yprop``) or by the ``drone:`` prefix they give DJI's
XMP names (DJI itself writes ``drone-dji:``); for those, ``gimbal_pitch_deg = -value``. Any other
extract is taken to hold DJI's own value (0 = horizon, -90 = down). Each flight's notes say which
convention was applied.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as safe_et
import geopandas as gpd
import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException
from PIL import ExifTags, Image, UnidentifiedImageError

from flightlogs.core import ParsedLog, sha256_file
from flightlogs.errors import FlightLogError
from flightlogs.quality import reject_rows
from flightlogs.schema import empty_samples, make_flights, make_samples

__all__ = [
    "DJI_CAMERA_MODELS",
    "MAX_GAP_S",
    "read_jpeg",
    "read_json",
    "read_photo_folder",
    "sniff_jpeg",
    "sniff_json",
]

#: DJI camera codes written as EXIF ``Model`` → the drone that carries the camera.
DJI_CAMERA_MODELS = {
    "FC220": "DJI Mavic Pro",
    "FC330": "DJI Phantom 4",
    "FC6310": "DJI Phantom 4 Pro",
    "FC2103": "DJI Mavic Air",
    "FC2204": "DJI Mavic 2 Enterprise Zoom",
    "FC2220": "DJI Mavic 2 Zoom",
    "L1D-20C": "DJI Mavic 2 Pro",
    "FC3170": "DJI Mavic Air 2",
    "FC3411": "DJI Air 2S",
    "FC7303": "DJI Mini 2",
    "FC3582": "DJI Mini 3 Pro",
    "FC8482": "DJI Mini 4 Pro",
}
#: Longest pause (s) between two photos of one camera that still counts as one flight.
MAX_GAP_S = 600.0

_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".json"}
_JSON_KEYS = re.compile(rb'"[^"]*(gps ?latitude|gimbalpitchdegree)[^"]*"\s*:', re.I)


def sniff_jpeg(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file are a JPEG with EXIF or XMP metadata.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True for the JPEG start-of-image marker followed by an APP1 (EXIF/XMP) segment.

    Examples
    --------
    >>> sniff_jpeg(b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00")
    True
    >>> sniff_jpeg(b"\x89PNG\r\n")
    False
    """
    return head.startswith(b"\xff\xd8\xff") and b"\xff\xe1" in head[:65536]


def sniff_json(head: bytes) -> bool:
    """Tell whether the first bytes of a file are a JSON photo-metadata extract.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True for a JSON object or array naming a GPS latitude or a gimbal pitch.

    Examples
    --------
    >>> sniff_json(b'{"GPS Latitude": "33.8", "GPS Longitude": "-84.5"}')
    True
    >>> sniff_json(b'{"type": "FeatureCollection"}')
    False
    """
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text[:1] in (b"{", b"[") and bool(_JSON_KEYS.search(text))


def _number(value: Any) -> float:
    """Return a float from a number, a numeric string or an ``a/b`` rational; NaN otherwise."""
    if value is None or isinstance(value, bool):
        return np.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if "/" in text:
        num, _, den = text.partition("/")
        try:
            return float(num) / float(den)
        except (ValueError, ZeroDivisionError):
            return np.nan
    try:
        return float(text)
    except ValueError:
        return np.nan


def _as_text(value: Any) -> str | None:
    """Return a tag value as text: None when missing or not a scalar (true, [..], {..})."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).replace("\x00", "").strip() or None


def _vendor_model(
    make: Any, model: Any, name: Any
) -> tuple[str | None, str | None]:
    make, model, name = _as_text(make), _as_text(model), _as_text(name)
    make = (make or "").strip() or None
    model = (model or "").strip() or None
    vendor = "DJI" if make and make.upper().startswith("DJI") else make
    if name:
        return vendor, name.strip()
    if model and model.upper() in DJI_CAMERA_MODELS:
        return vendor or "DJI", DJI_CAMERA_MODELS[model.upper()]
    if model and make and not model.lower().startswith(make.lower()):
        return vendor, f"{make} {model}"
    return vendor, model


def _xmp_fields(packet: bytes, path: Path) -> dict[str, tuple[str, str]]:
    """Map local name → (namespace URI, value) for XMP attributes and simple elements."""
    try:
        root = safe_et.fromstring(packet, forbid_dtd=True)
    except DefusedXmlException:
        raise FlightLogError(f"{path}: XMP metadata with a DTD or entities, refused") from None
    except safe_et.ParseError as exc:
        raise FlightLogError(f"{path}: unreadable XMP metadata ({exc})") from None
    out: dict[str, tuple[str, str]] = {}
    for element in root.iter():
        for key, value in element.attrib.items():
            if key.startswith("{"):
                uri, _, local = key[1:].partition("}")
                out.setdefault(local, (uri, value))
        if (
            element.tag.startswith("{")
            and element.text
            and element.text.strip()
            and not len(element)
        ):
            uri, _, local = element.tag[1:].partition("}")
            out.setdefault(local, (uri, element.text.strip()))
    return out


def _exif_time(exif: Any, gps: dict[int, Any]) -> tuple[pd.Timestamp, str | None]:
    date, stamp = gps.get(ExifTags.GPS.GPSDateStamp), gps.get(ExifTags.GPS.GPSTimeStamp)
    if date and stamp and len(stamp) == 3:
        seconds = sum(_number(v) * f for v, f in zip(stamp, (3600, 60, 1), strict=True))
        day = pd.to_datetime(str(date).strip(), format="%Y:%m:%d", errors="coerce", utc=True)
        if pd.notna(day) and np.isfinite(seconds):
            return day + pd.to_timedelta(seconds, unit="s"), None
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    text = ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not text:
        return pd.NaT, "no capture time in the EXIF"
    sub = str(ifd.get(ExifTags.Base.SubsecTimeOriginal) or "").strip()
    offset = str(ifd.get(ExifTags.Base.OffsetTimeOriginal) or "").strip()
    stamp_text = str(text).strip() + (f".{sub}" if sub.isdigit() else "")
    local = pd.to_datetime(
        stamp_text,
        format="%Y:%m:%d %H:%M:%S.%f" if sub.isdigit() else "%Y:%m:%d %H:%M:%S",
        errors="coerce",
    )
    if pd.isna(local):
        return pd.NaT, f"capture time {text!r} not understood (expected 'YYYY:MM:DD HH:MM:SS')"
    zone = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset)
    if zone:
        sign = -1 if zone[1] == "-" else 1
        shift = pd.Timedelta(hours=int(zone[2]), minutes=int(zone[3])) * sign
        return (local - shift).tz_localize("UTC"), None
    return local.tz_localize("UTC"), (
        "DateTimeOriginal is the camera clock with no offset: taken as UTC"
    )


def _jpeg_record(path: Path) -> dict[str, Any]:
    """Read one JPEG's metadata into canonical fields plus ``_make``, ``_model``... extras."""
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            size = image.size
            xmp_packet = image.info.get("xmp")
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd = exif.get_ifd(ExifTags.IFD.Exif)
    except (
        UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
        SyntaxError, EOFError, struct.error,
    ) as exc:
        raise FlightLogError(f"{path}: not a readable JPEG ({exc})") from None
    rec: dict[str, Any] = {"capturing": True, "notes": []}

    def degrees(value: Any, ref: Any, negative: str) -> float:
        if not isinstance(value, tuple | list) or len(value) != 3:
            return np.nan
        d, m, s = (_number(v) for v in value)
        sign = -1.0 if str(ref or "").strip().upper() == negative else 1.0
        return sign * (d + m / 60 + s / 3600)

    rec["lat"] = degrees(
        gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S"
    )
    rec["lon"] = degrees(
        gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W"
    )
    alt = _number(gps.get(ExifTags.GPS.GPSAltitude))
    below = gps.get(ExifTags.GPS.GPSAltitudeRef) in (1, b"\x01")
    rec["alt_msl_m"] = -alt if below else alt
    rec["time"], note = _exif_time(exif, gps)
    rec["notes"] += [note] if note else []
    rec["focal_length_mm"] = _number(ifd.get(ExifTags.Base.FocalLength))
    zoom = _number(ifd.get(ExifTags.Base.DigitalZoomRatio))
    rec["zoom"] = zoom if zoom > 0 else np.nan
    f35 = _number(ifd.get(ExifTags.Base.FocalLengthIn35mmFilm))
    rec["notes"].append(
        f"image {size[0]} x {size[1]} px"
        + (f", 35-mm equivalent focal length {f35:g} mm" if f35 > 0 else "")
    )
    rec["_serial"] = str(ifd.get(ExifTags.Base.BodySerialNumber) or "").strip() or None
    rec["_make"], rec["_model"] = exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model)
    if xmp_packet:
        _apply_xmp(rec, _xmp_fields(bytes(xmp_packet), path))
    return rec


def _apply_xmp(rec: dict[str, Any], xmp: dict[str, tuple[str, str]]) -> None:
    def value(name: str, kind: str) -> float:
        uri, text = xmp.get(name, ("", ""))
        return _number(text) if kind in uri.lower() else np.nan

    dji = {
        n: value(n, "drone-dji")
        for n in (
            "GimbalPitchDegree",
            "GimbalYawDegree",
            "GimbalRollDegree",
            "FlightYawDegree",
            "RelativeAltitude",
            "AbsoluteAltitude",
        )
    }
    if np.isfinite(dji["GimbalPitchDegree"]):
        rec["gimbal_pitch_deg"] = dji["GimbalPitchDegree"]
        rec["notes"].append("gimbal pose from DJI XMP (pitch 0 = horizon, -90 = down)")
    rec["gimbal_yaw_deg"] = np.mod(dji["GimbalYawDegree"], 360.0)
    rec["gimbal_roll_deg"] = dji["GimbalRollDegree"]
    rec["yaw_deg"] = np.mod(dji["FlightYawDegree"], 360.0)
    if np.isfinite(dji["RelativeAltitude"]):
        rec["height_agl_m"] = dji["RelativeAltitude"]
        rec["height_ref"] = "takeoff"
    if np.isfinite(dji["AbsoluteAltitude"]):
        rec["alt_msl_m"] = dji["AbsoluteAltitude"]
    serial = xmp.get("DroneSerialNumber", ("", ""))[1].strip()
    rec["_serial"] = rec.get("_serial") or serial or None
    pitch = value("Pitch", "/camera/")
    if not np.isfinite(dji["GimbalPitchDegree"]) and np.isfinite(pitch):
        rec["gimbal_pitch_deg"] = pitch - 90.0
        rec["gimbal_roll_deg"] = value("Roll", "/camera/")
        rec["gimbal_yaw_deg"] = np.mod(value("Yaw", "/camera/"), 360.0)
        rec["notes"].append("camera pose from Pix4D/senseFly XMP (Camera:Pitch 0 = nadir)")
    if "sensefly" in xmp.get("Pitch", ("", ""))[0].lower():
        # The EXIF names the camera (a Canon on the eBee); the XMP namespace names the drone.
        rec["_vendor"] = "senseFly"


def _norm(key: str) -> str:
    return re.sub(r"[\s/_]", "", key.rsplit(":", 1)[-1]).lower()


def _json_record(obj: dict[str, Any], path: Path) -> dict[str, Any]:
    keys = {_norm(k): v for k, v in obj.items()}
    openathena = bool({"xprop", "yprop"} & {k.lower() for k in obj}) or any(
        k.lower().startswith("drone:") for k in obj
    )

    def get(*names: str) -> float:
        return next((_number(keys[n]) for n in names if n in keys), np.nan)

    rec: dict[str, Any] = {"capturing": True, "notes": []}
    rec["lat"], rec["lon"] = get("gpslatitude"), get("gpslongitude")
    rec["alt_msl_m"] = get("absolutealtitude", "gpsaltitude")
    relative = get("relativealtitude")
    if np.isfinite(relative):
        rec["height_agl_m"], rec["height_ref"] = relative, "takeoff"
    pitch = get("gimbalpitchdegree")
    if np.isfinite(pitch):
        rec["gimbal_pitch_deg"] = -pitch if openathena else pitch
        rec["notes"].append(
            "gimbal pitch stored as a positive angle below the horizon (OpenAthena/ThetaTools "
            "extract): negated"
            if openathena
            else "gimbal pitch taken as DJI writes it (0 = horizon, -90 = down)"
        )
    rec["gimbal_yaw_deg"] = np.mod(get("gimbalyawdegree"), 360.0)
    rec["gimbal_roll_deg"] = get("gimbalrolldegree", "roll")
    rec["yaw_deg"] = np.mod(get("flightyawdegree"), 360.0)
    rec["focal_length_mm"] = get("focallength")
    zoom = get("digitalzoomratio")
    rec["zoom"] = zoom if zoom > 0 else np.nan
    width, height, f35 = get("imagewidth"), get("imageheight"), get("focallength35")
    if np.isfinite(width) and np.isfinite(height):
        rec["notes"].append(
            f"image {width:g} x {height:g} px"
            + (f", 35-mm equivalent focal length {f35:g} mm" if np.isfinite(f35) else "")
        )
    datum = str(keys.get("droneverticaldatum", "")).strip()
    if datum:
        rec["notes"].append(f"altitude datum {datum}")
    iso = keys.get("timestamp8601")
    local = keys.get("datetimeoriginal") or keys.get("datetimedateoriginal")
    if iso:
        rec["time"] = pd.to_datetime(str(iso), format="ISO8601", utc=True, errors="coerce")
    elif local:
        rec["time"] = pd.to_datetime(str(local), format="%Y:%m:%d %H:%M:%S", errors="coerce")
        if pd.notna(rec["time"]):
            rec["time"] = rec["time"].tz_localize("UTC")
            rec["notes"].append("Date/Time Original is the camera clock: taken as UTC")
    else:
        rec["time"] = pd.NaT
    if pd.isna(rec["time"]) and (iso or local):
        raise FlightLogError(
            f"{path}: capture time {iso or local!r} not understood (expected ISO 8601 or "
            "'YYYY:MM:DD HH:MM:SS')"
        )
    for name, raw in (
        ("GPS Latitude", keys.get("gpslatitude")),
        ("GPS Longitude", keys.get("gpslongitude")),
    ):
        if raw is not None and not np.isfinite(_number(raw)):
            raise FlightLogError(f"{path}: {name} {raw!r} is not a number in decimal degrees")
    rec["_make"] = keys.get("make") or keys.get("cameramake")
    rec["_model"] = keys.get("model") or keys.get("cameramodel")
    rec["_name"] = keys.get("comment")
    rec["_serial"] = keys.get("bodyserialnumber") or keys.get("droneserialnumber")
    return rec


def _records_of(path: Path, kind: str) -> list[dict[str, Any]]:
    if kind == "photo_jpeg":
        # Pillow warns (rather than fails) on a damaged EXIF directory, and reads tags lazily,
        # so its warnings can come from any look-up: what it could read is kept, the damage
        # noted, and no warning reaches the terminal as noise.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rec = _jpeg_record(path)
            except (TypeError, ValueError, AttributeError, IndexError, KeyError, OverflowError,
                    ZeroDivisionError) as exc:
                # EXIF values of a type the tag never has (a damaged directory read as numbers)
                raise FlightLogError(
                    f"{path}: damaged EXIF metadata ({type(exc).__name__}: {exc})"
                ) from None
        damage = sorted({str(w.message) for w in caught})
        if damage:
            rec["notes"].insert(0, f"damaged EXIF metadata ({'; '.join(damage)})")
        return [rec]
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FlightLogError(f"{path}: not a readable JSON photo extract ({exc})") from None
    except RecursionError:
        raise FlightLogError(f"{path}: JSON nested too deeply to be a photo extract") from None
    objects = data if isinstance(data, list) else [data]
    if not objects or not all(isinstance(o, dict) for o in objects):
        raise FlightLogError(f"{path}: expected a JSON object (or a list of objects) of tags")
    return [_json_record(o, path) for o in objects]


def _parsed(records: list[dict[str, Any]], kind: str) -> ParsedLog:
    rows = pd.DataFrame(
        [
            {k: v for k, v in r.items() if k not in {"notes"} and not k.startswith("_")}
            for r in records
        ]
    )
    rows["time"] = pd.to_datetime(rows["time"], utc=True)
    rows["source_row"] = np.arange(1, len(rows) + 1, dtype="int64")
    # Photos listed in any order (a JSON list) are put in time order; source_row keeps theirs.
    rows = rows.sort_values("time", kind="stable", na_position="last").reset_index(drop=True)
    refs = {r.get("height_ref", "unknown") for r in records}
    notes = list(dict.fromkeys(n for r in records for n in r["notes"]))
    first = records[0]
    vendor, model = _vendor_model(first.get("_make"), first.get("_model"), first.get("_name"))
    vendor = first.get("_vendor") or vendor
    serial = _as_text(first.get("_serial"))
    return ParsedLog(
        rows=rows.drop(columns="height_ref", errors="ignore"),
        source_format=kind,
        height_ref=refs.pop() if len(refs) == 1 else "unknown",
        drone_id=str(serial) if serial else None,
        model=model,
        vendor=vendor,
        notes=notes,
    )


def _read(path: Path, kind: str) -> list[ParsedLog]:
    path = Path(path)
    records = _records_of(path, kind)
    if not any(np.isfinite(r["lat"]) and np.isfinite(r["lon"]) for r in records):
        raise FlightLogError(
            f"{path}: no GPS position in the photo metadata (expected EXIF GPSLatitude/"
            "GPSLongitude, or 'GPS Latitude'/'GPS Longitude' in decimal degrees)"
        )
    return [_parsed(records, kind)]


def read_jpeg(path: Path) -> list[ParsedLog]:
    """Read one drone photo (JPEG with EXIF/XMP) into a flight of one sample.

    Parameters
    ----------
    path : pathlib.Path
        The JPEG file.

    Returns
    -------
    list of ParsedLog
        One entry with one row.

    Raises
    ------
    FlightLogError
        If the file is not a readable JPEG, its XMP declares a DTD, or it has no GPS position.
    """
    return _read(path, "photo_jpeg")


def read_json(path: Path) -> list[ParsedLog]:
    """Read a JSON extract of photo metadata into a flight (one sample per object).

    Parameters
    ----------
    path : pathlib.Path
        The JSON file.

    Returns
    -------
    list of ParsedLog
        One entry.

    Raises
    ------
    FlightLogError
        If the file is not JSON, a position or time is not understood, or no object has a
        position.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ('{"GPS Latitude": "33.8375", "GPS Longitude": "-84.5220", "xprop": "0.5", '
    ...         '"drone:GimbalPitchDegree": "29.6", "timestamp_8601": "2024-06-09T12:01:47Z"}')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "photo.json"
    ...     _ = p.write_text(text)
    ...     rows = read_json(p)[0].rows
    >>> float(rows.gimbal_pitch_deg[0]), str(rows.time[0])
    (-29.6, '2024-06-09 12:01:47+00:00')
    """
    return _read(path, "photo_json")


def _kind(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return None
    if sniff_jpeg(head):
        return "photo_jpeg"
    return "photo_json" if sniff_json(head) else None


def read_photo_folder(
    paths: Iterable[str | Path], *, max_gap_s: float = MAX_GAP_S
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read drone photos and group them into flights: one per camera and uninterrupted session.

    Photos are grouped by camera (its serial number, else make and model), sorted by time, and
    cut into flights wherever two consecutive photos are more than ``max_gap_s`` apart. A
    flight's id is the stem of its first photo, then ``..`` and the stem of its last;
    ``source_row`` is a photo's 1-based place in its flight, ``source_path`` the folder (or
    the first file's folder), ``sha256`` the SHA-256 of the photos' own SHA-256 digests
    (hex, in flight order, one per line), and ``notes`` name the first and last files.
    Photos without a position are counted as rejected (``no_position``); photos without a time
    (``no_time``) form their own flight.

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        Photo files (``.jpg``, ``.jpeg``, ``.json``) or folders, walked recursively; other
        files in a folder are skipped.
    max_gap_s : float
        Longest pause between two photos of one flight, in seconds.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        The canonical tables (see :mod:`flightlogs.schema`).

    Raises
    ------
    FlightLogError
        Listing every photo that could not be read, one per line; or if there is no photo.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(
                sorted(
                    f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in _PHOTO_SUFFIXES
                )
            )
        else:
            files.append(p)
    records, errors = [], []
    for f in files:
        kind = _kind(f)
        if kind is None:
            if f.suffix.lower() == ".json":
                continue  # a JSON file that is not a photo extract (a sidecar, a config)
            errors.append(f"{f}: not a JPEG with EXIF/XMP metadata or a JSON photo extract")
            continue
        try:
            for rec in _records_of(f, kind):
                records.append({**rec, "_file": f, "_kind": kind})
        except FlightLogError as exc:
            errors.append(str(exc))
    if errors:
        raise FlightLogError("\n".join(errors))
    if not records:
        raise FlightLogError("no photo files given")
    table = pd.DataFrame(
        {
            "camera": [
                str(r.get("_serial") or f"{r.get('_make')} {r.get('_model')}") for r in records
            ],
            "time": pd.to_datetime([r["time"] for r in records], utc=True),
            "order": np.arange(len(records)),
        }
    ).sort_values(["camera", "time", "order"], kind="stable", na_position="last")
    seconds = table["time"].diff().dt.total_seconds().to_numpy()
    new_camera = (table["camera"] != table["camera"].shift()).to_numpy()
    no_time = table["time"].isna().to_numpy()
    starts = new_camera | (seconds > max_gap_s) | (no_time & ~np.roll(no_time, 1))
    group = np.cumsum(starts)
    sample_parts, flight_rows = [], []
    for _, part in table.groupby(group, sort=False):
        recs = [records[i] for i in part["order"]]
        digests = [sha256_file(r["_file"]) for r in recs]
        stems = [r["_file"].stem for r in recs]
        fid = stems[0] if len(stems) == 1 else f"{stems[0]}..{stems[-1]}"
        log = _parsed(recs, "photo_folder")
        kept, rejected = reject_rows(log.rows)
        sample_parts.append(
            make_samples(
                kept.assign(flight_id=fid, height_ref=log.height_ref), source=str(recs[0]["_file"])
            )
        )
        folder = recs[0]["_file"].parent
        flight_rows.append(
            {
                "flight_id": fid,
                "drone_id": log.drone_id,
                "model": log.model,
                "vendor": log.vendor,
                "source_path": str(folder),
                "source_format": "photos",
                "sha256": hashlib.sha256("\n".join(digests).encode()).hexdigest(),
                "n_read": len(recs),
                "n_samples": len(kept),
                "n_rejected": sum(rejected.values()),
                "rejected_reasons": rejected,
                "height_ref": log.height_ref,
                "notes": "; ".join(
                    [
                        f"{len(recs)} photos: {recs[0]['_file'].name} to {recs[-1]['_file'].name}",
                        *log.notes,
                    ]
                ),
            }
        )
    parts = [s for s in sample_parts if len(s)]
    samples = (
        gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs="EPSG:4326")
        if parts
        else empty_samples()
    )
    flights = make_flights(pd.DataFrame(flight_rows), samples=samples, source="photos")
    return samples, flights

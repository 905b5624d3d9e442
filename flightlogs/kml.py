"""KML and KMZ tracks: ``gx:Track`` (times and positions) and ``LineString`` (positions only).

Every ``Placemark`` holding a ``gx:Track`` (alone or in a ``gx:MultiTrack``, whose tracks are
joined) or a ``LineString`` is one flight; a file with several gives flights suffixed ``_1``,
``_2``, ... ``Point`` placemarks (AirData's "Home") are marks, not tracks, and are skipped.

``gx:Track``
    ``<when>`` (ISO 8601; without a zone taken as UTC) paired in order with ``<gx:coord>``
    (``lon lat [alt]``, space separated), and ``<gx:angles>`` (heading, tilt, roll) when present:
    the heading goes to ``yaw_deg``.
``LineString``
    ``<coordinates>`` ``lon,lat[,alt]`` tuples and **no times**. When the placemark has a
    ``TimeSpan`` the vertices are spread evenly from its ``begin`` to its ``end``; otherwise they
    get placeholder times one second apart from 1970-01-01T00:00:00Z, which keep their order and
    cannot be mistaken for real dates (the flight's notes say which was done).

Altitudes follow ``altitudeMode``: ``absolute`` → ``alt_msl_m``; ``relativeToGround`` →
``height_agl_m`` with ``height_ref = "ground"``; ``clampToGround`` (KML's default) or
``relativeToSeaFloor`` → no altitude. ``source_row`` is the vertex's 1-based position among the
file's track vertices.

Parsing is done with defusedxml (DTDs and entities refused, nothing fetched). A KMZ is a zip:
only its main ``.kml`` (``doc.kml``, else the first ``.kml`` at the top level) is read, after
checking that no entry name is absolute or climbs with ``..``, that it has at most
:data:`MAX_MEMBERS` entries, that the declared uncompressed sizes stay below
:data:`MAX_UNCOMPRESSED_BYTES` and that no entry expands more than :data:`MAX_RATIO` times (a
zip bomb declares, or turns out to hold, far more); the entry is read with the same cap
whatever its header says.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from xml.etree.ElementTree import Element

import numpy as np
import pandas as pd

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError
from flightlogs.gpx import parse_xml

__all__ = ["MAX_MEMBERS", "MAX_RATIO", "MAX_UNCOMPRESSED_BYTES", "read", "sniff"]

#: Largest total uncompressed size (bytes) accepted in a KMZ, and largest main KML.
MAX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
#: Most entries accepted in a KMZ (a track with its icons and overlays has a handful).
MAX_MEMBERS = 10_000
#: Largest expansion accepted for one entry: KML text deflates 5-30×, a zip bomb ~1000×.
MAX_RATIO = 500

#: What zipfile raises on a damaged archive: BadZipFile, but also an unknown member version
#: (NotImplementedError), a truncated extra field (IndexError), a bad deflate stream, ...
_ZIP_ERRORS = (
    zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
    IndexError, RuntimeError, struct.error,
)

_GX = "{http://www.google.com/kml/ext/2.2}"
_ROOT = re.compile(rb"<(?:\w+:)?kml[\s>]")
_EPOCH = pd.Timestamp("1970-01-01T00:00:00Z")


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like KML or KMZ.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True for a ``<kml`` root element, or a zip whose first entry is a ``.kml`` file.

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2">')
    True
    >>> sniff(b"PK\x03\x04" + bytes(22) + (7).to_bytes(2, "little") + bytes(2) + b"doc.kml")
    True
    >>> sniff(b"<gpx></gpx>")
    False
    """
    if head.startswith(b"PK\x03\x04") and len(head) >= 30:
        size = int.from_bytes(head[26:28], "little")
        return head[30 : 30 + size].lower().endswith(b".kml")
    return bool(_ROOT.search(head[:4096]))


def _kmz_document(path: Path) -> bytes:
    """Return the main KML of a KMZ, read with the safety checks of the module notes."""
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as exc:
        raise FlightLogError(f"{path}: not a readable KMZ (zip) file ({exc})") from None
    with archive:
        entries = archive.infolist()
        unsafe = [
            e.filename
            for e in entries
            if e.filename.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", e.filename)
            or ".." in PurePosixPath(e.filename.replace("\\", "/")).parts
        ]
        if unsafe:
            raise FlightLogError(
                f"{path}: KMZ with unsafe entry names {unsafe[:3]} (absolute or containing "
                "'..'), refused"
            )
        if len(entries) > MAX_MEMBERS:
            raise FlightLogError(
                f"{path}: KMZ with {len(entries)} entries, more than the {MAX_MEMBERS} accepted"
            )
        bombs = [
            e.filename for e in entries if e.file_size > MAX_RATIO * max(e.compress_size, 1)
        ]
        if bombs:
            raise FlightLogError(
                f"{path}: KMZ entry {bombs[0]!r} expands more than {MAX_RATIO} times "
                "(refused as a zip bomb)"
            )
        total = sum(e.file_size for e in entries)
        if total > MAX_UNCOMPRESSED_BYTES:
            raise FlightLogError(
                f"{path}: KMZ declares {total} bytes uncompressed, more than the "
                f"{MAX_UNCOMPRESSED_BYTES} accepted (a zip bomb?)"
            )
        kmls = [
            e
            for e in entries
            if e.filename.lower().endswith(".kml") and "/" not in e.filename.strip("/")
        ]
        main = next((e for e in kmls if e.filename.lower() == "doc.kml"), kmls[0] if kmls else None)
        if main is None:
            raise FlightLogError(f"{path}: KMZ without a .kml document at its top level")
        try:
            with archive.open(main) as fh:
                data = fh.read(MAX_UNCOMPRESSED_BYTES + 1)
        except _ZIP_ERRORS as exc:
            raise FlightLogError(f"{path}: {main.filename} cannot be unpacked ({exc})") from None
    if len(data) > MAX_UNCOMPRESSED_BYTES:
        raise FlightLogError(
            f"{path}: {main.filename} inflates to more than {MAX_UNCOMPRESSED_BYTES} bytes "
            "(a zip bomb?)"
        )
    return data


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child_text(element: Element, name: str) -> str | None:
    for child in element.iter():
        if _local(child) == name and child.text and child.text.strip():
            return child.text.strip()
    return None


def _altitude_columns(mode: str | None, alt: np.ndarray) -> tuple[dict[str, np.ndarray], str]:
    if mode == "absolute":
        return {"alt_msl_m": alt}, "unknown"
    if mode == "relativeToGround":
        return {"height_agl_m": alt}, "ground"
    return {}, "unknown"


def _numbers(texts: list[str], width: int, sep: str) -> np.ndarray:
    """Parse ``lon{sep}lat[{sep}alt]`` tuples into an (n, width) array, NaN where missing."""
    out = np.full((len(texts), width), np.nan)
    if texts:
        split = pd.Series(texts).str.strip().str.split(sep, expand=True, regex=False)
        cells = split.iloc[:, :width].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        out[:, : cells.shape[1]] = cells
    return out


def _gx_track(placemark: Element, path: Path) -> tuple[pd.DataFrame, str, str] | None:
    tracks = list(placemark.iter(f"{_GX}Track"))
    if not tracks:
        return None
    parts, modes = [], set()
    for track in tracks:
        whens = [(e.text or "").strip() for e in track if _local(e) == "when"]
        coords = [(e.text or "").strip() for e in track if e.tag == f"{_GX}coord"]
        angles = [(e.text or "").strip() for e in track if e.tag == f"{_GX}angles"]
        if len(whens) != len(coords):
            raise FlightLogError(
                f"{path}: gx:Track with {len(whens)} <when> and {len(coords)} <gx:coord> "
                "elements (expected one of each per sample)"
            )
        xyz = _numbers(coords, 3, " ")
        part = pd.DataFrame({"lon": xyz[:, 0], "lat": xyz[:, 1], "alt": xyz[:, 2]})
        part["time"] = pd.to_datetime(pd.Series(whens), format="ISO8601", utc=True, errors="coerce")
        if len(angles) == len(coords):
            part["yaw_deg"] = np.mod(_numbers(angles, 1, " ")[:, 0], 360.0)
        parts.append(part)
        modes.add(_child_text(track, "altitudeMode"))
    rows = pd.concat(parts, ignore_index=True)
    mode = next(iter(modes)) if len(modes) == 1 else None
    columns, ref = _altitude_columns(mode, rows.pop("alt").to_numpy())
    return rows.assign(**columns), ref, f"gx:Track, altitudeMode {mode or 'clampToGround'}"


def _line_string(placemark: Element) -> tuple[pd.DataFrame, str, str] | None:
    lines = [e for e in placemark.iter() if _local(e) == "LineString"]
    if not lines:
        return None
    texts = []
    for line in lines:
        text = _child_text(line, "coordinates") or ""
        texts.extend(text.split())
    xyz = _numbers(texts, 3, ",")
    rows = pd.DataFrame({"lon": xyz[:, 0], "lat": xyz[:, 1]})
    mode = _child_text(lines[0], "altitudeMode")
    columns, ref = _altitude_columns(mode, xyz[:, 2])
    rows = rows.assign(**columns)
    begin, end = _child_text(placemark, "begin"), _child_text(placemark, "end")
    span = pd.to_datetime(pd.Series([begin, end]), format="ISO8601", utc=True, errors="coerce")
    n = len(rows)
    if begin and end and span.notna().all() and n:
        step = (span[1] - span[0]) / max(n - 1, 1)
        rows["time"] = span[0] + step * np.arange(n)
        note = f"LineString has no times: spread evenly over its TimeSpan {begin} to {end}"
    else:
        rows["time"] = _EPOCH + pd.to_timedelta(np.arange(n), unit="s")
        note = (
            "LineString has no times: placeholder times 1 s apart from 1970-01-01T00:00:00Z "
            "keep the vertex order only"
        )
    return rows, ref, f"LineString, altitudeMode {mode or 'clampToGround'}; {note}"


def read(path: Path) -> list[ParsedLog]:
    r"""Read a KML or KMZ file into one parsed flight per track placemark.

    Parameters
    ----------
    path : pathlib.Path
        The ``.kml`` or ``.kmz`` file.

    Returns
    -------
    list of ParsedLog
        One entry per placemark with a ``gx:Track`` or ``LineString``.

    Raises
    ------
    FlightLogError
        If the file is not well-formed XML, declares a DTD, is an unsafe or oversized KMZ, or
        holds no track.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ('<kml xmlns="http://www.opengis.net/kml/2.2" '
    ...         'xmlns:gx="http://www.google.com/kml/ext/2.2"><Placemark><gx:Track>'
    ...         '<altitudeMode>absolute</altitudeMode>'
    ...         '<when>2024-05-01T09:00:00Z</when><when>2024-05-01T09:00:01Z</when>'
    ...         '<gx:coord>139.7 35.6 50</gx:coord><gx:coord>139.7001 35.6 51</gx:coord>'
    ...         '</gx:Track></Placemark></kml>')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "t.kml"
    ...     _ = p.write_text(text)
    ...     rows = read(p)[0].rows
    >>> rows.alt_msl_m.tolist(), str(rows.time[1])
    ([50.0, 51.0], '2024-05-01 09:00:01+00:00')
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    data = _kmz_document(path) if head == b"PK\x03\x04" else path.read_bytes()
    root = parse_xml(data, path, "KML file")
    if _local(root) != "kml":
        raise FlightLogError(f"{path}: the root element is <{_local(root)}>, expected <kml>")
    parsed, first = [], 1
    placemarks = [e for e in root.iter() if _local(e) == "Placemark"]
    found = [(p, _gx_track(p, path) or _line_string(p)) for p in placemarks]
    found = [(p, f) for p, f in found if f is not None and len(f[0])]
    if not found:
        raise FlightLogError(
            f"{path}: no track in the KML (expected a Placemark with a gx:Track or a "
            f"LineString; found {len(placemarks)} placemarks without one)"
        )
    for i, (placemark, (rows, ref, how)) in enumerate(found):
        rows["source_row"] = np.arange(first, first + len(rows), dtype="int64")
        first += len(rows)
        name = _child_text(placemark, "name")
        notes = [how] + ([f"placemark {name!r}"] if name else [])
        parsed.append(
            ParsedLog(
                rows=rows,
                source_format="kml",
                height_ref=ref if "height_agl_m" in rows else "unknown",
                notes=notes,
                suffix=f"_{i + 1}" if len(found) > 1 else "",
            )
        )
    return parsed

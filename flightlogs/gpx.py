"""GPX tracks (``<trk>``/``<trkseg>``/``<trkpt>``), parsed with gpxpy.

One ``<trk>`` is one flight (its segments joined in order); a file with several tracks gives
several flights, suffixed ``_trk1``, ``_trk2``, ... Each track point gives ``lat``, ``lon``,
``time`` (GPX times are UTC by the standard) and, from ``<ele>``, ``alt_msl_m``: GPX carries no
height above take-off, so ``height_ref`` is ``"unknown"``. AirData writes its
``altitude_above_seaLevel`` there, to the 1e-7 m. ``source_row`` is the point's 1-based position
among the file's track points. Routes and waypoints are plans and marks, not flown tracks, and
are not read.

GPX needs no document type declaration, so a file with one (a ``<!DOCTYPE`` with entities, the
vehicle of entity-expansion and external-entity attacks) is refused before gpxpy sees it: the
text is first parsed by defusedxml with DTDs forbidden.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_et
import gpxpy
import gpxpy.gpx
import numpy as np
import pandas as pd
from defusedxml import DefusedXmlException

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError

__all__ = ["parse_xml", "read", "safe_xml_text", "sniff"]

_ROOT = re.compile(rb"<(?:\w+:)?gpx[\s>]")


def sniff(head: bytes) -> bool:
    """Tell whether the first bytes of a file look like GPX.

    Parameters
    ----------
    head : bytes
        The first bytes of the file.

    Returns
    -------
    bool
        True when a ``<gpx`` root element starts in them.

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?><gpx version="1.1" creator="x"><trk/></gpx>')
    True
    >>> sniff(b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"/>')
    False
    """
    return bool(_ROOT.search(head[:4096]))


def safe_xml_text(path: Path, what: str) -> str:
    """Read an XML file as text after checking it with defusedxml (no DTD, no entities).

    Parameters
    ----------
    path : pathlib.Path
        The file.
    what : str
        The format's name, for messages.

    Returns
    -------
    str
        The file's text.

    Raises
    ------
    FlightLogError
        If the file cannot be read, is not well-formed XML, or declares a DTD.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    parse_xml(data, path, what)
    return data.decode("utf-8-sig", errors="replace")


def parse_xml(data: bytes, path: Path | str, what: str) -> Element:
    """Parse ``data`` with defusedxml, DTDs forbidden, and turn failures into one message.

    Parameters
    ----------
    data : bytes
        The XML document.
    path : pathlib.Path or str
        Where it came from, for messages.
    what : str
        The format's name, for messages.

    Returns
    -------
    xml.etree.ElementTree.Element
        The root element.

    Raises
    ------
    FlightLogError
        If the document declares a DTD or entities, or is not well-formed.
    """
    try:
        return safe_et.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise FlightLogError(
            f"{path}: {what} with a document type declaration (DTD/entities), refused: "
            "a track file needs none and they can make the parser read other files"
        ) from None
    except (safe_et.ParseError, LookupError, ValueError) as exc:
        # (LookupError: the XML declaration names an encoding Python does not know)
        raise FlightLogError(f"{path}: not well-formed XML ({exc}); expected a {what}") from None


def _track_rows(track: gpxpy.gpx.GPXTrack, first_row: int) -> pd.DataFrame:
    # gpxpy hands out one object per point; their fields are gathered into arrays once here.
    points = [p for segment in track.segments for p in segment.points]
    times = [p.time for p in points]
    return pd.DataFrame(
        {
            "lat": np.array([p.latitude for p in points], dtype=float),
            "lon": np.array([p.longitude for p in points], dtype=float),
            "alt_msl_m": np.array(
                [np.nan if p.elevation is None else p.elevation for p in points], dtype=float
            ),
            "time": pd.to_datetime(pd.Series(times, dtype=object), utc=True, errors="coerce"),
            "source_row": np.arange(first_row, first_row + len(points), dtype="int64"),
        }
    )


def read(path: Path) -> list[ParsedLog]:
    r"""Read a GPX file into one parsed flight per track.

    Parameters
    ----------
    path : pathlib.Path
        The GPX file.

    Returns
    -------
    list of ParsedLog
        One entry per ``<trk>`` with at least one point.

    Raises
    ------
    FlightLogError
        If the file is not well-formed XML, declares a DTD, is not GPX, or has no track point.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> text = ('<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
    ...         '<trk><trkseg><trkpt lat="35.6" lon="139.7"><ele>40.5</ele>'
    ...         '<time>2024-05-01T09:00:00.100Z</time></trkpt></trkseg></trk></gpx>')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = pathlib.Path(tmp) / "t.gpx"
    ...     _ = p.write_text(text)
    ...     rows = read(p)[0].rows
    >>> float(rows.alt_msl_m[0]), str(rows.time[0])
    (40.5, '2024-05-01 09:00:00.100000+00:00')
    """
    path = Path(path)
    text = safe_xml_text(path, "GPX file")
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError, LookupError) as exc:
        raise FlightLogError(f"{path}: not a readable GPX file ({exc})") from None
    tracks = [t for t in gpx.tracks if any(s.points for s in t.segments)]
    if not tracks:
        raise FlightLogError(
            f"{path}: no track points (expected <trk><trkseg><trkpt lat=.. lon=..> elements; "
            f"found {len(gpx.routes)} routes and {len(gpx.waypoints)} waypoints, which are "
            "not flown tracks)"
        )
    creator = f"written by {gpx.creator}" if gpx.creator else None
    parsed, first = [], 1
    for i, track in enumerate(tracks):
        rows = _track_rows(track, first)
        first += len(rows)
        notes = [n for n in (creator,) if n]
        notes.append("alt_msl_m is the GPX <ele>; GPX has no height above take-off")
        parsed.append(
            ParsedLog(
                rows=rows,
                source_format="gpx",
                height_ref="unknown",
                notes=notes,
                suffix=f"_trk{i + 1}" if len(tracks) > 1 else "",
            )
        )
    return parsed

"""Recognise a flight log's format from its content (the extension is only a tie-breaker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flightlogs import (
    airdata,
    csvlogs,
    dataflash,
    djitxt,
    gpx,
    kml,
    photos,
    remoteid,
    srt,
    store,
    tlog,
    ulog,
)
from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError, UnknownFormatError

__all__ = ["FORMATS", "detect_format"]

#: Registry: format name → function that parses a file into :class:`~flightlogs.core.ParsedLog`s.
FORMATS: dict[str, Callable[[Path], list[ParsedLog]]] = {
    "airdata_csv": airdata.read,
    "dji_srt": srt.read,
    "dji_txt": djitxt.read,
    "px4_ulog": ulog.read,
    "mavlink_tlog": tlog.read_tlog,
    "ardupilot_dataflash": dataflash.read_dataflash,
    # read_flight_log reads a store whole with store.read_store, keeping its flights table.
    "geoparquet_store": store.read_parsed,
    "flightreader_csv": csvlogs.read_flightreader,
    "litchi_csv": csvlogs.read_litchi,
    "gpx": gpx.read,
    "kml": kml.read,
    "photo_jpeg": photos.read_jpeg,
    "photo_json": photos.read_json,
    "remoteid_csv": remoteid.read,
}

# Sniffers in the order they are tried; each looks at the first bytes of the file.
_SNIFFERS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    # Binary formats with magic bytes first: they cannot be mistaken for anything else.
    ("px4_ulog", ulog.sniff),
    ("ardupilot_dataflash", dataflash.sniff_dataflash),
    ("geoparquet_store", store.sniff),
    ("mavlink_tlog", tlog.sniff_tlog),
    ("dji_txt", djitxt.sniff),
    ("dji_srt", srt.sniff),
    ("photo_jpeg", photos.sniff_jpeg),
    ("kml", kml.sniff),  # before the XML-text sniffers: a KMZ is a zip
    ("gpx", gpx.sniff),
    ("photo_json", photos.sniff_json),
    ("flightreader_csv", csvlogs.sniff_flightreader),
    # Litchi logs also have latitude, longitude and datetime(utc): tried before AirData.
    ("litchi_csv", csvlogs.sniff_litchi),
    ("remoteid_csv", remoteid.sniff),
    ("airdata_csv", airdata.sniff),
)

_HEAD_BYTES = 64 * 1024
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def detect_format(path: str | Path) -> str:
    """Return the registry name of the format of a log file.

    Parameters
    ----------
    path : str or pathlib.Path
        An existing file.

    Returns
    -------
    str
        A key of :data:`FORMATS`.

    Raises
    ------
    FlightLogError
        If the file does not exist, is not a regular file, or is empty.
    UnknownFormatError
        If no reader recognises the content.
    """
    path = Path(path)
    if not path.exists():
        raise FlightLogError(f"{path}: no such file")
    if not path.is_file():
        raise FlightLogError(f"{path}: not a regular file")
    with open(path, "rb") as fh:
        head = fh.read(_HEAD_BYTES)
    if not head.strip():
        raise FlightLogError(f"{path}: the file is empty (expected a flight log)")
    for name, sniff in _SNIFFERS:
        if sniff(head):
            return name
    if head.startswith(_WIDE_BOMS):
        # Spreadsheets save "Unicode text" as UTF-16; every text reader here expects UTF-8.
        raise UnknownFormatError(
            f"{path}: UTF-16 or UTF-32 text (byte-order mark {head[:2].hex(' ')}); "
            "expected UTF-8: save the file again as UTF-8 and read that"
        )
    columns = _csv_header(head)
    if columns is not None:
        shown = [c if len(c) <= 40 else c[:37] + "..." for c in columns[:8]]
        raise UnknownFormatError(
            f"{path}: a CSV without recognised position columns (found {', '.join(shown)}"
            f"{', ...' if len(columns) > 8 else ''}); expected 'latitude' and 'longitude' with "
            "'time(millisecond)' or 'datetime(utc)' (AirData, Litchi), 'OSD.latitude' and "
            "'OSD.longitude' (Flight Reader), or a Remote ID log with 'UAS ID'"
        )
    raise UnknownFormatError(
        f"{path}: unknown flight-log format (expected one of {', '.join(sorted(FORMATS))}); "
        "pass format=... to force a reader"
    )


def _csv_header(head: bytes) -> list[str] | None:
    """Column names if the first line looks like a CSV header of printable text, else None."""
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].strip()
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "," not in text or not text.isprintable() or text.startswith(("[", "{", "<")):
        return None  # JSON or XML, not a CSV header
    return [c.strip() for c in text.split(",")]

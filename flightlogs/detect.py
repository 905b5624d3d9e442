"""Recognise a flight log's format from its content (the extension is only a tie-breaker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flightlogs import airdata, djitxt, srt
from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError, UnknownFormatError

__all__ = ["FORMATS", "detect_format"]

#: Registry: format name → function that parses a file into :class:`~flightlogs.core.ParsedLog`s.
FORMATS: dict[str, Callable[[Path], list[ParsedLog]]] = {
    "airdata_csv": airdata.read,
    "dji_srt": srt.read,
    "dji_txt": djitxt.read,
}

# Sniffers in the order they are tried; each looks at the first bytes of the file.
_SNIFFERS: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    ("dji_txt", djitxt.sniff),
    ("dji_srt", srt.sniff),
    ("airdata_csv", airdata.sniff),
)

_HEAD_BYTES = 64 * 1024


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
    columns = _csv_header(head)
    if columns is not None:
        raise UnknownFormatError(
            f"{path}: a CSV without recognised position columns (found {', '.join(columns[:8])}"
            f"{', ...' if len(columns) > 8 else ''}); expected 'latitude' and 'longitude' with "
            "'time(millisecond)' or 'datetime(utc)' as in an AirData export"
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
    if "," not in text or not text.isprintable():
        return None
    return [c.strip() for c in text.split(",")]

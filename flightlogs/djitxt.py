"""DJI flight records (``DJIFlightRecord_*.txt``): recognised, and refused with a way out.

Despite the extension these are binary files. Every version starts with a little-endian prefix:
bytes 0-7 the offset of the details area (version < 12) or of the records (version >= 13),
bytes 8-9 the length of the details area, byte 10 the format version. From version 6 on the
prefix is 100 bytes long and bytes 20-99 are reserved (zero); before that it is 12 bytes and the
records follow at once, each framed as ``type, length, payload, 0xFF``.

From version 13 (DJI GO 4 with Mobile SDK 4.12, DJI Fly, DJI Pilot) the records are AES
encrypted with keys that DJI hands out per file through an online service that needs a developer
account. This package works offline, so it cannot read them: :func:`read` says so and points to
the two exports it reads instead (AirData CSV, Flight Reader CSV). Older, unencrypted versions are
not decoded yet either.
"""

from __future__ import annotations

from pathlib import Path

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError

__all__ = ["FIRST_ENCRYPTED_VERSION", "read", "sniff"]

#: First flight-record version whose records are encrypted.
FIRST_ENCRYPTED_VERSION = 13

_PREFIX = 100
_OLD_PREFIX = 12
_FIRST_LONG_PREFIX_VERSION = 6
# No known version is above 20; the bound only keeps the sniffer from claiming other binaries.
_MAX_VERSION = 40
_MAX_OFFSET = 1 << 40
_EXPORT = (
    "Export it as an AirData CSV (airdata.com, 'CSV - Original') or a Flight Reader CSV "
    "(Flight Reader or PhantomHelp's log viewer, which decode it with DJI's key service) and "
    "read that instead; both are read by this package."
)


def _version(head: bytes) -> int | None:
    """Return the record version if ``head`` starts like a DJI flight record, else None."""
    if len(head) < _OLD_PREFIX:
        return None
    offset = int.from_bytes(head[:8], "little")
    version = head[10]
    if not (1 <= version <= _MAX_VERSION) or not (_OLD_PREFIX <= offset < _MAX_OFFSET):
        return None
    if version >= _FIRST_LONG_PREFIX_VERSION:
        if len(head) < _PREFIX or any(head[20:_PREFIX]):
            return None
        return version
    # Old short prefix: check the framing of the first record instead.
    if len(head) < _OLD_PREFIX + 2:
        return None
    end = _OLD_PREFIX + 2 + head[_OLD_PREFIX + 1]
    return version if end < len(head) and head[end] == 0xFF else None


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file look like a DJI flight record.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True when the prefix is that of a DJI flight record of a known layout.

    Examples
    --------
    >>> prefix = (809).to_bytes(8, "little") + (436).to_bytes(2, "little") + bytes([14, 2])
    >>> sniff(prefix + bytes(88) + b"records")
    True
    >>> sniff(b"1\n00:00:00,000 --> 00:00:01,000\n")
    False
    """
    return _version(head) is not None


def read(path: Path) -> list[ParsedLog]:
    """Refuse a DJI flight record with a message that says why and what to do instead.

    Parameters
    ----------
    path : pathlib.Path
        The ``.txt`` flight record.

    Returns
    -------
    list of ParsedLog
        Never returns: no version is decoded yet.

    Raises
    ------
    FlightLogError
        Always: naming the version, whether it is encrypted, and the export to use.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PREFIX)
    except OSError as exc:
        raise FlightLogError(f"{path}: cannot be opened ({exc.strerror})") from None
    version = _version(head)
    if version is None:
        raise FlightLogError(
            f"{path}: not a DJI flight record (expected a binary prefix with a format version "
            "at byte 10)"
        )
    if version >= FIRST_ENCRYPTED_VERSION:
        raise FlightLogError(
            f"{path}: DJI flight record version {version} is encrypted; its keys are only "
            "issued by DJI's online service, so it cannot be read offline. " + _EXPORT
        )
    raise FlightLogError(
        f"{path}: DJI flight record version {version} (unencrypted) is not supported yet. "
        + _EXPORT
    )

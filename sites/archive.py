"""Look inside zip archives (zipped Shapefiles, KMZ, zipped geozone files) without extracting them.

Nothing is written to disk: vector data is read by GDAL through its ``/vsizip/`` file system,
JSON members are read into memory. Before either, the archive's directory is checked, so that a
hostile or broken archive is refused with a clear message instead of filling memory or disk:

- at most :data:`MAX_MEMBERS` entries, none encrypted, no absolute or ``..`` member names;
- at most :data:`MAX_UNCOMPRESSED_BYTES` uncompressed in total;
- no member that expands more than :data:`MAX_RATIO` times (real geodata compresses 3-20×; a
  "zip bomb" expands thousands of times);
- a member is read with a hard cap, whatever its header claims.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sites.errors import SiteDataError

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "list_members",
    "read_head",
    "read_member",
    "vsizip_path",
]

MAX_MEMBERS = 10_000
MAX_UNCOMPRESSED_BYTES = 2 * 1024**3
MAX_RATIO = 1_000
#: What Python's zipfile raises on a damaged archive, besides BadZipFile: a member of an
#: unknown version or compression, a truncated extra field, a damaged deflate stream, ...
_ZIP_ERRORS = (
    zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
    IndexError, RuntimeError, struct.error,
)


def list_members(path: Path) -> list[str]:
    """Check a zip archive and return the names of its files.

    Parameters
    ----------
    path : pathlib.Path
        The archive.

    Returns
    -------
    list of str
        Member names (directories left out), in archive order.

    Raises
    ------
    SiteDataError
        If the file is not a readable zip archive or breaks one of the limits above.

    Examples
    --------
    >>> import io, tempfile, zipfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "a.zip")
    ...     with zipfile.ZipFile(p, "w") as z:
    ...         z.writestr("zones/a.json", "{}")
    ...     list_members(p)
    ['zones/a.json']
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise SiteDataError(f"{path}: not a readable zip archive ({exc})") from None
    problems = []
    if len(infos) > MAX_MEMBERS:
        problems.append(f"{len(infos)} entries (at most {MAX_MEMBERS} accepted)")
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        problems.append(
            f"{total} bytes uncompressed (at most {MAX_UNCOMPRESSED_BYTES} accepted)"
        )
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            problems.append(f"member {info.filename!r} has an unsafe path")
        if info.flag_bits & 0x1:
            problems.append(f"member {info.filename!r} is encrypted")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1):
            problems.append(
                f"member {info.filename!r} expands {info.file_size} bytes from "
                f"{info.compress_size} (more than {MAX_RATIO}x: refused as a zip bomb)"
            )
    if problems:
        raise SiteDataError(f"{path}: " + "; ".join(problems))
    # (ZipInfo.is_dir fails on an empty member name; a directory's name ends with "/")
    return [i.filename for i in infos if not i.filename.endswith("/")]


def read_member(path: Path, member: str, *, max_bytes: int = 512 * 1024**2) -> bytes:
    """Read one member of a checked archive into memory, refusing more than ``max_bytes``.

    Parameters
    ----------
    path : pathlib.Path
        The archive (check it with :func:`list_members` first).
    member : str
        The member's name.
    max_bytes : int
        Most bytes accepted once decompressed.

    Returns
    -------
    bytes
        The member's content.

    Raises
    ------
    SiteDataError
        If the member is missing, damaged or larger than ``max_bytes``.
    """
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            data = stream.read(max_bytes + 1)
    except KeyError:
        raise SiteDataError(f"{path}: no member {member!r}") from None
    except _ZIP_ERRORS as exc:
        raise SiteDataError(f"{path}: cannot read member {member!r} ({exc})") from None
    if len(data) > max_bytes:
        raise SiteDataError(
            f"{path}: member {member!r} is larger than {max_bytes} bytes once decompressed"
        )
    return data


def read_head(path: Path, member: str, size: int = 1 << 20) -> bytes:
    """Read at most the first ``size`` bytes of a member (to tell its format).

    Raises
    ------
    SiteDataError
        If the member is missing or damaged.
    """
    try:
        with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
            return stream.read(size)
    except KeyError:
        raise SiteDataError(f"{path}: no member {member!r}") from None
    except _ZIP_ERRORS as exc:
        raise SiteDataError(f"{path}: cannot read member {member!r} ({exc})") from None


def vsizip_path(path: Path, member: str | None = None) -> str:
    """GDAL's name for an archive, or for one member inside it.

    Examples
    --------
    >>> vsizip_path(Path("/data/zones.zip"), "zones/zones.shp")
    '/vsizip//data/zones.zip/zones/zones.shp'
    """
    base = f"/vsizip/{path.resolve().as_posix()}"
    return f"{base}/{member}" if member else base

"""Writing result directories so that a failed or killed run never leaves a half-written file.

Every output of a run is first written into a hidden staging directory (``.staging-*``) inside
the output directory. When all of them are complete they are flushed to disk, a commit list
naming them is written (atomically), and only then are they moved into place, each with an
atomic ``os.replace``. So:

- a run that fails, or is killed, before the commit list exists leaves the previous outputs
  untouched; its staging directory is removed by the next run into the same directory;
- a run killed while moving (a few milliseconds) leaves some new and some previous files, every
  one of them complete; the next run into the directory, or :func:`recover_staged`, finishes
  the moves from the commit list first, so the directory then holds the new outputs only.

A staging directory is named after the process writing it (``.staging-<pid>-*``) and locked
by it (``flock`` on the directory, released by the kernel when the process dies, even by
SIGKILL); one whose process is alive is left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

try:  # POSIX: a lock held by a process is released by the kernel when it dies, even by SIGKILL
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "GPKG_LAST_CHANGE",
    "fix_gpkg_time",
    "recover_staged",
    "staged_outputs",
    "write_table",
]

_PREFIX = ".staging-"
_COMMIT = ".commit"
#: Marks a commit-list line that removes an earlier output instead of moving a new one in.
_REMOVE = "-"
_OWNER = re.compile(r"^\.staging-(\d+)-")
#: A staging directory whose name does not say which process made it is left alone for this
#: long (s), in case it belongs to a run that has just created it.
_YOUNG_S = 60.0
#: ``last_change`` written into GeoPackages (ISO 8601): fixed, so that the same inputs give the
#: same bytes; when the run happened is in ``manifest.json``. ``SOURCE_DATE_EPOCH`` (the
#: reproducible-builds convention) overrides it.
GPKG_LAST_CHANGE = "1970-01-01T00:00:00.000Z"


def _lock(stage: Path) -> int | None:
    """Lock a staging directory; its descriptor, or None when a live process holds it."""
    try:
        fd = os.open(stage, os.O_RDONLY)
    except OSError:  # removed meanwhile by another process's recovery
        return None
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _abandoned(stage: Path) -> bool:
    """Tell whether no live process can still be writing a staging directory."""
    owner = _OWNER.match(stage.name)
    if owner is None:
        return time.time() - stage.stat().st_mtime > _YOUNG_S
    pid = int(owner.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, but another user's
        return False
    return False


def _commit(stage: Path, out: Path, names: list[str]) -> None:
    """Carry out a commit list: move each named output in, remove each ``-name`` from ``out``.

    Every step may be repeated (a file already moved or removed is skipped), so a list cut
    short by a crash is finished by carrying it out again.
    """
    for name in names:
        if name.startswith(_REMOVE):
            (out / name[len(_REMOVE) :]).unlink(missing_ok=True)
        elif (stage / name).exists():
            os.replace(stage / name, out / name)


def recover_staged(out_dir: str | Path) -> list[str]:
    """Finish or discard what killed runs left in a result directory.

    A staging directory with a commit list is a run killed while moving its outputs: the moves
    are finished. One without is a run killed before its outputs were complete: it is removed.
    Directories locked by a live run are left alone.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        A result directory (nothing happens if it does not exist).

    Returns
    -------
    list of str
        What was done, one line per staging directory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     left = pathlib.Path(d, ".staging-999999999-abc")  # no such process
    ...     left.mkdir()
    ...     _ = (left / "passes.csv").write_text("half a ta")
    ...     done = recover_staged(d)
    ...     sorted(p.name for p in pathlib.Path(d).iterdir())
    []
    """
    out = Path(out_dir)
    done: list[str] = []
    if not out.is_dir():
        return done
    for stage in sorted(out.glob(_PREFIX + "*")):
        if not stage.is_dir() or not _abandoned(stage):
            continue
        fd = _lock(stage)
        if fd is None:
            continue
        try:
            commit = stage / _COMMIT
            if commit.exists():
                names = commit.read_text(encoding="utf-8").splitlines()
                _commit(stage, out, names)
                done.append(f"{stage.name}: finished moving {len(names)} outputs")
            else:
                done.append(f"{stage.name}: removed the outputs of an unfinished run")
            shutil.rmtree(stage, ignore_errors=True)
        finally:
            os.close(fd)
    return done


def _flush(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


@contextmanager
def staged_outputs(out_dir: str | Path, *, remove: Iterable[str] = ()) -> Iterator[Path]:
    """Yield a staging directory; on success move its files into ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The result directory; created if missing.
    remove : iterable of str
        Earlier outputs in ``out_dir`` that the new ones make stale (tables derived from the
        previous results): removed in the same commit, so that no crash leaves them beside the
        new outputs. A name the run also writes is replaced, not removed.

    Yields
    ------
    pathlib.Path
        Where to write the outputs (flat: no subdirectories; names starting with ``.`` or ``-``
        are reserved).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recover_staged(out)
    stage = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=out))
    fd = _lock(stage)
    committed = False
    try:
        yield stage
        names = sorted(f.name for f in stage.iterdir() if f.name != _COMMIT)
        # Flushed before the commit list exists: after a crash, a listed file is complete.
        for name in names:
            _flush(stage / name)
        listed = stage / (_COMMIT + ".tmp")
        gone = sorted(set(remove) - set(names))
        lines = [*names, *(_REMOVE + name for name in gone)]
        listed.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _flush(listed)
        os.replace(listed, stage / _COMMIT)
        committed = True
        _commit(stage, out, lines)
    except BaseException:
        if not committed:
            shutil.rmtree(stage, ignore_errors=True)
        # else the moves failed half way: the directory stays for recover_staged
        raise
    else:
        shutil.rmtree(stage, ignore_errors=True)
    finally:
        if fd is not None:
            os.close(fd)


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = (
                out[col]
                .dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                .str.replace(r"\.000000Z$", "Z", regex=True)
            )
    return out


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a result table in the format its extension names.

    ``.csv``: no geometry, ISO-8601 UTC times, NA as an empty cell; ``.gpkg``: a GeoPackage
    layer named after the file; ``.parquet``: GeoParquet.
    """
    if path.suffix == ".csv":
        _csv_ready(frame).to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    elif path.suffix == ".gpkg":
        gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=frame.crs)
        for col in gdf.columns:
            if isinstance(gdf[col].dtype, pd.DatetimeTZDtype):
                gdf[col] = gdf[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        gdf.to_file(path, layer=path.stem, driver="GPKG", engine="pyogrio")
        fix_gpkg_time(path)
    elif path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        raise ValueError(f"{path}: unsupported table format (expected .csv, .gpkg or .parquet)")


def fix_gpkg_time(path: Path) -> None:
    """Replace the write time GDAL stamps into a GeoPackage with :data:`GPKG_LAST_CHANGE`.

    GDAL records the wall-clock time of writing in ``gpkg_contents.last_change``; without this
    two runs on the same inputs would differ in those bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    stamp = GPKG_LAST_CHANGE
    if epoch.isdigit():
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(epoch)))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE gpkg_contents SET last_change = ?", (stamp,))
    db.close()

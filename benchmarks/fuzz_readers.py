"""Fuzz the binary readers for a bounded time and report executions and crashes.

Each reader (PX4 ULog, MAVLink tlog, ArduPilot DataFlash, the GeoParquet store, JPEG photos,
zipped Shapefile, KMZ as a flight log and as a site file) is fed mutated copies of valid files
for ``--seconds`` seconds, by one of two engines:

``atheris`` (the default when installed: the ``fuzz`` extra, ``pip install -e '.[fuzz]'``)
    Coverage-guided: libFuzzer mutates the seeds and keeps the inputs that reach new lines of
    the readers and of the libraries they call (pyulog, pymavlink, gpxpy, ... are
    instrumented).
``loop``
    A seeded mutation loop: bit flips, bytes set to boundary values, 32-bit fields set to
    0 / -1 / 2**31-1, inserted junk, deleted or repeated spans, truncation, splices of two
    seeds; for archives, half the time one member is damaged and zipped again, so that the
    readers behind the archive checks see damaged content. Repeatable: the same ``--seed``
    gives the same inputs.

An execution ends in one of:

- ``read``: the reader returned tables;
- ``refused``: it raised the package's own error (``FlightLogError`` / ``SiteDataError``);
- ``crash``: any other exception, or a warning (which would reach the terminal as noise);
- ``hang``: it ran longer than ``--timeout`` seconds;
- ``died``: the process was killed by a signal (a segfault in a compiled library).

Each reader runs in its own child process, so that a segfault is caught and the input that
caused it kept; crashing inputs are written to ``--crashes`` (default
``$TMPDIR/exposure-fuzz-crashes/``) for reproduction.

Usage: python benchmarks/fuzz_readers.py [--seconds 60] [--engine atheris|loop] [--seed 1]
[--readers ulog,tlog]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BAD = ROOT / "tests" / "data" / "bad"

BOUNDARY_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
BOUNDARY_INTS = (0, 1, -1, 0x7FFFFFFF, -0x80000000, 0xFFFF, 0x10000)


def _read_log(fmt: str) -> Callable[[Path], Any]:
    import flightlogs

    def read(path: Path) -> Any:
        return flightlogs.read_flight_log(path, format=fmt)

    return read


def _read_site(path: Path) -> Any:
    import sites

    return sites.read_any(path)


def _read_kml_sites(path: Path) -> Any:
    import sites

    return sites.read_sites(path, category="military")


def _seeds(reader: str) -> list[bytes]:
    logs = SHARED / "flightlogs"
    if reader == "ulog":
        # Prefixes keep an execution short: pyulog parses the whole file on every run.
        data = (logs / "px4" / "sample_log_small.ulg").read_bytes()
        return [data[:120_000], (BAD / "logs/binary/ulog-truncated-100k.ulg").read_bytes()]
    if reader == "tlog":
        data = (logs / "ardupilot" / "vtol.tlog").read_bytes()
        return [data[:65_536], data[200_000:265_536]]
    if reader == "dataflash":
        return [(BAD / "logs/binary/dataflash-baseline.bin").read_bytes()]
    if reader == "store":
        return [(BAD / "logs/binary/store-baseline.parquet").read_bytes()]
    if reader == "jpeg":
        return [
            (logs / "photos" / "tiny_drone_image.jpg").read_bytes(),
            (BAD / "logs/photos/photo-gps-999.jpg").read_bytes(),
        ]
    if reader == "shapefile_zip":
        return [(BAD / "sites/zip/shp-baseline.zip").read_bytes()]
    if reader in ("kmz_log", "kmz_sites"):
        doc = (BAD / "logs/kml/kml-baseline.kml").read_bytes()
        kml_site = (
            b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            b"<Placemark><name>Base</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
            b"139.7,35.6 139.71,35.6 139.71,35.61 139.7,35.6</coordinates></LinearRing>"
            b"</outerBoundaryIs></Polygon></Placemark></Document></kml>"
        )
        return [_zipped("doc.kml", doc if reader == "kmz_log" else kml_site)]
    raise SystemExit(f"unknown reader {reader!r}")


def _zipped(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 5, 1, 0, 0, 0)), data)
    return buf.getvalue()


READERS: dict[str, tuple[str, Callable[[], Callable[[Path], Any]]]] = {
    "ulog": (".ulg", lambda: _read_log("px4_ulog")),
    "tlog": (".tlog", lambda: _read_log("mavlink_tlog")),
    "dataflash": (".bin", lambda: _read_log("ardupilot_dataflash")),
    "store": (".parquet", lambda: _read_log("geoparquet_store")),
    "jpeg": (".jpg", lambda: _read_log("photo_jpeg")),
    "kmz_log": (".kmz", lambda: _read_log("kml")),
    "shapefile_zip": (".zip", lambda: _read_site),
    "kmz_sites": (".kmz", lambda: _read_kml_sites),
}


def mutate(rng: random.Random, seeds: list[bytes]) -> bytes:
    """One to eight random mutations of a random seed."""
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 8)):
        n = len(data)
        at = rng.randrange(n) if n else 0
        kind = rng.randrange(8)
        if kind == 0 and n:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1 and n:
            data[at] = rng.choice(BOUNDARY_BYTES)
        elif kind == 2 and n >= 4:
            at = min(at, n - 4)
            value = rng.choice(BOUNDARY_INTS) & 0xFFFFFFFF
            data[at : at + 4] = value.to_bytes(4, rng.choice(("little", "big")))
        elif kind == 3:
            data[at:at] = rng.randbytes(rng.randint(1, 32))
        elif kind == 4:
            del data[at : at + rng.randint(1, 256)]
        elif kind == 5:
            span = bytes(data[at : at + rng.randint(1, 512)])
            data[at:at] = span * rng.randint(1, 4)
        elif kind == 6:
            del data[at:]
        elif kind == 7:
            other = rng.choice(seeds)
            cut = rng.randrange(len(other)) if other else 0
            data[at:] = other[cut:]
    return bytes(data)


def mutate_inside_zip(rng: random.Random, seeds: list[bytes]) -> bytes:
    """Mutate one member of a zip seed and zip it again (valid CRCs, damaged content).

    Byte damage to a zip mostly breaks its checksums, so the readers behind the archive code
    would rarely see anything; this feeds them damaged content in a sound archive.
    """
    source = zipfile.ZipFile(io.BytesIO(rng.choice(seeds)))
    members = [(i.filename, source.read(i)) for i in source.infolist()]
    k = rng.randrange(len(members))
    members[k] = (members[k][0], mutate(rng, [members[k][1]]))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, date_time=(2024, 5, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _signature(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:120]}"


class _Hang(Exception):
    pass


def child(reader: str, seconds: float, seed: int, timeout: int, work: Path) -> dict[str, Any]:
    """Fuzz one reader in this process; return the counts and crash signatures."""
    import flightlogs
    import sites

    own = (flightlogs.FlightLogError, sites.SiteDataError)
    suffix, factory = READERS[reader]
    read = factory()
    seeds = _seeds(reader)
    for data in seeds:  # the seeds must read, or the fuzzing proves little
        path = work / f"seed{suffix}"
        path.write_bytes(data)
        read(path)
    rng = random.Random(seed)
    outcomes: Counter[str] = Counter()
    crashes: dict[str, str] = {}

    def expire(signum: int, frame: object) -> None:
        raise _Hang

    signal.signal(signal.SIGALRM, expire)
    path = work / f"input{suffix}"
    last = work / "last-input"
    end = time.monotonic() + seconds
    zipped = suffix in (".zip", ".kmz")
    while time.monotonic() < end:
        inside = zipped and rng.random() < 0.5
        data = mutate_inside_zip(rng, seeds) if inside else mutate(rng, seeds)
        path.write_bytes(data)
        last.write_bytes(data)  # kept for the parent if the process dies
        signal.alarm(timeout)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                read(path)
            outcomes["read"] += 1
        except own:
            outcomes["refused"] += 1
        except _Hang:
            outcomes["hang"] += 1
            crashes.setdefault(f"hang > {timeout} s", _save(work, reader, "hang", data))
        except Exception as exc:  # classifying every other failure is the point
            outcomes["crash"] += 1
            sig = _signature(exc)
            if sig not in crashes:
                crashes[sig] = _save(work, reader, f"crash{len(crashes)}", data)
        finally:
            signal.alarm(0)
    return {"outcomes": dict(outcomes), "crashes": crashes}


def _save(work: Path, reader: str, tag: str, data: bytes) -> str:
    folder = Path(os.environ.get("FUZZ_CRASHES", work))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{reader}-{tag}{READERS[reader][0]}"
    path.write_bytes(data)
    return str(path)


#: Modules whose lines atheris watches: the readers and the parsers they hand bytes to.
_INSTRUMENTED = ["flightlogs", "sites", "pyulog", "pymavlink", "gpxpy", "defusedxml"]


def child_atheris(reader: str, seconds: float, seed: int, timeout: int, work: Path) -> None:
    """Fuzz one reader with atheris (libFuzzer) in this process; libFuzzer reports the runs."""
    import atheris

    with atheris.instrument_imports(include=_INSTRUMENTED):
        import flightlogs
        import sites

    own = (flightlogs.FlightLogError, sites.SiteDataError)
    suffix, factory = READERS[reader]
    read = factory()
    corpus = work / "corpus"
    corpus.mkdir()
    seeds = _seeds(reader)
    for k, data in enumerate(seeds):
        (corpus / f"seed{k}{suffix}").write_bytes(data)
    path = work / f"input{suffix}"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                read(path)
            except own:
                pass

    crashes = Path(os.environ.get("FUZZ_CRASHES", work))
    crashes.mkdir(parents=True, exist_ok=True)
    atheris.Setup(
        [
            sys.argv[0],
            str(corpus),
            f"-max_total_time={max(int(seconds), 1)}",
            f"-timeout={timeout}",
            f"-seed={seed}",
            f"-max_len={max(len(d) for d in seeds) * 2}",
            f"-artifact_prefix={crashes}/{reader}-",
            "-print_final_stats=1",
        ],
        one_input,
    )
    (work / "fuzzing-since").write_text(repr(time.monotonic()))
    atheris.Fuzz()


def _libfuzzer_runs(output: str) -> int:
    found = [int(m) for m in re.findall(r"stat::number_of_executed_units: (\d+)", output)]
    found += [int(m) for m in re.findall(r"^#(\d+)\s", output, flags=re.M)]
    found += [int(m) for m in re.findall(r"Done (\d+) runs", output)]
    return max(found, default=0)


def run_reader_atheris(
    reader: str, seconds: float, seed: int, timeout: int, crashes: Path
) -> dict:
    """Fuzz one reader with atheris until the time is up, restarting after each crash."""
    total: Counter[str] = Counter()
    total["fuzz_seconds"] = 0
    found: dict[str, str] = {}
    start = time.monotonic()
    round_ = 0
    # The budget is fuzzing time: starting Python and instrumenting the readers again after a
    # crash does not eat into it.
    while (left := seconds - total["fuzz_seconds"]) > 2 and round_ < 50:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [sys.executable, __file__, "--engine", "atheris", "--child", reader,
                 "--seconds", f"{left:.0f}", "--seed", str(seed + round_), "--timeout",
                 str(timeout), "--work", tmp],
                capture_output=True,
                text=True,
                env={**os.environ, "FUZZ_CRASHES": str(crashes)},
            )
            # From the moment the child handed over to libFuzzer (CLOCK_MONOTONIC is shared).
            began = Path(tmp) / "fuzzing-since"
            if began.exists():
                total["fuzz_seconds"] += time.monotonic() - float(began.read_text())
        output = proc.stdout + proc.stderr
        total["executions"] += _libfuzzer_runs(output)
        if proc.returncode != 0:
            kind = "hang" if "ALARM: working on the last Unit" in output else "crash"
            total[kind] += 1
            lines = [ln for ln in output.splitlines() if ln.strip()]
            cause = next((ln for ln in lines if re.match(r"^\w+(Error|Exception|Warning)", ln)),
                         lines[-1] if lines else "?")
            artifact = re.search(r"Test unit written to (\S+)", output)
            found[f"{kind}: {cause.strip()[:160]}"] = artifact.group(1) if artifact else "?"
        round_ += 1
    # Fuzzing time proper; the rest is starting Python and instrumenting the readers.
    elapsed = total.pop("fuzz_seconds", 0) or time.monotonic() - start
    runs = total.pop("executions", 0)
    return {"reader": reader, "seconds": round(elapsed, 1), "executions": runs,
            "per_second": round(runs / elapsed, 1), "outcomes": dict(total), "crashes": found}


def run_reader(reader: str, seconds: float, seed: int, timeout: int, crashes: Path) -> dict:
    """Fuzz one reader in child processes until the time is up; restart after a hard crash."""
    total: Counter[str] = Counter()
    found: dict[str, str] = {}
    start = time.monotonic()
    round_ = 0
    while (left := seconds - (time.monotonic() - start)) > 1:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run(
                [sys.executable, __file__, "--engine", "loop", "--child", reader,
                 "--seconds", f"{left:.1f}",
                 "--seed", str(seed + round_), "--timeout", str(timeout), "--work", tmp],
                capture_output=True,
                text=True,
                env={**os.environ, "FUZZ_CRASHES": str(crashes)},
            )
            if proc.returncode == 0:
                result = json.loads(proc.stdout.strip().splitlines()[-1])
                total.update(result["outcomes"])
                found.update(result["crashes"])
            else:
                total["died"] += 1
                last = Path(tmp) / "last-input"
                data = last.read_bytes() if last.exists() else b""
                crashes.mkdir(parents=True, exist_ok=True)
                kept = crashes / f"{reader}-died{round_}{READERS[reader][0]}"
                kept.write_bytes(data)
                found[f"process died ({proc.returncode}): {proc.stderr.strip()[-200:]}"] = str(
                    kept
                )
        round_ += 1
    elapsed = time.monotonic() - start
    runs = sum(total.values())
    return {"reader": reader, "seconds": round(elapsed, 1), "executions": runs,
            "per_second": round(runs / elapsed, 1), "outcomes": dict(total), "crashes": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="time per reader")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=10, help="seconds before a hang")
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument(
        "--engine",
        choices=("atheris", "loop"),
        default="atheris" if importlib.util.find_spec("atheris") else "loop",
    )
    parser.add_argument(
        "--crashes", type=Path, default=Path(tempfile.gettempdir()) / "exposure-fuzz-crashes"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child and args.engine == "atheris":
        child_atheris(args.child, args.seconds, args.seed, args.timeout, args.work)
        return
    if args.child:
        result = child(args.child, args.seconds, args.seed, args.timeout, args.work)
        print(json.dumps(result))
        return
    print(f"engine: {args.engine}, {args.seconds:g} s per reader", flush=True)
    run = run_reader_atheris if args.engine == "atheris" else run_reader
    reports = []
    for reader in args.readers.split(","):
        report = run(reader, args.seconds, args.seed, args.timeout, args.crashes)
        reports.append(report)
        o = report["outcomes"]
        split = (
            f"read {o.get('read', 0)}, refused {o.get('refused', 0)}, "
            if args.engine == "loop"
            else ""
        )
        print(
            f"{reader:14s} {report['executions']:7d} executions in {report['seconds']:6.1f} s "
            f"({report['per_second']:7.1f}/s): {split}crash {o.get('crash', 0)}, "
            f"hang {o.get('hang', 0)}, died {o.get('died', 0)}",
            flush=True,
        )
        for sig, where in report["crashes"].items():
            print(f"    {sig}\n      input: {where}", flush=True)
    bad = sum(sum(r["outcomes"].get(k, 0) for k in ("crash", "hang", "died")) for r in reports)
    print(f"total: {sum(r['executions'] for r in reports)} executions, {bad} crashes")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

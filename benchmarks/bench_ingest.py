"""Ingest speed: the AirData reader against ``pandas.read_csv`` of the same file, in one run.

Writes an AirData-style CSV with the header of the real export in ``../shared/data`` (10 million
rows by default; about 3 GB), once, into a cache directory, and reuses it on later runs. Then it
times, each in a fresh subprocess so that peak memory is that of one reader alone:

- baseline: ``pandas.read_csv(path)`` with default options (every column);
- parse: ``flightlogs.airdata.read(path)``, the reader's own stage: parse, unit conversion,
  time reconstruction and clock checks, up to the rows handed to row rejection;
- reader: ``flightlogs.read_flight_log(path)``, the whole path: the parse stage, then the
  file's SHA-256, row rejection and the canonical GeoDataFrames with Point geometry.

Each is run ``--repeat`` times (default 2), alternating, and its fastest run is reported. It
prints rows/s for both, their ratio (reader / baseline; above 1 means the reader is faster)
and the peak resident memory of each process (``resource.getrusage(...).ru_maxrss``), next to
that of a process that only imports the same modules, so the import cost can be told apart.

Usage::

    .venv/bin/python benchmarks/bench_ingest.py              # 10 million rows
    .venv/bin/python benchmarks/bench_ingest.py --rows 200000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REAL = (
    ROOT.parent / "shared" / "data" / "flightlogs" / "airdata"
    / "Sep-5th-2021-07-23PM-Flight-Airdata.csv"
)
_CHUNK = 500_000


def _template() -> tuple[list[str], list[str]]:
    """Header and one mid-flight data row of the real export (as text cells)."""
    with open(REAL, encoding="utf-8-sig") as fh:
        lines = fh.read().splitlines()
    return lines[0].split(","), lines[5000].split(",")


def generate(path: Path, rows: int, *, seed: int = 0) -> None:
    """Write an AirData-style CSV of ``rows`` samples at 10 Hz (atomically)."""
    header, template = _template()
    names = [h.strip() for h in header]
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".partial")
    start = pd.Timestamp("2024-05-01T00:00:00")
    lat0, lon0 = 35.68, 139.76
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(",".join(header) + "\n")
        for first in range(0, rows, _CHUNK):
            n = min(_CHUNK, rows - first)
            idx = np.arange(first, first + n)
            ms = idx * 100
            # A slow random walk (about 5 m/s) so that no row looks like a glitch.
            t = idx / 10.0
            cols = {name: np.full(n, cell, dtype=object) for name, cell in zip(
                names, template, strict=True)}
            cols["time(millisecond)"] = ms
            cols["datetime(utc)"] = (start + pd.to_timedelta(ms // 1000, unit="s")).strftime(
                "%Y-%m-%d %H:%M:%S"
            )
            cols["latitude"] = np.round(lat0 + 1e-4 * np.sin(t / 300.0), 12)
            cols["longitude"] = np.round(lon0 + 1e-4 * np.cos(t / 300.0), 12)
            height = 200.0 + 50.0 * np.sin(t / 120.0)
            cols["height_above_takeoff(feet)"] = np.round(height, 5)
            cols["altitude_above_seaLevel(feet)"] = np.round(height + 17.4, 5)
            cols["compass_heading(degrees)"] = np.round((t * 3.0) % 360.0, 1)
            cols["gimbal_heading(degrees)"] = np.round((t * 3.0 + 10.0) % 360.0, 1)
            cols["gimbal_pitch(degrees)"] = np.round(-45.0 + 40.0 * np.sin(t / 60.0), 1)
            cols["isVideo"] = (rng.random(n) < 0.3).astype(int)
            cols["isPhoto"] = 0
            frame = pd.DataFrame({i: cols[name] for i, name in enumerate(names)})
            frame.to_csv(fh, header=False, index=False, lineterminator="\n")
    os.replace(tmp, path)


_SETUP = (
    "import pandas, geopandas, flightlogs; from pathlib import Path; "
    "from flightlogs import airdata"
)
_MEASURE = {
    "imports": "n = 0",
    "pandas": "n = len(pandas.read_csv(PATH))",
    "parse": "n = len(airdata.read(Path(PATH))[0].rows)",
    "reader": "s, f = flightlogs.read_flight_log(PATH); n = int(f.n_read.iloc[0])",
}


def _child(kind: str, path: str) -> None:
    """Run one measurement in this process and print it as JSON."""
    code = _MEASURE[kind].replace("PATH", repr(path))
    scope: dict[str, object] = {}
    exec(_SETUP, scope)  # imports are not part of the timing (they are of the memory peak)
    t0 = time.perf_counter()
    exec(code, scope)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rows": scope.get("n"), "peak_mib": _peak_mib()}))


def _peak_mib() -> float:
    """Peak resident memory of this process in MiB.

    ``VmHWM`` belongs to the process image, so it starts afresh at ``exec``; ``ru_maxrss`` is
    kept across ``exec`` on Linux and would report the parent's peak (the generator's).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(kind: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (fastest is kept)")
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "exposure-bench-ingest"
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"airdata_{args.rows}.csv"
    if not path.exists():
        t0 = time.perf_counter()
        generate(path, args.rows)
        print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - t0:.0f} s")
    else:
        print(f"reusing {path} ({path.stat().st_size / 1e9:.2f} GB)")
    imports = _measure("imports", path)
    # Alternate the two so that a burst of load on the (shared) machine hits both; keep each
    # one's fastest run. Peak memory does not depend on the load.
    runs: dict[str, list[dict[str, float]]] = {"pandas": [], "parse": [], "reader": []}
    for _ in range(args.repeat):
        for kind in runs:
            runs[kind].append(_measure(kind, path))
    base, parse, reader = (
        min(runs[k], key=lambda m: m["seconds"]) for k in ("pandas", "parse", "reader")
    )
    for name, m in (
        ("pandas.read_csv", base),
        ("airdata.read", parse),
        ("read_flight_log", reader),
    ):
        print(f"{name:16s} {m['rows']:>11,} rows  {m['seconds']:8.2f} s  "
              f"{m['rows'] / m['seconds'] / 1e6:6.2f} M rows/s  peak {m['peak_mib']:8.0f} MiB")
    print(f"{'imports only':16s} {'':>11s}       {'':8s}   {'':6s}             peak "
          f"{imports['peak_mib']:8.0f} MiB")
    for name, m in (("airdata.read", parse), ("read_flight_log", reader)):
        speed = (m["rows"] / m["seconds"]) / (base["rows"] / base["seconds"])
        print(f"ratio {name}/pandas.read_csv: speed {speed:.2f}x, "
              f"peak memory {m['peak_mib'] / base['peak_mib']:.2f}x")


if __name__ == "__main__":
    main()

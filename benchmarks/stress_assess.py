"""Stress run: a 10-million-sample synthetic fleet through the assess path, against a memory budget.

The fleet is ``benchmarks/bench_engine.py``'s national scenario (10,000 site polygons over
Japan, 2,000 flights of 5,000 samples at 1 Hz, a few percent of them near a site). It goes the
way a user's logs go with ``exposure assess --logs STORE``: the samples are written once as a
GeoParquet store (as ``exposure ingest`` writes it), then a child process runs the ``assess``
command on it (read the store, read the sites, assess, write every table and the map,
atomically), and its peak resident memory is compared with the budget (default 4 GB).

Reported: seconds per stage, samples/s of the whole command, peak memory of the child and its
ratio to the budget, and the size of the outputs. A second, ten-times-smaller run in the same
process gives a scale ratio (time and memory per sample at 1 M against 10 M), so that the
figures mean something on another machine.

Usage: python benchmarks/stress_assess.py [--samples 10000000] [--sites 10000] [--budget-gb 4]
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench_engine():
    spec = importlib.util.spec_from_file_location("bench_engine", ROOT / "benchmarks" /
                                                  "bench_engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_inputs(folder: Path, n_samples: int, n_sites: int) -> tuple[Path, Path, float]:
    """The scenario as a store and a GeoPackage of sites; seconds it took."""
    from flightlogs import write_store
    from flightlogs.schema import make_flights, make_samples

    t = time.perf_counter()
    samples, flights, sites = _bench_engine().scenario(n_samples, n_sites)
    per_flight = samples.groupby("flight_id", observed=True).size()
    samples = make_samples(
        samples.assign(
            flight_id=samples["flight_id"].astype(str), height_ref="takeoff", source_row=1
        )
    )
    flights = make_flights(
        flights.assign(
            source_path="synthetic",
            source_format="airdata_csv",
            n_read=flights["flight_id"].map(per_flight),
            n_samples=flights["flight_id"].map(per_flight),
            n_rejected=0,
        ),
        samples=samples,
    )
    store = Path(write_store(samples, flights, folder / "fleet.parquet"))
    site_file = folder / "sites.gpkg"
    sites.to_file(site_file, driver="GPKG", engine="pyogrio")
    return store, site_file, time.perf_counter() - t


def child(store: Path, sites: Path, out: Path) -> None:
    """Run ``exposure assess`` in this process; print its time and peak memory as JSON."""
    from exposure.cli import app

    t = time.perf_counter()
    try:
        app(["assess", "--logs", str(store), "--sites", str(sites), "--out", str(out)],
            prog_name="exposure", standalone_mode=False)
    finally:
        seconds = time.perf_counter() - t
        sys.__stdout__.write(
            "\n" + json.dumps({"seconds": seconds, "peak_mb": _peak_mb()}) + "\n"
        )


def _peak_mb() -> float:
    """Peak resident memory of this process (MB).

    ``VmHWM`` where Linux has it: ``ru_maxrss`` survives ``exec``, so a child started by a
    parent that had just built ten million samples would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(n_samples: int, n_sites: int, folder: Path) -> dict[str, float]:
    store, sites, build_s = write_inputs(folder, n_samples, n_sites)
    gc.collect()  # the scenario's frames are gone before the child starts
    out = folder / "result"
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(store), str(sites), str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "120"},
    )
    if proc.returncode != 0:
        raise SystemExit(f"assess failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    manifest = json.loads((out / "manifest.json").read_text())
    outputs = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    return {
        "samples": n_samples,
        "build_s": build_s,
        "assess_s": figures["seconds"],
        "peak_mb": figures["peak_mb"],
        "store_mb": store.stat().st_size / 1e6,
        "outputs_mb": outputs / 1e6,
        "passes": manifest["counts"]["passes"],
        "sites_in_view": manifest["counts"]["sites_in_view"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000_000)
    ap.add_argument("--sites", type=int, default=10_000)
    ap.add_argument("--budget-gb", type=float, default=4.0)
    ap.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    budget_mb = args.budget_gb * 1024
    results = []
    for n in (args.samples // 10, args.samples):
        with tempfile.TemporaryDirectory() as tmp:
            r = run(n, args.sites, Path(tmp))
        results.append(r)
        print(
            f"{r['samples']:>11,} samples: inputs built in {r['build_s']:.1f} s "
            f"(store {r['store_mb']:.0f} MB); exposure assess {r['assess_s']:.1f} s "
            f"({r['samples'] / r['assess_s'] / 1e6:.2f} M samples/s), peak memory "
            f"{r['peak_mb']:,.0f} MB = {r['peak_mb'] / budget_mb:.2f} of the "
            f"{args.budget_gb:g} GB budget; outputs {r['outputs_mb']:.0f} MB, "
            f"{r['passes']:,} passes, {r['sites_in_view']:,} sites in view",
            flush=True,
        )
    small, large = results
    scale = large["samples"] / small["samples"]
    print(
        f"scale {scale:g}x: time {large['assess_s'] / small['assess_s']:.1f}x, "
        f"peak memory {large['peak_mb'] / small['peak_mb']:.1f}x"
    )
    within = large["peak_mb"] <= budget_mb
    print(f"{'within' if within else 'OVER'} the memory budget")
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()

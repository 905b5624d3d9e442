"""Benchmark the exposure engine on a seeded national-scale scenario.

10,000 site polygons and 10 million samples (2,000 flights of 5,000 samples at 1 Hz), of which a
few percent come within reach of a site. Everything is reported as ratios measured in this run:

- prefilter: samples/s of the reach grid lookup;
- engine: samples/s of ``exposure.assess`` (passes, per-site metrics, coverage grids);
- baseline: the obvious geopandas pipeline (buffer every sample by the reach in UTM, ``sjoin``
  with the sites, then per-pair shapely nadir footprints intersected with the site), timed on a
  random subsample of flights and expressed in samples/s;
- peak memory of a child process that builds the samples and runs the engine;
- Dask on a local cluster of 2 worker processes: speed-up over the in-process engine, for the
  scenario and for its worst case (every sample potential), and the overhead per partition.

Usage: python benchmarks/bench_engine.py [--samples 10000000] [--sites 10000] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exposure.cameras import load_cameras
from exposure.engine import assess
from exposure.footprint import nadir_half_sizes
from exposure.prefilter import ReachIndex, reach_boxes
from sites.schema import make_sites

LON0, LON1, LAT0, LAT1 = 129.0, 146.0, 31.0, 45.0  # sites: Japan's extent
FAR = (100.0, 20.0)  # most flights: far from any site


def scenario(n_samples: int, n_sites: int, *, seed: int = 1, near_share: float = 0.04):
    rng = np.random.default_rng(seed)
    lon = rng.uniform(LON0, LON1, n_sites)
    lat = rng.uniform(LAT0, LAT1, n_sites)
    half = rng.uniform(50, 1000, n_sites) / 111_320.0
    polys = shapely.box(
        lon - half / np.cos(np.radians(lat)),
        lat - half,
        lon + half / np.cos(np.radians(lat)),
        lat + half,
    )
    sites = make_sites(
        gpd.GeoDataFrame(
            {
                "site_id": [f"s{i}" for i in range(n_sites)],
                "name": "site",
                "category": rng.choice(["military", "nuclear", "airport", "power_plant"], n_sites),
            },
            geometry=polys,
            crs=4326,
        )
    )
    per_flight = 5000
    n_flights = max(n_samples // per_flight, 1)
    near = rng.random(n_flights) < near_share
    start_site = rng.integers(0, n_sites, n_flights)
    lon0 = np.where(near, lon[start_site], FAR[0] + rng.uniform(0, 5, n_flights))
    lat0 = np.where(near, lat[start_site], FAR[1] + rng.uniform(0, 5, n_flights))
    heading = rng.uniform(0, 2 * np.pi, n_flights)
    step = np.arange(per_flight) * 8.0 / 111_320.0  # 8 m/s along a straight line
    flon = (
        lon0[:, None] + np.sin(heading)[:, None] * step[None, :] / np.cos(np.radians(lat0))[:, None]
    )
    flat = lat0[:, None] + np.cos(heading)[:, None] * step[None, :]
    n = n_flights * per_flight
    t0 = np.datetime64("2025-01-01T00:00:00", "ns") + (np.arange(n_flights) * 6000)[:, None].astype(
        "timedelta64[s]"
    )
    times = (t0 + np.arange(per_flight).astype("timedelta64[s]")[None, :]).ravel()
    samples = pd.DataFrame(
        {
            "flight_id": pd.Categorical(np.repeat([f"f{i}" for i in range(n_flights)], per_flight)),
            "time": pd.DatetimeIndex(times, tz="UTC"),
            "lon": flon.ravel(),
            "lat": flat.ravel(),
            "height_agl_m": np.full(n, 100.0),
            "yaw_deg": np.repeat(np.degrees(heading), per_flight),
            # Mapping flights log their camera straight down: the engine rates them observed, the
            # same nadir footprints the baseline builds per pair.
            "gimbal_pitch_deg": np.full(n, -90.0),
        }
    )
    flights = pd.DataFrame(
        {
            "flight_id": [f"f{i}" for i in range(n_flights)],
            "drone_id": [f"d{i % 500}" for i in range(n_flights)],
            "camera": "dji_mavic3_wide",
            "vendor": "DJI",
            "model": "Mavic 3",
        }
    )
    return samples, flights, sites


def baseline(samples: pd.DataFrame, sites: gpd.GeoDataFrame, reach_m: float) -> int:
    """The obvious pipeline; returns the number of in-reach pairs it found."""
    cam = load_cameras()["dji_mavic3_wide"]
    pts = gpd.GeoDataFrame(
        samples[["flight_id", "height_agl_m", "yaw_deg"]],
        geometry=gpd.points_from_xy(samples["lon"], samples["lat"]),
        crs=4326,
    )
    utm = pts.estimate_utm_crs()
    pts = pts.to_crs(utm)
    local_sites = sites.to_crs(utm)
    buffered = pts.set_geometry(pts.buffer(reach_m))
    pairs = gpd.sjoin(buffered, local_sites[["site_id", "geometry"]], predicate="intersects")
    a, b = nadir_half_sizes(pairs["height_agl_m"].to_numpy(), cam.hfov_rad(), cam.vfov_rad())
    areas = []
    for (i, row), ha, hb in zip(pairs.iterrows(), a, b, strict=True):
        c = pts.geometry.loc[i]
        fp = shapely.affinity.rotate(
            shapely.box(c.x - ha, c.y - hb, c.x + ha, c.y + hb), -row["yaw_deg"], origin=c
        )
        areas.append(fp.intersection(local_sites.geometry.iloc[row["index_right"]]).area)
    return len(areas)


def child(n_samples: int, n_sites: int) -> None:
    samples, flights, sites = scenario(n_samples, n_sites)
    t = time.perf_counter()
    result = assess(samples, flights, sites)
    elapsed = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "peak_mb": peak,
                "passes": len(result.passes),
                "counts": result.counts,
            }
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000_000)
    ap.add_argument("--sites", type=int, default=10_000)
    ap.add_argument("--baseline-flights", type=int, default=20)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.samples, args.sites)
        return

    samples, flights, sites = scenario(args.samples, args.sites)
    n = len(samples)
    print(f"scenario: {n:,} samples, {len(flights):,} flights, {len(sites):,} sites")

    boxes = reach_boxes(shapely.bounds(np.asarray(sites.geometry.array)), 5000.0)
    index = ReachIndex.build(boxes)
    lon, lat = samples["lon"].to_numpy(), samples["lat"].to_numpy()
    t = time.perf_counter()
    cand = index.candidates(lon, lat)
    prefilter_s = time.perf_counter() - t
    print(
        f"prefilter: {n / prefilter_s / 1e6:,.1f} M samples/s "
        f"({cand.mean():.1%} of samples are candidates)"
    )

    t = time.perf_counter()
    result = assess(samples, flights, sites)
    engine_s = time.perf_counter() - t
    print(
        f"engine (in process): {engine_s:,.1f} s, {n / engine_s / 1e6:,.2f} M samples/s, "
        f"{len(result.passes):,} passes, {result.counts['sites_in_view']:,} sites in view"
    )

    # Baseline on a subsample of flights with the fleet's share of flights that come near a site.
    rng = np.random.default_rng(2)
    near_ids = set(samples.loc[cand, "flight_id"].unique())
    near = flights["flight_id"].isin(near_ids).to_numpy()
    k = min(args.baseline_flights, len(flights))
    k_near = min(max(1, round(k * near.mean())), int(near.sum()))
    pick = np.concatenate(
        [
            rng.choice(flights["flight_id"][near], size=k_near, replace=False),
            rng.choice(
                flights["flight_id"][~near], size=min(k - k_near, int((~near).sum())), replace=False
            ),
        ]
    )
    sub = samples[samples["flight_id"].isin(pick)]
    t = time.perf_counter()
    baseline(sub, sites, 5000.0)
    base_s = time.perf_counter() - t
    base_rate = len(sub) / base_s
    print(
        f"baseline (geopandas sjoin + per-pair shapely): {base_rate / 1e3:,.1f} k samples/s "
        f"on {len(sub):,} samples"
    )
    print(f"ratio engine / baseline: {n / engine_s / base_rate:,.0f}x")

    t = time.perf_counter()
    worst = assess(samples, flights, sites, mode="potential")
    worst_s = time.perf_counter() - t
    print(
        f"engine, every sample rated potential (worst case, every cell within reach): "
        f"{worst_s:,.1f} s, {n / worst_s / 1e6:,.2f} M samples/s, "
        f"{worst.counts['sites_in_view']:,} sites in view"
    )

    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--samples",
            str(args.samples),
            "--sites",
            str(args.sites),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    peak = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"peak memory (child: build samples + engine): {peak['peak_mb']:,.0f} MB")

    if not args.no_dask:
        from exposure.distributed import cluster_client, dask_runner

        with cluster_client(n_workers=2) as client:
            # Workers import the engine and load its compiled kernels on their first task: one
            # small run first, so that the figures below are those of a running cluster.
            t = time.perf_counter()
            assess(samples.iloc[:50_000], flights, sites, runner=dask_runner(client))
            warm_s = time.perf_counter() - t
            t = time.perf_counter()
            dres = assess(samples, flights, sites, runner=dask_runner(client))
            dask_s = time.perf_counter() - t
            chunks = dres.counts["chunks"]
            t = time.perf_counter()
            small = assess(
                samples.iloc[:50_000],
                flights,
                sites,
                runner=dask_runner(client),
                chunk_samples=5000,
            )
            small_s = time.perf_counter() - t
            t = time.perf_counter()
            dworst = assess(samples, flights, sites, mode="potential", runner=dask_runner(client))
            dworst_s = time.perf_counter() - t
        pd.testing.assert_frame_equal(dres.site_exposure, result.site_exposure)
        pd.testing.assert_frame_equal(dworst.site_exposure, worst.site_exposure)
        print(f"dask: first run on the new cluster (workers start up): {warm_s:,.1f} s")
        print(
            f"dask (2 local worker processes): {dask_s:,.1f} s, speed-up "
            f"{engine_s / dask_s:,.2f}x over in process ({chunks} chunks); "
            f"overhead per partition ≈ {small_s / small.counts['chunks'] * 1000:,.0f} ms "
            f"(50,000 samples in {small.counts['chunks']} chunks)"
        )
        print(
            f"dask, every sample rated potential: {dworst_s:,.1f} s, speed-up "
            f"{worst_s / dworst_s:,.2f}x over in process"
        )


if __name__ == "__main__":
    main()

"""Benchmark of the leak simulation: vectorised blocks of draws against a per-draw Python loop.

A synthetic, seeded fleet: 1,000 drones flying 5,000 flights with 100,000 passes over 2,000
sites, and about a million coverage cells (each pass covers a strip of its site's 400-cell
grid half the time), under the shipped scenario with the settings of a quarter of the drones
unknown. It times ``simulate_leaks`` for 10,000 draws (preparation and draws separately) and a
plain Python loop that computes the same per-site values draw by draw from the same random
numbers, on a few draws, scaled to 10,000. The loop's results are checked against the
vectorised ones, so the speed-up compares like with like.

Run: ``.venv/bin/python benchmarks/bench_leaks.py [--draws 10000] [--baseline-draws 3]``
"""

from __future__ import annotations

import argparse
import resource
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from exposure.leakdraws import behaviour, fire_bits, run_draws
from exposure.leakmodel import build_model
from exposure.quality import niirs
from exposure.scenario import default_scenario


def synthetic(seed: int = 20240901, drones: int = 1000, flights_per: int = 5,
              passes_per: int = 20, n_sites: int = 2000):
    rng = np.random.default_rng(seed)
    n_f = drones * flights_per
    vendor = rng.choice(["DJI", "Autel", "Skydio", "Parrot"], drones, p=[0.6, 0.1, 0.15, 0.15])
    settings = rng.choice(["local_data=off", "local_data=on", "", "local_data=off;no_login=on"],
                          drones, p=[0.5, 0.15, 0.25, 0.1])
    d_of_f = np.repeat(np.arange(drones), flights_per)
    start = pd.Timestamp("2023-01-01T00:00:00Z") + pd.to_timedelta(
        rng.integers(0, 3 * 365 * 86400, n_f), unit="s")
    fid = np.array([f"F{i:05d}" for i in range(n_f)], dtype=object)
    flights = pd.DataFrame({
        "flight_id": fid, "drone_id": [f"D{d:04d}" for d in d_of_f], "vendor": vendor[d_of_f],
        "model": np.where(vendor[d_of_f] == "DJI", rng.choice(["Mavic 3", "Matrice 30T"], n_f),
                          "X"),
        "vendor_country": pd.Series(vendor[d_of_f]).map({"DJI": "CN", "Autel": "CN",
                                                         "Skydio": "US", "Parrot": "FR"}),
        "agency": [f"Agency {d % 40}" for d in d_of_f], "data_settings": settings[d_of_f],
        "replacement_cost": 3000.0, "start": start,
    })
    lon, lat = rng.uniform(130.0, 141.0, n_sites), rng.uniform(31.0, 41.0, n_sites)
    sites = gpd.GeoDataFrame({
        "site_id": [f"S{i:04d}" for i in range(n_sites)], "name": "site",
        "category": rng.choice(["nuclear", "military", "airport", "dam"], n_sites),
        "sensitivity": rng.integers(2, 6, n_sites),
    }, geometry=shapely.box(lon, lat, lon + 0.01, lat + 0.01), crs=4326)
    # Each flight visits passes_per distinct sites.
    site = np.argsort(rng.random((n_f, n_sites)), axis=1)[:, :passes_per].ravel()
    flight = np.repeat(np.arange(n_f), passes_per)
    n_p = len(site)
    passes = pd.DataFrame({
        "flight_id": fid[flight], "site_id": sites["site_id"].to_numpy()[site],
        "seconds_in_view": rng.uniform(5, 600, n_p).round(), "capturing":
        pd.array(rng.choice([True, False, None], n_p, p=[0.6, 0.3, 0.1]), dtype="boolean"),
        "min_slant_range_m": rng.uniform(50, 5000, n_p),
    })
    covered = rng.random(n_p) < 0.5
    length = rng.integers(5, 40, n_p)[covered]
    first = rng.integers(0, 360, n_p)[covered]
    rows = np.repeat(np.flatnonzero(covered), length)
    offset = np.arange(len(rows)) - np.repeat(np.cumsum(length) - length, length)
    cover = pd.DataFrame({
        "site_id": passes["site_id"].to_numpy()[rows], "flight_id": passes["flight_id"].to_numpy()[
            rows], "cell": (np.repeat(first, length) + offset).astype(np.int32),
        "best_gsd_m": np.repeat(rng.uniform(0.01, 0.4, covered.sum()), length),
        "site_cells": 400,
    })
    tracks = pd.DataFrame({"flight_id": fid, "time": start, "lon": rng.uniform(131, 140, n_f),
                           "lat": rng.uniform(32, 40, n_f)})
    return passes, flights, sites, cover, tracks


def loop_baseline(model, beh, passes, cover, seed: int, draws: int) -> dict[str, np.ndarray]:
    """Per-draw values by plain Python loops over flights, passes and coverage cells."""
    sc = model.scenario
    f_index = {f: i for i, f in enumerate(model.profiles["flight_id"])}
    s_index = {s: i for i, s in enumerate(model.sites["site_id"])}
    n_s = len(model.sites)
    known_mask = dict(zip(range(len(passes)), _pass_masks(model, passes, f_index, s_index),
                          strict=True))
    pix = [(c, ch.niirs_loss) for c, ch in enumerate(sc.channels) if ch.pixels]
    cap = passes["capturing"].fillna(True).to_numpy(bool)
    captured = {(s_index[s], f_index[f]) for s, f, c in zip(passes["site_id"], passes["flight_id"],
                                                           cap, strict=True) if c}
    cover_rows = list(zip(cover["site_id"].map(s_index), cover["flight_id"].map(f_index),
                          cover["cell"], niirs(cover["best_gsd_m"].to_numpy()), strict=True))
    cells_of = cover.groupby("site_id")["site_cells"].first().to_dict()
    sec = passes["seconds_in_view"].to_numpy()
    ps = passes["site_id"].map(s_index).to_numpy()
    pf = passes["flight_id"].map(f_index).to_numpy()
    out = {"known": np.zeros((draws, n_s)), "cov": np.zeros((draws, n_s)),
           "seconds": np.zeros((draws, n_s))}
    for b in range(draws):
        # The random numbers of draw b, as the vectorised run reads them.
        bits = fire_bits(beh, model.drone_of_flight, len(model.drone_keys), seed, b, b + 1)[:, 0]
        for p in range(len(passes)):
            if int(bits[pf[p]]) & known_mask[p]:
                out["known"][b, ps[p]] = 1.0
                out["seconds"][b, ps[p]] += sec[p]
        cells: dict[int, set] = {}
        for s, f, cell, level in cover_rows:
            if (s, f) in captured and any(int(bits[f]) >> c & 1 and level - loss >= 5
                                          for c, loss in pix):
                cells.setdefault(s, set()).add(cell)
        for s, c in cells.items():
            out["cov"][b, s] = len(c) / cells_of[model.sites["site_id"].iloc[s]]
    return out


def _pass_masks(model, passes, f_index, s_index):
    """Each original pass's reach mask, read back from the model's (site, flight) pairs."""
    # In this benchmark every (site, flight) pair has one pass, so the pair's mask is its own.
    site = np.repeat(np.arange(len(model.pair_site_starts)),
                     np.diff(np.r_[model.pair_site_starts, len(model.pair_starts)]))
    mask = {(int(s), int(f)): int(model.pass_known[q])
            for s, f, q in zip(site, model.pair_flight, model.pair_starts, strict=True)}
    return [mask[(s_index[s], f_index[f])]
            for s, f in zip(passes["site_id"], passes["flight_id"], strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--baseline-draws", type=int, default=3)
    ap.add_argument("--block-size", type=int, default=256)
    args = ap.parse_args()
    t = time.perf_counter()
    passes, flights, sites, cover, tracks = synthetic()
    print(f"synthetic fleet: {flights['drone_id'].nunique():,} drones, {len(flights):,} "
          f"flights, {len(passes):,} passes, {len(sites):,} sites, {len(cover):,} coverage "
          f"cells ({time.perf_counter() - t:.1f} s to generate)")
    scenario = default_scenario()
    t = time.perf_counter()
    model = build_model(passes, flights, sites, cover, scenario=scenario, tracks=tracks)
    beh = behaviour(model.profiles, model.regions, scenario)
    prep = time.perf_counter() - t
    print(f"prepare: {prep:.2f} s ({model.counts['coverage_groups']:,} coverage groups)")
    t = time.perf_counter()
    tally = run_draws(model, beh, draws=args.draws, seed=1, block_size=args.block_size)
    vec = time.perf_counter() - t
    print(f"vectorised: {args.draws:,} draws in {vec:.1f} s = {args.draws / vec:,.0f} draws/s "
          f"(block {args.block_size})")
    t = time.perf_counter()
    base = loop_baseline(model, beh, passes, cover, 1, args.baseline_draws)
    loop = time.perf_counter() - t
    per_draw = loop / args.baseline_draws
    print(f"per-draw Python loop: {args.baseline_draws} draws in {loop:.1f} s = "
          f"{1 / per_draw:.2f} draws/s; {args.draws:,} draws would take "
          f"{per_draw * args.draws:,.0f} s")
    n = args.baseline_draws
    first = run_draws(model, beh, draws=n, seed=1, block_size=args.block_size)
    same = (np.allclose(base["cov"], first["cov"], atol=1e-6)
            and np.allclose(base["seconds"], first["seconds"], rtol=1e-6, atol=1e-2)
            and (base["known"].sum(axis=0) == first["known"]).all()
            and np.array_equal(first["cov"], tally["cov"][:n]))
    print(f"loop and vectorised agree on the first {n} draws: {same}")
    m = min(args.draws, 500)
    t = time.perf_counter()
    run_draws(model, beh, draws=m, seed=1, block_size=1)
    one = (time.perf_counter() - t) / m
    print(f"same compiled kernels, one draw per block: {1 / one:,.0f} draws/s "
          f"(blocks of {args.block_size} are {one * args.draws / vec:.1f}× faster)")
    print(f"speed-up (draws/s, vectorised ÷ loop): {per_draw * args.draws / vec:,.0f}×")
    print(f"total time of the vectorised run, preparation included: {prep + vec:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the whole benchmark: {peak:,.0f} MB")


if __name__ == "__main__":
    main()

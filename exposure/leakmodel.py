"""The prepared model of the leak simulation: what the draws need, built once from the tables.

:func:`build_model` checks the result tables (every problem at once), orders flights and drones
so that each random number has a fixed place, works out which channels give each pass away,
merges the passes that leak alike, and groups coverage cells by the sources that can leak them
(:class:`LeakModel`). The overview of the simulation is in :mod:`exposure.leaks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from exposure.errors import ExposureError
from exposure.leakgeometry import channel_reach, first_points, site_frames, track_points
from exposure.profiles import flight_profiles
from exposure.quality import niirs
from exposure.scenario import Scenario

__all__ = ["LeakModel", "build_model", "run_starts"]


# --------------------------------------------------------------------------------------------
# Runs of equal rows


def run_starts(*keys: NDArray) -> NDArray[np.int64]:
    """Where each run of equal rows starts, for rows sorted by ``keys``.

    Examples
    --------
    >>> run_starts(np.array([0, 0, 1, 1]), np.array([5, 6, 6, 6])).tolist()
    [0, 1, 2]
    """
    n = len(keys[0])
    new = np.zeros(n, bool)
    new[:1] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    return np.flatnonzero(new).astype(np.int64)


# --------------------------------------------------------------------------------------------
# The prepared model


@dataclass(frozen=True)
class LeakModel:
    """What the draws need, prepared once: flights, drones, passes with reach masks, coverage.

    Flights are sorted by id and drones by key: that order fixes where each random number is
    read, so it must not depend on anything but the flights themselves. Passes of one flight at
    one site that leak the same way are merged; they are sorted by site, then flight.
    """

    profiles: pd.DataFrame
    regions: NDArray[np.object_]
    drone_keys: NDArray[np.object_]
    drone_of_flight: NDArray[np.int64]
    sites: pd.DataFrame
    sens: NDArray[np.float64]
    pass_flight: NDArray[np.int64]
    pass_seconds: NDArray[np.float64]
    pass_known: NDArray[np.uint16]
    pass_pix: NDArray[np.uint16]
    pair_starts: NDArray[np.int64]
    pair_site: NDArray[np.int64]
    pair_flight: NDArray[np.int64]
    pair_site_starts: NDArray[np.int64]
    flight_masks: NDArray[np.uint16]  # (3, F): any, positions, pixels reachable
    src_flight: NDArray[np.int64]
    src_bits: NDArray[np.uint16]
    ent_src: NDArray[np.int64]
    grp_starts: NDArray[np.int64]
    grp_weight: NDArray[np.float64]
    grp_cells: NDArray[np.int64]
    grp_site: NDArray[np.int64]
    site_cells: NDArray[np.float64]
    niirs_k: float
    scenario: Scenario
    assumptions: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    # Each pass as given (before merging): its flight and the channels that give it away, for
    # analyses that need single passes (:func:`exposure.leakdraws.known_passes`).
    given_pass_flight: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    given_pass_known: NDArray[np.uint16] = field(default_factory=lambda: np.zeros(0, np.uint16))


def _frame_problems(passes, flights, sites, coverage) -> list[str]:
    need = {
        "passes": (passes, ("flight_id", "site_id", "seconds_in_view")),
        "flights": (flights, ("flight_id",)),
        "sites": (sites, ("site_id", "category", "sensitivity")),
        "coverage_by_flight": (coverage, ("site_id", "flight_id", "cell", "best_gsd_m",
                                          "site_cells")),
    }
    problems = [
        f"{name} lacks column {c!r} (expected {', '.join(cols)})"
        for name, (frame, cols) in need.items()
        for c in cols
        if c not in frame
    ]
    if problems:
        return problems
    if isinstance(sites, gpd.GeoDataFrame) and sites.geometry.name in sites:
        if sites.crs is None or sites.crs.to_epsg() != 4326:
            problems.append(f"sites: expected EPSG:4326 (the sites contract), got {sites.crs}")
    for name, frame, key in (("flights", flights, "flight_id"), ("sites", sites, "site_id")):
        dup = frame[key][frame[key].duplicated()]
        if len(dup):
            problems.append(f"{name}: {key} repeated: {sorted(map(str, set(dup)))[:5]}")
    known_f = set(flights["flight_id"].astype(str))
    known_s = set(sites["site_id"].astype(str))
    for name, frame in (("passes", passes), ("coverage_by_flight", coverage)):
        bad_f = sorted(set(frame["flight_id"].astype(str)) - known_f)
        bad_s = sorted(set(frame["site_id"].astype(str)) - known_s)
        if bad_f:
            problems.append(f"{name}: flights missing from the flights table: {bad_f[:5]}")
        if bad_s:
            problems.append(f"{name}: sites missing from the sites table: {bad_s[:5]}")
    sec = pd.to_numeric(passes["seconds_in_view"], errors="coerce")
    if (sec.isna() | (sec < 0)).any():
        row = int(np.flatnonzero((sec.isna() | (sec < 0)).to_numpy())[0])
        problems.append(
            f"passes row {row + 1}: seconds_in_view {passes['seconds_in_view'].iloc[row]}: "
            "expected a number ≥ 0"
        )
    return problems


def _regions(lon: NDArray, lat: NDArray, scenario: Scenario) -> NDArray[np.object_]:
    out = np.full(len(lon), "", dtype=object)
    for name, boxes in reversed(list(scenario.regions.items())):  # the first region listed wins
        inside = np.zeros(len(lon), bool)
        for x0, y0, x1, y1 in boxes:
            inside |= (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
        out[inside] = name
    return out


def build_model(
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    sites: pd.DataFrame,
    coverage: pd.DataFrame,
    *,
    scenario: Scenario,
    tracks: pd.DataFrame | None = None,
    niirs_k: float = 5.0,
) -> LeakModel:
    """Prepare the simulation from result tables (see :func:`~exposure.leaks.simulate_leaks`)."""
    problems = _frame_problems(passes, flights, sites, coverage)
    if problems:
        raise ExposureError("leaks: " + "\n".join(problems))
    if not 0 <= niirs_k <= 9:
        raise ExposureError(f"leaks: niirs_k = {niirs_k!r}: expected a NIIRS level in [0, 9]")
    notes: list[str] = []
    prof = flight_profiles(flights, scenario)
    order = np.argsort(prof["flight_id"].to_numpy(str), kind="stable")
    prof = prof.iloc[order].reset_index(drop=True)
    fl = pd.DataFrame(flights).iloc[order].reset_index(drop=True)
    fidx = pd.Index(prof["flight_id"])
    drone_keys, drone_of_flight = np.unique(prof["drone_key"].to_numpy(str), return_inverse=True)
    tp = track_points(tracks, fidx)
    lon, lat = np.full(len(fl), np.nan), np.full(len(fl), np.nan)
    if tp is not None:
        first = tp["start"][tp["end"] > tp["start"]]
        lon[tp["code"][first]], lat[tp["code"][first]] = tp["lon"][first], tp["lat"][first]
    if isinstance(flights, gpd.GeoDataFrame) and np.isnan(lon).any():
        glon, glat = first_points(np.asarray(gpd.GeoSeries(fl.geometry).array, dtype=object))
        lon, lat = np.where(np.isnan(lon), glon, lon), np.where(np.isnan(lat), glat, lat)
    if np.isnan(lon).any():
        notes.append(f"{int(np.isnan(lon).sum())} flights have no take-off point: no region "
                     "rule applies to them and their take-off reveals every site they saw")
    regions = _regions(lon, lat, scenario)

    # Sites with at least one pass, in the sites table's order.
    sidx = pd.Index(sites["site_id"].astype("string"))
    ps_all = sidx.get_indexer(passes["site_id"].astype("string"))
    active = np.unique(ps_all)
    site_pos = np.full(len(sidx), -1)
    site_pos[active] = np.arange(len(active))
    ps = site_pos[ps_all]
    pf = fidx.get_indexer(passes["flight_id"].astype("string"))
    site_tab = pd.DataFrame(sites).iloc[active].reset_index(drop=True)
    epsg, local = site_frames(sites.iloc[active] if len(active) else sites.iloc[:0])
    seconds = pd.to_numeric(passes["seconds_in_view"]).to_numpy(float)
    cap = (passes["capturing"].astype("boolean") if "capturing" in passes
           else pd.Series(pd.NA, index=passes.index, dtype="boolean"))
    assume = scenario.capturing_unknown == "recording"
    if cap.isna().any():
        notes.append(f"{int(cap.isna().sum())} passes do not say whether the camera recorded: "
                     f"taken as {'recording' if assume else 'not recording'}")
    capture = cap.fillna(assume).to_numpy(bool)

    reach, flight_reach, radio_note = channel_reach(passes, prof, tp, ps, pf, site_tab, epsg,
                                                    local, lon, lat, scenario)
    notes.append(radio_note)
    known = np.zeros(len(passes), np.uint16)
    pix = np.zeros(len(passes), np.uint16)
    f_pos = np.zeros(len(prof), np.uint16)
    f_pix = np.zeros(len(prof), np.uint16)
    recorded = np.bincount(pf[capture], minlength=len(prof)) > 0
    seen = np.bincount(pf, minlength=len(prof)) > 0
    recorded |= ~seen & assume
    for c, ch in enumerate(scenario.channels):
        bit = np.uint16(1 << c)
        if ch.positions:
            known[reach[c]] |= bit
            f_pos[flight_reach[c]] |= bit
        if ch.pixels:
            imaged = capture | (not ch.needs_recording)
            known[imaged] |= bit
            pix[imaged] |= bit
            f_pix[recorded | (not ch.needs_recording)] |= bit

    merged = pd.DataFrame({"s": ps, "f": pf, "k": known, "i": pix, "sec": seconds})
    merged = merged.groupby(["s", "f", "k", "i"], sort=True, as_index=False)["sec"].sum()
    s_arr, f_arr = merged["s"].to_numpy(np.int64), merged["f"].to_numpy(np.int64)
    pair_starts = run_starts(s_arr, f_arr)
    pair_site = s_arr[pair_starts]
    site_tab = _site_summary(site_tab, ps, pf, seconds, len(active))

    groups = _coverage_groups(coverage, sidx, site_pos, fidx, ps, pf, capture, scenario, niirs_k)
    site_tab[f"coverage_fraction_niirs{niirs_k:g}"] = groups.pop("observed")
    if len(coverage) == 0:
        notes.append("no coverage_by_flight rows: leaked coverage is 0 everywhere")
    if "cells_dropped" in groups:
        notes.append(groups.pop("cells_dropped"))
    return LeakModel(
        profiles=prof,
        regions=regions,
        drone_keys=drone_keys.astype(object),
        drone_of_flight=drone_of_flight.astype(np.int64),
        sites=site_tab,
        sens=pd.to_numeric(site_tab["sensitivity"]).to_numpy(float),
        pass_flight=f_arr,
        pass_seconds=merged["sec"].to_numpy(float),
        pass_known=merged["k"].to_numpy(np.uint16),
        pass_pix=merged["i"].to_numpy(np.uint16),
        pair_starts=pair_starts.astype(np.int64),
        pair_site=pair_site.astype(np.int64),
        pair_flight=f_arr[pair_starts],
        pair_site_starts=np.searchsorted(pair_site, np.arange(len(active))).astype(np.int64),
        flight_masks=np.stack([f_pos | f_pix, f_pos, f_pix]),
        niirs_k=float(niirs_k),
        scenario=scenario,
        assumptions=tuple(n for n in notes if n),
        counts={"flights": len(prof), "drones": len(drone_keys), "passes": len(passes),
                "merged_passes": len(merged), "sites": len(active),
                "coverage_groups": len(groups["grp_weight"])},
        given_pass_flight=pf.astype(np.int64),
        given_pass_known=known,
        **groups,
    )


def _site_summary(tab: pd.DataFrame, ps, pf, seconds, n: int) -> pd.DataFrame:
    out = pd.DataFrame({
        "site_id": tab["site_id"].astype("string"),
        "name": tab["name"].astype("string") if "name" in tab else pd.NA,
        "category": tab["category"].astype("string"),
        "sensitivity": pd.to_numeric(tab["sensitivity"]).astype("int64"),
    })
    pairs = pd.DataFrame({"s": ps, "f": pf}).drop_duplicates()
    out["flights"] = np.bincount(pairs["s"], minlength=n)
    out["passes"] = np.bincount(ps, minlength=n)
    out["seconds_in_view"] = np.bincount(ps, weights=seconds, minlength=n)
    return out


def _coverage_groups(coverage, sidx, site_pos, fidx, ps, pf, capture, scenario, k) -> dict:
    """Coverage cells grouped by the set of (flight, channels) sources that can leak them.

    Cells of a site seen by exactly the same sources behave alike in every draw, so each such
    set is kept once with its share of the site's cells: a site's leaked coverage in a draw is
    Σ over its groups of share × [some source of the group leaked].
    """
    n_sites, n_f = int(site_pos.max(initial=-1)) + 1, len(fidx)
    s_all = sidx.get_indexer(coverage["site_id"].astype("string"))
    s = np.where(s_all >= 0, site_pos[np.maximum(s_all, 0)], -1)
    f = fidx.get_indexer(coverage["flight_id"].astype("string"))
    cell = pd.to_numeric(coverage["cell"]).to_numpy(np.int64)
    level = niirs(pd.to_numeric(coverage["best_gsd_m"]).to_numpy(float))
    ncell = pd.to_numeric(coverage["site_cells"]).to_numpy(float)
    out: dict[str, object] = {}
    dropped = int((s < 0).sum())
    if dropped:
        out["cells_dropped"] = f"{dropped} coverage cells of sites without a pass were ignored"
    cells_of = np.zeros(n_sites)
    np.maximum.at(cells_of, s[s >= 0], ncell[s >= 0])
    seen = (s >= 0) & (level >= k)
    distinct = np.unique(np.stack([s[seen], cell[seen]]), axis=1)[0] if seen.any() else s[:0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["observed"] = np.where(cells_of > 0, np.bincount(distinct, minlength=n_sites)
                                   / np.where(cells_of > 0, cells_of, 1), 0.0)
    cap_keys = np.unique(ps[capture].astype(np.int64) * n_f + pf[capture])
    cap_row = np.isin(s.astype(np.int64) * n_f + f, cap_keys)
    bits = np.zeros(len(s), np.uint16)
    for c, ch in enumerate(scenario.channels):
        if ch.pixels:
            ok = (level - ch.niirs_loss >= k) & (cap_row | (not ch.needs_recording))
            bits[ok] |= np.uint16(1 << c)
    keep = (s >= 0) & (bits != 0)
    s, f, cell, bits = s[keep], f[keep], cell[keep], bits[keep]
    src_keys, src = np.unique(f.astype(np.int64) * 65536 + bits, return_inverse=True)
    out["src_flight"] = (src_keys // 65536).astype(np.int64)
    out["src_bits"] = (src_keys % 65536).astype(np.uint16)
    empty = np.zeros(0, np.int64)
    out["site_cells"] = cells_of
    if not len(s):
        out.update(ent_src=empty, grp_starts=empty, grp_weight=np.zeros(0), grp_cells=empty,
                   grp_site=empty)
        return out
    order = np.lexsort((src, cell, s))
    s, cell, src = s[order], cell[order], src[order]
    cell_start = run_starts(s, cell)
    # Order-free hash of each cell's source set (two 64-bit sums of fixed random words: two
    # different sets collide with probability about 2^-128).
    words = np.random.default_rng(20240901).integers(0, 2**63, size=(2, len(src_keys)),
                                                    dtype=np.uint64)
    h1 = np.add.reduceat(words[0][src], cell_start)
    h2 = np.add.reduceat(words[1][src], cell_start)
    n_src = np.diff(np.r_[cell_start, len(src)])
    table = np.stack([s[cell_start].astype(np.uint64), h1, h2, n_src.astype(np.uint64)], axis=1)
    _, rep, counts = np.unique(table, axis=0, return_index=True, return_counts=True)
    g_site = s[cell_start[rep]].astype(np.int64)
    lengths = n_src[rep]
    first = np.repeat(cell_start[rep], lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out["ent_src"] = src[first + within].astype(np.int64)
    out["grp_starts"] = (np.cumsum(lengths) - lengths).astype(np.int64)
    out["grp_weight"] = counts / cells_of[g_site]
    out["grp_cells"] = counts.astype(np.int64)
    out["grp_site"] = g_site
    return out

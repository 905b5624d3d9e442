"""Draws of the leak simulation: random streams, per-flight behaviour, and the draw loop.

Holds each flight's chances and settings under a scenario (:func:`behaviour`), which channels
fire in each draw (:func:`fire_bits`), and the loop over blocks of draws with its compiled
kernels (:func:`run_draws`). The model they run on is built by :mod:`exposure.leakmodel`; the
overview of the simulation is in :mod:`exposure.leaks`.

**Random numbers.** Every random number has a fixed place: stream ``(seed, stream id)`` of a
PCG64 generator seeded through ``SeedSequence(seed, spawn_key=...)``, at offset ``draw ×
numbers per draw``. A block of draws jumps to its offset (``PCG64.advance``) and reads its
numbers, so results do not depend on the block size nor on how blocks would be shared among
workers (the draws run in one process: the compiled loops below already keep a core busy, and
the machines here have two). Streams: drone settings (0), flight × channel events (1), access
per vendor (2 and a hash of the vendor name, so a vendor keeps its numbers whatever other
vendors exist) and access per flight (3). What-ifs, sweeps and the replacement planner reuse the
same numbers (common random numbers), so their differences from the base run are not blurred by
sampling noise. Sums over passes and cells run in a fixed order per draw, so they too are the
same whatever the block size.

**Memory.** A block holds about ``block_size × (8·channels·flights + 8·passes + coverage
entries)`` bytes; the per-site draws kept for the percentiles take ``12 × draws × sites with a
pass`` bytes (240 MB for 10,000 draws over 2,000 sites).

Uniforms are 32-bit: an event of probability ``p`` fires when ``u < ⌊p·2³²⌋`` (exactly for
``p = 0`` and ``p = 1``, within 2.3e-10 otherwise).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from exposure.errors import ExposureError
from exposure.leakmodel import LeakModel, run_starts
from exposure.scenario import CHANNELS, SETTINGS, Scenario

__all__ = [
    "HEADLINES",
    "Behaviour",
    "behaviour",
    "fire_bits",
    "known_passes",
    "pass_leaks",
    "run_draws",
    "segment_any",
]

#: Fleet-wide numbers reported per draw, for what-ifs and sweeps.
HEADLINES: dict[str, str] = {
    "leak_risk": "Σ sensitivity × (leaked NIIRS ≥ k coverage + imagery weight × any imagery "
    "leaked + positions weight × visits known)",
    "weighted_leaked_coverage": "Σ sensitivity × leaked coverage at NIIRS ≥ k",
    "sites_imagery_leaked": "sites with any imagery leaked",
    "sites_visits_known": "sites whose visits became known",
    "leaked_seconds_in_view": "seconds in view of passes given away",
}

_C = len(CHANNELS)
_TWO32 = 2.0**32


# --------------------------------------------------------------------------------------------
# Random numbers


def _u32(seed: int, key: tuple[int, ...], per_draw: int, b0: int, b1: int) -> NDArray[np.uint32]:
    """32-bit uniforms of draws ``b0..b1-1`` of one stream: shape ``(b1 - b0, per_draw)``."""
    words = (per_draw + 1) // 2
    out = np.empty((b1 - b0, 2 * words), np.uint32)
    if words:
        gen = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))
        gen.advance(b0 * words)
        raw = np.asarray(gen.random_raw((b1 - b0) * words), np.uint64).reshape(b1 - b0, words)
        out[:, 0::2] = raw & np.uint64(0xFFFFFFFF)
        out[:, 1::2] = raw >> np.uint64(32)
    return out[:, :per_draw]


def _threshold(p: NDArray[np.float64]) -> tuple[NDArray[np.uint32], NDArray[np.bool_]]:
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    return np.minimum(np.floor(p * _TWO32), _TWO32 - 1).astype(np.uint32), p >= 1.0


def _vendor_key(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.casefold().encode(), digest_size=8).digest(),
                          "little")


# --------------------------------------------------------------------------------------------
# Per-flight behaviour: what what-ifs, sweeps and the planner change


@dataclass(frozen=True)
class Behaviour:
    """Per-flight chances and settings, ready for :func:`fire_bits` (flights in model order)."""

    thr: NDArray[np.uint32]  # (C, F): channel fires when its uniform is below
    always: NDArray[np.bool_]  # (C, F): probability 1
    state: NDArray[np.int8]  # (F, 3): setting off 0, on 1, unknown 2 (drawn per drone)
    access_thr: NDArray[np.uint32]  # (F,)
    access_always: NDArray[np.bool_]  # (F,)
    access_key: NDArray[np.uint64]  # (F,): hash of the vendor (per-vendor access)
    access_per_flight: bool
    setting_thr: NDArray[np.uint32]  # (3,)
    setting_always: NDArray[np.bool_]  # (3,)
    offmask: NDArray[np.uint8]  # (C,): settings bits that stop the channel
    via_vendor: NDArray[np.bool_]  # (C,)
    requires: NDArray[np.int64]  # (C,): index of the required channel, -1 for none
    undated: int = 0  # flights without a start time (dated rules do not apply to them)


def behaviour(
    profiles: pd.DataFrame, regions: NDArray[np.object_], scenario: Scenario
) -> Behaviour:
    """Work out each flight's chances under the scenario's rules, and the settings to draw.

    ``profiles`` and ``regions`` are in the model's flight order (:attr:`LeakModel.profiles`).
    """
    n = len(profiles)
    low = {c: profiles[c].astype("string").str.casefold().fillna("").to_numpy(object)
           for c in ("vendor", "model", "app", "vendor_country")}
    day = profiles["start"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[D]")
    dated = ~np.isnat(day)
    p = np.zeros((_C, n))
    for ci, ch in enumerate(scenario.channels):
        pc = np.full(n, ch.p)
        for rule in ch.rules:
            m = np.ones(n, bool)
            for values, arr in ((rule.vendors, low["vendor"]), (rule.models, low["model"]),
                                (rule.apps, low["app"]),
                                (rule.vendor_countries, low["vendor_country"])):
                if values:
                    m &= np.isin(arr, [v.casefold() for v in values])
            if rule.regions:
                m &= np.isin(regions, list(rule.regions))
            if rule.start is not None:
                m &= dated & (day >= np.datetime64(rule.start, "D"))
            if rule.until is not None:
                m &= dated & (day < np.datetime64(rule.until, "D"))
            pc[m] = rule.p
        p[ci] = pc
    thr, always = _threshold(p)
    codes = {"off": 0, "on": 1, "unknown": 2}
    state = np.stack([profiles[s].map(codes).to_numpy(np.int8) for s in SETTINGS], axis=1)
    by_country = {k.casefold(): v for k, v in scenario.access_by_vendor_country.items()}
    acc = pd.Series(low["vendor_country"]).map(by_country).fillna(scenario.access_p)
    acc_thr, acc_always = _threshold(acc.to_numpy(float))
    keys = {v: _vendor_key(v) for v in set(low["vendor"])}
    set_thr, set_always = _threshold(np.array([scenario.setting_priors[s] for s in SETTINGS]))
    return Behaviour(
        thr=thr,
        always=always,
        state=state,
        access_thr=acc_thr,
        access_always=acc_always,
        access_key=np.array([keys[v] for v in low["vendor"]], dtype=np.uint64),
        access_per_flight=scenario.access_per == "flight",
        setting_thr=set_thr,
        setting_always=set_always,
        offmask=np.array([sum(1 << SETTINGS.index(s) for s in ch.off_when)
                          for ch in scenario.channels], np.uint8),
        via_vendor=np.array([ch.via == "vendor" for ch in scenario.channels]),
        requires=np.array([CHANNELS.index(ch.requires) if ch.requires else -1
                           for ch in scenario.channels], np.int64),
        undated=int((~dated).sum()),
    )


def fire_bits(
    beh: Behaviour, drone_of_flight: NDArray[np.int64], n_drones: int, seed: int, b0: int, b1: int
) -> NDArray[np.uint16]:
    """Which channels fired (and reached the foreign party) per flight and draw: bit c = channel c.

    Returns
    -------
    numpy.ndarray
        ``(flights, b1 - b0)`` of uint16 (draws along the contiguous axis, so that reductions
        over flights, passes and cells run over whole rows of draws).
    """
    nb, nf = b1 - b0, len(drone_of_flight)
    drawn = _u32(seed, (0,), n_drones * 3, b0, b1).reshape(nb, n_drones, 3)
    on_drone = (drawn < beh.setting_thr) | beh.setting_always
    setbits = np.zeros((nb, nf), np.uint8)
    for s in range(3):
        st = beh.state[:, s]
        v = np.broadcast_to(st == 1, (nb, nf))
        if (st == 2).any():
            v = v | ((st == 2) & on_drone[:, drone_of_flight, s])
        setbits |= v.astype(np.uint8) << np.uint8(s)
    if beh.via_vendor.any():
        if beh.access_per_flight:
            u = _u32(seed, (3,), nf, b0, b1)
        else:
            keys, index = np.unique(beh.access_key, return_inverse=True)
            per_vendor = np.stack([_u32(seed, (2, int(k)), 1, b0, b1)[:, 0] for k in keys], 1)
            u = per_vendor[:, index]
        access = (u < beh.access_thr) | beh.access_always
    u = _u32(seed, (1,), _C * nf, b0, b1).reshape(nb, _C, nf)
    bits = np.zeros((nb, nf), np.uint16)
    for c in range(_C):
        if not (beh.always[c].any() or beh.thr[c].any()):
            continue
        fired = (u[:, c, :] < beh.thr[c]) | beh.always[c]
        if beh.offmask[c]:
            fired &= (setbits & beh.offmask[c]) == 0
        if beh.via_vendor[c]:
            fired &= access
        if beh.requires[c] >= 0:
            fired &= ((bits >> np.uint16(beh.requires[c])) & 1).astype(bool)
        bits |= fired.astype(np.uint16) << np.uint16(c)
    return np.ascontiguousarray(bits.T)


# --------------------------------------------------------------------------------------------
# Draws


def _level_groups(model: LeakModel) -> dict[str, tuple[NDArray, NDArray, NDArray, NDArray]]:
    """Per attribution level: order of the (site, flight) pairs, group starts, site, key."""
    prof = model.profiles
    keys = {"drone": prof["drone_key"], "vendor": prof["vendor"], "agency": prof["agency"]}
    out = {}
    for level, values in keys.items():
        codes, names = pd.factorize(values.astype("string").fillna("unknown"), sort=True)
        k = codes[model.pair_flight]
        perm = np.lexsort((k, model.pair_site))
        s, k = model.pair_site[perm], k[perm]
        starts = run_starts(s, k)
        out[level] = (perm, starts, s[starts], np.asarray(names, dtype=object)[k[starts]])
    return out


def run_draws(
    model: LeakModel,
    beh: Behaviour,
    *,
    draws: int,
    seed: int,
    block_size: int = 256,
    detail: bool = True,
) -> dict[str, object]:
    """Run the draws block by block and tally what the tables need.

    Returns
    -------
    dict
        ``headline``: per-draw values of :data:`HEADLINES`; with ``detail``: per-draw leaked
        coverage and seconds per site, counts of draws per site (visits known, imagery
        leaked), per channel and site, per attribution group, per flight.
    """
    if draws < 1 or block_size < 1 or seed < 0:
        raise ExposureError(
            f"leaks: draws = {draws}, block_size = {block_size}, seed = {seed}: expected "
            "draws ≥ 1, block_size ≥ 1 and seed ≥ 0"
        )
    n_s, n_f = len(model.sites), len(model.profiles)
    w_pos, w_img = model.scenario.positions_weight, model.scenario.imagery_weight
    t: dict[str, object] = {"headline": {m: np.zeros(draws) for m in HEADLINES}}
    levels = _level_groups(model) if detail else {}
    if detail:
        t |= {
            "cov": np.zeros((draws, n_s), np.float32),
            "seconds": np.zeros((draws, n_s), np.float32),
            "seconds_imaged": np.zeros((draws, n_s), np.float32),
            "known": np.zeros(n_s, np.int64),
            "imaged": np.zeros(n_s, np.int64),
            "channel_known": np.zeros((_C, n_s), np.int64),
            "channel_imaged": np.zeros((_C, n_s), np.int64),
            "flights": np.zeros((3, n_f), np.int64),
            "levels": {k: (np.zeros(len(v[1]), np.int64), np.zeros(len(v[1]), np.int64))
                       for k, v in levels.items()},
        }
    for b0 in range(0, draws, block_size):
        b1 = min(draws, b0 + block_size)
        bits = fire_bits(beh, model.drone_of_flight, len(model.drone_keys), seed, b0, b1)
        site_k, site_i, pair_k, pair_i, sec_k, sec_i = pass_leaks(model, bits)
        # Per-draw values as (draws, sites) rows: sums over a row do not depend on the block.
        cov = np.ascontiguousarray(_coverage_block(model, bits).T)
        known, imaged = (site_k != 0).T.copy(), (site_i != 0).T.copy()
        sec_k_rows = np.ascontiguousarray(sec_k.T)
        head = t["headline"]
        head["weighted_leaked_coverage"][b0:b1] = (cov * model.sens).sum(axis=1)
        head["leak_risk"][b0:b1] = head["weighted_leaked_coverage"][b0:b1] + (
            (w_pos * known + w_img * imaged) * model.sens
        ).sum(axis=1)
        head["sites_imagery_leaked"][b0:b1] = imaged.sum(axis=1)
        head["sites_visits_known"][b0:b1] = known.sum(axis=1)
        head["leaked_seconds_in_view"][b0:b1] = sec_k_rows.sum(axis=1)
        if not detail:
            continue
        t["cov"][b0:b1] = cov
        t["seconds"][b0:b1] = sec_k_rows
        t["seconds_imaged"][b0:b1] = sec_i.T
        t["known"] += known.sum(axis=0)
        t["imaged"] += imaged.sum(axis=0)
        for c in range(_C):
            t["channel_known"][c] += ((site_k >> np.uint16(c)) & 1).sum(axis=1, dtype=np.int64)
            t["channel_imaged"][c] += ((site_i >> np.uint16(c)) & 1).sum(axis=1, dtype=np.int64)
        for m in range(3):
            t["flights"][m] += ((bits & model.flight_masks[m][:, None]) != 0).sum(axis=1)
        for level, (perm, starts, _, _) in levels.items():
            if len(starts):
                for pair, tally in zip((pair_k, pair_i), t["levels"][level], strict=True):
                    tally += segment_any(pair, perm, starts).sum(axis=1)
    t["level_keys"] = {k: (v[2], v[3]) for k, v in levels.items()}
    return t


# Segment reductions over rows of draws. numpy's ``reduceat`` costs about a microsecond per
# segment on 2-D arrays, which dominates with 100,000 passes; these loops visit each value
# once, in a fixed order per draw, so sums do not depend on how many draws a block holds.


@numba.njit(cache=True)
def _pass_kernel(bits, flight, known, pix, seconds, pair_starts, site_starts):
    n_p, nb = len(flight), bits.shape[1]
    n_q, n_s = len(pair_starts), len(site_starts)
    pair_k = np.zeros((n_q, nb), np.uint16)
    pair_i = np.zeros((n_q, nb), np.uint16)
    site_k = np.zeros((n_s, nb), np.uint16)
    site_i = np.zeros((n_s, nb), np.uint16)
    sec_k = np.zeros((n_s, nb))
    sec_i = np.zeros((n_s, nb))
    for s in range(n_s):
        q1 = site_starts[s + 1] if s + 1 < n_s else n_q
        for q in range(site_starts[s], q1):
            p1 = pair_starts[q + 1] if q + 1 < n_q else n_p
            for p in range(pair_starts[q], p1):
                f, km, im, sec = flight[p], known[p], pix[p], seconds[p]
                for b in range(nb):
                    kb = bits[f, b] & km
                    ib = bits[f, b] & im
                    pair_k[q, b] |= kb
                    pair_i[q, b] |= ib
                    if kb:
                        sec_k[s, b] += sec
                    if ib:
                        sec_i[s, b] += sec
            for b in range(nb):
                site_k[s, b] |= pair_k[q, b]
                site_i[s, b] |= pair_i[q, b]
    return site_k, site_i, pair_k, pair_i, sec_k, sec_i


@numba.njit(cache=True)
def _coverage_kernel(bits, src_flight, src_bits, ent_src, grp_starts, grp_weight, grp_row,
                     n_rows):
    n_g, n_e, nb = len(grp_starts), len(ent_src), bits.shape[1]
    out = np.zeros((n_rows, nb))
    hit = np.zeros(nb, np.bool_)
    for g in range(n_g):
        hit[:] = False
        e1 = grp_starts[g + 1] if g + 1 < n_g else n_e
        for e in range(grp_starts[g], e1):
            f, m = src_flight[ent_src[e]], src_bits[ent_src[e]]
            for b in range(nb):
                if bits[f, b] & m:
                    hit[b] = True
        w, r = grp_weight[g], grp_row[g]
        for b in range(nb):
            if hit[b]:
                out[r, b] += w
    return out


@numba.njit(cache=True)
def _segment_any_kernel(x, order, starts):
    n_g, n, nb = len(starts), len(order), x.shape[1]
    out = np.zeros((n_g, nb), np.bool_)
    for g in range(n_g):
        j1 = starts[g + 1] if g + 1 < n_g else n
        for j in range(starts[g], j1):
            row = order[j]
            for b in range(nb):
                if x[row, b]:
                    out[g, b] = True
    return out


def segment_any(x: NDArray, order: NDArray[np.int64], starts: NDArray[np.int64]) -> NDArray:
    """Per group and draw: whether any row ``x[order[j]]`` of the group is non-zero.

    Groups are runs of ``order`` starting at ``starts``; ``x`` has one column per draw.

    Examples
    --------
    >>> x = np.array([[0, 1], [0, 0], [2, 0]], np.uint16)
    >>> segment_any(x, np.array([1, 0, 2]), np.array([0, 2])).tolist()
    [[False, True], [True, False]]
    """
    if not len(starts):
        return np.zeros((0, x.shape[1]), bool)
    return _segment_any_kernel(np.ascontiguousarray(x), np.asarray(order, np.int64),
                               np.asarray(starts, np.int64))


def known_passes(model: LeakModel, bits: NDArray[np.uint16]) -> NDArray[np.bool_]:
    """Tell, per pass (in the order given to :func:`build_model`) and draw, if it was given away.

    ``bits`` is :func:`fire_bits`' ``(flights, draws)``. A pass is given away when a channel
    that reaches it fired for its flight: the rule by which a site's visits become known.

    Examples
    --------
    >>> from exposure.leakmodel import build_model
    >>> from exposure.scenario import default_scenario
    >>> flights = pd.DataFrame({"flight_id": ["f1"], "vendor": ["Skydio"]})
    >>> sites = pd.DataFrame({"site_id": ["s"], "category": ["dam"], "sensitivity": [3]})
    >>> passes = pd.DataFrame({"flight_id": ["f1"], "site_id": ["s"], "seconds_in_view": [9.0]})
    >>> cover = pd.DataFrame(columns=["site_id", "flight_id", "cell", "best_gsd_m", "site_cells"])
    >>> model = build_model(passes, flights, sites, cover, scenario=default_scenario())
    >>> bits = np.array([[0, 1 << CHANNELS.index("flight_record_sync")]], np.uint16)
    >>> known_passes(model, bits).tolist()
    [[False, True]]
    """
    return (bits[model.given_pass_flight] & model.given_pass_known[:, None]) != 0


def pass_leaks(model: LeakModel, bits: NDArray[np.uint16]):
    """Channel bits given away per site and per (site, flight) pair, and seconds given away.

    ``bits`` is :func:`fire_bits`' ``(flights, draws)``. Returns, each with one column per draw:
    site bits (visits known, imagery leaked), the same per (site, flight) pair, and the seconds
    in view of the passes given away and of those whose imagery leaked, per site.
    """
    nb, n_s = bits.shape[1], len(model.sites)
    if not len(model.pass_flight):
        z16, zf = np.zeros((n_s, nb), np.uint16), np.zeros((n_s, nb))
        return z16, z16, z16[:0], z16[:0], zf, zf
    return _pass_kernel(bits, model.pass_flight, model.pass_known, model.pass_pix,
                        model.pass_seconds, model.pair_starts, model.pair_site_starts)


def _coverage_block(model: LeakModel, bits: NDArray[np.uint16]) -> NDArray[np.float64]:
    """Per site and draw: share of the site's cells leaked at NIIRS ≥ k."""
    if not len(model.ent_src):
        return np.zeros((len(model.sites), bits.shape[1]))
    return _coverage_kernel(bits, model.src_flight, model.src_bits, model.ent_src,
                            model.grp_starts, model.grp_weight, model.grp_site,
                            len(model.sites))

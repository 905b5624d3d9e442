"""How much of each site's pattern of life a foreign party could rebuild from leaked positions.

The draws are the leak simulation's (:mod:`exposure.leaks`): the same drone settings, channel
events, vendor-cloud access and random numbers as :func:`exposure.leaks.simulate_leaks` with the
same scenario, seed and number of draws, so the two runs describe the same simulated worlds. In
each draw a pass is given away when a channel that reaches it fired for its flight
(:func:`exposure.leakdraws.known_passes`: DroneID and Remote ID heard by a receiver, app telemetry
near the take-off point, zone requests, synced flight records, leaked imagery), and a **visit
is known** when any of its passes is. From the known visits alone the other side rebuilds the
pattern by the rules of :mod:`exposure.patterns`. Per site, over the draws:

``expected_share_known`` (with ``share_known_p05`` / ``_p95``)
    The share of the fleet's visits that became known.
``p_any_visit_known``
    The share of draws in which any visit became known (for a site without third-party visits,
    ``p_visits_known`` of ``site_leaks.csv``).
``p_usual_time_learnt`` (with a 90 % Wilson interval ``_lo`` / ``_hi``)
    The share of draws in which at least ``min_visits`` visits became known, their usual time
    lies within ±1 h of the true usual time, and at least 40 % of them started within ±1 h of
    it (what ``regularity`` calls ``medium``): the known visits show the time as a pattern, not
    a chance, and the other side would have learnt when the site is visited. NA for a site whose
    regularity is not rated (fewer than ``min_visits`` visits: it has no usual time).
``leaked_usual_share`` (mean, with ``_p05`` / ``_p95``)
    The usual share the other side would measure from the known visits alone, over the draws in
    which at least ``min_visits`` visits became known (NA when there are none): how regular the
    site looks from outside.

Third-party visits are not the fleet's and are left out: whoever heard them already has them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from exposure.errors import ExposureError
from exposure.leakdraws import Behaviour, fire_bits, known_passes, segment_any
from exposure.leakmodel import LeakModel, run_starts
from exposure.leaks import wilson_interval
from exposure.patterns import Patterns
from exposure.rhythm import REGULARITY_BINS, WEEK_MINUTES, best_times

__all__ = ["LEAKED_COLUMNS", "leaked_patterns"]

#: Columns that :func:`leaked_patterns` adds to ``site_patterns``.
LEAKED_COLUMNS = (
    "expected_share_known", "share_known_p05", "share_known_p95", "p_any_visit_known",
    "p_usual_time_learnt", "p_usual_time_learnt_lo", "p_usual_time_learnt_hi",
    "leaked_usual_share", "leaked_usual_share_p05", "leaked_usual_share_p95", "leak_draws",
)  # fmt: skip

# Passes or visits × draws per block at most (a few bytes each): bounds memory.
_CELLS = 16_000_000


def _percentiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Percentiles of each column over its finite values (numpy's linear rule); NaN if none.

    One sort for all columns: ``numpy.nanpercentile`` works column by column.
    """
    v = np.sort(x.astype(np.float64), axis=0)  # NaN sorts last
    k = np.isfinite(v).sum(axis=0)
    out = np.full((len(qs), x.shape[1]), np.nan)
    ok = k > 0
    for i, q in enumerate(qs):
        pos = q / 100 * (k[ok] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, k[ok] - 1)
        a = np.take_along_axis(v[:, ok], lo[None], axis=0)[0]
        b = np.take_along_axis(v[:, ok], hi[None], axis=0)[0]
        out[i, ok] = a + (b - a) * (pos - lo)
    return out


def _aligned(patterns: Patterns, model: LeakModel) -> None:
    ours = np.asarray(patterns.pass_flight, dtype=object)
    theirs = model.profiles["flight_id"].to_numpy(object)[model.given_pass_flight]
    if len(ours) != len(theirs) or not (ours.astype(str) == theirs.astype(str)).all():
        raise ExposureError(
            f"pattern leaks: the leak model was built from other passes ({len(theirs)} passes) "
            f"than the patterns ({len(ours)}); expected the same passes table, in the same order"
        )


def leaked_patterns(
    patterns: Patterns,
    model: LeakModel,
    behaviour: Behaviour,
    *,
    draws: int,
    seed: int,
    block_size: int = 256,
) -> Patterns:
    """Estimate, per site, how much of its pattern leaked positions give away.

    Parameters
    ----------
    patterns : Patterns
        From :func:`exposure.patterns.patterns_of_life`. Not modified.
    model : exposure.leakmodel.LeakModel
        From :func:`exposure.leakmodel.build_model` on the same passes table (same rows, same
        order); a :class:`~exposure.leaks.LeakResult` carries one (``result.model``).
    behaviour : exposure.leakdraws.Behaviour
        From :func:`exposure.leakdraws.behaviour` (``result.behaviour``).
    draws, seed : int
        As in the leak run to be matched (``result.draws``, ``result.seed``).
    block_size : int
        Draws per block at most: bounds memory, does not change the results.

    Returns
    -------
    Patterns
        A copy whose ``site_patterns`` has the :data:`LEAKED_COLUMNS` (module notes) and whose
        ``visits`` has ``p_known``, the share of draws in which the visit became known (NA for
        third parties' visits).

    Raises
    ------
    ExposureError
        If the model was built from other passes, or a parameter is out of range.
    """
    if draws < 1 or seed < 0 or block_size < 1:
        raise ExposureError(f"pattern leaks: draws = {draws}, seed = {seed}, block_size = "
                            f"{block_size}: expected draws ≥ 1, seed ≥ 0, block_size ≥ 1")
    _aligned(patterns, model)
    visits, table = patterns.visits, patterns.site_patterns
    mv = patterns.min_visits
    sids = pd.Index(table["site_id"].astype(str))
    n_s = len(sids)
    # The fleet's visits ordered by their site's row of the table, and their passes grouped by
    # visit in that order: per-site sums are then sums over runs of rows.
    pv = patterns.pass_visit
    fleet_visit = ~visits["third_party"].to_numpy(bool)
    rows = np.flatnonzero(fleet_visit[pv]) if len(pv) else np.zeros(0, np.int64)
    vid = np.unique(pv[rows])
    g = sids.get_indexer(visits["site_id"].astype(str).to_numpy()[vid]).astype(np.int64)
    by_site = np.argsort(g, kind="stable")
    vid, g = vid[by_site], g[by_site]
    rank = np.zeros(len(visits), np.int64)
    rank[vid] = np.arange(len(vid))
    order = rows[np.argsort(rank[pv[rows]], kind="stable")].astype(np.int64)
    starts = run_starts(rank[pv[order]]) if len(order) else np.zeros(0, np.int64)
    minute = visits["minute_of_week"].to_numpy(np.int64)[vid]
    n = np.bincount(g, minlength=n_s)
    present = np.flatnonzero(n)
    site_start = np.searchsorted(g, present)
    usual = best_times(g, minute, n_groups=n_s)[0][:, 0]
    rated = (n >= mv) & (usual >= 0)
    share = np.full((draws, n_s), np.nan, np.float32)
    looks = np.full((draws, n_s), np.nan, np.float32)
    identified = np.zeros(n_s, np.int64)
    any_known = np.zeros(n_s, np.int64)
    visit_known = np.zeros(len(vid), np.int64)
    step = max(1, min(block_size, _CELLS // max(len(pv), 1)))
    for b0 in range(0, draws, step):
        b1 = min(draws, b0 + step)
        bits = fire_bits(behaviour, model.drone_of_flight, len(model.drone_keys), seed, b0, b1)
        vk = segment_any(known_passes(model, bits), order, starts)  # (fleet visits, draws)
        known = np.zeros((n_s, b1 - b0), np.int64)
        if len(present):
            known[present] = np.add.reduceat(vk, site_start, axis=0, dtype=np.int64)
        best, window = best_times(g, minute, vk, n_groups=n_s)
        apart = np.abs(best - usual[:, None])
        near = np.minimum(apart, WEEK_MINUTES - apart) <= 60
        enough = known >= mv
        pattern = window >= REGULARITY_BINS[0] * known
        identified += (enough & near & pattern & rated[:, None]).sum(axis=1)
        any_known += (known > 0).sum(axis=1)
        visit_known += vk.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            share[b0:b1] = (known / np.where(n > 0, n, np.nan)[:, None]).T
            looks[b0:b1] = np.where(enough, window / np.where(known > 0, known, 1), np.nan).T
    out = table.copy()
    fleet = n > 0
    q = _percentiles(share[:, fleet], (5, 95))
    cols: dict[str, np.ndarray] = {c: np.full(n_s, np.nan) for c in LEAKED_COLUMNS}
    cols["expected_share_known"][fleet] = share[:, fleet].mean(axis=0, dtype=np.float64)
    cols["share_known_p05"][fleet], cols["share_known_p95"][fleet] = q
    cols["p_any_visit_known"][fleet] = any_known[fleet] / draws
    learnt = "p_usual_time_learnt"
    cols[learnt][rated] = identified[rated] / draws
    lo, hi = wilson_interval(identified, draws)
    cols[f"{learnt}_lo"][rated], cols[f"{learnt}_hi"][rated] = lo[rated], hi[rated]
    seen = np.isfinite(looks).any(axis=0)
    if seen.any():
        cols["leaked_usual_share"][seen] = np.nanmean(looks[:, seen], axis=0, dtype=np.float64)
    cols["leaked_usual_share_p05"], cols["leaked_usual_share_p95"] = _percentiles(looks, (5, 95))
    cols["leak_draws"][fleet] = draws
    for c in LEAKED_COLUMNS:
        out[c] = pd.array(cols[c], dtype="Int64") if c == "leak_draws" else cols[c]
    p_known = np.full(len(visits), np.nan)
    p_known[vid] = visit_known / draws
    return replace(patterns, site_patterns=out, visits=visits.assign(p_known=p_known))

"""The replacement planner: which drones to replace first for the largest drop in leak risk.

Objective (the expected sensitivity-weighted leaked exposure, the sum of the sites'
``leak_risk``; ``focus`` restricts it to one site category)::

    J = Σ over sites of sensitivity × (E[leaked coverage at NIIRS ≥ k]
                                       + imagery weight × P(any imagery leaked)
                                       + positions weight × P(visits known))

The coverage term is what an adversary could map of the site at NIIRS ≥ k. The imagery term
(``objective.imagery_weight``, 0.3) counts any leaked picture of it, including oblique views the
nadir coverage grid does not hold; the positions term (``objective.positions_weight``, 0.2)
values knowing when and from where the site was overflown at a fifth of the site fully imaged.

Replacing a unit (a drone, or every drone of a model) gives all its flights the scenario's
``[replacement]`` profile (vendor, app, vendor country, settings) and keeps its flights: the
same passes are flown by a drone that leaks differently. Its **reduction** is the expected drop
of J when it alone is replaced, everything else as it was; its **cost** is the sum over its
drones of the inventory's ``replacement_cost`` (the price of a like-for-like drone) times the
cost factor of the drone's vendor country (``[replacement] cost_factor``, 10 by default since
China-free drones were reported to cost up to ten times as much;
``cost_factor_by_vendor_country`` for the exceptions).

Units are ranked by reduction per unit of cost (greedy). When units' leaks do not overlap (no
cell or visit is given away by two units in the same draw) J is a sum of per-unit terms, each
unit's reduction does not depend on what else was replaced, and this order is the greedy
optimum: every prefix is the best set for its cost, up to the last unit it cuts (the fractional
knapsack). When leaks overlap (two drones imaging the same cells), replacing one drone alone
changes little and the ranking understates both; the cumulative columns are exact for the
order chosen nonetheless: for every prefix they count a cell or a visit as leaked in a draw
when an unreplaced unit leaked it or a replaced unit still did so as a replacement (one more
pass over the same draws, so the curve has no more noise than the base run).

All draws reuse the base run's random numbers; counts are tallied as integers, so the plan does
not depend on the block size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from exposure.errors import ExposureError
from exposure.leakdraws import behaviour, fire_bits, pass_leaks, segment_any
from exposure.leakmodel import LeakModel, run_starts
from exposure.leaks import LeakResult
from exposure.profiles import replace_profiles

__all__ = ["plan_replacement"]


@dataclass(frozen=True)
class _Term:
    """One part of the objective as (group, unit) pairs.

    A group is a site (visits, imagery) or a coverage group of cells; it is leaked in a draw
    when any of its pairs is. ``order``/``starts`` turn the per-draw leak flags of the items
    (site-flight pairs, coverage entries) into pairs; ``group_starts`` delimit each group's
    pairs; ``count`` is what a leaked group counts (1, or its cells); ``site`` its site.
    """

    name: str
    order: NDArray[np.int64]
    starts: NDArray[np.int64]
    unit: NDArray[np.int64]
    group_starts: NDArray[np.int64]
    site: NDArray[np.int64]
    count: NDArray[np.int64]


def _term(name: str, group: NDArray, unit: NDArray, site_of_group: NDArray, count) -> _Term:
    order = np.lexsort((unit, group))
    g, u = group[order], unit[order]
    starts = run_starts(g, u)
    pg = g[starts]
    gstarts = run_starts(pg)
    groups = pg[gstarts]
    return _Term(name, order, starts, u[starts], gstarts, site_of_group[groups],
                 np.broadcast_to(count, len(site_of_group))[groups].astype(np.int64))


def _units(profiles: pd.DataFrame, by: str) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    if by == "drone":
        key = profiles["drone_key"].astype(str)
    elif by == "model":
        key = profiles["vendor"].astype(str) + " " + profiles["model"].astype(str)
    else:
        raise ExposureError(f"replacement: by = {by!r}: expected 'drone' or 'model'")
    codes, names = pd.factorize(key, sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def _terms(model: LeakModel, unit_of: NDArray[np.int64]) -> list[_Term]:
    n_s = len(model.sites)
    pair_unit = unit_of[model.pair_flight]
    lengths = np.diff(np.r_[model.grp_starts, len(model.ent_src)])
    ent_group = np.repeat(np.arange(len(model.grp_starts)), lengths)
    return [
        _term("visits", model.pair_site, pair_unit, np.arange(n_s), 1),
        _term("imagery", model.pair_site, pair_unit, np.arange(n_s), 1),
        _term("coverage", ent_group, unit_of[model.src_flight[model.ent_src]], model.grp_site,
              model.grp_cells),
    ]


def _owner(term: _Term) -> NDArray[np.int64]:
    """Index of each pair's group."""
    return np.repeat(np.arange(len(term.group_starts)),
                     np.diff(np.r_[term.group_starts, len(term.starts)]))


def _item_flags(model: LeakModel, bits: NDArray[np.uint16]) -> dict[str, NDArray[np.bool_]]:
    """Flag the items that leaked, one column per draw.

    Items are the (site, flight) pairs for visits and imagery, and the coverage entries.
    """
    _, _, pair_k, pair_i, _, _ = pass_leaks(model, bits)
    src = (bits[model.src_flight] & model.src_bits[:, None]) != 0
    return {"visits": pair_k != 0, "imagery": pair_i != 0, "coverage": src[model.ent_src]}


def _tally(base: LeakResult, beh_q, terms: list[_Term], rank: NDArray[np.int64] | None, n_u: int):
    """One pass over the base run's draws, every drone as it is (o) and replaced (q).

    Without ``rank``: per pair, the number of draws in which replacing that unit alone removes
    the group's leak minus those in which it adds one. With ``rank``: per site and prefix size
    N = 0..n_u, the leaked count (draws × cells for coverage) with units ranked 1..N replaced.
    """
    model = base.model
    n_s = len(model.sites)
    out = {t.name: np.zeros(len(t.starts), np.int64) if rank is None
           else np.zeros(n_s * (n_u + 2), np.int64) for t in terms}
    owners = {t.name: _owner(t) for t in terms}
    for b0 in range(0, base.draws, base.block_size):
        b1 = min(base.draws, b0 + base.block_size)
        flags = [
            _item_flags(model, fire_bits(beh, model.drone_of_flight, len(model.drone_keys),
                                         base.seed, b0, b1))
            for beh in (base.behaviour, beh_q)
        ]
        for t in terms:
            if not len(t.starts):
                continue
            o, q = (segment_any(f[t.name], t.order, t.starts) for f in flags)
            if rank is None:
                count = np.add.reduceat(o.astype(np.int64), t.group_starts, axis=0)
                alone = (count[owners[t.name]] - o) == 0
                out[t.name] += (alone & o & ~q).sum(1) - (alone & ~o & q).sum(1)
                continue
            r = rank[t.unit][:, None]
            m1 = np.maximum.reduceat(np.where(o, r, 0), t.group_starts, axis=0)
            m2 = np.minimum.reduceat(np.where(q, r, n_u + 1), t.group_starts, axis=0)
            base_idx = np.broadcast_to((t.site * (n_u + 2))[:, None], m1.shape)
            w = np.broadcast_to(t.count[:, None], m1.shape)
            back = m2 <= n_u
            # Leaked for prefix sizes [0, m1) and, where the replacement still leaks it, from
            # max(m1, m2) on: +w at 0, -w at m1, +w at max(m1, m2) when m2 ≤ n_u.
            for idx, sign, sel in ((base_idx, 1, slice(None)), (base_idx + m1, -1, slice(None)),
                                   (base_idx + np.maximum(m1, m2), 1, back)):
                out[t.name] += sign * np.bincount(
                    idx[sel].ravel(), weights=w[sel].ravel(), minlength=out[t.name].size
                ).astype(np.int64)
    if rank is not None:
        for name in out:
            out[name] = np.cumsum(out[name].reshape(n_s, n_u + 2), axis=1)[:, : n_u + 1]
    return out


def plan_replacement(
    base: LeakResult,
    *,
    by: str = "drone",
    focus: str | None = None,
    cost_factor: float | None = None,
) -> pd.DataFrame:
    """Rank drones (or models) by leak-risk reduction per unit of replacement cost.

    Parameters
    ----------
    base : LeakResult
        The base run (:func:`exposure.leaks.simulate_leaks`); its draws and seed are reused.
    by : {"drone", "model"}
        Replace single drones, or all drones of a model at once.
    focus : str, optional
        Count only sites of this category in the objective (e.g. ``"nuclear"``).
    cost_factor : float, optional
        Overrides the scenario's ``[replacement] cost_factor`` (the per-country exceptions
        still apply).

    Returns
    -------
    pandas.DataFrame
        One row per unit in rank order: ``rank``, ``unit``, ``drone_id`` (with
        ``by="drone"``), ``vendor``, ``model``, ``agency``, ``vendor_country``, ``drones``,
        ``flights``, ``cost``, ``reduction`` (of J) and its parts ``reduction_coverage``,
        ``reduction_imagery``, ``reduction_positions`` (unweighted changes of expected
        sensitivity-weighted coverage, imagery and visit chances), ``reduction_per_cost``,
        ``cumulative_cost``, ``cumulative_reduction``, ``cumulative_share`` (of J),
        ``cumulative_coverage_share`` (of the expected sensitivity-weighted leaked coverage),
        ``cumulative_reduction_share`` (of what replacing every unit achieves), ``draws``.
        ``attrs`` holds the base objective (``objective``, ``coverage_objective``), ``focus``
        and ``by``.

    Raises
    ------
    ExposureError
        If ``by`` is unknown, ``cost_factor`` is not positive or ``focus`` names no site
        category of the run.

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> from exposure.leaks import simulate_leaks
    >>> flights = pd.DataFrame({"flight_id": ["a", "b"], "drone_id": ["D1", "D2"],
    ...     "vendor": ["DJI", "Skydio"], "replacement_cost": [1000.0, 20000.0]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["s"], "category": ["nuclear"], "sensitivity": [5]},
    ...     geometry=[shapely.box(139.0, 35.0, 139.01, 35.01)], crs=4326)
    >>> passes = pd.DataFrame({"flight_id": ["a", "b"], "site_id": ["s", "s"],
    ...     "seconds_in_view": [60.0, 60.0], "capturing": [True, True]})
    >>> cover = pd.DataFrame({"site_id": "s", "flight_id": ["a", "b"], "cell": [0, 1],
    ...     "best_gsd_m": 0.05, "site_cells": 2})
    >>> plan = plan_replacement(simulate_leaks(passes, flights, sites, cover, draws=400))
    >>> plan[["rank", "unit", "cost"]].values.tolist()  # 10× the DJI, 1× the US drone
    [[1, 'D1', 10000.0], [2, 'D2', 20000.0]]
    """
    model, scenario = base.model, base.model.scenario
    factor = scenario.cost_factor if cost_factor is None else float(cost_factor)
    if not factor > 0:
        raise ExposureError(f"replacement: cost_factor = {cost_factor!r}: expected a number > 0")
    prof = model.profiles
    unit_of, names = _units(prof, by)
    n_u, n = len(names), base.draws
    category = model.sites["category"].astype(str).str.casefold().to_numpy()
    if focus is not None and not (category == focus.casefold()).any():
        raise ExposureError(
            f"replacement: focus = {focus!r}: no site of that category has a pass (categories "
            f"with passes: {', '.join(sorted(set(category)))})"
        )
    weight = model.sens * ((category == focus.casefold()) if focus else 1.0)
    per_site = {
        "visits": weight,
        "imagery": weight,
        "coverage": weight / np.where(model.site_cells > 0, model.site_cells, 1.0),
    }
    factors = {"visits": scenario.positions_weight, "imagery": scenario.imagery_weight,
               "coverage": 1.0}
    terms = _terms(model, unit_of)
    beh_q = behaviour(replace_profiles(prof, np.ones(len(prof), bool), scenario), model.regions,
                      scenario)

    delta = _tally(base, beh_q, terms, None, n_u)
    parts = {}
    for t in terms:
        owner = _owner(t)
        value = delta[t.name] * t.count[owner] * per_site[t.name][t.site[owner]]
        parts[t.name] = np.bincount(t.unit, weights=value, minlength=n_u) / n
    reduction = sum(factors[k] * v for k, v in parts.items())

    drones = prof.assign(_u=unit_of).drop_duplicates("drone_key")
    drone_factor = drones["vendor_country"].astype(str).map(
        scenario.cost_factor_by_vendor_country).fillna(factor).to_numpy(float)
    cost = np.bincount(drones["_u"], weights=drones["replacement_cost"].to_numpy(float)
                       * drone_factor, minlength=n_u)
    ratio = reduction / cost
    order = np.lexsort((names.astype(str), -reduction, -ratio))
    rank = np.empty(n_u, np.int64)
    rank[order] = np.arange(1, n_u + 1)

    hist = _tally(base, beh_q, terms, rank, n_u)
    curve = {name: (h * per_site[name][:, None]).sum(axis=0) / n for name, h in hist.items()}
    j = sum(factors[k] * v for k, v in curve.items())
    j_cov = curve["coverage"]
    first = prof.assign(_u=unit_of).drop_duplicates("_u").set_index("_u").sort_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "rank": np.arange(1, n_u + 1),
            "unit": names[order],
            "drone_id": names[order] if by == "drone" else None,
            "vendor": first["vendor"].to_numpy()[order],
            "model": first["model"].to_numpy()[order],
            "agency": first["agency"].to_numpy()[order] if by == "drone" else None,
            "vendor_country": first["vendor_country"].to_numpy()[order],
            "drones": np.bincount(drones["_u"], minlength=n_u)[order],
            "flights": np.bincount(unit_of, minlength=n_u)[order],
            "cost": cost[order],
            "reduction": reduction[order],
            "reduction_coverage": parts["coverage"][order],
            "reduction_imagery": parts["imagery"][order],
            "reduction_positions": parts["visits"][order],
            "reduction_per_cost": ratio[order],
            "cumulative_cost": np.cumsum(cost[order]),
            "cumulative_reduction": j[0] - j[1:],
            "cumulative_share": (j[0] - j[1:]) / j[0] if j[0] > 0 else np.nan,
            "cumulative_coverage_share": (j_cov[0] - j_cov[1:]) / j_cov[0]
            if j_cov[0] > 0 else np.nan,
            "cumulative_reduction_share": (j[0] - j[1:]) / (j[0] - j[-1])
            if j[0] - j[-1] > 0 else np.nan,
            "draws": n,
        })
    out.attrs = {"objective": float(j[0]), "coverage_objective": float(j_cov[0]),
                 "focus": focus, "by": by}
    return out

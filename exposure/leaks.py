"""Data-leak simulation: what of a fleet's exposure could have reached a foreign party.

The model (DESIGN.md section 5; the channels and their defaults are in
:mod:`exposure.scenario` and ``exposure/data/leak_scenario.toml``):

1. **Per drone**, a setting the inventory marks unknown (local-data mode, flying logged out,
   an air-gapped controller) is drawn once per draw for the drone, so it holds for all of its
   flights or none.
2. **Per flight and channel**, the channel fires with its probability after the scenario's
   rules (vendor, model, app, vendor country, region of the take-off point, start date), unless
   a setting in its ``off_when`` is on; a channel that ``requires`` another fires only with it
   (thumbnails travel with synced flight records). A vendor-cloud channel reaches the foreign
   party only if the party has access to that vendor's cloud in this draw (``access.p``, drawn
   once per vendor and draw, or per flight). Channels are otherwise independent, so with one
   flight the chance that anything leaks is ``1 − Π(1 − p)``.
3. **What a fired channel leaks** is fixed by the results: a radio broadcast gives away the
   passes during which the drone was within range of a receiver (listed receivers, using the
   decimated tracks of ``tracks.parquet``; or the "receiver within X m everywhere" assumption);
   other position channels give away the whole flight's passes, those at sites near the take-off
   point, or those at zone-category sites the drone came close to; pixel channels give away the
   imagery of passes during which the camera recorded.
4. **Per site** a draw yields: the leaked coverage at NIIRS ≥ k (the share of the site's
   coverage-grid cells that some flight whose imagery leaked saw at NIIRS ≥ k after the
   channel's resolution loss; the union comes from ``coverage_by_flight``), whether any imagery
   leaked, whether its visits became known (any pass given away by any channel; leaked imagery
   carries its position, so it counts too), and the seconds in view of the passes given away.
   A flight's cells at a site count for imagery only if it recorded during a pass at the site
   (cells are per flight and site, not per pass: an upper bound when it recorded only part of
   the time).

Reported per site: expected values with 5th-95th percentiles over the draws, and probabilities
with a 90 % Wilson interval (the sampling error of the estimate), with the number of draws.

Where the parts live (each module imports only those named before it):
:mod:`exposure.leakgeometry` (tracks, take-off points, distances, radio reach, zone pass
removal), :mod:`exposure.leakmodel` (the prepared :class:`~exposure.leakmodel.LeakModel` and
:func:`~exposure.leakmodel.build_model`), :mod:`exposure.leakdraws` (random numbers, per-flight
behaviour, the draws and their compiled kernels; it describes where each random number comes
from and how much memory a run takes), and this module (the result tables and the entry
points).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from exposure.errors import ExposureError
from exposure.leakdraws import HEADLINES, Behaviour, behaviour, run_draws
from exposure.leakgeometry import remove_zone_passes
from exposure.leakmodel import LeakModel, build_model
from exposure.scenario import CHANNELS, Scenario, default_scenario
from exposure.whatif import WhatIf, apply_what_if

__all__ = [
    "LeakResult",
    "compare_what_ifs",
    "sensitivity_sweep",
    "simulate_leaks",
    "wilson_interval",
]

_C = len(CHANNELS)
_Z90 = 1.6448536269514722  # standard normal quantile of 0.95: a two-sided 90 % interval


# --------------------------------------------------------------------------------------------
# Tables


def wilson_interval(k: NDArray, n: int, z: float = _Z90) -> tuple[NDArray, NDArray]:
    """Wilson score interval of a binomial proportion (90 % two-sided by default).

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([0, 50]), 100)
    >>> lo.round(3).tolist(), hi.round(3).tolist()
    ([0.0, 0.419], [0.026, 0.581])
    """
    p = np.asarray(k, float) / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _top(names: Sequence[str], counts: NDArray) -> NDArray[np.object_]:
    """Name of the largest count per column (NA where all are 0)."""
    best = np.argmax(counts, axis=0)
    top = np.asarray(names, dtype=object)[best]
    return np.where(counts.max(axis=0, initial=0) > 0, top, None)


def _site_leaks(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    k = f"niirs{model.niirs_k:g}"
    out = model.sites.copy()
    cov, sec = t["cov"], t["seconds"]
    q = np.percentile(cov, [5, 95], axis=0) if len(out) else np.zeros((2, 0))
    qs = np.percentile(sec, [5, 95], axis=0) if len(out) else np.zeros((2, 0))
    out[f"expected_leaked_coverage_{k}"] = cov.mean(axis=0, dtype=np.float64)
    out[f"leaked_coverage_{k}_p05"], out[f"leaked_coverage_{k}_p95"] = q
    for name, count in (("p_any_imagery_leaked", t["imaged"]), ("p_visits_known", t["known"])):
        out[name] = count / draws
        out[f"{name}_lo"], out[f"{name}_hi"] = wilson_interval(count, draws)
    out["expected_leaked_seconds_in_view"] = sec.mean(axis=0, dtype=np.float64)
    out["leaked_seconds_in_view_p05"], out["leaked_seconds_in_view_p95"] = qs
    out["expected_leaked_seconds_imaged"] = t["seconds_imaged"].mean(axis=0, dtype=np.float64)
    sc = model.scenario
    out["leak_risk"] = model.sens * (
        out[f"expected_leaked_coverage_{k}"] + sc.imagery_weight * out["p_any_imagery_leaked"]
        + sc.positions_weight * out["p_visits_known"]
    )
    out["top_channel"] = _top(CHANNELS, t["channel_known"])
    for level in ("vendor", "drone"):
        site, key = t["level_keys"][level]
        known = t["levels"][level][0]
        frame = pd.DataFrame({"s": site, "key": key, "n": known}).sort_values(
            ["s", "n", "key"], ascending=[True, False, True], kind="stable"
        )
        frame = frame[frame["n"] > 0].drop_duplicates("s")
        out[f"top_{level}"] = pd.Series(frame["key"].to_numpy(), index=frame["s"].to_numpy(),
                                        dtype="object").reindex(range(len(out))).to_numpy()
    out["draws"] = draws
    return out.sort_values(["leak_risk", "site_id"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def _flight_leaks(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    prof = model.profiles
    any_, pos, pix = t["flights"]
    return pd.DataFrame({
        "flight_id": prof["flight_id"], "drone_id": prof["drone_key"], "vendor": prof["vendor"],
        "model": prof["model"], "agency": prof["agency"], "p_any_leaked": any_ / draws,
        "p_positions_leaked": pos / draws, "p_imagery_leaked": pix / draws, "draws": draws,
    })


def _attribution(model: LeakModel, t: dict[str, object], draws: int) -> pd.DataFrame:
    parts = []
    n_s = len(model.sites)
    parts.append(pd.DataFrame({
        "s": np.tile(np.arange(n_s), _C), "level": "channel",
        "key": np.repeat(np.asarray(CHANNELS, dtype=object), n_s),
        "known": t["channel_known"].ravel(), "imaged": t["channel_imaged"].ravel(),
    }))
    for level, (site, key) in t["level_keys"].items():
        known, imaged = t["levels"][level]
        parts.append(pd.DataFrame({"s": site, "level": level, "key": key, "known": known,
                                   "imaged": imaged}))
    a = pd.concat(parts, ignore_index=True)
    a = a[(a["known"] > 0) | (a["imaged"] > 0)]
    site_known = np.asarray(t["known"])[a["s"]]
    site_imaged = np.asarray(t["imaged"])[a["s"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = pd.DataFrame({
            "site_id": model.sites["site_id"].to_numpy()[a["s"]],
            "name": model.sites["name"].to_numpy()[a["s"]],
            "level": a["level"].to_numpy(), "key": a["key"].to_numpy(),
            "p_visits_known_via": a["known"].to_numpy() / draws,
            "p_imagery_leaked_via": a["imaged"].to_numpy() / draws,
            "share_of_visits_known": np.where(site_known > 0, a["known"] / site_known, np.nan),
            "share_of_imagery_leaked": np.where(site_imaged > 0, a["imaged"] / site_imaged,
                                                np.nan),
            "draws": draws,
        })
    rank = {"channel": 0, "drone": 1, "vendor": 2, "agency": 3}
    out["_r"] = out["level"].map(rank)
    out["_s"] = a["s"].to_numpy()
    return out.sort_values(["_s", "_r", "p_visits_known_via", "key"],
                           ascending=[True, True, False, True], kind="stable").drop(
        columns=["_r", "_s"]).reset_index(drop=True)


def _summary(per_draw: pd.DataFrame) -> pd.DataFrame:
    values = per_draw.to_numpy(float)
    q = np.percentile(values, [5, 95], axis=0)
    return pd.DataFrame({
        "metric": list(per_draw.columns), "description": [HEADLINES[m] for m in per_draw],
        "mean": values.mean(axis=0), "p05": q[0], "p95": q[1], "draws": len(per_draw),
    })


# --------------------------------------------------------------------------------------------
# Public entry points


@dataclass(frozen=True)
class LeakResult:
    """What :func:`simulate_leaks` returns.

    Attributes
    ----------
    site_leaks : pandas.DataFrame
        One row per site with at least one pass, riskiest first: ``site_id``, ``name``,
        ``category``, ``sensitivity``, ``flights``, ``passes``, ``seconds_in_view``,
        ``coverage_fraction_niirs{k}`` (observed), ``expected_leaked_coverage_niirs{k}`` with
        ``leaked_coverage_niirs{k}_p05``/``_p95``, ``p_any_imagery_leaked`` and
        ``p_visits_known`` each with a 90 % Wilson interval (``_lo``, ``_hi``),
        ``expected_leaked_seconds_in_view`` with ``_p05``/``_p95``,
        ``expected_leaked_seconds_imaged``, ``leak_risk`` (sensitivity × (expected leaked
        coverage + imagery weight × p_any_imagery_leaked + positions weight ×
        p_visits_known)), ``top_channel``, ``top_vendor``,
        ``top_drone`` (the contributor through which the visits most often became known),
        ``draws``.
    flight_leaks : pandas.DataFrame
        Per flight: the chance that anything, its positions, or its imagery reached a foreign
        party.
    attribution : pandas.DataFrame
        Per site and contributor (``level``: ``channel``, ``drone``, ``vendor``, ``agency``;
        ``key``): the share of draws in which the site's visits became known
        (``p_visits_known_via``) or its imagery leaked (``p_imagery_leaked_via``) through that
        contributor, and that as a share of the draws in which it happened at all
        (``share_of_...``, i.e. P(via X | leaked); several contributors can share a draw, so
        shares add up to 1 or more).
    headline : pandas.DataFrame
        :data:`~exposure.leakdraws.HEADLINES` with mean, 5th and 95th percentiles.
    per_draw : pandas.DataFrame
        The headline numbers of every draw (what-ifs are compared draw by draw).
    model, behaviour, draws, seed, block_size
        What ran, for what-ifs, sweeps and the replacement planner.
    inputs : dict
        The tables given (not copied), for what-ifs that remove passes.
    """

    site_leaks: pd.DataFrame
    flight_leaks: pd.DataFrame
    attribution: pd.DataFrame
    headline: pd.DataFrame
    per_draw: pd.DataFrame
    model: LeakModel
    behaviour: Behaviour
    draws: int
    seed: int
    block_size: int
    inputs: Mapping[str, object] = field(default_factory=dict, repr=False)

    @property
    def assumptions(self) -> tuple[str, ...]:
        """What the run assumed, in words."""
        extra = []
        if self.behaviour.undated:
            extra.append(f"{self.behaviour.undated} flights have no start time: no dated rule "
                         "applies to them")
        return (*self.model.assumptions, *extra)


def simulate_leaks(
    passes: pd.DataFrame,
    flights: pd.DataFrame,
    sites: pd.DataFrame,
    coverage_by_flight: pd.DataFrame,
    *,
    scenario: Scenario | None = None,
    tracks: pd.DataFrame | None = None,
    draws: int = 2000,
    seed: int = 0,
    niirs_k: float = 5.0,
    block_size: int = 256,
) -> LeakResult:
    """Monte Carlo of what of a fleet's exposure could have reached a foreign party.

    Parameters
    ----------
    passes : pandas.DataFrame
        The passes table (``flight_id``, ``site_id``, ``seconds_in_view``; ``capturing``,
        ``t_start``/``t_end`` and ``min_slant_range_m`` where channels need them).
    flights : pandas.DataFrame
        The flights table with the fleet inventory's columns where joined (a GeoDataFrame's
        track lines give take-off points when ``tracks`` is missing).
    sites : geopandas.GeoDataFrame
        ``site_id``, ``name``, ``category``, ``sensitivity`` and the polygons (EPSG:4326).
    coverage_by_flight : pandas.DataFrame
        ``site_id``, ``flight_id``, ``cell``, ``best_gsd_m``, ``site_cells``.
    scenario : Scenario, optional
        The shipped defaults when omitted.
    tracks : pandas.DataFrame, optional
        Timed track points (``flight_id``, ``time``, ``lon``, ``lat``): take-off points, and
        reception by listed radio receivers.
    draws, seed : int
        Number of draws and the seed (same seed, same numbers).
    niirs_k : float
        Coverage counts cells seen at NIIRS ≥ ``niirs_k``.
    block_size : int
        Draws per block: bounds memory, does not change the results.

    Returns
    -------
    LeakResult

    Raises
    ------
    ExposureError
        If a table lacks a column or names flights or sites the others do not have, or a
        parameter is out of range (all problems at once).

    Examples
    --------
    >>> import shapely
    >>> flights = pd.DataFrame({"flight_id": ["f1"], "drone_id": ["SN1"], "vendor": ["Skydio"],
    ...                         "start": ["2025-03-01T00:00:00Z"]})
    >>> sites = gpd.GeoDataFrame({"site_id": ["s1"], "name": ["Plant"], "category": ["nuclear"],
    ...     "sensitivity": [5]}, geometry=[shapely.box(139.0, 35.0, 139.01, 35.01)], crs=4326)
    >>> passes = pd.DataFrame({"flight_id": ["f1"], "site_id": ["s1"],
    ...                        "seconds_in_view": [60.0], "capturing": [True]})
    >>> cover = pd.DataFrame({"site_id": "s1", "flight_id": "f1", "cell": [0, 1],
    ...                       "best_gsd_m": [0.05, 0.05], "site_cells": 4})
    >>> r = simulate_leaks(passes, flights, sites, cover, draws=500, seed=1)
    >>> row = r.site_leaks.iloc[0]
    >>> float(row["coverage_fraction_niirs5"]), bool(0 < row["p_visits_known"] < 1)
    (0.5, True)
    """
    scenario = default_scenario() if scenario is None else scenario
    model = build_model(passes, flights, sites, coverage_by_flight, scenario=scenario,
                        tracks=tracks, niirs_k=niirs_k)
    beh = behaviour(model.profiles, model.regions, scenario)
    t = run_draws(model, beh, draws=draws, seed=seed, block_size=block_size)
    per_draw = pd.DataFrame(t["headline"])
    return LeakResult(
        site_leaks=_site_leaks(model, t, draws),
        flight_leaks=_flight_leaks(model, t, draws),
        attribution=_attribution(model, t, draws),
        headline=_summary(per_draw),
        per_draw=per_draw,
        model=model,
        behaviour=beh,
        draws=draws,
        seed=seed,
        block_size=block_size,
        inputs={"passes": passes, "flights": flights, "sites": sites,
                "coverage_by_flight": coverage_by_flight, "tracks": tracks},
    )


def _headlines(model: LeakModel, beh: Behaviour, base: LeakResult, draws: int) -> pd.DataFrame:
    t = run_draws(model, beh, draws=draws, seed=base.seed, block_size=base.block_size,
                  detail=False)
    return pd.DataFrame(t["headline"])


def compare_what_ifs(
    base: LeakResult,
    what_ifs: Sequence[WhatIf],
    *,
    zones: Mapping[Path, gpd.GeoDataFrame] | None = None,
) -> pd.DataFrame:
    """Re-run the simulation under each what-if and compare with the base run draw by draw.

    The what-if uses the base run's seed and draws, so each draw sees the same random numbers
    (common random numbers) and the difference has little sampling noise.

    Parameters
    ----------
    base : LeakResult
        The base run.
    what_ifs : sequence of WhatIf
        Policies (:func:`exposure.whatif.load_what_if`).
    zones : mapping of path to geopandas.GeoDataFrame, optional
        The zone polygons of every ``no_fly_zones`` change, keyed by the change's file.

    Returns
    -------
    pandas.DataFrame
        One row per what-if and headline: ``what_if``, ``metric``, ``base_mean``,
        ``what_if_mean``, ``difference_mean`` with ``difference_p05``/``_p95``,
        ``relative_change``, ``passes_removed``, ``draws``.

    Raises
    ------
    ExposureError
        If a zone file of a what-if was not given.
    """
    rows = []
    for w in what_ifs:
        scenario, profiles = apply_what_if(base.model.scenario, base.model.profiles, w)
        model, removed = base.model, 0
        if w.zone_files:
            missing = [str(z) for z in w.zone_files if zones is None or z not in zones]
            if missing:
                raise ExposureError(f"what-if {w.name!r}: zones not loaded: {missing}")
            gone = np.zeros(len(base.inputs["passes"]), bool)
            for z in w.zone_files:
                gone |= remove_zone_passes(
                    base.inputs["passes"], zones[z], flights=base.inputs["flights"],
                    sites=base.inputs["sites"], tracks=base.inputs["tracks"],
                )[0]
            removed = int(gone.sum())
            model = _without_passes(base, gone)
        model = replace(model, profiles=profiles, scenario=scenario)
        beh = behaviour(profiles, model.regions, scenario)
        per = _headlines(model, beh, base, base.draws)
        diff = per.to_numpy() - base.per_draw.to_numpy()
        q = np.percentile(diff, [5, 95], axis=0)
        b_mean = base.per_draw.to_numpy().mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.where(b_mean != 0, diff.mean(axis=0) / b_mean, np.nan)
        for j, metric in enumerate(per.columns):
            rows.append({
                "what_if": w.name, "metric": metric, "base_mean": b_mean[j],
                "what_if_mean": per[metric].mean(), "difference_mean": diff[:, j].mean(),
                "difference_p05": q[0, j], "difference_p95": q[1, j], "relative_change": rel[j],
                "passes_removed": removed, "draws": base.draws,
            })
    return pd.DataFrame(rows)


def _without_passes(base: LeakResult, gone: NDArray[np.bool_]) -> LeakModel:
    """Rebuild the base model without some passes.

    A flight's cells at a site go with its last pass there. Flights and drones keep their
    order, so the random numbers line up with the base run's.
    """
    i = base.inputs
    passes = i["passes"][~gone]
    cov = i["coverage_by_flight"]
    kept = pd.MultiIndex.from_frame(passes[["site_id", "flight_id"]].astype("string"))
    pairs = pd.MultiIndex.from_frame(cov[["site_id", "flight_id"]].astype("string"))
    return build_model(passes, i["flights"], i["sites"], cov[pairs.isin(kept)],
                       scenario=base.model.scenario, tracks=i["tracks"],
                       niirs_k=base.model.niirs_k)


def sensitivity_sweep(
    base: LeakResult,
    *,
    values: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    draws: int | None = None,
) -> pd.DataFrame:
    """How the headline numbers move with ``access.p`` and the flight-record sync chance.

    Each parameter is swept alone, the other kept at the scenario's value. Sweeping
    ``access.p`` sets it for every vendor (per-country values are dropped); sweeping the sync
    chance sets the channel's base probability and keeps its rules (no sync of US records after
    June 2024 stays). Every point uses the base run's seed (common random numbers).

    Returns
    -------
    pandas.DataFrame
        ``parameter``, ``value``, ``draws``, then per headline ``<metric>_mean``, ``_p05``,
        ``_p95``.
    """
    n = base.draws if draws is None else draws
    s0 = base.model.scenario
    rows = []
    for parameter in ("access.p", "flight_record_sync.p"):
        for v in values:
            if not 0 <= v <= 1:
                raise ExposureError(f"sensitivity: value {v!r}: expected a probability in [0, 1]")
            if parameter == "access.p":
                s = replace(s0, access_p=float(v), access_by_vendor_country={})
            else:
                s = s0.with_channel("flight_record_sync", p=float(v))
            model = replace(base.model, scenario=s)
            per = _headlines(model, behaviour(model.profiles, model.regions, s), base, n)
            row: dict[str, object] = {"parameter": parameter, "value": float(v), "draws": n}
            q = np.percentile(per.to_numpy(), [5, 95], axis=0)
            for j, metric in enumerate(per.columns):
                row |= {f"{metric}_mean": per[metric].mean(), f"{metric}_p05": q[0, j],
                        f"{metric}_p95": q[1, j]}
            rows.append(row)
    return pd.DataFrame(rows)

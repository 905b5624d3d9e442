"""The replacement planner: hand-computed reductions, exact cumulative curves, ranking."""

from __future__ import annotations

import copy
import tomllib
from importlib.resources import files

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from exposure.errors import ExposureError
from exposure.leaks import simulate_leaks
from exposure.replacement import plan_replacement
from exposure.scenario import scenario_from_dict

RAW = tomllib.loads(files("exposure").joinpath("data", "leak_scenario.toml").read_text("utf-8"))


def plain_scenario(p: dict[str, float], *, vendor_only: dict[str, str] | None = None,
                   access: float = 1.0):
    """Channels fire with ``p`` everywhere (or only for the vendor in ``vendor_only``), stop
    under local-data mode, and reveal the whole flight; the replacement keeps data local."""
    raw = copy.deepcopy(RAW)
    raw["access"] = {"p": access, "per": "flight"}
    raw["settings"] = {"local_data": 0.0, "no_login": 0.0, "air_gapped": 0.0}
    raw["radio"] = {"mode": "uniform", "receiver_within_m": 0.0}
    for name, ch in raw["channels"].items():
        ch["p"], ch["rules"], ch["off_when"] = p.get(name, 0.0), [], ["local_data"]
        ch.pop("requires", None)
        if ch["via"] != "radio":
            ch["reveals"] = "flight"
        if vendor_only and name in vendor_only:
            ch["p"], ch["rules"] = 0.0, [{"vendors": [vendor_only[name]], "p": p[name]}]
    return scenario_from_dict(raw, source="test")


def tables(cover_rows, *, vendors=("DJI", "DJI"), costs=(1000.0, 1000.0), drones=None,
           site_cells=4, categories=("nuclear",), models=None):
    n = len(vendors)
    fids = [f"f{i}" for i in range(n)]
    flights = pd.DataFrame({"flight_id": fids, "drone_id": list(drones or [f"D{i}" for i in
                            range(n)]), "vendor": list(vendors),
                            "model": list(models or ["M"] * n), "agency": "A",
                            "replacement_cost": list(costs), "data_settings": "ldm=off",
                            "start": "2025-01-01T00:00:00Z"})
    sites = gpd.GeoDataFrame(
        {"site_id": [f"s{i}" for i in range(len(categories))], "category": list(categories),
         "sensitivity": 5},
        geometry=[shapely.box(139 + i, 35, 139.01 + i, 35.01) for i in range(len(categories))],
        crs=4326,
    )
    cover = pd.DataFrame(cover_rows, columns=["site_id", "flight_id", "cell"])
    cover["best_gsd_m"], cover["site_cells"] = 0.05, site_cells
    passes = cover[["flight_id", "site_id"]].drop_duplicates().assign(seconds_in_view=60.0,
                                                                      capturing=True)
    return passes, flights, sites, cover


def test_a_single_drone_removes_what_it_alone_leaked():
    # Media upload always fires for the DJI drone, which images 2 of 4 cells of a sensitivity-5
    # site; its replacement keeps data local, so nothing leaks any more:
    # J = 5 × (0.5 + 0.3 × 1 + 0.2 × 1) = 5.0, all of it removed.
    s = plain_scenario({"media_upload": 1.0})
    r = simulate_leaks(*tables([("s0", "f0", 0), ("s0", "f0", 1)], vendors=("DJI",),
                               costs=(1000.0,)), scenario=s, draws=50)
    plan = plan_replacement(r)
    row = plan.iloc[0]
    assert row["reduction"] == pytest.approx(5.0)
    assert (row["reduction_coverage"], row["reduction_imagery"], row["reduction_positions"]) == (
        pytest.approx(2.5), pytest.approx(5.0), pytest.approx(5.0))
    assert row["cost"] == 10_000.0  # a CN drone: 10 times its price
    assert row["reduction_per_cost"] == pytest.approx(5.0 / 10_000)
    assert row["cumulative_share"] == pytest.approx(1.0)
    assert plan.attrs["objective"] == pytest.approx(5.0)


def test_ratio_order_and_exact_curve_without_overlap():
    # Two drones at two sites; each leaks with chance 0.5 per flight. D0 (1 of 4 cells) removes
    # 5 × 0.5 × (0.25 + 0.3 + 0.2) = 1.875 for 10,000; D1 (2 of 4 cells) 2.5 for 15,000: the
    # cheaper ratio comes first although the other removes more.
    s = plain_scenario({"media_upload": 0.5})
    r = simulate_leaks(*tables([("s0", "f0", 0), ("s1", "f1", 1), ("s1", "f1", 2)],
                               costs=(1000.0, 1500.0), categories=("nuclear", "nuclear")),
                       scenario=s, draws=4000, seed=1)
    plan = plan_replacement(r)
    assert plan["unit"].tolist() == ["D0", "D1"]
    assert plan["cost"].tolist() == [10_000.0, 15_000.0]
    assert plan["reduction"].tolist() == pytest.approx([1.875, 2.5], rel=0.05)
    # Disjoint leaks: the curve adds up the standalone reductions exactly.
    np.testing.assert_allclose(plan["cumulative_reduction"], plan["reduction"].cumsum())
    assert plan["cumulative_reduction_share"].iloc[-1] == pytest.approx(1.0)
    assert plan["cumulative_coverage_share"].tolist() == pytest.approx([1 / 3, 1.0], abs=0.03)
    assert plan["cumulative_cost"].tolist() == [10_000.0, 25_000.0]


def test_shared_site_the_curve_exceeds_the_standalone_sum():
    # The same two drones over one site: each visit or image is given away by the other half the
    # time, so replacing one alone removes less (D0: 5 × (0.125 + 0.5 × 0.25) = 1.25), and the
    # whole curve reaches J = 5 × (0.375 + 0.3 × 0.75 + 0.2 × 0.75) = 3.75.
    s = plain_scenario({"media_upload": 0.5})
    r = simulate_leaks(*tables([("s0", "f0", 0), ("s0", "f1", 1), ("s0", "f1", 2)],
                               costs=(1000.0, 1500.0)), scenario=s, draws=4000, seed=1)
    plan = plan_replacement(r).set_index("unit")
    assert plan.loc["D0", "reduction"] == pytest.approx(1.25, rel=0.06)
    assert plan["cumulative_reduction"].iloc[-1] == pytest.approx(3.75, rel=0.03)
    assert plan["cumulative_reduction"].iloc[-1] > plan["reduction"].sum() + 0.5
    assert plan.attrs["objective"] == pytest.approx(plan["cumulative_reduction"].iloc[-1])


def test_overlapping_drones_the_curve_is_still_exact():
    # Both drones image the same cell and leak on every flight: replacing either alone
    # removes nothing (the other still leaks it), replacing both removes everything.
    s = plain_scenario({"media_upload": 1.0})
    r = simulate_leaks(*tables([("s0", "f0", 0), ("s0", "f1", 0)]), scenario=s, draws=20)
    plan = plan_replacement(r)
    assert plan["reduction"].tolist() == [0.0, 0.0]
    assert plan["cumulative_reduction"].tolist() == pytest.approx([0.0, 5 * (0.25 + 0.5)])
    assert plan["cumulative_share"].tolist() == pytest.approx([0.0, 1.0])


def test_a_replacement_that_still_leaks_is_counted():
    # DroneID only for DJI; the replacement broadcasts Remote ID like everyone in the scenario:
    # visits stay known, so replacing removes no positions term.
    s = plain_scenario({"droneid": 1.0, "remote_id": 1.0}, vendor_only={"droneid": "DJI"})
    raw = copy.deepcopy(s.raw)
    raw["channels"]["remote_id"]["off_when"] = []
    s = scenario_from_dict(raw, source="test")
    r = simulate_leaks(*tables([("s0", "f0", 0)], vendors=("DJI",), costs=(1000.0,)),
                       scenario=s, draws=20)
    plan = plan_replacement(r)
    assert plan.loc[0, "reduction"] == 0.0
    assert plan.attrs["objective"] == pytest.approx(5 * 0.2)


def test_models_focus_and_cost_factors():
    s = plain_scenario({"media_upload": 1.0})
    # Three drones: two of model A (one on a nuclear site, one on a dam), one Parrot of model B.
    args = tables([("s0", "f0", 0), ("s1", "f1", 0), ("s0", "f2", 1)],
                  vendors=("DJI", "DJI", "Parrot"), costs=(1000.0, 2000.0, 3000.0),
                  models=("A", "A", "B"), categories=("nuclear", "dam"))
    r = simulate_leaks(*args, scenario=s, draws=20)
    by_model = plan_replacement(r, by="model").set_index("unit")
    assert by_model.loc["DJI A", "drones"] == 2 and by_model.loc["DJI A", "cost"] == 30_000.0
    assert by_model.loc["Parrot B", "cost"] == 3000.0  # FR: like-for-like
    assert by_model["drone_id"].isna().all()
    nuclear = plan_replacement(r, focus="nuclear").set_index("unit")
    # The dam is outside the objective: the drone that only saw it removes nothing.
    assert nuclear.loc["D1", "reduction"] == 0.0 and nuclear.loc["D0", "reduction"] > 0
    assert plan_replacement(r, cost_factor=2.0).set_index("unit").loc["D0", "cost"] == 2000.0
    with pytest.raises(ExposureError, match="focus = 'airport'"):
        plan_replacement(r, focus="airport")
    with pytest.raises(ExposureError, match="by = 'vendor'"):
        plan_replacement(r, by="vendor")
    with pytest.raises(ExposureError, match="cost_factor = 0"):
        plan_replacement(r, cost_factor=0)


def test_the_plan_does_not_depend_on_the_block_size():
    s = plain_scenario({"media_upload": 0.4, "app_telemetry": 0.6, "droneid": 0.5})
    args = tables([("s0", "f0", 0), ("s0", "f1", 0), ("s0", "f1", 1), ("s0", "f2", 3)],
                  vendors=("DJI", "Autel", "Skydio"), costs=(1.0, 2.0, 3.0))
    plans = [plan_replacement(simulate_leaks(*args, scenario=s, draws=600, seed=3,
                                             block_size=b)) for b in (1, 64, 1000)]
    for other in plans[1:]:
        pd.testing.assert_frame_equal(plans[0], other)

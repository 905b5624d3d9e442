"""The leak simulation on hand-made tables: probabilities, coverage unions, seeds, blocks."""

from __future__ import annotations

import copy
import math
import tomllib
from importlib.resources import files

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from exposure.errors import ExposureError
from exposure.leakdraws import HEADLINES, behaviour, fire_bits, run_draws
from exposure.leakgeometry import remove_zone_passes
from exposure.leakmodel import build_model
from exposure.leaks import compare_what_ifs, sensitivity_sweep, simulate_leaks
from exposure.quality import niirs
from exposure.scenario import CHANNELS, scenario_from_dict
from exposure.whatif import Change, WhatIf

RAW = tomllib.loads(files("exposure").joinpath("data", "leak_scenario.toml").read_text("utf-8"))
T0 = "2025-03-01T00:00:00Z"


def scenario(p=None, *, access=1.0, per="flight", within=0.0, unknown=None, **edits):
    """The shipped scenario made plain: every channel fires with ``p[name]`` (0 if absent) for
    every flight, reveals the whole flight, and nothing turns it off; radio is heard when the
    assumed receiver is within its range."""
    raw = copy.deepcopy(RAW)
    raw["access"] = {"p": access, "per": per}
    raw["settings"] = dict.fromkeys(("local_data", "no_login", "air_gapped"), 0.0) | (unknown or {})
    raw["radio"] = {"mode": "uniform", "receiver_within_m": within}
    for name, ch in raw["channels"].items():
        ch["p"], ch["rules"], ch["off_when"] = (p or {}).get(name, 0.0), [], []
        ch.pop("requires", None)
        if ch["via"] != "radio":
            ch["reveals"] = "flight"
        ch.update(edits.get(name, {}))
    for key in ("objective", "replacement"):
        raw[key].update(edits.get(key, {}))
    return scenario_from_dict(raw, source="test")


def sites_frame(ids=("s1",), category="nuclear", sensitivity=5):
    boxes = [shapely.box(139.0 + 0.1 * i, 35.0, 139.002 + 0.1 * i, 35.002) for i in range(len(ids))]
    return gpd.GeoDataFrame(
        {"site_id": list(ids), "name": [f"Site {i}" for i in ids], "category": category,
         "sensitivity": sensitivity},
        geometry=boxes, crs="EPSG:4326",
    )


def flights_frame(ids=("f1",), drones=None, vendor="DJI", **cols):
    n = len(ids)
    frame = pd.DataFrame({"flight_id": list(ids), "drone_id": list(drones or ids),
                          "vendor": vendor, "model": "Mavic 3", "start": T0})
    for k, v in cols.items():
        frame[k] = v if np.ndim(v) == 0 else list(v)
    assert len(frame) == n
    return frame


def passes_frame(rows):
    """Rows of (flight, site, seconds, capturing[, slant])."""
    out = pd.DataFrame(
        [r if len(r) == 5 else (*r, 100.0) for r in rows],
        columns=["flight_id", "site_id", "seconds_in_view", "capturing", "min_slant_range_m"],
    )
    out["capturing"] = out["capturing"].astype("boolean")
    out["t_start"] = pd.Timestamp(T0)
    out["t_end"] = pd.Timestamp(T0) + pd.Timedelta(minutes=5)
    return out


def cover_frame(rows, site_cells=4):
    """Rows of (site, flight, cell, gsd)."""
    out = pd.DataFrame(rows, columns=["site_id", "flight_id", "cell", "best_gsd_m"])
    out["site_cells"] = site_cells
    return out


def wide(p_hat: float, p: float, n: int, z: float = 4.0) -> bool:
    """|p̂ − p| within z binomial standard errors (z = 4: a false alarm once in 15,000 seeds)."""
    return abs(p_hat - p) <= z * math.sqrt(max(p * (1 - p), 1e-12) / n) + 1e-12


# ---------------------------------------------------------------- the correctness checks


CHANNEL_P = {"droneid": 0.3, "remote_id": 0.2, "app_telemetry": 0.4, "flight_record_sync": 0.25,
             "media_upload": 0.1, "covert_exfiltration": 0.05, "repair_lost_media": 0.15}


@pytest.mark.parametrize("access", [1.0, 0.6])
def test_one_flight_reproduces_the_independent_formula(access):
    s = scenario(CHANNEL_P, access=access)
    n = 20_000
    r = simulate_leaks(passes_frame([("f1", "s1", 60.0, True)]), flights_frame(), sites_frame(),
                       cover_frame([("s1", "f1", 0, 0.05)]), scenario=s, draws=n, seed=11,
                       block_size=4096)
    vendor = {c.name for c in s.channels if c.via == "vendor"}
    keep_other = math.prod(1 - p for c, p in CHANNEL_P.items() if c not in vendor)
    keep_vendor = math.prod(1 - p for c, p in CHANNEL_P.items() if c in vendor)
    p_known = 1 - keep_other * (1 - access * (1 - keep_vendor))
    pix = {"media_upload", "covert_exfiltration", "repair_lost_media"}
    p_image = 1 - (1 - access * CHANNEL_P["media_upload"]) * math.prod(
        1 - CHANNEL_P[c] for c in pix - {"media_upload"}
    )
    row = r.site_leaks.iloc[0]
    assert wide(row["p_visits_known"], p_known, n)
    assert wide(row["p_any_imagery_leaked"], p_image, n)
    # The reported 90 % interval is the Wilson interval of the estimate.
    assert row["p_visits_known_lo"] < row["p_visits_known"] < row["p_visits_known_hi"]
    half = 1.6449 * math.sqrt(row["p_visits_known"] * (1 - row["p_visits_known"]) / n)
    assert row["p_visits_known_hi"] - row["p_visits_known_lo"] == pytest.approx(2 * half, 0.01)
    # One cell of four at NIIRS ≥ 5 leaks exactly when the imagery does.
    assert row["expected_leaked_coverage_niirs5"] == pytest.approx(row["p_any_imagery_leaked"] / 4)
    assert r.flight_leaks.loc[0, "p_any_leaked"] == pytest.approx(row["p_visits_known"])


def test_nothing_leaks_when_every_chance_is_zero():
    r = simulate_leaks(passes_frame([("f1", "s1", 60.0, True), ("f2", "s1", 30.0, None)]),
                       flights_frame(("f1", "f2")), sites_frame(),
                       cover_frame([("s1", "f1", 0, 0.05), ("s1", "f2", 1, 0.01)]),
                       scenario=scenario({}), draws=300, seed=3)
    numbers = r.site_leaks.select_dtypes("number").drop(
        columns=["sensitivity", "flights", "passes", "seconds_in_view", "draws",
                 "coverage_fraction_niirs5", "p_any_imagery_leaked_hi", "p_visits_known_hi"])
    assert (numbers.to_numpy() == 0).all()
    assert (r.per_draw.to_numpy() == 0).all()
    assert (r.flight_leaks[["p_any_leaked", "p_positions_leaked", "p_imagery_leaked"]] == 0).all(
        axis=None)
    assert r.attribution.empty


def test_with_every_chance_one_the_leak_is_the_observed_exposure():
    # Two flights over a 4-cell site: f1 sees cells 0, 1 (NIIRS ≥ 5) and 2 (GSD 1 m: NIIRS 4.2);
    # f2 sees 1 and 3. At NIIRS ≥ 5 the union is {0, 1, 3}: 3/4. Seconds: 60 + 40 + 30.
    s = scenario(dict.fromkeys(CHANNELS, 1.0))
    passes = passes_frame([("f1", "s1", 60.0, True), ("f1", "s1", 40.0, True),
                           ("f2", "s1", 30.0, True), ("f2", "s2", 10.0, True)])
    cover = cover_frame([("s1", "f1", 0, 0.1), ("s1", "f1", 1, 0.1), ("s1", "f1", 2, 1.0),
                         ("s1", "f2", 1, 0.05), ("s1", "f2", 3, 0.2)])
    assert niirs(1.0) < 5 <= niirs(0.2)
    r = simulate_leaks(passes, flights_frame(("f1", "f2")), sites_frame(("s1", "s2")), cover,
                       scenario=s, draws=50, seed=0)
    t = r.site_leaks.set_index("site_id")
    assert t.loc["s1", "coverage_fraction_niirs5"] == 0.75
    assert t.loc["s1", "expected_leaked_coverage_niirs5"] == pytest.approx(0.75)
    assert t.loc["s1", "leaked_coverage_niirs5_p05"] == pytest.approx(0.75)
    assert t.loc["s1", "expected_leaked_seconds_in_view"] == pytest.approx(130.0)
    assert t.loc["s1", "expected_leaked_seconds_imaged"] == pytest.approx(130.0)
    assert t.loc["s2", "expected_leaked_seconds_in_view"] == pytest.approx(10.0)
    assert (t[["p_visits_known", "p_any_imagery_leaked"]] == 1.0).all(axis=None)
    h = r.headline.set_index("metric")["mean"]
    assert h["weighted_leaked_coverage"] == pytest.approx(5 * 0.75)
    assert h["leaked_seconds_in_view"] == pytest.approx(140.0)
    # Σ 5 × (coverage + 0.3 × imagery + 0.2 × visits) over both sites.
    assert h["leak_risk"] == pytest.approx(5 * (0.75 + 0.5) + 5 * (0.0 + 0.5))


def test_same_seed_same_numbers_and_block_size_does_not_matter():
    s = scenario({"droneid": 0.5, "media_upload": 0.3, "app_telemetry": 0.7,
                  "live_streaming": 0.2}, access=0.5, per="vendor",
                 unknown={"local_data": 0.4},
                 app_telemetry={"off_when": ["local_data"]})
    flights = flights_frame(("f1", "f2", "f3", "f4"), drones=("d1", "d1", "d2", "d3"),
                            vendor=["DJI", "DJI", "Autel", "Parrot"],
                            data_settings=["local_data=unknown", None, None, "ldm=off"])
    passes = passes_frame([("f1", "s1", 10.0, True), ("f2", "s1", 20.0, False),
                           ("f3", "s2", 30.0, True), ("f4", "s2", 40.0, None),
                           ("f4", "s1", 50.0, True)])
    cover = cover_frame([("s1", "f1", 0, 0.1), ("s1", "f4", 0, 0.1), ("s1", "f4", 2, 0.1),
                         ("s2", "f3", 1, 0.1), ("s2", "f4", 1, 0.1)])
    args = (passes, flights, sites_frame(("s1", "s2")), cover)
    runs = [simulate_leaks(*args, scenario=s, draws=700, seed=5, block_size=b)
            for b in (1, 7, 256, 5000)]
    for other in runs[1:]:
        for table in ("site_leaks", "flight_leaks", "attribution", "per_draw", "headline"):
            pd.testing.assert_frame_equal(getattr(runs[0], table), getattr(other, table))
    again = simulate_leaks(*args, scenario=s, draws=700, seed=5)
    pd.testing.assert_frame_equal(again.site_leaks, runs[0].site_leaks)
    different = simulate_leaks(*args, scenario=s, draws=700, seed=6)
    assert not different.per_draw.equals(runs[0].per_draw)
    # Fewer draws are a prefix of more: draw b's numbers sit at a fixed place.
    short = simulate_leaks(*args, scenario=s, draws=100, seed=5, block_size=33)
    pd.testing.assert_frame_equal(short.per_draw, runs[0].per_draw.iloc[:100])


def test_inputs_are_not_modified():
    passes = passes_frame([("f1", "s1", 10.0, True)])
    flights, sites = flights_frame(), sites_frame()
    cover = cover_frame([("s1", "f1", 0, 0.1)])
    tracks = pd.DataFrame({"flight_id": ["f1", "f1"], "time": pd.to_datetime([T0, T0]),
                           "lon": [139.0, 139.001], "lat": [35.0, 35.0]})
    copies = [x.copy() for x in (passes, flights, sites, cover, tracks)]
    simulate_leaks(passes, flights, sites, cover, tracks=tracks, draws=20)
    for a, b in zip((passes, flights, sites, cover, tracks), copies, strict=True):
        pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------- what each channel gives away


def test_settings_are_drawn_per_drone():
    # One drone, two flights at two sites, local-data mode unknown (prior 0.3): telemetry
    # leaks both visits or neither, never one.
    s = scenario({"app_telemetry": 1.0}, unknown={"local_data": 0.3},
                 app_telemetry={"off_when": ["local_data"]})
    flights = flights_frame(("f1", "f2"), drones=("d", "d"), data_settings="ldm=unknown")
    r = simulate_leaks(passes_frame([("f1", "s1", 1.0, True), ("f2", "s2", 1.0, True)]),
                       flights, sites_frame(("s1", "s2")), cover_frame([]), scenario=s,
                       draws=4000, seed=2)
    known = r.per_draw["sites_visits_known"].to_numpy()
    assert set(np.unique(known)) == {0.0, 2.0}
    assert wide((known == 0).mean(), 0.3, 4000)
    # Known settings are not drawn: "on" stops it on every draw, "off" never.
    for value, expected in (("ldm=on", 0.0), ("ldm=off", 2.0)):
        r = simulate_leaks(r.inputs["passes"], flights.assign(data_settings=value),
                           r.inputs["sites"], cover_frame([]), scenario=s, draws=50)
        assert (r.per_draw["sites_visits_known"] == expected).all()


def test_thumbnails_need_a_synced_record():
    s = scenario({"flight_record_sync": 0.5, "thumbnails": 0.5},
                 thumbnails={"requires": "flight_record_sync"})
    r = simulate_leaks(passes_frame([("f1", "s1", 1.0, True)]), flights_frame(), sites_frame(),
                       cover_frame([]), scenario=s, draws=20_000, seed=4)
    assert wide(r.site_leaks.loc[0, "p_any_imagery_leaked"], 0.25, 20_000)
    assert wide(r.site_leaks.loc[0, "p_visits_known"], 0.5, 20_000)


def test_imagery_needs_a_recording_camera():
    s = scenario({"media_upload": 1.0})
    passes = passes_frame([("f1", "s1", 10.0, False), ("f2", "s2", 10.0, None)])
    cover = cover_frame([("s1", "f1", 0, 0.1), ("s2", "f2", 0, 0.1)])
    args = (passes, flights_frame(("f1", "f2")), sites_frame(("s1", "s2")), cover)
    t = simulate_leaks(*args, scenario=s, draws=10).site_leaks.set_index("site_id")
    assert t.loc["s1", "p_any_imagery_leaked"] == 0 and t.loc["s1", "p_visits_known"] == 0
    assert t.loc["s1", "expected_leaked_coverage_niirs5"] == 0
    # Unknown recording: as the scenario says (recording by default, an upper bound).
    assert t.loc["s2", "expected_leaked_coverage_niirs5"] == 0.25
    raw_s = copy.deepcopy(s.raw)
    raw_s["imagery"] = {"capturing_unknown": "not_recording"}
    strict = scenario_from_dict(raw_s, source="test")
    r = simulate_leaks(*args, scenario=strict, draws=10)
    assert r.site_leaks.set_index("site_id").loc["s2", "p_any_imagery_leaked"] == 0
    assert any("do not say whether the camera recorded" in a for a in r.assumptions)


def test_resolution_loss_of_a_channel():
    # Thumbnails lose 4 levels: a cell at GSD 0.05 m (NIIRS 8.5) falls to 4.5 < 5, one at
    # 0.02 m (NIIRS 9 after clamping) stays at 5.
    assert niirs(0.05) - 4 < 5 <= niirs(0.02) - 4
    s = scenario({"thumbnails": 1.0}, thumbnails={"niirs_loss": 4.0})
    cover = cover_frame([("s1", "f1", 0, 0.05), ("s1", "f1", 1, 0.02)])
    r = simulate_leaks(passes_frame([("f1", "s1", 1.0, True)]), flights_frame(), sites_frame(),
                       cover, scenario=s, draws=10)
    assert r.site_leaks.loc[0, "expected_leaked_coverage_niirs5"] == 0.25
    assert r.site_leaks.loc[0, "coverage_fraction_niirs5"] == 0.5
    r7 = simulate_leaks(r.inputs["passes"], flights_frame(), sites_frame(), cover, scenario=s,
                        draws=10, niirs_k=4.5)
    assert r7.site_leaks.loc[0, "expected_leaked_coverage_niirs4.5"] == 0.5


def test_rules_by_vendor_date_and_region():
    # Remote ID mandated in Japan from 2022-06-20; DroneID for DJI only.
    raw = copy.deepcopy(scenario({}).raw)
    raw["channels"]["remote_id"]["rules"] = RAW["channels"]["remote_id"]["rules"]
    raw["channels"]["droneid"]["rules"] = RAW["channels"]["droneid"]["rules"]
    s = scenario_from_dict(raw, source="test")
    flights = gpd.GeoDataFrame(
        flights_frame(("before", "after", "abroad", "dji"), vendor=["Parrot"] * 3 + ["DJI"],
                      start=["2022-06-19T12:00:00Z", "2022-06-20T00:00:00Z",
                             "2023-01-01T00:00:00Z", "2019-01-01T00:00:00Z"]),
        geometry=[shapely.LineString([(139.0, 35.0), (139.1, 35.0)])] * 3
        + [shapely.LineString([(2.35, 48.85), (2.36, 48.85)])], crs=4326)
    flights.loc[2, "geometry"] = shapely.LineString([(2.35, 48.85), (2.36, 48.85)])
    passes = passes_frame([(f, "s1", 1.0, True) for f in flights["flight_id"]])
    r = simulate_leaks(passes, flights, sites_frame(), cover_frame([]), scenario=s, draws=20)
    fl = r.flight_leaks.set_index("flight_id")["p_positions_leaked"]
    assert fl.to_dict() == {"abroad": 0.0, "after": 1.0, "before": 0.0, "dji": 1.0}
    # Flights in id order: abroad, after, before, dji.
    assert r.model.regions.tolist() == ["", "JP", "JP", ""]


def test_takeoff_and_zone_reveal_only_nearby_sites():
    s = scenario({"app_telemetry": 1.0, "geofence": 1.0},
                 app_telemetry={"reveals": "takeoff", "reveal_within_m": 5000},
                 geofence={"reveals": "zone", "zone_categories": ["airport"],
                           "zone_radius_m": 1000})
    sites = sites_frame(("near", "far", "airport"))
    sites.loc[2, "category"] = "airport"
    # Take-off at 139.001 E: 'near' is under it, 'far' 0.1° (about 9 km) east, the airport
    # 0.2° east, passed at 800 m (revealed by the zone request) and at 2 km (not).
    tracks = pd.DataFrame({"flight_id": ["f1", "f1", "f2"],
                           "time": pd.to_datetime([T0, "2025-03-01T01:00:00Z", T0]),
                           "lon": [139.001, 139.2, 139.201], "lat": [35.001, 35.001, 35.001]})
    passes = passes_frame([("f1", "near", 1.0, True, 50.0), ("f1", "far", 1.0, True, 50.0),
                           ("f1", "airport", 1.0, True, 800.0),
                           ("f2", "airport", 1.0, True, 2000.0)])
    r = simulate_leaks(passes, flights_frame(("f1", "f2")), sites, cover_frame([]), scenario=s,
                       tracks=tracks, draws=10)
    known = r.site_leaks.set_index("site_id")["p_visits_known"]
    assert known.to_dict() == {"near": 1.0, "far": 0.0, "airport": 1.0}
    via = r.attribution.set_index(["site_id", "level", "key"])["p_visits_known_via"]
    assert via[("airport", "channel", "geofence")] == 1.0
    assert ("airport", "channel", "app_telemetry") in via.index  # f2 took off beside it
    assert via[("airport", "drone", "f1")] == 1.0 and via[("airport", "drone", "f2")] == 1.0


def test_radio_is_heard_only_near_a_listed_receiver():
    raw = copy.deepcopy(scenario({"droneid": 1.0}).raw)
    raw["radio"] = {"mode": "points", "receivers": [
        {"name": "post", "lon": 139.0, "lat": 35.0, "range_m": 3000.0}]}
    s = scenario_from_dict(raw, source="test")
    # f1 flies east from the receiver for 40 minutes: at t = 0-5 min it is within 3 km of it,
    # by t = 20 min about 18 km away. The straight line is one segment: only its clipped parts
    # count.
    tracks = pd.DataFrame({"flight_id": ["f1", "f1"],
                           "time": pd.to_datetime([T0, "2025-03-01T00:40:00Z"]),
                           "lon": [139.0, 139.8], "lat": [35.0, 35.0]})
    passes = passes_frame([("f1", "s1", 60.0, True), ("f1", "s2", 60.0, True)])
    passes.loc[1, "t_start"] = pd.Timestamp("2025-03-01T00:20:00Z")
    passes.loc[1, "t_end"] = pd.Timestamp("2025-03-01T00:25:00Z")
    sites = sites_frame(("s1", "s2"))
    r = simulate_leaks(passes, flights_frame(), sites, cover_frame([]), scenario=s,
                       tracks=tracks, draws=10)
    assert r.site_leaks.set_index("site_id")["p_visits_known"].to_dict() == {"s1": 1.0, "s2": 0.0}
    # Without tracks, a pass is heard when the receiver is within range of the site: s1's
    # corner is the receiver, s2 is 9 km away.
    r = simulate_leaks(passes, flights_frame(), sites, cover_frame([]), scenario=s, draws=10)
    assert r.site_leaks.set_index("site_id")["p_visits_known"].to_dict() == {"s1": 1.0, "s2": 0.0}
    assert any("no timed track" in a for a in r.assumptions)
    # The uniform assumption: heard when the receiver's distance is within the signal's range.
    for within, expected in ((500.0, 1.0), (20_000.0, 0.0)):
        s2 = scenario({"droneid": 1.0}, within=within)
        r = simulate_leaks(passes, flights_frame(), sites, cover_frame([]), scenario=s2,
                           draws=10)
        assert (r.site_leaks["p_visits_known"] == expected).all()


# ---------------------------------------------------------------- the kernel against a reference


def reference(model, bits, passes, cover):
    """Per-draw site values by plain loops over the original rows (no merging, no groups)."""
    sc = model.scenario
    pos = sum(1 << c for c, ch in enumerate(sc.channels) if ch.positions)
    pix = {c: ch for c, ch in enumerate(sc.channels) if ch.pixels}
    f_index = {f: i for i, f in enumerate(model.profiles["flight_id"])}
    s_index = {s: i for i, s in enumerate(model.sites["site_id"])}
    n_s = len(model.sites)
    out = {k: np.zeros((len(bits), n_s)) for k in ("known", "imaged", "seconds", "cov")}
    for b in range(len(bits)):
        captured = set()
        for row in passes.itertuples():
            f, s = f_index[row.flight_id], s_index[row.site_id]
            cap = bool(row.capturing) if not pd.isna(row.capturing) else True
            pix_bits = sum(1 << c for c in pix) if cap else 0
            if bits[b, f] & (pos | pix_bits):
                out["known"][b, s] = 1
                out["seconds"][b, s] += row.seconds_in_view
            if bits[b, f] & pix_bits:
                out["imaged"][b, s] = 1
            if cap:
                captured.add((s, f))
        cells = {}
        for row in cover.itertuples():
            f, s = f_index[row.flight_id], s_index[row.site_id]
            leaked = any(bits[b, f] & (1 << c) and niirs(row.best_gsd_m) - ch.niirs_loss >= 5
                         for c, ch in pix.items())
            if leaked and (s, f) in captured:
                cells.setdefault(s, set()).add(row.cell)
        for s, c in cells.items():
            out["cov"][b, s] = len(c) / 4
    return out


@settings(max_examples=25, deadline=None)
@given(
    n_flights=st.integers(1, 5),
    n_sites=st.integers(1, 3),
    data=st.data(),
)
def test_vectorised_draws_match_plain_loops(n_flights, n_sites, data):
    flights = [f"f{i}" for i in range(n_flights)]
    site_ids = [f"s{i}" for i in range(n_sites)]
    rows = data.draw(st.lists(st.tuples(st.sampled_from(flights), st.sampled_from(site_ids),
                                        st.floats(0, 100), st.sampled_from([True, False, None])),
                              min_size=1, max_size=10))
    pairs = sorted({(s, f) for f, s, _, _ in rows})
    cov_rows = data.draw(st.lists(st.tuples(st.sampled_from(pairs), st.integers(0, 3),
                                            st.sampled_from([0.01, 0.05, 0.2, 1.0])),
                                  max_size=12))
    cov = cover_frame(sorted({(s, f, c, g) for (s, f), c, g in cov_rows}))
    cov = cov.drop_duplicates(["site_id", "flight_id", "cell"])
    probs = data.draw(st.lists(st.sampled_from([0.0, 0.3, 0.7, 1.0]), min_size=len(CHANNELS),
                               max_size=len(CHANNELS)))
    s = scenario(dict(zip(CHANNELS, probs, strict=True)), access=0.5,
                 thumbnails={"niirs_loss": 4.0}, live_streaming={"niirs_loss": 2.0})
    drones = data.draw(st.lists(st.sampled_from(["d1", "d2"]), min_size=n_flights,
                                max_size=n_flights))
    fl = flights_frame(flights, drones=drones, vendor=(["DJI", "Skydio"] * 3)[:n_flights])
    passes = passes_frame(rows)
    model = build_model(passes, fl, sites_frame(site_ids), cov, scenario=s)
    beh = behaviour(model.profiles, model.regions, s)
    t = run_draws(model, beh, draws=40, seed=9, block_size=16)
    bits = fire_bits(beh, model.drone_of_flight, len(model.drone_keys), 9, 0, 40).T
    ref = reference(model, bits, passes, cov)
    np.testing.assert_allclose(t["cov"], ref["cov"], atol=1e-6)
    np.testing.assert_allclose(t["seconds"], ref["seconds"], rtol=1e-6, atol=1e-3)
    assert (t["known"] == ref["known"].sum(axis=0)).all()
    assert (t["imaged"] == ref["imaged"].sum(axis=0)).all()
    # Invariants: leaked never exceeds observed.
    observed = model.sites["coverage_fraction_niirs5"].to_numpy()
    assert (t["cov"] <= observed + 1e-6).all()
    assert (t["seconds"] <= model.sites["seconds_in_view"].to_numpy() + 1e-3).all()


# ---------------------------------------------------------------- what-ifs, sweeps, zones


def base_run(**kw):
    s = scenario({"droneid": 1.0, "media_upload": 0.4, "app_telemetry": 0.6,
                  "flight_record_sync": 0.5},
                 droneid={"rules": [{"vendors": ["DJI"], "p": 1.0}], "p": 0.0},
                 app_telemetry={"off_when": ["local_data"]},
                 media_upload={"off_when": ["local_data"]},
                 flight_record_sync={"off_when": ["local_data"]}, access=0.5)
    flights = flights_frame(("f1", "f2", "f3"), vendor=["DJI", "DJI", "Parrot"])
    passes = passes_frame([("f1", "s1", 10.0, True), ("f2", "s2", 20.0, True),
                           ("f3", "s2", 30.0, True)])
    cover = cover_frame([("s1", "f1", 0, 0.1), ("s2", "f2", 1, 0.1), ("s2", "f3", 2, 0.1)])
    return simulate_leaks(passes, flights, sites_frame(("s1", "s2")), cover, scenario=s,
                          draws=kw.get("draws", 2000), seed=7)


def test_what_ifs_are_compared_draw_by_draw():
    base = base_run()
    out = compare_what_ifs(base, [
        WhatIf("no-op", (Change("mandate_local_data", vendors=("Nobody",)),)),
        WhatIf("no DJI", (Change("replace", vendors=("DJI",)),)),
        WhatIf("local data", (Change("mandate_local_data"), Change("droneid_off"))),
    ]).set_index(["what_if", "metric"])
    assert set(out.index.get_level_values("metric")) == set(HEADLINES)
    # Common random numbers: a change that changes nothing differs in no draw at all.
    noop = out.loc["no-op"]
    assert (noop[["difference_mean", "difference_p05", "difference_p95"]] == 0).all(axis=None)
    # Every measure lowers (never raises) the leak risk, draw by draw.
    for name in ("no DJI", "local data"):
        row = out.loc[(name, "leak_risk")]
        assert row["difference_p95"] <= 0 and row["difference_mean"] < 0
        assert row["what_if_mean"] == pytest.approx(row["base_mean"] + row["difference_mean"])
    # Local data everywhere and no DroneID: only nothing is left (all channels stop).
    assert out.loc[("local data", "sites_visits_known"), "what_if_mean"] == 0


def test_zones_remove_the_passes_flown_inside_them():
    base = base_run(draws=200)
    zone = gpd.GeoDataFrame(geometry=[shapely.box(139.09, 34.99, 139.11, 35.01)], crs=4326)
    tracks = pd.DataFrame({"flight_id": ["f2", "f2", "f3"], "time": pd.to_datetime([T0] * 3),
                           "lon": [139.1, 139.1, 139.3], "lat": [35.0, 35.0, 35.0]})
    gone, rule = remove_zone_passes(base.inputs["passes"], zone, tracks=tracks)
    assert gone.tolist() == [False, True, False] and "tracks" in rule
    # Without tracks: the flight line entered a zone that touches the site.
    flights = gpd.GeoDataFrame(base.inputs["flights"], geometry=[
        shapely.LineString([(139.0, 35.0), (139.001, 35.0)]),
        shapely.LineString([(139.05, 35.0), (139.1, 35.0)]),
        shapely.LineString([(139.3, 35.0), (139.31, 35.0)])], crs=4326)
    gone2, _ = remove_zone_passes(base.inputs["passes"], zone, flights=flights,
                                  sites=base.inputs["sites"])
    assert gone2.tolist() == [False, True, False]
    w = WhatIf("zone", (Change("no_fly_zones", zones="z.geojson"),))  # type: ignore[arg-type]
    with pytest.raises(ExposureError, match="zones not loaded"):
        compare_what_ifs(base, [w])
    base = simulate_leaks(*(base.inputs[k] for k in ("passes", "flights", "sites",
                                                     "coverage_by_flight")),
                          scenario=base.model.scenario, tracks=tracks, draws=200, seed=7)
    out = compare_what_ifs(base, [w], zones={"z.geojson": zone}).set_index("metric")
    assert out.loc["leaked_seconds_in_view", "passes_removed"] == 1
    assert out.loc["leaked_seconds_in_view", "difference_p95"] <= 0


def test_sensitivity_sweep_moves_with_access():
    base = base_run(draws=500)
    sweep = sensitivity_sweep(base, values=(0.0, 0.5, 1.0))
    assert sweep["parameter"].tolist() == ["access.p"] * 3 + ["flight_record_sync.p"] * 3
    acc = sweep[sweep["parameter"] == "access.p"]
    # With the same numbers, raising p_access only adds leaks: the means cannot fall.
    assert acc["weighted_leaked_coverage_mean"].is_monotonic_increasing
    assert acc["weighted_leaked_coverage_mean"].iloc[0] == 0  # media upload is vendor-cloud only
    assert acc["leak_risk_mean"].iloc[-1] > acc["leak_risk_mean"].iloc[0]
    # At the scenario's own value the sweep reproduces the base run.
    mid = acc[acc["value"] == 0.5].iloc[0]
    assert mid["leak_risk_mean"] == pytest.approx(base.per_draw["leak_risk"].mean())
    with pytest.raises(ExposureError, match="expected a probability"):
        sensitivity_sweep(base, values=(1.5,))


# ---------------------------------------------------------------- bad input


def test_bad_tables_are_reported_together():
    passes = passes_frame([("f1", "s1", 10.0, True), ("ghost", "nowhere", -1.0, True)])
    cover = cover_frame([("s1", "f9", 0, 0.1)])
    with pytest.raises(ExposureError) as err:
        simulate_leaks(passes, flights_frame(), sites_frame(), cover, draws=5)
    text = str(err.value)
    assert "passes: flights missing from the flights table: ['ghost']" in text
    assert "passes: sites missing from the sites table: ['nowhere']" in text
    assert "coverage_by_flight: flights missing from the flights table: ['f9']" in text
    assert "passes row 2: seconds_in_view -1.0" in text
    with pytest.raises(ExposureError, match="passes lacks column 'site_id'"):
        simulate_leaks(passes.drop(columns="site_id"), flights_frame(), sites_frame(), cover)
    with pytest.raises(ExposureError, match="draws = 0"):
        simulate_leaks(passes.iloc[:1], flights_frame(), sites_frame(), cover.iloc[:0], draws=0)
    with pytest.raises(ExposureError, match="niirs_k = 12"):
        simulate_leaks(passes.iloc[:1], flights_frame(), sites_frame(), cover.iloc[:0],
                       niirs_k=12)
    with pytest.raises(ExposureError, match="EPSG:4326"):
        simulate_leaks(passes.iloc[:1], flights_frame(), sites_frame().to_crs(3857),
                       cover.iloc[:0])


def test_no_pass_means_no_site_and_no_leak():
    r = simulate_leaks(passes_frame([]).astype({"seconds_in_view": float}), flights_frame(),
                       sites_frame(), cover_frame([]), draws=10)
    assert r.site_leaks.empty and r.attribution.empty
    assert (r.per_draw.to_numpy() == 0).all()

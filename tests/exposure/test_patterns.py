"""Pattern of life on hand-made tables: visits, local time, regularity, trend, leaked patterns."""

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
from exposure.leakdraws import behaviour
from exposure.leakmodel import build_model
from exposure.leaks import simulate_leaks
from exposure.pattern_leaks import LEAKED_COLUMNS, leaked_patterns
from exposure.patterns import PATTERN_COLUMNS, patterns_of_life
from exposure.rhythm import best_times, regularity_class, time_label, usual_time
from exposure.scenario import Rule, scenario_from_dict
from exposure.visits import (
    local_times,
    operators,
    site_time_zones,
    third_party,
    visit_index,
)

RAW = tomllib.loads(files("exposure").joinpath("data", "leak_scenario.toml").read_text("utf-8"))
TUESDAYS = pd.date_range("2024-04-02T01:00:00Z", periods=10, freq="7D")  # Tue 10:00 in Tokyo
JITTER = [0, -4, 7, 2, -9, 10, -1, 3, -6, 5]  # minutes


def t(*stamps: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(stamps), utc=True))


def plain_scenario(p: float, *, access: float = 1.0):
    """Every channel fires with chance ``p`` for every flight; nothing turns a channel off."""
    raw = copy.deepcopy(RAW)
    raw["access"] = {"p": access, "per": "flight"}
    raw["settings"] = dict.fromkeys(("local_data", "no_login", "air_gapped"), 0.0)
    raw["radio"] = {"mode": "uniform", "receiver_within_m": 0.0}
    for ch in raw["channels"].values():
        ch["p"], ch["rules"], ch["off_when"] = p, [], []
        ch.pop("requires", None)
        if ch["via"] != "radio":
            ch["reveals"] = "flight"
    return scenario_from_dict(raw, source="test")


def two_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["tue", "rand"], "name": ["Tuesday dam", "Random base"],
         "category": ["dam", "military"], "sensitivity": [3, 5]},
        geometry=[shapely.box(139.60, 35.60, 139.61, 35.61),
                  shapely.box(139.80, 35.40, 139.81, 35.41)],
        crs="EPSG:4326",
    )


def synthetic_fleet(seed: int = 3):
    """One site visited every Tuesday at 10:00 Tokyo time (± up to 10 minutes) for ten weeks,
    one at random times."""
    rng = np.random.default_rng(seed)
    jitter = pd.to_timedelta(JITTER, unit="min")
    random = pd.Timestamp("2024-04-01T00:00Z") + pd.to_timedelta(
        rng.uniform(0, 70 * 86400, 10).round(), unit="s")
    starts = list(TUESDAYS + jitter) + list(random)
    passes = pd.DataFrame({
        "flight_id": [f"t{i}" for i in range(10)] + [f"r{i}" for i in range(10)],
        "drone_id": ["SN-A", "SN-B"] * 5 + ["SN-C"] * 10,
        "site_id": ["tue"] * 10 + ["rand"] * 10,
        "t_start": pd.to_datetime(starts, utc=True),
        "seconds_in_view": 300.0, "capturing": True, "min_slant_range_m": 200.0,
    })
    passes["t_end"] = passes["t_start"] + pd.Timedelta("5min")
    flights = pd.DataFrame({
        "flight_id": passes["flight_id"], "drone_id": passes["drone_id"], "vendor": "Skydio",
        "model": "X2D", "agency": ["Dam authority"] * 10 + ["Army"] * 10,
        "start": passes["t_start"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_format": "airdata_csv",
    })
    cover = pd.DataFrame({"site_id": passes["site_id"], "flight_id": passes["flight_id"],
                          "cell": 0, "best_gsd_m": 0.05, "site_cells": 4})
    return passes, flights, cover


# --------------------------------------------------------------------------------------------
# Visits


def test_passes_group_into_visits_by_gap_to_the_latest_end():
    # Passes at 10:00-10:10, 10:30-13:00, 14:30 (1.5 h after 13:00: same visit), 16:31 (2 h
    # 1 min after 14:30: new), then another site at the same times.
    a = t("2024-05-07T10:00Z", "2024-05-07T10:30Z", "2024-05-07T14:30Z", "2024-05-07T16:31Z")
    b = t("2024-05-07T10:10Z", "2024-05-07T13:00Z", "2024-05-07T14:30Z", "2024-05-07T16:40Z")
    v = visit_index(["s"] * 4 + ["z"] * 4, pd.concat([a, a]), pd.concat([b, b]))
    assert v.tolist() == [0, 0, 0, 1, 2, 2, 2, 3]
    assert visit_index(["s"] * 4, a, b, gap_hours=0.25).tolist() == [0, 1, 2, 3]
    assert visit_index(["s"] * 4, a, b, gap_hours=24).tolist() == [0, 0, 0, 0]


def test_a_long_pass_keeps_a_visit_open_and_order_of_rows_does_not_matter():
    # The first pass lasts until 15:00; one starting at 16:30 joins (within 2 h of 15:00), even
    # though it starts 6.5 h after the first and a short pass lies between them.
    a = t("2024-05-07T16:30Z", "2024-05-07T08:00Z", "2024-05-07T08:10Z")
    b = t("2024-05-07T16:35Z", "2024-05-07T15:00Z", "2024-05-07T08:20Z")
    assert visit_index(["s"] * 3, a, b).tolist() == [0, 0, 0]


def test_third_party_passes_never_join_the_fleets_visits():
    a = t("2024-05-07T10:00Z", "2024-05-07T10:05Z", "2024-05-07T10:10Z")
    v = visit_index(["s"] * 3, a, a, party=[False, True, False])
    assert v.tolist() == [0, 1, 0]


def test_visit_index_reports_missing_times_and_bad_gaps():
    with pytest.raises(ExposureError, match=r"rows \[2\].*t_start or t_end"):
        visit_index(["s", "s"], ["2024-05-07T10:00Z", "noon"], ["2024-05-07T10:00Z"] * 2)
    with pytest.raises(ExposureError, match="gap_hours"):
        visit_index(["s"], t("2024-05-07T10:00Z"), t("2024-05-07T10:00Z"), gap_hours=-1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20_000), st.integers(0, 300)),
                min_size=1, max_size=40),
       st.floats(0.0, 5.0), st.integers(-10_000, 10_000), st.randoms(use_true_random=False))
def test_visits_do_not_depend_on_row_order_or_a_shift_in_time(rows, gap, shift, rnd):
    site = np.array([f"s{r[0]}" for r in rows])
    a = pd.Series(pd.Timestamp("2024-01-01T00:00Z") + pd.to_timedelta([r[1] for r in rows],
                                                                       unit="min"))
    b = a + pd.to_timedelta([r[2] for r in rows], unit="min")
    v = visit_index(site, a, b, gap_hours=gap)
    perm = np.array(rnd.sample(range(len(rows)), len(rows)))
    w = visit_index(site[perm], a.iloc[perm], b.iloc[perm], gap_hours=gap)
    moved = visit_index(site, a + pd.Timedelta(minutes=shift), b + pd.Timedelta(minutes=shift),
                        gap_hours=gap)
    assert (v[perm] == w).all() and (moved == v).all()
    assert set(v) == set(range(v.max() + 1))
    # A longer gap joins visits, never splits them.
    assert visit_index(site, a, b, gap_hours=gap + 1).max() <= v.max()


# --------------------------------------------------------------------------------------------
# Local time


def test_local_time_across_the_date_line():
    # 21:00 UTC on Tuesday 7 May 2024: Samoa (UTC+13) is at 10:00 on Wednesday, American Samoa
    # (UTC-11), 130 km east, at 10:00 on Tuesday; Kiritimati (+14) and Honolulu (-10) likewise.
    times = t(*["2024-05-07T21:00:00Z"] * 2, *["2024-05-07T20:00:00Z"] * 2)
    zones = ["Pacific/Apia", "Pacific/Pago_Pago", "Pacific/Kiritimati", "Pacific/Honolulu"]
    out = local_times(times, zones)
    assert out["weekday"].tolist() == [2, 1, 2, 1]
    assert out["hour"].tolist() == [10, 10, 10, 10]
    assert out["slot"].tolist() == [58, 34, 58, 34]
    assert out["local_start"].tolist() == [
        "2024-05-08T10:00:00+13:00", "2024-05-07T10:00:00-11:00",
        "2024-05-08T10:00:00+14:00", "2024-05-07T10:00:00-10:00"]
    assert out["minute_of_week"].tolist() == [2 * 1440 + 600, 1440 + 600] * 2


def test_local_time_follows_daylight_saving():
    out = local_times(t("2024-01-09T09:00Z", "2024-07-09T09:00Z"), ["Europe/Berlin"] * 2)
    assert out["hour"].tolist() == [10, 11]  # CET +1 in winter, CEST +2 in summer


def test_time_zones_from_site_coordinates_including_a_site_split_at_the_antimeridian():
    fiji = shapely.MultiPolygon([shapely.box(179.9, -16.9, 180.0, -16.6),
                                 shapely.box(-180.0, -16.9, -179.95, -16.6)])
    sites = gpd.GeoDataFrame(
        {"site_id": ["tokyo", "fiji", "apia", "berlin", "none"]},
        geometry=[shapely.box(139.76, 35.67, 139.77, 35.68), fiji,
                  shapely.box(-171.77, -13.84, -171.76, -13.83),
                  shapely.Point(13.40, 52.52).buffer(0.01), None],
        crs="EPSG:4326",
    )
    zones = site_time_zones(sites)
    # The split site's bounding-box centre lies near 60° E; a point on its surface is in Fiji.
    assert zones.to_dict() == {"tokyo": "Asia/Tokyo", "fiji": "Pacific/Fiji",
                               "apia": "Pacific/Apia", "berlin": "Europe/Berlin",
                               "none": "UTC"}
    given = sites.assign(time_zone=[None, None, "Pacific/Pago_Pago", None, "Asia/Tokyo"])
    assert site_time_zones(given)[["apia", "none"]].tolist() == ["Pacific/Pago_Pago",
                                                                 "Asia/Tokyo"]


def test_time_zones_refuse_unknown_names_and_other_crs():
    sites = gpd.GeoDataFrame({"site_id": ["a", "b"], "time_zone": ["Mars/Olympus", None]},
                             geometry=[shapely.box(0, 0, 1, 1)] * 2, crs="EPSG:4326")
    with pytest.raises(ExposureError, match=r"rows \[1\]: time_zone 'Mars/Olympus'"):
        site_time_zones(sites)
    with pytest.raises(ExposureError, match="EPSG:4326"):
        site_time_zones(sites.drop(columns="time_zone").to_crs(3857))


# --------------------------------------------------------------------------------------------
# Usual time and regularity measures


TUE = 1440  # Tuesday 00:00, in minutes of the week


def test_usual_time_by_hand():
    # Tue 09:10, 10:00, 10:00, 10:50 and Fri 20:00: the two hours from 09:10 hold four visits,
    # centred midway between 09:10 and 10:50.
    assert usual_time([TUE + 550, TUE + 600, TUE + 600, TUE + 650, 4 * 1440 + 1200]) == (
        TUE + 600, 0.8)
    # Sun 23:30 and Mon 00:30 are an hour apart across the week's end; Wed 12:00 is alone.
    assert usual_time([6 * 1440 + 1410, 30, 2 * 1440 + 720]) == (0, 2 / 3)
    # Visits 120 minutes apart share a window, 121 apart do not (then the earliest wins).
    assert usual_time([2000, 2120]) == (2060, 1.0)
    assert usual_time([2000, 2121]) == (2000, 0.5)
    # Ties go to the window whose visits lie closest together.
    assert usual_time([100, 150, 5000, 5010]) == (5005, 0.5)
    slot, share = usual_time([])
    assert slot == -1 and math.isnan(share)


def test_best_times_per_group_and_draw():
    group = np.array([0, 0, 0, 1, 1])
    minute = np.array([TUE + 600, TUE + 600, 5000, 100, 160])
    counts = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 1]])
    best, count = best_times(group, minute, counts, n_groups=3)
    assert best.tolist() == [[TUE + 600, 5000], [-1, 130], [-1, -1]]
    assert count.tolist() == [[2, 1], [0, 2], [0, 0]]
    assert time_label(best[:, 0]) == ["Tue 10:00", None, None]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 10_079), min_size=1, max_size=30), st.integers(0, 10_079))
def test_the_usual_share_counts_exactly_the_visits_within_an_hour(minutes, k):
    best, share = usual_time(minutes)
    m = np.array(minutes)
    apart = np.abs(m - best)
    near = np.minimum(apart, 10_080 - apart) <= 60
    assert near.sum() == round(share * len(m))
    # No time of the week has more visits within an hour of it.
    for c in np.unique(m):
        d = np.abs(m - c)
        assert (np.minimum(d, 10_080 - d) <= 60).sum() <= near.sum()
    # Where the week starts does not matter.
    assert usual_time((m + k) % 10_080)[1] == share


def test_regularity_class_bounds():
    assert regularity_class([0.75, 0.749, 0.4, 0.399, np.nan], [3] * 5).tolist() == [
        "high", "medium", "medium", "low", None]


def test_entropy_gap_and_share_measures_by_hand():
    sites = gpd.GeoDataFrame({"site_id": ["s"]}, geometry=[shapely.box(139, 35, 139.01, 35.01)],
                             crs="EPSG:4326")
    # Tokyo local: Mon 10:00 twice, Thu 23:00 twice (night), days 0, 1, 3, 10 from 1 April.
    local = ["2024-04-01T10:00", "2024-04-04T23:00", "2024-04-08T10:00", "2024-04-11T23:00"]
    starts = pd.to_datetime(local).tz_localize("Asia/Tokyo").tz_convert("UTC")
    passes = pd.DataFrame({"flight_id": "f", "site_id": "s", "t_start": starts,
                           "t_end": starts + pd.Timedelta("1min")})
    row = patterns_of_life(passes, pd.DataFrame({"flight_id": ["f"]}), sites).site_patterns
    row = row.iloc[0]
    # Two hours of the week, two visits each: H = ln 2, normalised by ln 4.
    assert row["entropy_score"] == pytest.approx(1 - math.log(2) / math.log(4))
    assert row["usual_time"] == "Mon 10:00" and row["usual_share"] == 0.5
    assert row["regularity"] == "medium"
    assert row["daily_time"] == "10:00" and row["daily_share"] == 0.5
    assert row["night_share"] == 0.5 and row["weekend_share"] == 0.0
    # Gaps 3.54, 3.46, 3.54 days (13 h apart each): median 3.5417, cv = std/mean.
    gaps = np.diff(starts.as_unit("ns").asi8 / 86400e9)
    assert row["gap_median_days"] == pytest.approx(np.median(gaps))
    assert row["gap_cv"] == pytest.approx(gaps.std() / gaps.mean())


def test_trend_by_hand():
    sites = gpd.GeoDataFrame({"site_id": ["up", "new", "stop"]}, crs="EPSG:4326",
                             geometry=[shapely.box(139, 35, 139.01, 35.01)] * 3)
    p0 = pd.Timestamp("2024-01-01T00:00Z")
    # 10 weeks; "up": weeks 4, 5 (prev 4w: weeks 2-5 hold 2) and weeks 6, 7, 8, 9, 9 (last 4w: 5)
    up = [4, 5, 6, 7, 8, 9, 9.5]
    new = [7, 8, 9]
    stop = [2.5, 3, 4]
    rows = [(s, w) for s, ws in (("up", up), ("new", new), ("stop", stop)) for w in ws]
    starts = pd.Series([p0 + pd.Timedelta(weeks=w, hours=1) for _, w in rows])
    passes = pd.DataFrame({"flight_id": "f", "site_id": [s for s, _ in rows], "t_start": starts,
                           "t_end": starts})
    table = patterns_of_life(passes, pd.DataFrame({"flight_id": ["f"]}), sites,
                             period=(p0, p0 + pd.Timedelta(weeks=10))).site_patterns
    table = table.set_index("site_id")
    assert table.loc["up", ["visits_prev_4w", "visits_last_4w"]].tolist() == [2, 5]
    assert table.loc[["up", "new", "stop"], "trend"].tolist() == ["doubled", "new", "stopped"]
    # Weekly counts of "up": [0,0,0,0,1,1,1,1,1,2]; least-squares slope over weeks 0..9.
    counts = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
    x = np.arange(10)
    assert table.loc["up", "trend_per_week"] == pytest.approx(np.polyfit(x, counts, 1)[0])
    assert table.loc["up", "visits_per_week"] == pytest.approx(0.7)
    short = patterns_of_life(passes, pd.DataFrame({"flight_id": ["f"]}), sites).site_patterns
    assert short["trend"].isna().all()  # the passes' own span is under 8 weeks


# --------------------------------------------------------------------------------------------
# Who


def test_third_parties_and_their_operators():
    flights = pd.DataFrame({
        "flight_id": ["own", "rx_SN1", "rx_SN9", "rx_SN7", "rx_SN8"],
        "drone_id": ["SN1", "SN1", "SN9", "SN7", "SN8"],
        "source_format": ["airdata_csv"] + ["remoteid_csv"] * 4,
        "agency": ["Police", None, None, "Police", None],
        "notes": [None, None, "operator ID JPN87x; Remote ID broadcast", None, None],
        "third_party": [None, None, None, None, False],
    })
    party = third_party(flights)
    # Heard but also flown by the fleet; a stranger; listed in the inventory; overridden.
    assert party.tolist() == [False, False, True, False, False]
    assert operators(flights, party).tolist() == ["Police", "unknown", "JPN87x", "Police",
                                                  "unknown"]


# --------------------------------------------------------------------------------------------
# The whole pattern: the synthetic fleet


def test_weekly_inspections_are_highly_regular_and_random_visits_are_not():
    passes, flights, _ = synthetic_fleet()
    before = passes.copy(deep=True), flights.copy(deep=True)
    p = patterns_of_life(passes, flights, two_sites())
    pd.testing.assert_frame_equal(passes, before[0])
    pd.testing.assert_frame_equal(flights, before[1])
    table = p.site_patterns.set_index("site_id")
    tue, rand = table.loc["tue"], table.loc["rand"]
    # Midway between the earliest (09:51) and the latest (10:10) visit.
    assert (tue["usual_time"], tue["usual_weekday"], tue["usual_hour"]) == ("Tue 10:00", "Tue", 10)
    assert tue["usual_share"] == 1.0 and tue["regularity"] == "high"
    assert tue["time_zone"] == "Asia/Tokyo"
    assert tue["gap_median_days"] == pytest.approx(7, abs=0.02) and tue["gap_cv"] < 0.01
    assert tue["visits"] == 10 and tue["drones"] == 2
    assert tue["operators"] == "Dam authority (10)"
    assert rand["regularity"] == "low" and rand["usual_share"] <= 0.3
    assert rand["entropy_score"] < 0.3 < tue["entropy_score"]
    assert rand["gap_cv"] > 0.5
    assert list(table.columns[4:4 + len(PATTERN_COLUMNS)]) == list(PATTERN_COLUMNS)
    assert (table["third_party_visits"] == 0).all()
    assert len(p.visits) == 20 and (p.visits["passes"] == 1).all()
    tue_visits = p.visits[p.visits["site_id"] == "tue"]
    assert tue_visits["local_start"].str.match(r"2024-..-..T(09:5|10:0|10:10)").all()


def test_too_few_visits_are_not_rated():
    passes, flights, _ = synthetic_fleet()
    p = patterns_of_life(passes.iloc[:2], flights, two_sites())
    row = p.site_patterns.iloc[0]
    assert row["visits"] == 2 and pd.isna(row["usual_time"]) and pd.isna(row["regularity"])
    assert np.isnan(row["usual_share"]) and np.isnan(row["entropy_score"])
    assert row["night_share"] == 0.0  # descriptive shares are given from one visit on


def test_third_party_visits_are_reported_apart():
    passes, flights, _ = synthetic_fleet()
    extra = pd.DataFrame({"flight_id": ["rid_X"], "drone_id": ["X"], "site_id": ["tue"],
                          "t_start": [TUESDAYS[3] + pd.Timedelta("2min")]})
    extra["t_end"] = extra["t_start"] + pd.Timedelta("3min")
    heard = pd.DataFrame({"flight_id": ["rid_X"], "drone_id": ["X"],
                          "source_format": ["remoteid_csv"], "notes": ["operator ID OP-9"]})
    p = patterns_of_life(pd.concat([passes, extra], ignore_index=True),
                         pd.concat([flights, heard], ignore_index=True), two_sites())
    row = p.site_patterns.set_index("site_id").loc["tue"]
    # Flying with the fleet's inspection, it still does not join the fleet's visit.
    assert row["visits"] == 10 and row["third_party_visits"] == 1
    assert row["third_party_operators"] == "OP-9 (1)" and row["third_party_drones"] == 1
    assert pd.isna(row["third_party_regularity"])
    assert p.visits["third_party"].sum() == 1
    assert any("Remote ID" in a for a in p.assumptions)


def test_patterns_report_every_input_problem():
    passes, flights, _ = synthetic_fleet()
    with pytest.raises(ExposureError) as err:
        patterns_of_life(passes.drop(columns="t_end").assign(flight_id="ghost"), flights,
                         two_sites(), gap_hours=-2, min_visits=0)
    message = str(err.value)
    for part in ("'t_end'", "ghost", "gap_hours", "min_visits"):
        assert part in message
    with pytest.raises(ExposureError, match="sites missing"):
        patterns_of_life(passes.assign(site_id="nowhere"), flights, two_sites())


def test_no_passes_give_empty_tables():
    passes, flights, _ = synthetic_fleet()
    p = patterns_of_life(passes.iloc[:0], flights, two_sites())
    assert p.site_patterns.empty and p.visits.empty and len(p.pass_visit) == 0


# --------------------------------------------------------------------------------------------
# What leaks of the pattern


def leak_run(p: float, *, draws: int = 300, seed: int = 5, access: float = 1.0):
    passes, flights, cover = synthetic_fleet()
    sites = two_sites()
    scenario = plain_scenario(p, access=access)
    model = build_model(passes, flights, sites, cover, scenario=scenario)
    beh = behaviour(model.profiles, model.regions, scenario)
    pats = patterns_of_life(passes, flights, sites)
    return leaked_patterns(pats, model, beh, draws=draws, seed=seed), (passes, flights, sites,
                                                                       cover, scenario)


def test_with_every_chance_zero_nothing_of_the_pattern_leaks():
    out, _ = leak_run(0.0)
    table = out.site_patterns.set_index("site_id")
    assert (table["expected_share_known"] == 0).all()
    assert (table["share_known_p95"] == 0).all() and (table["p_any_visit_known"] == 0).all()
    assert (table["p_usual_time_learnt"] == 0).all()
    assert table["leaked_usual_share"].isna().all()
    assert (out.visits["p_known"] == 0).all()


def test_with_every_chance_one_all_of_the_pattern_leaks():
    out, _ = leak_run(1.0)
    table = out.site_patterns.set_index("site_id")
    assert (table[["expected_share_known", "share_known_p05", "p_any_visit_known"]] == 1).all(
        axis=None)
    # The regular site's usual time is learnt in every draw; the random site shows none.
    assert table.loc["tue", "p_usual_time_learnt"] == 1.0
    assert table.loc["rand", "p_usual_time_learnt"] == 0.0
    assert table["leaked_usual_share"].to_numpy() == pytest.approx(table["usual_share"])
    assert (out.visits["p_known"] == 1).all()
    assert list(out.site_patterns.columns[-len(LEAKED_COLUMNS):]) == list(LEAKED_COLUMNS)


def test_visits_become_known_as_often_as_the_leak_simulation_says():
    # One channel per flight with chance 0.3 × access 0.5: P(a flight's passes known) = 0.15,
    # so the share of ten visits known averages 0.15 and P(≥ 3 of 10 known) is binomial.
    out, (passes, flights, sites, cover, scenario) = leak_run(0.0, draws=4000, access=0.5)
    scenario = scenario.with_channel("flight_record_sync", p=0.3)
    model = build_model(passes, flights, sites, cover, scenario=scenario)
    beh = behaviour(model.profiles, model.regions, scenario)
    pats = patterns_of_life(passes, flights, sites)
    out = leaked_patterns(pats, model, beh, draws=4000, seed=11)
    table = out.site_patterns.set_index("site_id")
    assert table["expected_share_known"].to_numpy() == pytest.approx([0.15, 0.15], abs=0.01)
    p3 = 1 - sum(math.comb(10, k) * 0.15**k * 0.85 ** (10 - k) for k in range(3))
    assert table.loc["tue", "p_usual_time_learnt"] == pytest.approx(p3, abs=0.025)
    lo, hi = table.loc["tue", ["p_usual_time_learnt_lo", "p_usual_time_learnt_hi"]]
    assert lo < table.loc["tue", "p_usual_time_learnt"] < hi
    assert table.loc["tue", "leaked_usual_share"] == 1.0
    # The same draws as simulate_leaks with the same seed: visits known in the same draws.
    result = simulate_leaks(passes, flights, sites, cover, scenario=scenario, draws=4000,
                            seed=11)
    known = result.site_leaks.set_index("site_id")["p_visits_known"]
    assert table["p_any_visit_known"].to_dict() == pytest.approx(known.to_dict(), abs=0)


def test_leaked_patterns_do_not_depend_on_the_block_size():
    passes, flights, cover = synthetic_fleet()
    scenario = plain_scenario(0.2, access=0.7)
    model = build_model(passes, flights, two_sites(), cover, scenario=scenario)
    beh = behaviour(model.profiles, model.regions, scenario)
    pats = patterns_of_life(passes, flights, two_sites())
    a = leaked_patterns(pats, model, beh, draws=97, seed=2, block_size=256).site_patterns
    b = leaked_patterns(pats, model, beh, draws=97, seed=2, block_size=7).site_patterns
    pd.testing.assert_frame_equal(a, b)
    assert (a["share_known_p05"] <= a["expected_share_known"]).all()
    assert (a["expected_share_known"] <= a["share_known_p95"]).all()


def test_a_model_of_other_passes_is_refused():
    passes, flights, cover = synthetic_fleet()
    scenario = plain_scenario(1.0)
    model = build_model(passes.iloc[:5], flights, two_sites(), cover.iloc[:5],
                        scenario=scenario)
    beh = behaviour(model.profiles, model.regions, scenario)
    pats = patterns_of_life(passes, flights, two_sites())
    with pytest.raises(ExposureError, match="other passes"):
        leaked_patterns(pats, model, beh, draws=10, seed=0)
    with pytest.raises(ExposureError, match="draws"):
        leaked_patterns(pats, model, beh, draws=0, seed=0)


def test_each_site_gets_its_own_leak_estimates_whatever_the_table_order():
    # Three sites, most visited first in the table (c, b, a), against alphabetical order;
    # only the flights over "a" broadcast DroneID (DJI), so only its visits become known.
    starts = pd.date_range("2024-04-01T00:00Z", periods=9, freq="13h")
    site = ["a"] * 2 + ["b"] * 3 + ["c"] * 4
    passes = pd.DataFrame({"flight_id": [f"f{i}" for i in range(9)], "site_id": site,
                           "t_start": starts, "t_end": starts + pd.Timedelta("5min"),
                           "seconds_in_view": 60.0})
    flights = pd.DataFrame({"flight_id": passes["flight_id"],
                            "vendor": ["DJI"] * 2 + ["Skydio"] * 7})
    sites = gpd.GeoDataFrame({"site_id": ["a", "b", "c"], "category": "dam", "sensitivity": 3},
                             geometry=[shapely.box(139, 35, 139.01, 35.01)] * 3, crs=4326)
    cover = pd.DataFrame(columns=["site_id", "flight_id", "cell", "best_gsd_m", "site_cells"])
    scenario = plain_scenario(0.0).with_channel("droneid", rules=(Rule(p=1.0, vendors=("DJI",)),))
    model = build_model(passes, flights, sites, cover, scenario=scenario)
    beh = behaviour(model.profiles, model.regions, scenario)
    out = leaked_patterns(patterns_of_life(passes, flights, sites), model, beh, draws=20, seed=0)
    assert out.site_patterns["site_id"].tolist() == ["c", "b", "a"]
    assert out.site_patterns["expected_share_known"].tolist() == [0.0, 0.0, 1.0]
    assert out.visits.set_index("site_id")["p_known"].groupby(level=0).mean().to_dict() == {
        "a": 1.0, "b": 0.0, "c": 0.0}

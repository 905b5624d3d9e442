"""Track thinning: what is kept, what it costs in the page, and that time stays with vertices."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

import maps
from maps.tables import SITE_COLUMNS
from maps.tracks import decimate_points, simplify_tracks

M_PER_DEG_LAT = 110_574.0
T0 = pd.Timestamp("2025-03-04T01:00:00Z")


def straight_east(n: int, *, lat: float = 35.0, step_m: float = 10.0) -> pd.DataFrame:
    dlon = step_m / (111_320.0 * np.cos(np.radians(lat)))
    return pd.DataFrame(
        {
            "flight_id": "f",
            "time": T0 + pd.to_timedelta(np.arange(n), unit="s"),
            "lon": 139.0 + dlon * np.arange(n),
            "lat": np.full(n, lat),
        }
    )


def test_a_straight_flight_keeps_its_two_ends_with_their_times():
    kept, how = decimate_points(straight_east(1000), tolerance_m=1.0)
    assert len(kept) == 2 and how.vertices == 2 and how.samples == 1000
    assert kept["time"].tolist() == [T0, T0 + pd.Timedelta(seconds=999)]


def test_a_dog_leg_larger_than_the_tolerance_is_kept_and_a_smaller_one_dropped():
    pts = straight_east(101)
    # 8 m north at sample 30 (above a 5 m tolerance), 3 m north at sample 70 (below it).
    pts.loc[30, "lat"] += 8.0 / M_PER_DEG_LAT
    pts.loc[70, "lat"] += 3.0 / M_PER_DEG_LAT
    kept, _ = decimate_points(pts, tolerance_m=5.0)
    assert kept["time"].tolist() == [T0 + pd.Timedelta(seconds=s) for s in (0, 29, 30, 31, 100)]
    # Other columns come along with their rows.
    pts["note"] = [f"row {i}" for i in range(len(pts))]
    kept, _ = decimate_points(pts, tolerance_m=5.0)
    assert kept["note"].tolist() == ["row 0", "row 29", "row 30", "row 31", "row 100"]


def test_flights_are_never_joined_and_rows_without_position_are_dropped():
    a = straight_east(50)
    b = straight_east(50, lat=36.0).assign(flight_id="g")
    b.loc[10, "lon"] = np.nan
    one = pd.DataFrame({"flight_id": ["single"], "time": [T0], "lon": [140.0], "lat": [37.0]})
    kept, how = decimate_points(pd.concat([b, one, a], ignore_index=True), tolerance_m=1.0)
    assert kept["flight_id"].tolist() == ["f", "f", "g", "g", "single"]
    assert how.flights == 3 and how.samples == 100


def test_the_budget_doubles_the_tolerance_until_the_tracks_fit():
    rng = np.random.default_rng(3)
    n = 20_000
    walk = pd.DataFrame(
        {
            "flight_id": np.repeat(["a", "b", "c", "d"], n // 4),
            "time": T0 + pd.to_timedelta(np.arange(n), unit="s"),
            "lon": 139.0 + np.cumsum(rng.normal(0, 3e-5, n)),
            "lat": 35.0 + np.cumsum(rng.normal(0, 3e-5, n)),
        }
    )
    free, _ = decimate_points(walk, tolerance_m=2.0)
    capped, how = decimate_points(walk, tolerance_m=2.0, max_vertices=len(free) // 4)
    assert len(capped) <= len(free) // 4 < len(free)
    assert how.within_budget and how.tolerance_m >= 8.0
    assert how.tolerance_m / 2.0 ** round(np.log2(how.tolerance_m / 2.0)) == pytest.approx(2.0)
    assert f"{how.vertices:,} vertices" in how.describe()
    # A budget below two vertices per flight cannot be met; it says so and keeps the ends.
    ends, how = decimate_points(walk, max_vertices=3)
    assert len(ends) == 8 and not how.within_budget and "over the budget" in how.describe()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-300, 300), st.floats(-300, 300)).map(
            lambda p: (round(p[0], 3), round(p[1], 3))
        ),
        min_size=2,
        max_size=60,
    ),
    st.floats(0.5, 50),
)
def test_every_dropped_sample_lies_within_the_tolerance_of_the_kept_line(offsets, tolerance):
    lat0 = 35.0
    x = np.array([o[0] for o in offsets])
    y = np.array([o[1] for o in offsets])
    pts = pd.DataFrame(
        {
            "flight_id": "f",
            "time": T0 + pd.to_timedelta(np.arange(len(x)), unit="s"),
            "lon": 139.0 + x / (111_320.0 * np.cos(np.radians(lat0))),
            "lat": lat0 + y / M_PER_DEG_LAT,
        }
    )
    kept, _ = decimate_points(pts, tolerance_m=tolerance)
    rows = ((kept["time"] - T0).dt.total_seconds()).astype(int).to_numpy()
    assert rows[0] == 0 and rows[-1] == len(x) - 1
    assert (np.diff(rows) > 0).all()  # a subset, in time order
    line = LineString(np.column_stack([x[rows], y[rows]]))
    if not line.length > 0:  # all kept samples at one place
        line = Point(x[rows[0]], y[rows[0]])
    worst = max(line.distance(Point(a, b)) for a, b in zip(x, y, strict=True))
    assert worst <= tolerance * 1.01 + 1e-6


def test_simplify_tracks_carries_vertex_times_and_flight_columns(flights):
    pts = straight_east(600).assign(flight_id="DJI_20240501_0912")
    thin, how = simplify_tracks(flights, points=pts)
    assert how.flights == 1
    assert thin["flight_id"].tolist() == ["DJI_20240501_0912"]  # the other has no points
    times = thin["vertex_times"].iloc[0]
    assert times.tolist() == [T0.timestamp(), T0.timestamp() + 599]
    assert thin["vendor"].iloc[0] == "DJI" and thin.crs.equals("EPSG:4326")
    # Without points the flights' own lines are thinned and carry no time.
    untimed, _ = simplify_tracks(flights)
    assert untimed["vertex_times"].isna().all() or all(v is None for v in untimed["vertex_times"])
    assert len(untimed) == 2


def test_inputs_are_not_modified(flights):
    pts = straight_east(50)
    before_pts, before_f = pts.copy(), flights.copy()
    simplify_tracks(flights, points=pts)
    pd.testing.assert_frame_equal(pts, before_pts)
    pd.testing.assert_frame_equal(pd.DataFrame(flights), pd.DataFrame(before_f))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tolerance_m": -1.0}, "tolerance_m"), ({"max_vertices": 0}, "max_vertices")],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(maps.MapError, match=message):
        decimate_points(straight_east(5), **kwargs)


def test_missing_point_columns_are_named():
    with pytest.raises(maps.MapError, match=r"missing columns \['time', 'lat'\]"):
        decimate_points(pd.DataFrame({"flight_id": ["a"], "lon": [1.0]}))


def test_a_million_sample_fleet_fits_a_proportional_page_budget():
    """10 million samples must fit 50 MB; a tenth of that fleet must fit a tenth of it."""
    rng = np.random.default_rng(11)
    n, n_flights = 1_000_000, 400
    per = n // n_flights
    fid = np.repeat([f"flight-{i:04d}" for i in range(n_flights)], per)
    start_lon = np.repeat(rng.uniform(129, 145, n_flights), per)
    start_lat = np.repeat(rng.uniform(31, 43, n_flights), per)
    # Random walks: the worst case for thinning (no straight stretch to drop).
    steps = rng.normal(0, 4e-5, (2, n))
    steps[:, ::per] = 0.0
    lon = start_lon + np.cumsum(steps[0]) - np.repeat(np.cumsum(steps[0])[::per], per)
    lat = start_lat + np.cumsum(steps[1]) - np.repeat(np.cumsum(steps[1])[::per], per)
    points = pd.DataFrame(
        {"flight_id": fid, "time": T0 + pd.to_timedelta(np.arange(n), unit="s"),
         "lon": lon, "lat": lat}
    )  # fmt: skip
    ends = points.groupby("flight_id").agg(x0=("lon", "first"), y0=("lat", "first"),
                                           x1=("lon", "last"), y1=("lat", "last"))  # fmt: skip
    flights = gpd.GeoDataFrame(
        {"flight_id": ends.index, "drone_id": "d", "model": "m", "vendor": "DJI",
         "camera": "c", "start": T0, "end": T0, "n_samples": per},
        geometry=[LineString([(a, b), (c, d)]) for a, b, c, d in ends.to_numpy()], crs=4326,
    )  # fmt: skip
    row = dict.fromkeys(SITE_COLUMNS, float("nan")) | {"name": "s", "flights": 0}
    sites = gpd.GeoDataFrame([row], geometry=[Point(139, 35).buffer(0.01)], crs=4326)
    thin, how = simplify_tracks(flights, points=points)
    assert how.samples == n and how.within_budget
    assert how.vertices <= maps.tracks.DEFAULT_MAX_VERTICES
    page = maps.render_html(maps.risk_map(sites, flights=thin, draw_tool=False))
    budget = 50e6 * n / 10_000_000
    assert len(page.encode()) < budget, (len(page.encode()), how.describe())
    # Every kept vertex is in the page, with its time.
    blob = re.search(r"steps: (\[.*?\])\n", page)
    assert blob is not None
    steps_json = json.loads(blob.group(1))
    assert sum(len(s) for s in steps_json) == how.vertices


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.one_of(st.none(), st.integers(0, 5))),
        min_size=1,
        max_size=25,
    ),
    st.booleans(),
)
def test_points_are_ordered_by_flight_then_time_with_missing_times_last(rows, presort):
    # Whether the table comes sorted (no sort is made) or not, the order is the same: by
    # flight, then time, rows without a time last, ties in table order.
    from maps.tracks import _checked_points

    frame = pd.DataFrame(
        {
            "flight_id": [f for f, _ in rows],
            "time": pd.to_datetime([None if t is None else t * 10**9 for _, t in rows], utc=True),
            "lon": np.arange(len(rows), dtype=float),
            "lat": 0.0,
        }
    )
    if presort:
        frame = frame.sort_values(["flight_id", "time"], kind="stable", na_position="last")
    got = _checked_points(frame)
    expected = frame.sort_values(["flight_id", "time"], kind="stable", na_position="last")
    assert got["lon"].tolist() == expected["lon"].tolist()


def test_thinning_in_batches_keeps_what_one_batch_keeps(monkeypatch):
    # Many flights of uneven length (one of a single sample) cut into batches of a few rows:
    # the kept rows are those of one batch over everything.
    import maps.tracks as tracks

    rng = np.random.default_rng(3)
    sizes = [1, 7, 30, 2, 55, 13]
    frame = pd.DataFrame(
        {
            "flight_id": np.repeat([f"f{i}" for i in range(len(sizes))], sizes),
            "time": pd.to_datetime(np.concatenate([np.arange(n) for n in sizes]), unit="s",
                                   utc=True),
            "lon": 139.0 + np.cumsum(rng.normal(0, 2e-4, sum(sizes))),
            "lat": 35.0 + np.cumsum(rng.normal(0, 2e-4, sum(sizes))),
        }
    )
    whole, _ = decimate_points(frame, tolerance_m=5.0)
    monkeypatch.setattr(tracks, "_LINE_BATCH", 4)
    batched, how = decimate_points(frame, tolerance_m=5.0)
    pd.testing.assert_frame_equal(whole, batched)
    assert how.flights == 6 and 6 * 2 - 1 <= how.vertices < sum(sizes)

"""Hand-computed scenarios and invariants of the chunked engine."""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from exposure.engine import assess
from flightlogs.schema import make_flights, make_samples
from sites.schema import make_sites


@pytest.fixture
def cams(camera72):
    return {"test72": camera72}


def test_orbit_of_known_radius(cams, origin, track, square_site):
    # 360 samples 1 s apart on a 1 km circle at 120 m around a 200 m square site.
    x, y = origin
    a = np.radians(np.arange(360))
    samples, flights = track(x + 1000 * np.sin(a), y + 1000 * np.cos(a), height=120.0)
    result = assess(samples, flights, square_site(x, y, 200.0), cameras=cams)
    row = result.site_exposure.iloc[0]
    # Closest at the diagonals (45°, 135°, ...), facing a corner 100·√2 m from the centre.
    assert row["min_slant_range_m"] == pytest.approx(
        math.hypot(1000 - 100 * math.sqrt(2), 120), abs=0.5
    )
    assert row["seconds_in_view"] == pytest.approx(359.0)
    assert row["view_sectors"] == 12
    assert len(result.passes) == 1
    assert row["mode"] == "potential"


def test_site_across_a_utm_zone_boundary(cams):
    # A site straddling 138° E (UTM zones 53 and 54); a drone hovers 1 km east of its east edge.
    site = shapely.box(137.995, 36.0, 138.005, 36.01)
    sites = make_sites(
        gpd.GeoDataFrame(
            {"site_id": ["s"], "name": ["x"], "category": ["dam"]}, geometry=[site], crs=4326
        )
    )
    geod = Geod(ellps="WGS84")
    lon, lat, _ = geod.fwd(138.005, 36.005, 90, 1000.0)
    frame = pd.DataFrame(
        {
            "flight_id": "f",
            "time": pd.date_range("2024-01-01", periods=5, freq="s", tz="UTC"),
            "lon": lon,
            "lat": lat,
            "height_agl_m": 100.0,
            "height_ref": "takeoff",
        }
    )
    samples = make_samples(frame)
    flights = make_flights(
        pd.DataFrame(
            {
                "flight_id": ["f"],
                "camera": ["test72"],
                "source_path": ["m"],
                "source_format": ["t"],
                "n_read": [5],
                "n_samples": [5],
                "n_rejected": [0],
            }
        )
    )
    row = assess(samples, flights, sites, cameras=cams).site_exposure.iloc[0]
    assert row["min_slant_range_m"] == pytest.approx(math.hypot(1000.0, 100.0), abs=1.0)


def test_no_sites_means_no_exposure(cams, origin, track):
    x, y = origin
    samples, flights = track([x] * 10, [y] * 10, height=50.0)
    empty = make_sites(
        gpd.GeoDataFrame({"site_id": [], "name": [], "category": []}, geometry=[], crs=4326)
    )
    result = assess(samples, flights, empty, cameras=cams)
    assert result.site_exposure.empty and result.passes.empty and result.coverage.empty


def test_attribution_adds_up_per_level(cams, origin, track, square_site):
    x, y = origin
    s1, f1 = track([x] * 30, [y] * 30, height=80.0, flight_id="a")
    s2, f2 = track([x + 50] * 20, [y] * 20, height=80.0, flight_id="b")
    samples = pd.concat([s1, s2], ignore_index=True)
    flights = pd.concat([f1, f2], ignore_index=True).assign(vendor=["DJI", "Skydio"])
    result = assess(samples, flights, square_site(x, y, 200.0), cameras=cams)
    total = result.site_exposure["seconds_in_view"].sum()
    for level in ("drone", "vendor", "operator"):
        table = result.attribution[level]
        assert table["seconds_in_view"].sum() == pytest.approx(total)
    by_vendor = result.attribution["vendor"].set_index("vendor")
    assert by_vendor.loc["DJI", "seconds_in_view"] == pytest.approx(29.0)
    assert by_vendor.loc["Skydio", "seconds_in_view"] == pytest.approx(19.0)
    # Sensitivity-weighted: a military site has sensitivity 5.
    assert by_vendor.loc["DJI", "weighted_seconds"] == pytest.approx(5 * 29.0)


def _fleet(draw_flights, origin, track):
    x0, y0 = origin
    parts = []
    for k, (dx, dy, h, n, step) in enumerate(draw_flights):
        xs = x0 + dx + np.arange(n) * step
        parts.append(
            track(
                xs,
                np.full(n, y0 + dy),
                height=h,
                flight_id=f"f{k}",
                t0=f"2024-05-0{1 + k % 9}T00:00:00Z",
            )
        )
    samples = pd.concat([p[0] for p in parts], ignore_index=True)
    flights = pd.concat([p[1] for p in parts], ignore_index=True)
    return gpd.GeoDataFrame(samples, crs=4326), gpd.GeoDataFrame(flights, crs=4326)


def _sites(origin, square_site):
    x, y = origin
    return gpd.GeoDataFrame(
        pd.concat(
            [
                square_site(x, y, 200.0, site_id="a"),
                square_site(x + 3000, y + 500, 400.0, site_id="b", category="nuclear"),
            ],
            ignore_index=True,
        ),
        crs=4326,
    )


flight_strategy = st.lists(
    st.tuples(
        st.floats(-4000, 4000),
        st.floats(-2000, 2000),
        st.floats(20, 300),
        st.integers(2, 40),
        st.floats(-60, 60),
    ),
    min_size=1,
    max_size=4,
)
TOTALS = ["flights", "seconds_in_view", "coverage_fraction", "coverage_fraction_niirs5"]
fast = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fast
@given(flight_strategy)
def test_totals_do_not_depend_on_chunking(cams, origin, track, square_site, spec):
    samples, flights = _fleet(spec, origin, track)
    sites = _sites(origin, square_site)
    whole = assess(samples, flights, sites, cameras=cams)
    split = assess(samples, flights, sites, cameras=cams, chunk_samples=1)
    pd.testing.assert_frame_equal(whole.site_exposure, split.site_exposure)
    pd.testing.assert_frame_equal(whole.passes, split.passes)
    assert whole.site_exposure["coverage_fraction"].between(0, 1).all()


@fast
@given(flight_strategy, flight_strategy)
def test_adding_flights_never_reduces_exposure(cams, origin, track, square_site, base, extra):
    sites = _sites(origin, square_site)
    s1, f1 = _fleet(base, origin, track)
    s2, f2 = _fleet(extra, origin, track)
    s2 = s2.assign(flight_id="extra-" + s2["flight_id"])
    f2 = f2.assign(flight_id="extra-" + f2["flight_id"])
    before = assess(s1, f1, sites, cameras=cams).site_exposure.set_index("site_id").sort_index()
    both = (
        assess(
            pd.concat([s1, s2], ignore_index=True),
            pd.concat([f1, f2], ignore_index=True),
            sites,
            cameras=cams,
        )
        .site_exposure.set_index("site_id")
        .sort_index()
    )
    for col in TOTALS:
        assert (both[col] >= before[col] - 1e-9).all(), col
    assert (both["best_niirs"].fillna(-1) >= before["best_niirs"].fillna(-1)).all()


@fast
@given(flight_strategy)
def test_reversing_time_leaves_totals_unchanged(cams, origin, track, square_site, spec):
    samples, flights = _fleet(spec, origin, track)
    sites = _sites(origin, square_site)
    t = samples["time"]
    first = t.groupby(samples["flight_id"]).transform("min")
    last = t.groupby(samples["flight_id"]).transform("max")
    reversed_ = samples.assign(time=first + (last - t))
    a = assess(samples, flights, sites, cameras=cams).site_exposure
    b = assess(reversed_, flights, sites, cameras=cams).site_exposure
    for col in [*TOTALS, "min_slant_range_m", "best_niirs", "view_sectors"]:
        pd.testing.assert_series_equal(a[col], b[col], check_exact=False, rtol=1e-9)


# Shutting a local cluster down can leave sockets to the garbage collector inside distributed.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_dask_gives_identical_results(cams, origin, track, square_site):
    from exposure.distributed import cluster_client, dask_runner

    spec = [(-300, 0, 100, 40, 20), (2500, 400, 150, 30, 15), (-3000, -1500, 60, 25, 40)]
    samples, flights = _fleet(spec, origin, track)
    sites = _sites(origin, square_site)
    local = assess(samples, flights, sites, cameras=cams, chunk_samples=30)
    with cluster_client(n_workers=2) as client:
        remote = assess(
            samples, flights, sites, cameras=cams, chunk_samples=30, runner=dask_runner(client)
        )
    assert local.counts["chunks"] >= 2
    pd.testing.assert_frame_equal(local.site_exposure, remote.site_exposure)
    pd.testing.assert_frame_equal(local.passes, remote.passes)
    pd.testing.assert_frame_equal(local.coverage, remote.coverage)


def test_per_flight_coverage_unions_to_site_coverage(cams, origin, track, square_site):
    # Two hovers over different quarters of a 200 m site: each flight covers its own cells.
    x, y = origin
    s1, f1 = track([x - 50] * 10, [y - 50] * 10, height=60.0, flight_id="a", gimbal_pitch_deg=-90.0)
    s2, f2 = track([x + 50] * 10, [y + 50] * 10, height=60.0, flight_id="b", gimbal_pitch_deg=-90.0)
    result = assess(
        pd.concat([s1, s2], ignore_index=True),
        pd.concat([f1, f2], ignore_index=True),
        square_site(x, y, 200.0),
        cameras=cams,
    )
    cells = result.coverage_by_flight
    assert set(cells["flight_id"]) == {"a", "b"}
    union = cells["cell"].nunique() / cells["site_cells"].iloc[0]
    assert union == pytest.approx(result.site_exposure.iloc[0]["coverage_fraction"])
    # Each alone covers less than both together, and more than nothing.
    for fid in ("a", "b"):
        alone = (cells["flight_id"] == fid).sum() / cells["site_cells"].iloc[0]
        assert 0 < alone < union
    # The coverage layer merges the cells by NIIRS class: it counts each covered cell once and
    # its area is that of the cells.
    layer = result.coverage
    assert layer["cells"].sum() == cells["cell"].nunique()
    cell_area = layer["cell_m"].iloc[0] ** 2
    area = layer.to_crs(32654).area.sum()
    assert area == pytest.approx(layer["cells"].sum() * cell_area, rel=0.01)


def test_potential_coverage_from_nearest_samples_matches_the_exact_kernel():
    # A straight track at constant height past a site: rating each cell from its nearest
    # samples must give what rating it from every sample's reach disc gives.
    from exposure.coverage import footprint_best_gsd, site_grid
    from exposure.footprint import reach_rings
    from exposure.kernel import _potential_best_gsd

    grid = site_grid(shapely.box(-300, -200, 300, 200), max_cells=2000)
    x = np.linspace(-2000, 2000, 401)
    y = np.full_like(x, 900.0)
    dz = np.full_like(x, 120.0)
    reach = np.full_like(x, 2500.0)
    k_gsd = 0.0033 / 12.29
    fast = _potential_best_gsd(grid, x, y, dz, reach, k_gsd)
    rings = reach_rings(x=x, y=y, height_m=dz, reach_m=reach, n_vertices=720)
    exact = footprint_best_gsd(
        grid, rings=rings, x=x, y=y, height_m=dz, pixel_pitch_mm=0.0033, focal_mm=12.29
    )
    both = np.isfinite(exact)
    assert both.mean() > 0.9
    np.testing.assert_allclose(fast[both], exact[both], rtol=1e-9)
    # Cells beyond every sample's reach stay uncovered in both.
    assert (np.isfinite(fast) == np.isfinite(exact)).mean() > 0.99


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.05, 0.95), st.sampled_from([2.5, 10.0, 37.5]))
def test_coverage_class_shape_is_the_union_of_its_cells(seed, share, cell):
    # Any set of cells on one lattice (holes, corner contacts, single cells): the traced shape
    # is valid and covers exactly the union of the cell squares.
    from exposure.tables import _class_shape

    rng = np.random.default_rng(seed)
    mask = rng.random((12, 15)) < share
    if not mask.any():
        mask[3, 4] = True
    iy, ix = np.nonzero(mask)
    x, y = 500_000.0 + ix * cell, 3_900_000.0 + iy * cell
    shape = _class_shape(x, y, cell)
    squares = shapely.union_all(shapely.box(x - cell / 2, y - cell / 2, x + cell / 2, y + cell / 2))
    assert shape.is_valid
    assert shape.area == pytest.approx(mask.sum() * cell**2)
    assert shapely.symmetric_difference(shape, squares).area < 1e-6 * cell**2

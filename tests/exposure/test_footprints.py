import math

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exposure.coverage import (
    footprint_best_gsd,
    nadir_best_gsd,
    points_in_footprints,
    site_grid,
)
from exposure.errors import ExposureError
from exposure.footprint import (
    boresight_points,
    footprint_rings,
    nadir_corners,
    nadir_half_sizes,
    reach_rings,
    ring_polygons,
)
from exposure.footprint_frames import footprints
from exposure.footprint_kernels import border_uv, rotation_matrices
from exposure.quality import (
    VIDEO_NIIRS_PENALTY,
    horizon_m,
    niirs,
    niirs_giqe5,
    range_for_niirs_m,
    reach_m,
    slant_gsd_m,
)

H72, V57 = math.radians(72), math.radians(57)


def rings_of(*, pitch, yaw=0.0, roll=0.0, h=100.0, reach=1e9, hfov=H72, vfov=V57, n=8):
    return footprint_rings(x=[0.0], y=[0.0], height_m=h, yaw_deg=yaw, pitch_deg=pitch,
                           roll_deg=roll, hfov_rad=hfov, vfov_rad=vfov, reach_m=reach,
                           n_per_edge=n)


def polygon_of(**kw):
    return ring_polygons(rings_of(**kw))[0]


def reference_points(*, pitch, yaw, roll, h, reach, hfov, vfov, n):
    """The border-ray rule written out independently: rays, ground, and the reach disc."""
    ps, ys, rs = (math.radians(a) for a in (pitch, yaw, roll))
    rz = np.array([[math.cos(ys), -math.sin(ys), 0], [math.sin(ys), math.cos(ys), 0], [0, 0, 1]])
    ry = np.array([[math.cos(ps), 0, math.sin(ps)], [0, 1, 0], [-math.sin(ps), 0, math.cos(ps)]])
    rx = np.array([[1, 0, 0], [0, math.cos(rs), -math.sin(rs)], [0, math.sin(rs), math.cos(rs)]])
    uv = border_uv(n)
    cam = np.stack([np.ones(len(uv)), uv[:, 0] * math.tan(hfov / 2),
                    uv[:, 1] * math.tan(vfov / 2)], axis=1)
    north, east, down = (rz @ ry @ rx @ cam.T)
    radius = math.sqrt(reach**2 - h**2)
    horiz = np.hypot(north, east)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dist = np.where(down > 0, h * horiz / down, np.inf)
        dist = np.minimum(dist, radius)
        return np.stack([np.where(horiz > 0, dist * east / horiz, 0.0),
                         np.where(horiz > 0, dist * north / horiz, 0.0)], axis=1)


# ---- hand-computed cases -------------------------------------------------------------------


def test_nadir_at_100_m_is_the_worked_rectangle():
    ring = rings_of(pitch=-90.0, n=1)[0]
    assert np.ptp(ring[:, 0]) == pytest.approx(145.3, abs=0.05)  # east-west
    assert np.ptp(ring[:, 1]) == pytest.approx(108.6, abs=0.05)  # north-south
    poly = shapely.Polygon(ring)
    assert poly.area == pytest.approx(145.31 * 108.59, rel=1e-3)
    # Identical to the engine's nadir rectangle, at any heading.
    for yaw in (0.0, 33.0, 90.0):
        a, b = nadir_half_sizes(100.0, H72, V57)
        nadir = shapely.Polygon(nadir_corners([0.0], [0.0], [a], [b], [yaw])[0])
        general = polygon_of(pitch=-90.0, yaw=yaw, n=3)
        assert general.symmetric_difference(nadir).area < 1e-6


def test_pitch_minus_30_near_and_far_edges():
    # Edges of the frame 30° ± 28.5° below the horizon: 100/tan(58.5°) and 100/tan(1.5°).
    ring = rings_of(pitch=-30.0, n=2)[0]
    centre_column = ring[np.isclose(ring[:, 0], 0.0, atol=1e-6)]
    assert sorted(centre_column[:, 1]) == pytest.approx([61.28, 3818.85], abs=0.05)
    # The far corners are wider than the near ones: a trapezoid.
    assert np.ptp(ring[ring[:, 1] > 3000, 0]) > 10 * np.ptp(ring[ring[:, 1] < 100, 0])


def test_far_edge_is_an_arc_at_reach():
    ring = rings_of(pitch=-30.0, reach=1000.0)[0]
    dist = np.hypot(ring[:, 0], ring[:, 1])
    radius = math.sqrt(1000.0**2 - 100.0**2)  # R_max is a slant range
    assert dist.max() == pytest.approx(radius, rel=1e-9)
    on_arc = np.unique(ring[np.isclose(dist, radius)].round(6), axis=0)
    assert len(on_arc) >= 5
    assert ring[:, 1].min() == pytest.approx(61.28, abs=0.05)


def test_camera_above_the_horizon_gets_a_finite_clipped_footprint():
    # Boresight 20° up, frame bottom 8.5° down: ground from 100/tan(8.5°) = 669.1 m to R_max.
    poly = polygon_of(pitch=20.0, reach=1000.0)
    assert poly.is_valid and 0 < poly.area < math.pi * 1000**2
    xs, ys = np.asarray(poly.exterior.xy)
    assert ys.min() == pytest.approx(669.1, abs=0.1)
    dist = np.hypot(xs, ys)
    assert dist.max() == pytest.approx(math.sqrt(1000**2 - 100**2), rel=1e-9)
    # Entirely above the horizon: only the arc at R_max, still a valid finite polygon.
    sky = polygon_of(pitch=45.0, reach=1000.0)
    assert sky.is_valid and sky.area > 0
    assert np.hypot(*sky.exterior.xy).min() > 0.3 * 995


def test_camera_at_the_horizon_spans_its_hfov_on_the_arc():
    ring = rings_of(pitch=0.0, reach=2000.0, n=8)[0]
    radius = math.sqrt(2000.0**2 - 100.0**2)
    dist = np.hypot(ring[:, 0], ring[:, 1])
    arc = ring[np.isclose(dist, radius)]
    azimuth = np.degrees(np.arctan2(arc[:, 0], arc[:, 1]))
    assert azimuth.min() == pytest.approx(-36.0) and azimuth.max() == pytest.approx(36.0)
    assert ring[:, 1].min() == pytest.approx(100 / math.tan(math.radians(28.5)), abs=0.01)


def test_yaw_90_turns_the_footprint_east():
    north = polygon_of(pitch=-30.0, reach=3000.0)
    east = polygon_of(pitch=-30.0, yaw=90.0, reach=3000.0)
    turned = shapely.transform(north, lambda c: np.stack([c[:, 1], -c[:, 0]], axis=1))
    assert east.symmetric_difference(turned).area < 1e-6 * east.area
    assert east.centroid.x > 1000 and abs(east.centroid.y) < 1e-6


def test_roll_is_right_side_down():
    # Level, looking north, rolled 30° right: the camera's right axis points east and down.
    right = rotation_matrices([0.0], [0.0], [30.0])[0, :, 1]
    assert right.tolist() == pytest.approx([0.0, math.cos(math.radians(30)), 0.5])
    # Rolling right moves an oblique footprint's far part to the left... and mirrors exactly.
    a = polygon_of(pitch=-50.0, roll=12.0)
    b = polygon_of(pitch=-50.0, roll=-12.0)
    mirrored = shapely.transform(b, lambda c: np.stack([-c[:, 0], c[:, 1]], axis=1))
    assert a.symmetric_difference(mirrored).area < 1e-6 * a.area


def test_boresight_point_and_centre_gsd():
    p = boresight_points(x=[10.0], y=[20.0], height_m=100.0, yaw_deg=90.0, pitch_deg=-30.0,
                         reach_m=5000.0)
    assert p[0].tolist() == pytest.approx([10 + 100 / math.tan(math.radians(30)), 20.0])
    # Above the horizon: clipped at R_max along its azimuth.
    p = boresight_points(x=[0.0], y=[0.0], height_m=100.0, yaw_deg=180.0, pitch_deg=10.0,
                         reach_m=500.0)
    assert p[0].tolist() == pytest.approx([0.0, -math.sqrt(500**2 - 100**2)])


def test_degenerate_poses_give_no_ring():
    r = footprint_rings(x=[0.0] * 4, y=[0.0] * 4, height_m=[np.nan, 0.0, 100.0, 100.0],
                        yaw_deg=0.0, pitch_deg=-90.0, roll_deg=0.0, hfov_rad=1.0, vfov_rad=1.0,
                        reach_m=[1000.0, 1000.0, 90.0, 1000.0])
    assert np.isnan(r[:3]).all() and np.isfinite(r[3]).all()
    assert [p.is_empty for p in ring_polygons(r)] == [True, True, True, False]
    with pytest.raises(ExposureError, match="n_per_edge is 0"):
        rings_of(pitch=-90.0, n=0)
    with pytest.raises(ExposureError, match="height_m has shape"):
        footprint_rings(x=[0.0, 1.0], y=[0.0, 1.0], height_m=[1.0, 2.0, 3.0], yaw_deg=0.0,
                        pitch_deg=-90.0, roll_deg=0.0, hfov_rad=1.0, vfov_rad=1.0, reach_m=9.0)


def test_reach_rings_are_the_disc_within_slant_range():
    r = reach_rings(x=[5.0], y=[0.0], height_m=[60.0], reach_m=[100.0], n_vertices=32)
    assert np.hypot(r[0, :, 0] - 5.0, r[0, :, 1]) == pytest.approx(np.full(32, 80.0))
    assert shapely.Polygon(r[0]).exterior.is_ccw


# ---- properties ----------------------------------------------------------------------------

poses = st.fixed_dictionaries(
    {
        "pitch": st.floats(-90, 60),
        "yaw": st.floats(0, 360),
        "roll": st.floats(-40, 40),
        "h": st.floats(1, 2000),
        "hfov": st.floats(math.radians(3), math.radians(120)),
        "vfov": st.floats(math.radians(3), math.radians(100)),
        "reach": st.floats(1.01, 50),  # times the height
        "n": st.integers(1, 10),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(poses)
def test_footprint_is_valid_convex_and_holds_every_border_ray(pose):
    pose = {**pose, "reach": pose["reach"] * pose["h"]}
    ring = rings_of(**pose)[0]
    points = reference_points(**pose)
    hull = shapely.MultiPoint(points).convex_hull
    if not np.isfinite(ring).all():
        assert hull.area <= 1e-9 * max(hull.length, 1.0) ** 2  # only degenerate views
        return
    poly = shapely.Polygon(ring)
    assert poly.is_valid and poly.exterior.is_ccw and poly.area > 0
    assert poly.area == pytest.approx(poly.convex_hull.area, rel=1e-9)  # convex
    scale = np.abs(points).max()
    assert shapely.covers(poly.buffer(1e-7 * scale), shapely.points(points)).all()
    # Vertices may move by 1e-9 of the footprint's size (snapped against rounding).
    assert poly.symmetric_difference(hull).area <= 1e-7 * hull.area + 1e-8 * scale * hull.length
    radius = math.sqrt(pose["reach"] ** 2 - pose["h"] ** 2)
    assert np.hypot(ring[:, 0], ring[:, 1]).max() <= radius * (1 + 1e-9)


@settings(max_examples=100, deadline=None)
@given(
    pitch=st.floats(-90, -35), yaw=st.floats(0, 360), roll=st.floats(-5, 5),
    h=st.floats(1, 500), factor=st.floats(1.001, 5),
)
def test_footprint_area_grows_with_height(pitch, yaw, roll, h, factor):
    # Every ray below the horizon (pitch ≤ -35°, VFOV/2 = 28.5°, |roll| ≤ 5°), no clipping.
    low = polygon_of(pitch=pitch, yaw=yaw, roll=roll, h=h)
    high = polygon_of(pitch=pitch, yaw=yaw, roll=roll, h=h * factor)
    assert high.area > low.area
    assert high.area == pytest.approx(low.area * factor**2, rel=1e-6)


@given(
    horizontal=st.floats(0, 20_000), vertical=st.floats(1, 3000), extra=st.floats(1e-3, 20_000),
    scale=st.floats(1.0001, 10),
)
def test_gsd_grows_and_niirs_never_rises_when_the_drone_moves_away(
    horizontal, vertical, extra, scale
):
    near = slant_gsd_m(horizontal, vertical, 0.0033, 12.29)
    farther = slant_gsd_m(horizontal + extra, vertical, 0.0033, 12.29)  # away, same height
    along = slant_gsd_m(horizontal * scale, vertical * scale, 0.0033, 12.29)  # along the line
    assert farther > near and along > near
    assert niirs(farther) <= niirs(near) and niirs(along) <= niirs(near)
    raw = slant_gsd_m([horizontal, horizontal + extra], vertical, 0.0033, 12.29, weighted=False)
    assert raw[1] > raw[0]


def test_giqe5_check_video_penalty_and_reach():
    assert float(niirs_giqe5(20.8 * 0.0254, rer=0.35, snr=50)) == pytest.approx(5.0, abs=0.05)
    still, video = niirs([0.2, 0.2], video=[False, True])
    assert still - video == pytest.approx(VIDEO_NIIRS_PENALTY) == pytest.approx(0.5)
    assert float(niirs_giqe5(0.2, video=True)) == pytest.approx(float(niirs_giqe5(0.2)) - 0.5)
    # Mavic 3 tele (1.6 µm, 28.8 mm) at 3 km: about 17 cm, NIIRS about 6.8 straight down.
    assert float(slant_gsd_m(0.0, 3000.0, 0.0016, 28.8)) == pytest.approx(0.1667, abs=1e-4)
    # R_max is the smallest of the cap, the horizon and the NIIRS-2 range.
    r = reach_m([100.0, 1.0, 100.0], [0.0033, 0.0033, 0.012], [12.29, 12.29, 9.0],
                max_range_m=20_000)
    assert r[0] == pytest.approx(float(range_for_niirs_m(2.0, 0.0033, 12.29)))
    assert r[1] == pytest.approx(float(horizon_m(1.0)))
    assert r[2] == pytest.approx(2**2.2 * 9.0 / 0.012)
    assert reach_m([100.0], 0.0016, 28.8, max_range_m=1000.0)[0] == 1000.0


# ---- coverage kernel -----------------------------------------------------------------------


def test_general_kernel_matches_the_nadir_one():
    rng = np.random.default_rng(7)
    grid = site_grid(shapely.box(-300, -200, 300, 200), max_cells=2000)
    n = 40
    x, y = rng.uniform(-300, 300, n), rng.uniform(-200, 200, n)
    h, yaw = rng.uniform(30, 150, n), rng.uniform(0, 360, n)
    pp, f = np.full(n, 0.0033), np.full(n, 12.29)
    a, b = nadir_half_sizes(h, H72, V57)
    expected = nadir_best_gsd(grid, x=x, y=y, height_m=h, yaw_deg=yaw, half_across=a,
                              half_along=b, pixel_pitch_mm=pp, focal_mm=f)
    rings = footprint_rings(x=x, y=y, height_m=h, yaw_deg=yaw, pitch_deg=-90.0, roll_deg=0.0,
                            hfov_rad=H72, vfov_rad=V57, reach_m=1e6, n_per_edge=1)
    got = footprint_best_gsd(grid, rings=rings, x=x, y=y, height_m=h, pixel_pitch_mm=pp,
                             focal_mm=f)
    assert np.isfinite(expected).mean() > 0.5
    assert np.array_equal(np.isfinite(got), np.isfinite(expected))
    assert got[np.isfinite(got)] == pytest.approx(expected[np.isfinite(expected)], rel=1e-12)


def test_oblique_coverage_by_hand():
    # A camera 100 m up looking north 30° down sees the cell 173.2 m north at its image centre,
    # not the cell under the drone.
    grid = site_grid(shapely.box(-5, -5, 5, 5), max_cells=1)
    common = {"height_m": np.array([100.0]), "pixel_pitch_mm": 0.004, "focal_mm": 10.0}

    def best_from(y0, **kw):
        rings = rings_of(pitch=-30.0) + np.array([0.0, y0])
        return footprint_best_gsd(grid, rings=rings, x=np.zeros(1), y=np.array([y0]),
                                  **common, **kw)

    assert best_from(0.0).tolist() == [np.inf]
    ahead = best_from(-100 / math.tan(math.radians(30)))
    # Slant 200 m: GSD 0.08 m, weighted by sin(30°)^(-1/4).
    assert ahead[0] == pytest.approx(0.004 * 200 / 10 / 0.5**0.25, rel=1e-9)
    # On ground 40 m higher (a DEM), the camera is 60 m above the cell and sees it sharper.
    higher = best_from(-100 / math.tan(math.radians(30)), cell_z=np.array([40.0]))
    slant = math.hypot(173.205, 60.0)
    assert higher[0] == pytest.approx(0.004 * slant / 10 / (60 / slant) ** 0.25, rel=1e-5)
    # Merging keeps the better of the two.
    merged = best_from(-100 / math.tan(math.radians(30)), best=np.array([0.01]))
    assert merged.tolist() == [0.01]


@settings(max_examples=60, deadline=None)
@given(poses, st.integers(0, 2**31))
def test_points_in_footprints_agree_with_shapely(pose, seed):
    pose = {**pose, "reach": pose["reach"] * pose["h"]}
    rings = rings_of(**pose)
    poly = ring_polygons(rings)[0]
    rng = np.random.default_rng(seed)
    span = max(pose["reach"], 1.0)
    px, py = rng.uniform(-span, span, 300), rng.uniform(-span, span, 300)
    inside = points_in_footprints(rings, px, py)[0]
    if poly.is_empty:
        assert not inside.any()
        return
    expected = shapely.contains_xy(poly, px, py)
    near_edge = shapely.distance(poly.exterior, shapely.points(px, py)) < 1e-6 * span
    assert (inside == expected)[~near_edge].all()


@given(st.floats(20, 400), st.floats(1, 3000))
def test_farther_drone_never_sees_a_cell_better(h, shift):
    grid = site_grid(shapely.box(-50, -50, 50, 50), max_cells=25)
    big = np.array([[[-1e5, -1e5], [1e5, -1e5], [1e5, 1e5], [-1e5, 1e5]]] * 2)
    best = [
        footprint_best_gsd(grid, rings=big[:1], x=np.array([x0]), y=np.zeros(1),
                           height_m=np.array([h]), pixel_pitch_mm=0.0033, focal_mm=12.29)
        for x0 in (60.0, 60.0 + shift)
    ]
    assert (best[1] >= best[0]).all()


# ---- samples in, GeoDataFrame out -----------------------------------------------------------


def test_footprints_of_samples(track, origin, camera72):
    x, y = origin
    samples, _ = track([x, x, x, x], [y, y, y, y], height=100.0, yaw=0.0,
                       gimbal_pitch_deg=[-90.0, -30.0, np.nan, -90.0],
                       gimbal_yaw_deg=[0.0, 0.0, np.nan, 0.0])
    samples.loc[3, "height_agl_m"] = np.nan
    before = samples.copy()
    fp = footprints(samples, camera72, max_range_m=1000.0)
    pd.testing.assert_frame_equal(samples, before)
    assert fp.crs.to_epsg() == 4326
    assert fp["mode"].tolist() == ["observed", "observed", "potential", "observed"]
    local = fp.to_crs(32654).geometry
    minx, miny, maxx, maxy = local.iloc[0].bounds
    assert (maxx - minx, maxy - miny) == pytest.approx((145.3, 108.6), abs=0.2)
    radius = math.sqrt(1000**2 - 100**2)
    ext = np.asarray(local.iloc[1].exterior.coords)
    assert np.hypot(ext[:, 0] - x, ext[:, 1] - y).max() == pytest.approx(radius, rel=1e-4)
    m = 32  # n_per_edge 8: a disc of 32 vertices in potential mode
    assert local.iloc[2].area == pytest.approx(0.5 * m * radius**2 * math.sin(2 * math.pi / m),
                                               rel=1e-3)
    assert local.iloc[3].is_empty
    pitch = camera72.pixel_pitch_mm
    assert fp["best_gsd_m"].iloc[0] == pytest.approx(pitch * 100 / 10.0, rel=1e-6)
    assert fp["centre_gsd_m"].iloc[1] == pytest.approx(pitch * 200 / 10 / 0.5**0.25, rel=1e-4)
    assert np.isnan(fp["centre_gsd_m"].iloc[2])  # potential mode: no image centre
    assert fp["best_niirs"].iloc[0] == pytest.approx(float(niirs(pitch * 100 / 10.0)))
    assert fp["height_source"].tolist()[:3] == ["log: above take-off"] * 3
    notes = " ".join(fp.attrs["assumptions"])
    assert "take-off point" in notes and "potential mode" in notes

    forced = footprints(samples, camera72, max_range_m=1000.0, force="potential")
    assert set(forced["mode"]) == {"potential"}
    assert forced.to_crs(32654).area.iloc[0] == pytest.approx(local.iloc[2].area, rel=1e-6)


def test_footprints_video_worst_case_and_errors(track, origin, camera72):
    x, y = origin
    samples, _ = track([x], [y], height=100.0, gimbal_pitch_deg=[-90.0])
    still = footprints(samples, camera72)
    video = footprints(samples, camera72, video=True, worst_case=True)
    assert video["best_niirs"].iloc[0] == pytest.approx(still["best_niirs"].iloc[0] - 0.5)
    assert video["focal_source"].iloc[0] == "longest (worst case)"
    with pytest.raises(ExposureError, match="no CRS"):
        footprints(samples.set_crs(None, allow_override=True), camera72)
    with pytest.raises(ExposureError, match="max_range_m is -1"):
        footprints(samples, camera72, max_range_m=-1)

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exposure.cameras import load_cameras
from exposure.coverage import coverage_fractions, nadir_best_gsd, site_grid
from exposure.engine import risk_score
from exposure.footprint import nadir_footprints
from exposure.quality import gsd_m, niirs, niirs_giqe5, weighted_gsd_m


def test_nadir_footprint_of_the_worked_check(track, origin):
    # HFOV 72°, VFOV 57°, 100 m up, heading north: ±72.7 m east-west by ±54.3 m north-south.
    x, y = origin
    samples, _ = track([x], [y], height=100.0, yaw=0.0)
    fp = nadir_footprints(samples, hfov_rad=math.radians(72), vfov_rad=math.radians(57))
    local = fp.to_crs(32654).geometry.iloc[0]
    minx, miny, maxx, maxy = local.bounds
    assert (maxx - minx) == pytest.approx(145.3, abs=0.2)
    assert (maxy - miny) == pytest.approx(108.6, abs=0.2)
    assert local.area == pytest.approx(145.3 * 108.6, rel=3e-3)


def test_heading_east_turns_the_footprint(track, origin):
    x, y = origin
    samples, _ = track([x], [y], height=100.0, yaw=90.0)
    local = nadir_footprints(samples, hfov_rad=math.radians(72), vfov_rad=math.radians(57))
    minx, miny, maxx, maxy = local.to_crs(32654).geometry.iloc[0].bounds
    # The image's long side now lies north-south, across the eastward heading.
    assert (maxx - minx) == pytest.approx(108.6, abs=0.3)
    assert (maxy - miny) == pytest.approx(145.3, abs=0.3)


def test_unknown_height_gives_an_empty_footprint(track, origin):
    x, y = origin
    samples, _ = track([x, x], [y, y + 5], height=100.0)
    samples.loc[1, "height_agl_m"] = np.nan
    fp = nadir_footprints(samples, hfov_rad=1.0, vfov_rad=0.8)
    assert not fp.geometry.iloc[0].is_empty and fp.geometry.iloc[1].is_empty


def test_giqe5_published_check_and_simplified_rule():
    assert float(niirs_giqe5(20.8 * 0.0254, rer=0.35, snr=50)) == pytest.approx(5.0, abs=0.05)
    # One NIIRS level per doubling of GSD.
    assert float(niirs(0.5) - niirs(1.0)) == pytest.approx(1.0)
    # Mavic 3 tele (1.6 µm, 28.8 mm) at 3 km: about 17 cm GSD.
    assert float(gsd_m(3000, 0.0016, 28.8)) == pytest.approx(0.1667, abs=1e-3)


@given(near=st.floats(1, 20_000), extra=st.floats(0, 20_000), elev=st.floats(0.01, math.pi / 2))
def test_niirs_never_rises_with_range(near, extra, elev):
    pitch, focal = 0.0033, 12.29
    a = niirs(weighted_gsd_m(gsd_m(near, pitch, focal), elev))
    b = niirs(weighted_gsd_m(gsd_m(near + extra, pitch, focal), elev))
    assert b <= a + 1e-12


@given(st.lists(st.floats(0.001, 100) | st.just(np.inf), max_size=50))
def test_coverage_fractions_are_shares(values):
    cov, cov5 = coverage_fractions(np.array(values, dtype=float))
    assert 0 <= cov5 <= cov <= 1


@given(
    sens=st.integers(1, 5),
    level=st.floats(0, 9) | st.just(np.nan),
    cover=st.floats(0, 1),
    seconds=st.floats(0, 1e6),
)
def test_risk_score_is_bounded_and_explained(sens, level, cover, seconds):
    score, why = risk_score(
        np.array([sens]), np.array([level]), np.array([cover]), np.array([seconds])
    )
    assert 0 <= score[0] <= 20 * sens + 1e-9
    assert why[0].endswith(f"= {score[0]:.1f}")


def test_farther_drone_never_sees_a_cell_better():
    import shapely

    grid = site_grid(shapely.box(-50, -50, 50, 50), max_cells=100)
    common = {
        "x": np.array([0.0]), "y": np.array([0.0]), "yaw_deg": np.array([0.0]),
        "half_across": np.array([500.0]), "half_along": np.array([500.0]),
        "pixel_pitch_mm": np.array([0.004]), "focal_mm": np.array([10.0]),
    }
    low = nadir_best_gsd(grid, height_m=np.array([50.0]), **common)
    high = nadir_best_gsd(grid, height_m=np.array([150.0]), **common)
    assert (high >= low).all()


def test_camera_catalogue_has_sources_and_sane_geometry():
    cams = load_cameras()
    assert len(cams) >= 10
    assert any(c.focal_max_mm > 2 * c.focal_min_mm for c in cams.values())  # zoom cameras
    assert any(c.kind == "thermal" for c in cams.values())
    for cam in cams.values():
        assert cam.source and 0 < math.degrees(cam.hfov_rad()) < 120

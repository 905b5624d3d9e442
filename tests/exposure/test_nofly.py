import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exposure.cameras import load_cameras
from exposure.errors import ExposureError
from exposure.nofly import buffer_table, observation_distance_m
from exposure.quality import gsd_m, niirs, weighted_gsd_m

CAMS = load_cameras()


def _solve(cam, k, h):
    """Farthest horizontal distance with NIIRS ≥ k, by bisection on the forward model."""

    def level(d):
        slant = math.hypot(d, h)
        return float(
            niirs(
                weighted_gsd_m(gsd_m(slant, cam.pixel_pitch_mm, cam.focal_max_mm), math.atan2(h, d))
            )
        )

    if level(0.0) < k:
        return 0.0
    lo, hi = 0.0, 1e6
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if level(mid) >= k else (lo, mid)
    return lo


@pytest.mark.parametrize("key", ["dji_mavic3_tele", "dji_m30t_zoom", "skydio_x2"])
@pytest.mark.parametrize("k", [5.0, 6.0, 7.0])
def test_buffer_matches_the_forward_model(key, k):
    cam = CAMS[key]
    expected = min(_solve(cam, k, 120.0), 3860 * math.sqrt(120.0))
    assert observation_distance_m(cam, k, [120.0]) == pytest.approx(expected, rel=1e-6, abs=0.01)


def test_tele_camera_reaches_niirs6_at_the_formula_range():
    # R = (G·f/p)^0.8 · h^0.2 with G = 2^(4.2-6) m, f/p = 28.8 mm / 1.6 µm = 18,000.
    r = (2 ** (4.2 - 6) * 18_000) ** 0.8 * 100**0.2
    assert observation_distance_m(CAMS["dji_mavic3_tele"], 6, [100]) == pytest.approx(
        math.sqrt(r**2 - 100**2), rel=1e-9
    )


def test_a_nadir_only_camera_never_needs_more_than_its_footprint():
    cam = CAMS["dji_mavic3_wide"]
    h = 120.0
    half_diag = h * math.hypot(math.tan(cam.hfov_rad() / 2), math.tan(cam.vfov_rad() / 2))
    d = observation_distance_m(cam, 3.0, [h], worst_case=False, nadir_only=True)
    assert d == pytest.approx(half_diag)
    assert observation_distance_m(cam, 3.0, [h], worst_case=False) > d


def test_unreachable_level_needs_no_buffer():
    # A thermal core at 150 m: NIIRS 8 is out of reach even straight overhead.
    assert observation_distance_m(CAMS["thermal_640"], 8.0, [150.0]) == 0.0


def test_bad_heights_are_refused():
    with pytest.raises(ExposureError, match="positive"):
        observation_distance_m(CAMS["skydio_x2"], 5.0, [0.0, 50.0])


@given(k1=st.floats(1, 8), dk=st.floats(0.01, 3), h=st.floats(5, 500))
def test_a_sharper_target_needs_a_smaller_buffer(k1, dk, h):
    cam = CAMS["dji_h20_zoom"]
    assert observation_distance_m(cam, k1 + dk, [h]) <= observation_distance_m(cam, k1, [h])


def test_table_covers_the_catalogue_at_four_levels():
    table = buffer_table(CAMS)
    assert len(table) == len(CAMS)
    cols = [c for c in table.columns if c.startswith("buffer_niirs")]
    assert cols == ["buffer_niirs3_m", "buffer_niirs5_m", "buffer_niirs6_m", "buffer_niirs7_m"]
    values = table[cols].to_numpy()
    assert (np.diff(values, axis=1) <= 0).all()  # higher NIIRS, smaller buffer
    assert (table["buffer_niirs5_m"] > 300).all()  # no catalogue camera is stopped by 300 m

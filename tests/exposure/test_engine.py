import math

import numpy as np
import pandas as pd
import pytest

from exposure.engine import assess
from exposure.errors import CameraError, ExposureError


def test_hover_over_square_site(camera72, origin, track, square_site):
    # A drone hovering 100 m over the centre of a 200 m square site for 60 s at 1 Hz, camera
    # logged straight down (observed mode).
    x, y = origin
    samples, flights = track([x] * 60, [y] * 60, height=100.0, gimbal_pitch_deg=-90.0)
    sites = square_site(x, y, 200.0)
    result = assess(samples, flights, sites, cameras={"test72": camera72})
    row = result.site_exposure.iloc[0]
    # On paper: footprint 2·100·tan 36° × 2·100·tan 28.5° = 145.3 m × 108.6 m = 15,780 m².
    footprint = (2 * 100 * math.tan(math.radians(36))) * (2 * 100 * math.tan(math.radians(28.5)))
    assert footprint == pytest.approx(15_780, rel=1e-3)
    assert row["coverage_fraction"] == pytest.approx(footprint / 40_000, abs=0.01)
    assert row["min_slant_range_m"] == pytest.approx(100.0, abs=0.01)
    # 60 samples 1 s apart stand for 59 s (the last sample stands for no time).
    assert row["seconds_in_view"] == pytest.approx(59.0)
    # GSD = p·R/f with p = w/4000 = 2·10·tan 36°/4000 mm, R = 100 m, f = 10 mm.
    gsd = (2 * 10 * math.tan(math.radians(36)) / 4000) * 100 / 10
    assert row["best_gsd_m"] == pytest.approx(gsd, rel=1e-3)
    assert row["best_niirs"] == pytest.approx(4.2 - math.log2(gsd), abs=1e-3)
    assert row["flights"] == 1 and row["drones"] == 1
    assert len(result.passes) == 1
    p = result.passes.iloc[0]
    assert (p["t_end"] - p["t_start"]).total_seconds() == 59
    assert p["mode"] == "observed" and row["mode"] == "observed"


def test_without_a_logged_pose_the_hover_is_rated_potential(camera72, origin, track, square_site):
    # No gimbal angles: the camera could have pointed anywhere, so every cell within reach
    # counts, and the GSD is the same at the site's nearest point (straight below).
    x, y = origin
    samples, flights = track([x] * 60, [y] * 60, height=100.0)
    result = assess(samples, flights, square_site(x, y, 200.0), cameras={"test72": camera72})
    row = result.site_exposure.iloc[0]
    assert row["mode"] == "potential" and row["coverage_fraction"] == 1.0
    assert row["min_slant_range_m"] == pytest.approx(100.0, abs=0.01)
    observed = assess(
        samples.assign(gimbal_pitch_deg=-90.0),
        flights,
        square_site(x, y, 200.0),
        cameras={"test72": camera72},
    ).site_exposure.iloc[0]
    assert observed["coverage_fraction"] < row["coverage_fraction"]
    forced = assess(
        samples.assign(gimbal_pitch_deg=-90.0),
        flights,
        square_site(x, y, 200.0),
        cameras={"test72": camera72},
        mode="potential",
    ).site_exposure.iloc[0]
    assert forced["mode"] == "potential" and forced["coverage_fraction"] == 1.0


def test_a_camera_looking_away_does_not_see_the_site(camera72, origin, track, square_site):
    # 400 m east of the site at 100 m, camera pitched 30° down, facing east (away) or west.
    x, y = origin
    away, flights = track(
        [x + 400] * 5, [y] * 5, height=100.0, gimbal_pitch_deg=-30.0, gimbal_yaw_deg=90.0
    )
    toward = away.assign(gimbal_yaw_deg=270.0)
    site = square_site(x, y, 200.0)
    assert assess(away, flights, site, cameras={"test72": camera72}).passes.empty
    row = assess(toward, flights, site, cameras={"test72": camera72}).site_exposure.iloc[0]
    assert row["mode"] == "observed" and row["coverage_fraction"] > 0
    # The nearest imaged point is the site's east edge, 300 m away horizontally.
    assert row["min_slant_range_m"] == pytest.approx(math.hypot(300, 100), abs=1.0)


def test_flight_out_of_reach_gives_no_pass(camera72, origin, track, square_site):
    x, y = origin
    samples, flights = track([x + 20_000] * 10, [y] * 10, height=100.0)
    result = assess(samples, flights, square_site(x, y, 200.0), cameras={"test72": camera72})
    assert result.passes.empty
    row = result.site_exposure.iloc[0]
    assert row["flights"] == 0 and row["seconds_in_view"] == 0
    assert pd.isna(row["min_slant_range_m"]) and row["coverage_fraction"] == 0
    assert row["risk_score"] == 0


def test_closest_slant_range_of_a_straight_pass(camera72, origin, track, square_site):
    # A line 300 m east of the site's east edge at 120 m: closest slant = hypot(300, 120).
    x, y = origin
    ys = y + np.arange(-1000, 1001, 10.0)
    samples, flights = track(
        [x + 100 + 300] * len(ys), ys, height=120.0, dt=1.0, gimbal_pitch_deg=-90.0
    )
    result = assess(
        samples, flights, square_site(x, y, 200.0), cameras={"test72": camera72}, max_range_m=1000.0
    )
    row = result.site_exposure.iloc[0]
    # Looking straight down, the footprint (±87 m) never reaches the site: no pass at all.
    assert row["flights"] == 0 and row["coverage_fraction"] == 0
    potential = assess(
        samples.drop(columns="gimbal_pitch_deg"),
        flights,
        square_site(x, y, 200.0),
        cameras={"test72": camera72},
        max_range_m=1000.0,
    ).site_exposure.iloc[0]
    assert potential["min_slant_range_m"] == pytest.approx(math.hypot(300, 120), abs=0.5)


def test_gap_splits_passes(camera72, origin, track, square_site):
    x, y = origin
    samples, flights = track([x] * 20, [y] * 20, height=50.0)
    shifted = samples.copy()
    shifted.loc[10:, "time"] = shifted.loc[10:, "time"] + pd.Timedelta(minutes=5)
    result = assess(shifted, flights, square_site(x, y, 200.0), cameras={"test72": camera72})
    assert len(result.passes) == 2
    # 18 one-second steps plus the 5-minute gap capped at 10 s.
    assert result.site_exposure.iloc[0]["seconds_in_view"] == pytest.approx(18 + 10)


def test_inputs_not_mutated_and_errors(camera72, origin, track, square_site):
    x, y = origin
    samples, flights = track([x] * 5, [y] * 5, height=50.0)
    sites = square_site(x, y, 100.0)
    before = samples.copy(), sites.copy()
    assess(samples, flights, sites, cameras={"test72": camera72})
    pd.testing.assert_frame_equal(samples, before[0])
    pd.testing.assert_frame_equal(sites, before[1])
    with pytest.raises(CameraError, match="nope"):
        assess(samples, flights, sites, camera="nope")
    with pytest.raises(ExposureError, match="differs"):
        assess(samples, flights, sites.to_crs(3857), cameras={"test72": camera72})

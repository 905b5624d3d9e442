import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exposure.errors import ExposureError
from exposure.pose import NEAR_NADIR_DEG, Mount, camera_pose, observation_mode

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "flightlogs" / "photos"


def frame(**cols):
    n = max(len(v) for v in cols.values())
    return pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in cols.items()}, index=range(n))


def test_dji_gimbal_angles_are_earth_referenced():
    s = frame(yaw_deg=[350.0], gimbal_pitch_deg=[-30.0], gimbal_yaw_deg=[95.0],
              gimbal_roll_deg=[-2.0])
    p = camera_pose(s)
    assert (p.yaw_deg[0], p.pitch_deg[0], p.roll_deg[0]) == (95.0, -30.0, -2.0)
    assert p.observed.tolist() == [True] and p.source.tolist() == ["gimbal"]


def test_near_nadir_threshold_switches_to_aircraft_heading():
    s = frame(
        yaw_deg=[10.0, 10.0, 10.0, 10.0],
        gimbal_pitch_deg=[-84.9, -85.1, -90.0, -94.9],
        gimbal_yaw_deg=[200.0, 200.0, 200.0, 200.0],
        gimbal_roll_deg=[5.0, 5.0, 5.0, 5.0],
    )
    p = camera_pose(s)
    assert NEAR_NADIR_DEG == 5.0
    assert p.yaw_deg.tolist() == [200.0, 10.0, 10.0, 10.0]
    assert p.roll_deg.tolist() == [5.0, 0.0, 0.0, 0.0]
    assert p.pitch_deg.tolist() == [-84.9, -85.1, -90.0, -94.9]
    assert p.observed.all()
    assert any("3 samples within 5°" in a for a in p.assumptions)


def test_vehicle_relative_gimbal_yaw_adds_the_heading():
    s = frame(yaw_deg=[300.0, np.nan], gimbal_pitch_deg=[-20.0, -20.0],
              gimbal_yaw_deg=[90.0, 90.0])
    p = camera_pose(s, gimbal_yaw="vehicle")
    assert p.yaw_deg[0] == pytest.approx(30.0)
    # Without the heading a relative yaw means nothing: the pose is unknown.
    assert p.observed.tolist() == [True, False]
    assert "relative to the aircraft" in p.assumptions[0]


def test_gimbal_pitch_without_gimbal_yaw_follows_the_aircraft():
    s = frame(yaw_deg=[45.0], gimbal_pitch_deg=[-40.0], gimbal_yaw_deg=[np.nan])
    p = camera_pose(s)
    assert p.yaw_deg.tolist() == [45.0] and p.observed.tolist() == [True]
    assert p.source.tolist() == ["gimbal pitch, aircraft heading"]
    assert any("no gimbal yaw" in a for a in p.assumptions)


def test_hard_mounted_camera():
    s = frame(yaw_deg=[350.0, np.nan], gimbal_pitch_deg=[-10.0, -10.0])
    p = camera_pose(s, mount=Mount(pitch_deg=-45.0, yaw_offset_deg=20.0, roll_deg=1.0))
    assert p.yaw_deg[0] == pytest.approx(10.0)
    assert p.pitch_deg.tolist() == [-45.0, -45.0] and p.roll_deg.tolist() == [1.0, 1.0]
    assert p.observed.tolist() == [True, False]
    # A downward mount is observed even without a heading (heading only turns the footprint).
    p = camera_pose(s, mount=Mount())
    assert p.observed.tolist() == [True, True]


def test_missing_pose_is_assumed_nadir_and_potential():
    s = frame(yaw_deg=[30.0, np.nan], gimbal_pitch_deg=[np.nan, np.nan])
    p = camera_pose(s)
    assert p.observed.tolist() == [False, False]
    assert p.pitch_deg.tolist() == [-90.0, -90.0]
    assert p.yaw_deg.tolist() == [30.0, 0.0]
    assert observation_mode(s).tolist() == ["potential", "potential"]
    assert any(a.startswith("2 samples without a usable camera pose") for a in p.assumptions)


def test_pose_columns_absent_entirely():
    s = pd.DataFrame({"lon": [0.0, 1.0]})
    assert observation_mode(s).tolist() == ["potential", "potential"]


def test_force_potential_and_bad_arguments():
    s = frame(yaw_deg=[0.0], gimbal_pitch_deg=[-45.0])
    assert observation_mode(s).tolist() == ["observed"]
    assert observation_mode(s, force="potential").tolist() == ["potential"]
    with pytest.raises(ExposureError, match="'observed' cannot be forced"):
        observation_mode(s, force="observed")
    with pytest.raises(ExposureError, match="gimbal_yaw is 'body'"):
        camera_pose(s, gimbal_yaw="body")


def test_pose_does_not_alter_samples():
    s = frame(yaw_deg=[10.0], gimbal_pitch_deg=[-88.0], gimbal_yaw_deg=[100.0])
    before = s.copy()
    camera_pose(s)
    observation_mode(s)
    pd.testing.assert_frame_equal(s, before)


def test_photo_xmp_poses_from_the_real_files():
    # GimbalPitchDegree in these files is a positive depression angle: pitch = -value.
    rows = []
    for path in sorted(PHOTOS.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        depression = meta.get("drone:GimbalPitchDegree", meta.get("GimbalPitchDegree"))
        yaw = meta.get("drone:GimbalYawDegree", meta.get("GimbalYawDegree"))
        rows.append({"name": path.stem, "gimbal_pitch_deg": -float(depression),
                     "gimbal_yaw_deg": float(yaw), "gimbal_roll_deg": float(meta["Camera:Roll"])})
    s = pd.DataFrame(rows).set_index("name")
    p = camera_pose(s)
    assert p.observed.all()
    by_name = dict(zip(s.index, zip(p.yaw_deg, p.pitch_deg, p.source, strict=True), strict=True))
    assert by_name["image1"][:2] == (156.3, -41.4)
    # image4 looks 88.8° down: near nadir, no aircraft heading in a photo: gimbal yaw kept.
    assert by_name["image4"][0] == pytest.approx(97.949994)
    assert by_name["image4"][2] == "gimbal pitch, near nadir: aircraft heading"


angles = st.floats(-720, 720) | st.just(math.nan)


@given(st.lists(st.tuples(angles, angles, angles, angles), min_size=1, max_size=20))
def test_pose_is_always_complete_and_observed_iff_pitch_is_usable(rows):
    s = pd.DataFrame(rows, columns=["yaw_deg", "gimbal_pitch_deg", "gimbal_yaw_deg",
                                    "gimbal_roll_deg"])
    p = camera_pose(s)
    assert len(p) == len(s)
    for arr in (p.yaw_deg, p.pitch_deg, p.roll_deg):
        assert np.isfinite(arr).all()
    assert ((p.yaw_deg >= 0) & (p.yaw_deg < 360)).all()
    pitch = s["gimbal_pitch_deg"].to_numpy()
    near = np.abs(pitch + 90) < NEAR_NADIR_DEG
    heading = s["yaw_deg"].notna() | s["gimbal_yaw_deg"].notna()
    expected = np.isfinite(pitch) & (near | heading.to_numpy())
    assert p.observed.tolist() == expected.tolist()
    assert (observation_mode(s) == np.where(expected, "observed", "potential")).all()

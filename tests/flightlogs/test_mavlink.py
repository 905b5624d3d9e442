"""The angle and time helpers shared by the MAVLink-family readers (flightlogs.mavlink)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlogs.mavlink import (
    FIRMWARE_RE,
    align_angle,
    earth_gimbal_yaw,
    gps_to_unix_us,
    height_above,
    nearest,
    quaternion_to_euler_deg,
    select_rows,
    utc_times,
)


def quaternion(yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> list[float]:
    """ZYX Euler angles to a quaternion (w, x, y, z), written out by hand."""
    cy, sy = math.cos(math.radians(yaw_deg) / 2), math.sin(math.radians(yaw_deg) / 2)
    cp, sp = math.cos(math.radians(pitch_deg) / 2), math.sin(math.radians(pitch_deg) / 2)
    cr, sr = math.cos(math.radians(roll_deg) / 2), math.sin(math.radians(roll_deg) / 2)
    return [
        cr * cp * cy + sr * sp * sy,
        sr * cp * cy - cr * sp * sy,
        cr * sp * cy + sr * cp * sy,
        cr * cp * sy - sr * sp * cy,
    ]

def test_gps_time_across_a_leap_second():
    # 2016-12-31T23:59:59 UTC was GPS 2017-01-01T00:00:16 (17 s); 2017-01-01T00:00:00 UTC was
    # GPS 00:00:18 (18 s). GPS week 1930 began 2017-01-01T00:00:00 GPS time.
    utc = gps_to_unix_us(np.array([1930, 1930]), np.array([16_000, 18_000]))
    assert pd.to_datetime(utc, unit="us").tolist() == [
        pd.Timestamp("2016-12-31T23:59:59"),
        pd.Timestamp("2017-01-01T00:00:00"),
    ]


def test_nearest_respects_the_gap():
    got = nearest(
        np.array([3.0, 1.0, np.nan]),
        np.array([30.0, 10.0, 99.0]),
        np.array([0.0, 1.9, 2.1, 10.0]),
        max_gap=1.5,
    )
    assert got[:3].tolist() == [10.0, 10.0, 30.0] and np.isnan(got[3])


@settings(max_examples=200, deadline=None)
@given(
    yaw=st.floats(0, 359.99),
    pitch=st.floats(-89, 89),
    roll=st.floats(-179, 179),
)
def test_quaternion_round_trip(yaw, pitch, roll):
    q = quaternion(yaw, pitch, roll)
    r, p, y = quaternion_to_euler_deg(*(np.array([v]) for v in q))
    assert p[0] == pytest.approx(pitch, abs=1e-6)
    assert r[0] == pytest.approx(roll, abs=1e-6)
    assert (y[0] - yaw + 180) % 360 - 180 == pytest.approx(0, abs=1e-6)


@given(st.floats(-720, 720), st.floats(0, 359.99))
def test_earth_gimbal_yaw_is_a_compass_angle(gimbal, vehicle):
    out = earth_gimbal_yaw(
        np.array([gimbal, gimbal]), np.array([vehicle, vehicle]), np.array([True, False])
    )
    assert ((0 <= out) & (out < 360)).all()
    assert (out[0] - (gimbal + vehicle)) % 360 == pytest.approx(0, abs=1e-6) or (
        360 - (out[0] - (gimbal + vehicle)) % 360 == pytest.approx(0, abs=1e-6)
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 359.99), min_size=2, max_size=20))
def test_align_angle_returns_the_samples_at_their_own_times(angles):
    t = np.arange(len(angles), dtype=float)
    got = align_angle(t, np.array(angles), t, max_gap=1.0)
    diff = (got - np.array(angles) + 180) % 360 - 180
    assert np.abs(diff).max() < 1e-9


def test_align_angle_goes_the_short_way_round():
    got = align_angle(np.array([0.0, 10.0]), np.array([350.0, 30.0]), np.array([5.0]), max_gap=6)
    assert got[0] == pytest.approx(10.0)  # half-way from 350° to 30° through north


def test_utc_times_keeps_microseconds_and_drops_damaged_clocks():
    # 1.5e15 µs is 2017-07-14T02:40:00 UTC; float nanoseconds would lose the last microsecond.
    got = utc_times(np.array([1.5e15 + 1, np.nan, np.inf, 1e16, -1.0]))
    assert got.iloc[0] == pd.Timestamp("2017-07-14T02:40:00.000001", tz="UTC")
    assert got.iloc[1:4].isna().all()  # 1e16 µs is year 318857: no date a log can hold
    assert got.iloc[4] == pd.Timestamp("1969-12-31T23:59:59.999999", tz="UTC")


def test_height_above_home_first_altitude_or_nothing():
    alt = np.array([np.nan, 120.0, 135.5])
    height, note = height_above(alt, np.array([np.nan, 100.0, 90.0]), "HOME_POSITION.altitude")
    assert np.isnan(height[0]) and height[1:].tolist() == [20.0, 35.5]  # the first finite home
    assert "above HOME_POSITION.altitude" in note
    height, note = height_above(alt, np.array([]), "home")
    assert height[1:].tolist() == [0.0, 15.5] and "first valid altitude" in note
    height, note = height_above(np.full(2, np.nan), np.array([]), "home")
    assert np.isnan(height).all() and note == "no altitude in the log"


def test_select_rows_leaves_its_input_alone():
    table = {"t": np.array([1.0, 2.0, 3.0]), "sysid": np.array([1, 2, 1])}
    got = select_rows(table, table["sysid"] == 1)
    assert got["t"].tolist() == [1.0, 3.0] and got["sysid"].tolist() == [1, 1]
    got["t"][0] = 99.0
    assert table["t"].tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("ArduCopter V4.5.7 (2a3dc4b7)", "ArduCopter V4.5.7"),
        ("ArduPlane V3.10.0-dev (d9e5e9f3)", "ArduPlane V3.10.0-dev"),
        ("APM:Copter V3.2.1 (36b405fb)", "APM:Copter V3.2.1"),
        ("PX4 1.14.0 (9a3f0c2e)", "PX4 1.14.0"),
        ("Arming checks passed", None),
    ],
)
def test_firmware_names_from_text_messages(text, model):
    found = FIRMWARE_RE.match(text)
    assert (found.group(0) if found else None) == model

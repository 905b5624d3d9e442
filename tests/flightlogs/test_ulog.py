"""PX4 ULog: the three shared pyulog test logs, and small logs written here field by field."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyulog import ULog

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.ulog import parse_topics

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PX4 = DATA / "flightlogs" / "px4"
SMALL = PX4 / "sample_log_small.ulg"
SITL = PX4 / "sample_logging_tagged_and_default_params.ulg"
NO_GPS = PX4 / "sample_appended_multiple.ulg"


def topic(path: Path, name: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as fh:
        return ULog(fh, [name]).get_dataset(name).data


# ----------------------------------------------------------------------------- shared logs


@pytest.mark.parametrize("path", [SMALL, SITL, NO_GPS], ids=lambda p: p.name)
def test_ulog_is_detected(path):
    assert detect_format(path) == "px4_ulog"


def test_small_log_against_pyulog():
    samples, flights = read_flight_log(SMALL)
    gps = topic(SMALL, "vehicle_gps_position")
    assert len(samples) == len(gps["lat"]) == 32
    # Older PX4 stores degrees x 1e7 and millimetres.
    assert samples["lat"].to_numpy() == pytest.approx(gps["lat"] / 1e7, abs=1e-12)
    assert samples["lon"].to_numpy() == pytest.approx(gps["lon"] / 1e7, abs=1e-12)
    assert samples["alt_msl_m"].to_numpy() == pytest.approx(gps["alt"] / 1000)
    assert samples.iloc[0][["lat", "lon", "alt_msl_m"]].tolist() == pytest.approx(
        [63.4170622, 10.4082151, 66.814]
    )
    # UTC = boot time + the median of time_utc_usec - timestamp over the rows with a fix.
    offset = np.median(gps["time_utc_usec"].astype(np.int64) - gps["timestamp"].astype(np.int64))
    expected = pd.to_datetime(gps["timestamp"].astype(np.int64) + int(offset), unit="us", utc=True)
    assert (samples["time"].to_numpy() == expected.to_numpy()).all()
    assert str(samples["time"].iloc[0])[:19] == "2021-04-21 06:30:58"
    # No home_position in this log: height above the first altitude.
    assert samples["height_agl_m"].iloc[0] == 0.0
    assert samples["height_agl_m"].iloc[-1] == pytest.approx(
        (gps["alt"][-1] - gps["alt"][0]) / 1000
    )
    f = flights.iloc[0]
    assert f.drone_id == "000600000000383638393239510d0035002d"
    assert (f.model, f.vendor, f.height_ref) == ("CUBEPILOT_CUBEORANGE", "PX4", "takeoff")
    assert "SYS_AUTOSTART 13014" in f.notes and "first valid altitude" in f.notes


def test_small_log_yaw_lies_between_the_attitude_samples():
    samples, _ = read_flight_log(SMALL)
    gps = topic(SMALL, "vehicle_gps_position")
    att = topic(SMALL, "vehicle_attitude")
    w, x, y, z = (att[f"q[{i}]"].astype(float) for i in range(4))
    # Heading from the rotation matrix: atan2(R21, R11) with R11 = w² + x² - y² - z².
    heading = np.degrees(np.arctan2(2 * (w * z + x * y), w * w + x * x - y * y - z * z)) % 360
    for k in (0, 10, 31):
        t = gps["timestamp"][k]
        right = np.searchsorted(att["timestamp"], t)
        around = heading[[right - 1, right]]
        assert around.min() - 1e-6 <= samples["yaw_deg"].iloc[k] <= around.max() + 1e-6


def test_simulator_log_rejects_rows_without_a_fix():
    samples, flights = read_flight_log(SITL)
    gps = topic(SITL, "vehicle_gps_position")
    fix = gps["fix_type"]
    assert (int((fix < 2).sum()), int((fix == 2).sum()), int((fix >= 3).sum())) == (146, 14, 30)
    f = flights.iloc[0]
    assert (f.n_read, f.n_samples, f.n_rejected) == (190, 44, 146)
    assert f.rejected_reasons == '{"no_position": 146}'
    # A 2-D fix has a position but no altitude.
    assert int(samples["alt_msl_m"].isna().sum()) == 14
    # Height above home_position.alt (488.00137 m, float32) of this Zurich simulator.
    home = float(topic(SITL, "home_position")["alt"][0])
    fixed = samples["alt_msl_m"].notna()
    expected = samples.loc[fixed, "alt_msl_m"] - home
    assert samples.loc[fixed, "height_agl_m"].to_numpy() == pytest.approx(expected.to_numpy())
    assert samples["lat"].between(47.39, 47.40).all() and samples["lon"].between(8.54, 8.55).all()
    # The logger opened "./log/2022-04-29/08_45_27.ulg"; the first fix came 8 s later.
    first_row_time = pd.Timestamp("2022-04-29T08:45:28.162Z")  # time_utc_usec of row 1
    assert f.start - first_row_time == pd.Timedelta(
        microseconds=int(gps["timestamp"][146] - gps["timestamp"][0])
    )
    assert (f.model, f.vendor) == ("PX4_SITL", "PX4") and pd.isna(f.drone_id)


def test_log_without_gps_is_refused_clearly():
    with pytest.raises(FlightLogError) as err:
        read_flight_log(NO_GPS)
    message = str(err.value)
    assert message.startswith(f"{NO_GPS}: PX4 ULog without GPS")
    assert "vehicle_gps_position" in message and "cannot be placed on a map" in message


def test_damaged_ulog_is_an_error(tmp_path):
    path = tmp_path / "junk.ulg"
    path.write_bytes(b"ULog\x01\x12\x35\x01" + bytes(8) + b"\xff" * 200)
    with pytest.raises(FlightLogError, match=r"junk\.ulg"):
        read_flight_log(path)


# ----------------------------------------------------------------------------- hand-built logs

_STRUCT = {
    "uint64_t": "Q",
    "int32_t": "i",
    "uint16_t": "H",
    "uint8_t": "B",
    "float": "f",
    "double": "d",
    "bool": "?",
}


class ULogWriter:
    """Writes a ULog file as the PX4 file-format specification lays it out.

    Header: ``ULog`` magic, version byte, start timestamp (uint64). Then messages, each a
    uint16 payload size and a uint8 type: ``B`` flag bits, ``F`` formats (``name:type
    field;...``), ``I`` info and ``P`` parameters (uint8 key length, ``type name`` key, value),
    then the data section: ``A`` subscriptions (multi id, msg id, name) and ``D`` data (msg id,
    fields packed in format order, no padding).
    """

    def __init__(self) -> None:
        self.definitions = [
            b"ULog\x01\x12\x35\x01" + struct.pack("<Q", 0),
            self._message(b"B", bytes(16) + bytes(24)),
        ]
        self.data: list[bytes] = []
        self.topics: dict[str, tuple[int, str]] = {}

    @staticmethod
    def _message(kind: bytes, payload: bytes) -> bytes:
        return struct.pack("<HB", len(payload), kind[0]) + payload

    def info(self, key: str, value: str) -> None:
        name = f"char[{len(value)}] {key}".encode()
        self.definitions.append(self._message(b"I", bytes([len(name)]) + name + value.encode()))

    def param(self, key: str, value: int) -> None:
        name = f"int32_t {key}".encode()
        self.definitions.append(
            self._message(b"P", bytes([len(name)]) + name + struct.pack("<i", value))
        )

    def topic(self, name: str, fields: list[tuple[str, str, int]]) -> None:
        spec = "".join(f"{t}[{n}] {f};" if n > 1 else f"{t} {f};" for t, f, n in fields)
        self.definitions.append(self._message(b"F", f"{name}:{spec}".encode()))
        msg_id = len(self.topics)
        fmt = "<" + "".join(f"{n}{_STRUCT[t]}" for t, _, n in fields)
        self.topics[name] = (msg_id, fmt)
        self.data.append(self._message(b"A", struct.pack("<BH", 0, msg_id) + name.encode()))

    def add(self, name: str, *values) -> None:
        msg_id, fmt = self.topics[name]
        self.data.append(self._message(b"D", struct.pack("<H", msg_id) + struct.pack(fmt, *values)))

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.definitions + self.data))
        return path


def quaternion(yaw_deg: float, pitch_deg: float = 0.0) -> list[float]:
    """ZYX yaw then pitch (no roll) as a quaternion (w, x, y, z), multiplied out by hand."""
    cy, sy = math.cos(math.radians(yaw_deg) / 2), math.sin(math.radians(yaw_deg) / 2)
    cp, sp = math.cos(math.radians(pitch_deg) / 2), math.sin(math.radians(pitch_deg) / 2)
    return [cp * cy, -sp * sy, sp * cy, cp * sy]


UTC0 = 1_714_000_000_000_000  # 2024-04-24T23:06:40Z, in microseconds


def gimbal_log(path: Path) -> Path:
    w = ULogWriter()
    w.info("sys_uuid", "0011AABB")
    w.info("ver_hw", "TEST_BOARD")
    w.info("sys_name", "PX4")
    w.param("SYS_AUTOSTART", 4001)
    w.topic(
        "vehicle_gps_position",
        [
            ("uint64_t", "timestamp", 1),
            ("uint64_t", "time_utc_usec", 1),
            ("int32_t", "lat", 1),
            ("int32_t", "lon", 1),
            ("int32_t", "alt", 1),
            ("uint8_t", "fix_type", 1),
        ],
    )
    w.topic(
        "vehicle_global_position",
        [
            ("uint64_t", "timestamp", 1),
            ("double", "lat", 1),
            ("double", "lon", 1),
            ("float", "alt", 1),
        ],
    )
    w.topic("vehicle_attitude", [("uint64_t", "timestamp", 1), ("float", "q", 4)])
    w.topic(
        "gimbal_device_attitude_status",
        [
            ("uint64_t", "timestamp", 1),
            ("uint16_t", "device_flags", 1),
            ("float", "q", 4),
            ("float", "delta_yaw", 1),
        ],
    )
    w.topic(
        "home_position",
        [("uint64_t", "timestamp", 1), ("float", "alt", 1), ("bool", "valid_alt", 1)],
    )
    w.add("home_position", 500_000, 100.0, True)
    for k in range(4):
        t = 1_000_000 * (k + 1)
        if k == 2:
            w.add("home_position", t - 1, 120.0, True)  # armed again from a higher spot
        w.add("vehicle_gps_position", t, UTC0 + t, 356_000_000, 1_397_000_000, 130_000, 3)
        w.add("vehicle_global_position", t, 35.6 + k * 1e-4, 139.7, 130.0 + k)
        w.add("vehicle_attitude", t, *quaternion(350.0))
        relative = k < 2
        w.add(
            "gimbal_device_attitude_status",
            t,
            32 if relative else 16,
            *quaternion(-30.0 if relative else 10.0, -45.0),
            float("nan"),
        )
    return w.write(path)


def test_hand_built_ulog_with_a_gimbal(tmp_path):
    path = gimbal_log(tmp_path / "gimbal.ulg")
    assert detect_format(path) == "px4_ulog"
    samples, flights = read_flight_log(path)
    assert samples["lat"].tolist() == pytest.approx([35.6, 35.6001, 35.6002, 35.6003])
    assert samples["alt_msl_m"].tolist() == pytest.approx([130, 131, 132, 133])
    # Home 100 m until the second arming at 3 s sets it to 120 m.
    assert samples["height_agl_m"].tolist() == pytest.approx([30, 31, 12, 13])
    assert samples["yaw_deg"].tolist() == pytest.approx([350] * 4, abs=1e-4)
    assert samples["gimbal_pitch_deg"].tolist() == pytest.approx([-45] * 4, abs=1e-4)
    # Vehicle-relative -30° on a 350° heading is 320°; the earth-locked 10° stays 10°.
    assert samples["gimbal_yaw_deg"].tolist() == pytest.approx([320, 320, 10, 10], abs=1e-4)
    assert samples["time"].tolist() == [
        pd.Timestamp(UTC0 + 1_000_000 * (k + 1), unit="us", tz="UTC") for k in range(4)
    ]
    f = flights.iloc[0]
    assert (f.drone_id, f.model, f.vendor) == ("0011AABB", "TEST_BOARD", "PX4")
    assert "vehicle_global_position" in f.notes and "SYS_AUTOSTART 4001" in f.notes
    assert "2 of 4 with yaw relative to the vehicle" in f.notes


def test_log_without_gps_time_gets_the_placeholder_date(tmp_path):
    w = ULogWriter()
    w.topic(
        "vehicle_global_position",
        [
            ("uint64_t", "timestamp", 1),
            ("double", "lat", 1),
            ("double", "lon", 1),
            ("float", "alt", 1),
        ],
    )
    w.topic("vehicle_attitude", [("uint64_t", "timestamp", 1), ("float", "q", 4)])
    w.topic(
        "mount_orientation", [("uint64_t", "timestamp", 1), ("float", "attitude_euler_angle", 3)]
    )
    for k in range(3):
        t = 2_000_000 + 500_000 * k
        w.add("vehicle_global_position", t, 47.0, 8.0 + k * 1e-4, 500.0)
        w.add("vehicle_attitude", t, *quaternion(90.0))
        w.add("mount_orientation", t, 0.0, math.radians(-20.0), math.radians(-30.0))
    samples, flights = read_flight_log(w.write(tmp_path / "notime.ulg"))
    # Boot time counted from 1970: 2 s after boot is 1970-01-01T00:00:02.
    assert samples["time"].iloc[0] == pd.Timestamp("1970-01-01T00:00:02Z")
    assert "placeholder" in flights.iloc[0].notes
    assert samples["gimbal_pitch_deg"].tolist() == pytest.approx([-20] * 3, abs=1e-4)
    assert samples["gimbal_yaw_deg"].tolist() == pytest.approx([60] * 3, abs=1e-4)  # 90 - 30


def test_newer_sensor_gps_layout_and_fix_types():
    t = np.array([1, 2, 3, 4], dtype=np.uint64) * np.uint64(1_000_000)
    log = parse_topics(
        {
            "sensor_gps": {
                "timestamp": t,
                "time_utc_usec": t + np.uint64(UTC0),
                "latitude_deg": np.array([0.0, 35.1, 35.2, 35.3]),
                "longitude_deg": np.array([0.0, 139.1, 139.2, 139.3]),
                "altitude_msl_m": np.array([0.0, 12.0, 13.0, 14.5]),
                "fix_type": np.array([1, 2, 3, 3], dtype=np.uint8),
            }
        },
        source="new.ulg",
    )
    rows = log.rows
    assert np.isnan(rows["lat"][0]) and rows["lat"][1:].tolist() == [35.1, 35.2, 35.3]
    # A 2-D fix (2) has no altitude; the height counts from the first valid one (13 m).
    assert np.isnan(rows["alt_msl_m"][1]) and rows["height_agl_m"][2:].tolist() == [0.0, 1.5]
    assert str(rows["time"][0]) == "2024-04-24 23:06:41+00:00"
    assert "1 sensor_gps rows without a fix" in "; ".join(log.notes)


def test_gps_that_never_had_a_fix_is_refused():
    t = np.array([1, 2], dtype=np.uint64)
    topics = {
        "vehicle_gps_position": {
            "timestamp": t,
            "time_utc_usec": t,
            "lat": np.array([0, 0]),
            "lon": np.array([0, 0]),
            "alt": np.array([0, 0]),
            "fix_type": np.array([0, 1]),
        }
    }
    with pytest.raises(FlightLogError, match=r"x\.ulg: 2 vehicle_gps_position rows but none"):
        parse_topics(topics, source="x.ulg")


def test_estimator_validity_flags_of_newer_px4():
    t = np.array([1, 2, 3], dtype=np.uint64) * np.uint64(1_000_000)
    log = parse_topics(
        {
            "vehicle_global_position": {
                "timestamp": t,
                "lat": np.array([47.0, 47.1, 47.2]),
                "lon": np.array([8.0, 8.1, 8.2]),
                "alt": np.array([400.0, 410.0, 420.0], dtype=np.float32),
                "lat_lon_valid": np.array([0, 1, 1], dtype=np.uint8),
                "alt_valid": np.array([1, 0, 1], dtype=np.uint8),
            }
        }
    )
    assert np.isnan(log.rows["lat"][0]) and log.rows["lat"][1:].tolist() == [47.1, 47.2]
    assert np.isnan(log.rows["alt_msl_m"][1])
    # No GPS topic, so no UTC: the placeholder date.
    assert str(log.rows["time"][0]) == "1970-01-01 00:00:01+00:00"

"""MAVLink telemetry logs: the shared ArduPlane tlog, and hand-built ones."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pymavlink.dialects.v20 import ardupilotmega as mavlink2
from pymavlink.quaternion import QuaternionBase

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.tlog import sniff_tlog

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TLOG = DATA / "flightlogs" / "ardupilot" / "vtol.tlog"
T0_US = 1_700_000_000_000_000  # receive time of the first packet of the hand-built tlogs


# ----------------------------------------------------------------------------- the shared tlog


@pytest.fixture(scope="module")
def vtol():
    return read_flight_log(TLOG)


@pytest.fixture(scope="module")
def vtol_messages():
    """The tlog's messages as pymavlink's own tlog reader sees them (an independent parser)."""
    with pytest.MonkeyPatch.context() as mp:
        # mavutil sets its dialect through the environment: keep that out of other tests.
        mp.setenv("MAVLINK_DIALECT", "ardupilotmega")
        from pymavlink import mavutil

        log = mavutil.mavlogfile(str(TLOG))
        found: dict[str, list] = {}
        while (msg := log.recv_msg()) is not None:
            found.setdefault(msg.get_type(), []).append(msg)
        log.close()
    return found


def test_tlog_is_detected():
    assert detect_format(TLOG) == "mavlink_tlog"


def test_tlog_counts(vtol, vtol_messages):
    # The 1,606 "GPS fixes" of the data README are 807 GLOBAL_POSITION_INT plus 799 GPS_RAW_INT
    # messages; the flight is the 807 positions of the estimator.
    assert len(vtol_messages["GLOBAL_POSITION_INT"]) == 807
    assert len(vtol_messages["GPS_RAW_INT"]) == 799
    samples, flights = vtol
    f = flights.iloc[0]
    assert (f.n_read, f.n_samples, f.n_rejected) == (807, 804, 3)
    # Three packets arrive 1.2 s late, after later ones (time_boot_ms 610541, 610781, 611021
    # after 611741): the vehicle clock goes backwards for them.
    assert f.rejected_reasons == '{"time_backwards": 3}'
    assert len(samples) == 804
    assert "807 GLOBAL_POSITION_INT" in f.notes and "799 GPS_RAW_INT" in f.notes


def test_tlog_first_sample_by_hand(vtol, vtol_messages):
    samples, flights = vtol
    s = samples.iloc[0]
    gpi = vtol_messages["GLOBAL_POSITION_INT"][0]
    assert (gpi.lat, gpi.lon, gpi.alt, gpi.relative_alt) == (-353629904, 1491649392, 587850, 6750)
    assert s.lat == pytest.approx(-35.3629904, abs=1e-12)
    assert s.lon == pytest.approx(149.1649392, abs=1e-12)
    assert s.alt_msl_m == pytest.approx(587.85)
    assert s.height_agl_m == pytest.approx(6.75)
    # ATTITUDE at the same time_boot_ms (608582) has yaw 2.4500322 rad.
    assert s.yaw_deg == pytest.approx(math.degrees(2.4500322341918945), abs=1e-4)
    assert s.yaw_deg == pytest.approx(gpi.hdg / 100, abs=0.01)
    # SYSTEM_TIME at that same boot time says 1533737145465009 µs UTC.
    assert abs(s.time - pd.Timestamp(1533737145465009, unit="us", tz="UTC")) < pd.Timedelta("2ms")
    assert s.source_row == 11  # the 11th packet of the file
    assert flights.iloc[0].height_ref == "takeoff"


def test_tlog_times_follow_the_vehicle_clock(vtol, vtol_messages):
    samples, _ = vtol
    systime = vtol_messages["SYSTEM_TIME"]
    offsets = [m.time_unix_usec - m.time_boot_ms * 1000 for m in systime]
    offset = np.median(offsets)
    boot = {m.time_boot_ms for m in vtol_messages["GLOBAL_POSITION_INT"]}
    expected = np.sort(np.array(sorted(boot)) * 1000 + offset)
    got = samples["time"].astype("int64").to_numpy() // 1000
    # Every kept sample is a GLOBAL_POSITION_INT boot time shifted by the SYSTEM_TIME offset.
    assert np.isin(got, np.round(expected).astype("int64")).all()
    assert (np.diff(got) > 0).all()


def test_tlog_yaw_agrees_with_the_heading_field(vtol, vtol_messages):
    samples, _ = vtol
    late = {610541, 610781, 611021}  # the three packets rejected as time_backwards
    hdg = [m.hdg / 100 for m in vtol_messages["GLOBAL_POSITION_INT"] if m.time_boot_ms not in late]
    assert len(hdg) == len(samples) == 804
    # ATTITUDE and GLOBAL_POSITION_INT.hdg come from the same estimator: equal to 0.01° where
    # both were sent at the same moment, which is most of the time.
    diff = samples["yaw_deg"].to_numpy() - np.array(hdg)
    diff = np.abs((diff + 180) % 360 - 180)
    assert np.median(diff) < 0.05
    assert np.quantile(diff, 0.95) < 5


def test_tlog_identity(vtol):
    _, flights = vtol
    f = flights.iloc[0]
    assert f.model == "ArduPlane V3.10.0-dev"
    assert f.vendor == "ArduPilot"
    assert pd.isna(f.drone_id)  # AUTOPILOT_VERSION.uid is 0 in the simulator
    assert f.source_format == "mavlink_tlog"
    # Canberra, Mount Majura-ish: the quadplane SITL home.
    assert samples_within(flights, lon=(149.16, 149.17), lat=(-35.37, -35.36))


def samples_within(flights, *, lon, lat) -> bool:
    minx, miny, maxx, maxy = flights.total_bounds
    return lon[0] <= minx <= maxx <= lon[1] and lat[0] <= miny <= maxy <= lat[1]


# ----------------------------------------------------------------------------- hand-built tlogs


def quaternion(yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> list[float]:
    """ZYX Euler angles to a quaternion (w, x, y, z), by pymavlink's own conversion."""
    q = QuaternionBase([math.radians(roll_deg), math.radians(pitch_deg), math.radians(yaw_deg)])
    return [float(v) for v in q.q]


class TlogWriter:
    """Builds a tlog: 8-byte big-endian receive time, then the packet pymavlink packs."""

    def __init__(self) -> None:
        self.data = b""
        self.links: dict[tuple[int, int], mavlink2.MAVLink] = {}

    def add(self, rx_us: int, sysid: int, compid: int, msg) -> None:
        link = self.links.setdefault(
            (sysid, compid), mavlink2.MAVLink(None, srcSystem=sysid, srcComponent=compid)
        )
        self.data += struct.pack(">Q", rx_us) + msg.pack(link)


def unix_us(boot_ms: int) -> int:
    return T0_US + boot_ms * 1000 + 500_000  # the vehicle clock runs 0.5 s behind the receiver


def gimbal_tlog(path: Path) -> Path:
    w = TlogWriter()
    for k in range(4):
        boot = 1000 + 1000 * k
        rx = T0_US + boot * 1000 + 20_000
        w.add(rx, 1, 1, mavlink2.MAVLink_heartbeat_message(2, 3, 0, 0, 4, 3))
        w.add(rx, 1, 1, mavlink2.MAVLink_system_time_message(unix_us(boot), boot))
        w.add(
            rx,
            1,
            1,
            mavlink2.MAVLink_global_position_int_message(
                boot,
                356_000_000 + k * 100,
                1_397_000_000,
                50_000 + k * 1000,
                10_000 + k * 1000,
                0,
                0,
                0,
                35_000,
            ),
        )
        w.add(rx, 1, 1, mavlink2.MAVLink_attitude_message(boot, 0, 0, math.radians(350), 0, 0, 0))
        # Gimbal: vehicle-relative yaw -30° for the first two, earth-locked yaw 10° after.
        relative = k < 2
        flags = 32 if relative else 16
        q = quaternion(-30.0 if relative else 10.0, pitch_deg=-45.0)
        w.add(
            rx,
            1,
            154,
            mavlink2.MAVLink_gimbal_device_attitude_status_message(
                0, 0, boot, flags, q, 0, 0, 0, 0, float("nan"), float("nan"), 0
            ),
        )
    w.add(
        T0_US + 9_000_000,
        1,
        1,
        mavlink2.MAVLink_statustext_message(6, b"ArduCopter V4.5.7 (2a3dc4b7)"),
    )
    w.add(
        T0_US + 9_000_000,
        1,
        1,
        mavlink2.MAVLink_autopilot_version_message(
            0, 0, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, 0x1234ABCD, [0] * 18
        ),
    )
    path.write_bytes(w.data)
    return path


def test_hand_built_tlog_with_a_gimbal(tmp_path):
    path = gimbal_tlog(tmp_path / "gimbal.tlog")
    assert detect_format(path) == "mavlink_tlog"
    samples, flights = read_flight_log(path)
    assert len(samples) == 4
    assert samples["lat"].tolist() == pytest.approx([35.6, 35.60001, 35.60002, 35.60003])
    assert samples["alt_msl_m"].tolist() == pytest.approx([50, 51, 52, 53])
    assert samples["height_agl_m"].tolist() == pytest.approx([10, 11, 12, 13])
    assert samples["yaw_deg"].tolist() == pytest.approx([350] * 4)
    assert samples["gimbal_pitch_deg"].tolist() == pytest.approx([-45] * 4, abs=1e-4)
    # 350° + (-30°) = 320° while the yaw is vehicle-relative; 10° as it is once earth-locked.
    assert samples["gimbal_yaw_deg"].tolist() == pytest.approx([320, 320, 10, 10], abs=1e-4)
    # Boot time 1 s, vehicle clock: T0 + 1 s + 0.5 s (SYSTEM_TIME), not the receive time.
    assert samples["time"].iloc[0] == pd.Timestamp(T0_US + 1_500_000, unit="us", tz="UTC")
    assert (samples["time"].diff().dropna() == pd.Timedelta("1s")).all()
    f = flights.iloc[0]
    assert (f.model, f.vendor, f.drone_id) == ("ArduCopter V4.5.7", "ArduPilot", "000000001234ABCD")
    assert "GIMBAL_DEVICE_ATTITUDE_STATUS (2 of 4 with yaw relative" in f.notes


def test_gimbal_delta_yaw_is_used_when_given(tmp_path):
    w = TlogWriter()
    for k in range(2):
        boot = 1000 * (k + 1)
        rx = T0_US + boot * 1000
        w.add(rx, 1, 1, mavlink2.MAVLink_system_time_message(unix_us(boot), boot))
        w.add(
            rx,
            1,
            1,
            mavlink2.MAVLink_global_position_int_message(
                boot, 356_000_000, 1_397_000_000 + k * 100, 50_000, 10_000, 0, 0, 0, 65535
            ),
        )
        # No ATTITUDE: the gimbal's delta_yaw (100°) gives the vehicle heading.
        w.add(
            rx,
            1,
            154,
            mavlink2.MAVLink_gimbal_device_attitude_status_message(
                0,
                0,
                boot,
                32,
                quaternion(15.0, -60.0),
                0,
                0,
                0,
                0,
                math.radians(100.0),
                float("nan"),
                0,
            ),
        )
    path = tmp_path / "delta.tlog"
    path.write_bytes(w.data)
    samples, _ = read_flight_log(path)
    assert samples["gimbal_yaw_deg"].tolist() == pytest.approx([115, 115], abs=0.01)
    assert samples["yaw_deg"].isna().all()  # hdg 65535 means unknown, and no ATTITUDE


def test_two_vehicles_and_gps_raw_fallback(tmp_path):
    w = TlogWriter()
    for k, fix in enumerate([0, 3, 3, 2]):
        boot = 1000 * (k + 1)
        rx = T0_US + boot * 1000
        for sysid in (1, 2):
            w.add(rx, sysid, 1, mavlink2.MAVLink_system_time_message(unix_us(boot), boot))
            w.add(
                rx,
                sysid,
                1,
                mavlink2.MAVLink_gps_raw_int_message(
                    boot * 1000,
                    fix,
                    480_000_000 + k * 50 + sysid,
                    20_000_000,
                    100_000 + k * 1000,
                    100,
                    100,
                    0,
                    0,
                    10,
                ),
            )
    w.add(
        T0_US,
        1,
        1,
        mavlink2.MAVLink_home_position_message(
            480_000_000, 20_000_000, 99_000, 0, 0, 0, [1, 0, 0, 0], 0, 0, 0
        ),
    )
    path = tmp_path / "two.tlog"
    path.write_bytes(w.data + b"\x00\x01\x02")  # a cut-off last record
    samples, flights = read_flight_log(path)
    assert flights["flight_id"].tolist() == ["two-sys1", "two-sys2"]
    assert flights["n_read"].tolist() == [4, 4]
    # fix_type 0 has no position; a 2-D fix (2) has a position but no altitude.
    assert flights["rejected_reasons"].tolist() == ['{"no_position": 1}'] * 2
    one = samples[samples["flight_id"] == "two-sys1"]
    assert one["alt_msl_m"].tolist()[:2] == pytest.approx([101, 102])
    assert one["alt_msl_m"].isna().tolist() == [False, False, True]
    # Vehicle 1 has HOME_POSITION at 99 m; vehicle 2 has none: above its first altitude.
    assert one["height_agl_m"].tolist()[:2] == pytest.approx([2, 3])
    two = samples[samples["flight_id"] == "two-sys2"]
    assert two["height_agl_m"].tolist()[:2] == pytest.approx([0, 1])
    assert "3 damaged or cut-off bytes skipped" in flights.iloc[0].notes
    assert "1 GPS_RAW_INT rows without a fix" in flights.iloc[0].notes


def test_tlog_without_positions_is_refused(tmp_path):
    w = TlogWriter()
    for k in range(3):
        w.add(T0_US + k, 1, 1, mavlink2.MAVLink_heartbeat_message(2, 3, 0, 0, 4, 3))
    path = tmp_path / "quiet.tlog"
    path.write_bytes(w.data)
    with pytest.raises(FlightLogError, match=r"quiet\.tlog: MAVLink telemetry log without any"):
        read_flight_log(path)


def test_tlog_without_a_fix_is_refused(tmp_path):
    w = TlogWriter()
    for k in range(3):
        w.add(
            T0_US + k * 1000,
            1,
            1,
            mavlink2.MAVLink_global_position_int_message(k * 100, 0, 0, 0, 0, 0, 0, 0, 0),
        )
    path = tmp_path / "nofix.tlog"
    path.write_bytes(w.data)
    with pytest.raises(FlightLogError, match="none with a GPS fix"):
        read_flight_log(path)


def test_tlog_sniffer():
    head = TLOG.read_bytes()[:65536]
    assert sniff_tlog(head)
    assert not sniff_tlog(b"time,lat,lon\n1,2,3\n" * 10)
    assert not sniff_tlog(bytes(64))
    # A real timestamp but garbage after it is no tlog.
    assert not sniff_tlog(head[:8] + b"\x00" * 64)


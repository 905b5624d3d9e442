"""MAVLink telemetry logs (the shared ArduPlane tlog, and hand-built ones) and DataFlash logs."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymavlink.DFReader import DFFormat, DFMessage
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.mavlink import (
    align_angle,
    earth_gimbal_yaw,
    gps_to_unix_us,
    nearest,
    quaternion_to_euler_deg,
    sniff_dataflash,
    sniff_tlog,
)

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


# ----------------------------------------------------------------------------- DataFlash

FMT = DFFormat(0x80, "FMT", 89, "BBnNZ", "Type,Length,Name,Format,Columns")
GPS = DFFormat(
    130,
    "GPS",
    0,
    "QBBIHBcLLeffffB",
    "TimeUS,I,Status,GMS,GWk,NSats,HDop,Lat,Lng,Alt,Spd,GCrs,VZ,Yaw,U",
)
POS = DFFormat(131, "POS", 0, "QLLfff", "TimeUS,Lat,Lng,Alt,RelHomeAlt,RelOriginAlt")
ATT = DFFormat(
    132, "ATT", 0, "QccccCCCCB", "TimeUS,DesRoll,Roll,DesPitch,Pitch,DesYaw,Yaw,ErrRP,ErrYaw,AEKF"
)
MNT = DFFormat(
    133, "MNT", 0, "QBffffffff", "TimeUS,I,DesRoll,Roll,DesPitch,Pitch,DesYawB,YawB,DesYawE,YawE"
)
MSG = DFFormat(134, "MSG", 0, "QZ", "TimeUS,Message")
PARM = DFFormat(135, "PARM", 0, "QNff", "TimeUS,Name,Value,Default")


def df_message(fmt: DFFormat, values: list) -> bytes:
    """One DataFlash record written by pymavlink's own encoder (DFMessage.get_msgbuf).

    ``values`` are the raw stored values (e.g. 1e-7 degrees for 'L' fields); DFMessage with the
    multiplier applied hands them back to get_msgbuf, which packs ``A3 95 <type> <payload>``.
    """
    buf = DFMessage(fmt, list(values), True, None).get_msgbuf()
    assert buf is not None, f"pymavlink could not pack {fmt.name} {values}"
    return buf


def df_format(fmt: DFFormat) -> bytes:
    length = struct.calcsize(fmt.msg_struct) + 3
    return df_message(
        FMT,
        [fmt.type, length, fmt.name.encode(), fmt.format.encode(), ",".join(fmt.columns).encode()],
    )


def gps_row(time_us: int, status: int, gms: int, lat: float, lon: float, alt_m: float, i: int = 0):
    return df_message(
        GPS,
        [
            time_us,
            i,
            status,
            gms,
            2300,
            12,
            80,
            round(lat * 1e7),
            round(lon * 1e7),
            round(alt_m * 100),
            0.0,
            0.0,
            0.0,
            0.0,
            1,
        ],
    )


def expected_utc(week: int, ms: int) -> pd.Timestamp:
    """GPS week/ms to UTC by hand: GPS epoch, then the 18 leap seconds in force since 2017."""
    return pd.Timestamp("1980-01-06", tz="UTC") + pd.Timedelta(weeks=week, milliseconds=ms - 18_000)


def dataflash_with_pos(path: Path) -> Path:
    data = b"".join(df_format(f) for f in (FMT, GPS, POS, ATT, MNT, MSG, PARM))
    data += df_message(MSG, [100, b"ArduCopter V4.5.7 (2a3dc4b7)"])
    data += df_message(PARM, [200, b"BRD_SERIAL_NUM", 12345.0, 0.0])
    data += gps_row(1_000_000, 3, 100_000, 52.5, 13.4, 40.0)
    data += gps_row(1_000_000, 3, 999_999, 1.0, 1.0, 1.0, i=1)  # a second receiver: ignored
    for k in range(3):
        t = 1_500_000 + k * 200_000
        data += df_message(ATT, [t, 0, 0, 0, 0, 0, 9000 + k * 100, 0, 0, 0])
        data += df_message(MNT, [t, 0, 0.0, 0.0, 0.0, -45.0, 0.0, -30.0, 0.0, float("nan")])
        data += df_message(
            POS,
            [t, round((52.5 + k * 1e-4) * 1e7), round(13.4 * 1e7), 52.5 + k, 12.5 + k, 12.5 + k],
        )
    path.write_bytes(data)
    return path


def test_dataflash_written_with_pymavlink_reads_back(tmp_path):
    path = dataflash_with_pos(tmp_path / "00000042.BIN")
    assert detect_format(path) == "ardupilot_dataflash"
    samples, flights = read_flight_log(path)
    assert len(samples) == 3
    assert samples["lat"].tolist() == pytest.approx([52.5, 52.5001, 52.5002])
    assert samples["alt_msl_m"].tolist() == pytest.approx([52.5, 53.5, 54.5])
    assert samples["height_agl_m"].tolist() == pytest.approx([12.5, 13.5, 14.5])
    assert samples["yaw_deg"].tolist() == pytest.approx([90, 91, 92])
    assert samples["gimbal_pitch_deg"].tolist() == pytest.approx([-45] * 3)
    # MNT YawB -30° is relative to the vehicle: 90 - 30, 91 - 30, 92 - 30.
    assert samples["gimbal_yaw_deg"].tolist() == pytest.approx([60, 61, 62])
    # GPS at TimeUS 1.0 s was GPS week 2300, 100.000 s: POS at 1.5 s is 0.5 s later.
    first = expected_utc(2300, 100_000) + pd.Timedelta("0.5s")
    assert samples["time"].tolist() == [
        first + pd.Timedelta(milliseconds=200 * k) for k in range(3)
    ]
    assert samples["source_row"].tolist() == [1, 2, 3]
    f = flights.iloc[0]
    assert (f.model, f.vendor, f.drone_id) == ("ArduCopter V4.5.7", "ArduPilot", "12345")
    assert f.source_format == "ardupilot_dataflash" and f.height_ref == "takeoff"


def test_dataflash_gps_only_with_a_no_fix_row(tmp_path):
    data = b"".join(df_format(f) for f in (FMT, GPS))
    data += gps_row(500_000, 1, 0, 0.0, 0.0, 0.0)  # no fix yet
    data += gps_row(1_000_000, 3, 200_000, -33.9, 151.2, 30.0)
    data += gps_row(1_200_000, 3, 200_200, -33.90001, 151.2, 31.5)
    path = tmp_path / "gps.bin"
    path.write_bytes(data)
    samples, flights = read_flight_log(path)
    assert flights.iloc[0].rejected_reasons == '{"no_position": 1}'
    assert samples["height_agl_m"].tolist() == pytest.approx([0.0, 1.5])
    assert samples["time"].iloc[0] == expected_utc(2300, 200_000)
    assert samples["source_row"].tolist() == [2, 3]
    assert "1 GPS rows without a fix" in flights.iloc[0].notes


def test_dataflash_without_positions_is_refused(tmp_path):
    data = b"".join(df_format(f) for f in (FMT, ATT))
    data += df_message(ATT, [1000, 0, 0, 0, 0, 0, 9000, 0, 0, 0])
    path = tmp_path / "att.bin"
    path.write_bytes(data)
    with pytest.raises(FlightLogError, match=r"att\.bin: DataFlash log without any GPS or POS"):
        read_flight_log(path)


def test_damaged_dataflash_is_an_error_not_a_traceback(tmp_path, capsys):
    # A format definition with a type character DataFlash does not have ('X').
    bad = df_message(FMT, [140, 11, b"BAD", b"QX", b"TimeUS,Bad"])
    path = tmp_path / "damaged.bin"
    path.write_bytes(df_format(FMT) + bad + df_format(GPS))
    assert sniff_dataflash(path.read_bytes())
    with pytest.raises(FlightLogError, match=r"damaged\.bin: not a readable DataFlash log"):
        read_flight_log(path)


def test_truncated_dataflash_keeps_what_was_written(tmp_path):
    good = dataflash_with_pos(tmp_path / "good.bin").read_bytes()
    path = tmp_path / "cut.bin"
    path.write_bytes(good[:-10])  # the last POS record is cut off
    samples, _ = read_flight_log(path)
    assert len(samples) == 2


# ----------------------------------------------------------------------------- helpers


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

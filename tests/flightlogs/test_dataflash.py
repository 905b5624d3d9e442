"""ArduPilot DataFlash logs, written record by record with pymavlink's own encoder."""

from __future__ import annotations

import struct
from pathlib import Path

import pandas as pd
import pytest
from pymavlink.DFReader import DFFormat, DFMessage

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.dataflash import sniff_dataflash

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


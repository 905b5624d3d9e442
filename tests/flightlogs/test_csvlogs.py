"""Flight Reader / PhantomHelp and Litchi CSV exports.

No public export of either format is in ../shared/data, so the fixtures in tests/data/ were
written by hand from the documented column sets (Flight Reader's field list; the header Litchi
writes) with values whose conversions can be checked on paper.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.csvlogs import read_flightreader, read_litchi, sniff_flightreader, sniff_litchi

DATA = Path(__file__).resolve().parents[1] / "data"
FLIGHTREADER = DATA / "flightreader_mavic_air2.csv"
LITCHI = DATA / "litchi_mavic_pro.csv"
AIRDATA = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "flightlogs" / "airdata"
    / "Sep-5th-2021-07-23PM-Flight-Airdata.csv"
)
FT = 0.3048


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# Flight Reader


def test_flightreader_is_detected_and_not_taken_for_other_csvs():
    assert detect_format(FLIGHTREADER) == "flightreader_csv"
    head = FLIGHTREADER.read_bytes()
    assert sniff_flightreader(head) and not sniff_litchi(head)
    assert not sniff_flightreader(AIRDATA.read_bytes()[:65536])


def test_flightreader_values_hand_checked():
    samples, flights = read_flight_log(FLIGHTREADER)
    flight = flights.iloc[0]
    # Five data rows; the last has no position.
    assert (flight.n_read, flight.n_samples, flight.n_rejected) == (5, 4, 1)
    assert flight.rejected_reasons == '{"no_position": 1}'
    assert flight.drone_id == "3N3BH8A0012345"  # RECOVER.aircraftSN is empty, DETAILS has it
    assert flight.model == "Mavic Air 2" and flight.vendor == "DJI"
    assert flight.height_ref == "takeoff"
    assert "taken as UTC" in flight.notes and "DETAILS.droneType" in flight.notes
    first, third = samples.iloc[0], samples.iloc[2]
    # 11:59:59.90 AM, then 12:00:00.10 PM (noon): the 12-hour clock crosses noon correctly.
    assert first.time == pd.Timestamp("2024-05-01T11:59:59.9Z")
    assert third.time == pd.Timestamp("2024-05-01T12:00:00.1Z")
    assert samples.height_agl_m.tolist() == pytest.approx([0.0, 10.0, 100.0, 100.0], abs=1e-5)
    assert first.alt_msl_m == pytest.approx(131.233595 * FT)  # 40.0 m
    # OSD.yaw [360] and GIMBAL.yaw [360] are preferred; 180.1 stays 180.1.
    assert samples.yaw_deg.tolist() == [270.0, 269.5, 179.9, 180.1]
    assert samples.gimbal_yaw_deg.tolist() == [315.0, 314.8, 180.0, 180.1]
    assert samples.gimbal_pitch_deg.tolist() == [0.0, -30.0, -90.0, -89.9]
    assert samples.gimbal_roll_deg.tolist() == [0.0, 0.0, 0.1, 0.0]
    # isPhoto or isVideo; an empty isVideo with isPhoto False is unknown.
    assert samples.capturing.tolist() == [False, True, True, pd.NA]
    # Line numbers: "sep=," is line 1, the header line 2.
    assert samples.source_row.tolist() == [3, 4, 5, 6]


def test_flightreader_without_yaw360_wraps_signed_yaw(tmp_path):
    path = _write(
        tmp_path,
        "CUSTOM.date [UTC],CUSTOM.updateTime [UTC],OSD.latitude,OSD.longitude,OSD.yaw,"
        "GIMBAL.yaw\n2024-05-01,23:59:59.5,35.6,139.7,-90.5,-0.5\n",
    )
    log = read_flightreader(path)[0]
    assert log.rows.yaw_deg[0] == 269.5 and log.rows.gimbal_yaw_deg[0] == 359.5
    # UTC columns: no assumption needed, no note.
    assert log.rows.time[0] == pd.Timestamp("2024-05-01T23:59:59.5Z")
    assert not any("UTC offset" in n for n in log.notes)
    assert log.height_ref == "unknown"


def test_flightreader_semicolons_decimal_commas_and_metres(tmp_path):
    path = _write(
        tmp_path,
        "CUSTOM.date [local];CUSTOM.updateTime [local];OSD.latitude;OSD.longitude;"
        "OSD.height [m];OSD.height [ft];OSD.altitude [m];GIMBAL.pitch\n"
        "29.08.2017;14:30:28,9;39,9612;-106,216;12,5;41,01;2500,25;-12,5\n",
    )
    rows = read_flightreader(path)[0].rows
    assert rows.lat[0] == 39.9612 and rows.lon[0] == -106.216
    assert rows.height_agl_m[0] == 12.5  # the metre column wins over the feet one
    assert rows.alt_msl_m[0] == 2500.25 and rows.gimbal_pitch_deg[0] == -12.5
    assert rows.time[0] == pd.Timestamp("2017-08-29T14:30:28.9Z")


def test_flightreader_day_first_dates_are_recognised(tmp_path):
    path = _write(
        tmp_path,
        "CUSTOM.date [local],CUSTOM.updateTime [local],OSD.latitude,OSD.longitude\n"
        "29/08/2017,2:30:28 PM,39.9,-106.2\n12/08/2017,12:00:00 AM,39.9,-106.2\n",
    )
    times = read_flightreader(path)[0].rows.time
    # 29 cannot be a month, so the whole column is read day first; 12 AM is midnight.
    assert times.tolist() == [
        pd.Timestamp("2017-08-29T14:30:28Z"),
        pd.Timestamp("2017-08-12T00:00:00Z"),
    ]


def test_flightreader_every_bad_cell_is_reported_once(tmp_path):
    path = _write(
        tmp_path,
        "sep=,\nCUSTOM.date [local],CUSTOM.updateTime [local],OSD.latitude,OSD.longitude,"
        "OSD.height [ft]\n"
        "8/29/2017,30:28.9,39.9,-106.2,x\n8/29/2017,2:30:29 PM,4O.1,-106.2,3\n",
    )
    with pytest.raises(FlightLogError) as err:
        read_flightreader(path)
    message = str(err.value)
    assert message.startswith(str(path)) and "\n" not in message
    # An Excel-mangled time (minutes:seconds only) is refused, not guessed.
    assert "column 'CUSTOM.updateTime [local]': row 3 '30:28.9'" in message
    assert "column 'OSD.latitude': row 4 '4O.1'" in message
    assert "column 'OSD.height [ft]': row 3 'x'" in message


def test_flightreader_missing_columns(tmp_path):
    path = _write(tmp_path, "CUSTOM.date [local],OSD.latitude\n8/29/2017,39.9\n")
    with pytest.raises(FlightLogError, match=re.escape("without column(s) ['OSD.longitude']")):
        read_flightreader(path)
    path = _write(tmp_path, "OSD.latitude,OSD.longitude\n39.9,-106.2\n", "g.csv")
    with pytest.raises(FlightLogError, match="no time columns"):
        read_flightreader(path)


def test_flightreader_header_only_and_blank_lines(tmp_path):
    head = "CUSTOM.date [UTC],CUSTOM.updateTime [UTC],OSD.latitude,OSD.longitude\n"
    with pytest.raises(FlightLogError, match="header but no rows"):
        read_flightreader(_write(tmp_path, head))
    path = _write(tmp_path, head + "5/1/2024,10:00:00,35.6,139.7\n\n5/1/2024,10:00:01,x,1\n",
                  "b.csv")
    with pytest.raises(FlightLogError, match="row 4 'x'"):
        read_flightreader(path)


# Litchi


def test_litchi_is_detected_before_airdata():
    # The Litchi header has latitude, longitude, time(millisecond) and datetime(utc), which the
    # AirData sniffer would also accept.
    assert detect_format(LITCHI) == "litchi_csv"
    assert detect_format(AIRDATA) == "airdata_csv"


def test_litchi_values_hand_checked():
    samples, flights = read_flight_log(LITCHI)
    flight = flights.iloc[0]
    assert (flight.n_read, flight.n_samples) == (4, 4)
    assert (flight.drone_id, flight.model, flight.vendor) == ("08QDD6R0010ABC", "Mavic Pro", "DJI")
    assert samples.time.tolist() == list(
        pd.to_datetime(["2021-09-06T02:23:48.0", "2021-09-06T02:23:48.1", "2021-09-06T02:23:48.2",
                        "2021-09-06T02:23:48.3"], utc=True)
    )
    assert samples.height_agl_m.tolist() == [0.0, 1.5, 30.0, 30.0]
    assert (samples.height_ref == "takeoff").all()
    assert samples.yaw_deg.tolist() == [79.2, 189.5, 189.5, 10.0]  # -170.5 wrapped
    # Raw gimbal angles are tenths of a degree.
    assert samples.gimbal_pitch_deg.tolist() == [0.0, -45.0, -90.0, -90.0]
    assert samples.gimbal_roll_deg.tolist() == [0.0, 0.0, 1.2, 0.0]
    assert samples.gimbal_yaw_deg.tolist() == pytest.approx([63.3, 180.5, 180.0, 10.0])
    assert samples.capturing.tolist() == [False, True, True, True]
    assert samples.source_row.tolist() == [2, 3, 4, 5]


def test_litchi_feet_whole_seconds_and_degree_gimbal_columns(tmp_path):
    path = _write(
        tmp_path,
        "latitude,longitude,altitude(feet),time(millisecond),datetime(utc),gimbalPitch,"
        "isTakingPhoto,isTakingVideo\n"
        "47.5,-122.6,100,0,2021-09-06 02:23:48,-12.5,false,\n"
        "47.5,-122.6,200,1700,2021-09-06 02:23:49,-13,,true\n",
    )
    log = read_litchi(path)[0]
    rows = log.rows
    assert rows.height_agl_m.tolist() == pytest.approx([30.48, 60.96])
    assert rows.gimbal_pitch_deg.tolist() == [-12.5, -13.0]
    # Whole-second datetimes: the millisecond column gives the sub-second part.
    assert rows.time[1] == pd.Timestamp("2021-09-06T02:23:49.7Z")
    assert any("time(millisecond)" in n for n in log.notes)
    assert rows.capturing.tolist() == [pd.NA, True]


def test_litchi_errors(tmp_path):
    path = _write(tmp_path, "latitude,longitude,isTakingVideo\n1,2,0\n")
    with pytest.raises(FlightLogError, match=re.escape("without column(s) ['datetime(utc)']")):
        read_litchi(path)
    path = _write(
        tmp_path,
        "latitude,longitude,datetime(utc),yaw(deg)\n1,2,yesterday,x\n",
        "g.csv",
    )
    with pytest.raises(FlightLogError) as err:
        read_litchi(path)
    assert "'datetime(utc)': row 2 'yesterday'" in str(err.value)
    assert "'yaw(deg)': row 2 'x'" in str(err.value)
    path = _write(tmp_path, "latitude,longitude,datetime(utc),isflying\n,,2021-01-01 00:00:00,1\n",
                  "h.csv")
    with pytest.raises(FlightLogError, match="none of the 1 rows has both"):
        read_litchi(path)


@pytest.mark.parametrize("column", ["yaw_deg", "gimbal_yaw_deg"])
def test_wrapped_yaws_stay_in_range(column):
    for path in (FLIGHTREADER, LITCHI):
        values = read_flight_log(path)[0][column].dropna().to_numpy()
        assert np.all((values >= 0) & (values < 360)), path
        assert not any(math.isclose(v, 360.0) for v in values)

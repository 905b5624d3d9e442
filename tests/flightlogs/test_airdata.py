from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs import FlightLogError, read_flight_log
from flightlogs.airdata import read, sniff

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = DATA / "flightlogs" / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.csv"
FT = 0.3048


@pytest.fixture(scope="module")
def real():
    return read_flight_log(REAL)


@pytest.fixture(scope="module")
def real_rows():
    """The real file parsed with the csv module, independently of the reader."""
    with open(REAL, newline="") as fh:
        rows = list(csv.reader(fh))
    header = [name.strip() for name in rows[0]]
    return header, rows[1:]


def test_sniff_real_header():
    assert sniff(REAL.read_bytes()[:65536])
    assert not sniff(b"a,b,c\n1,2,3\n")
    assert not sniff(b"")


def test_row_counts_reconcile(real, real_rows):
    samples, flights = real
    _, rows = real_rows
    flight = flights.iloc[0]
    assert flight.n_read == len(rows) == 11609
    assert flight.n_samples + flight.n_rejected == flight.n_read
    assert flight.n_samples == len(samples)
    # The last two rows share time(millisecond) 1254400: the later copy is dropped. Three rows
    # carry a datetime(utc) 27-34 s away from their time(millisecond) (see test_quality.py).
    assert flight.rejected_reasons == '{"clock_mismatch": 3, "time_duplicate": 1}'


def test_first_sample_hand_checked(real):
    samples, _ = real
    first = samples.iloc[0]
    # Row 2 of the CSV: 0,2021-09-06 02:23:48,47.5726976524126,-122.62662335236,0,...,17.36797...
    assert first.time == pd.Timestamp("2021-09-06T02:23:48Z")
    assert first.lat == 47.5726976524126
    assert first.lon == -122.62662335236
    assert first.height_agl_m == 0.0
    assert first.alt_msl_m == pytest.approx(5.2937594694, abs=1e-9)  # 17.367977261812 ft
    assert first.yaw_deg == 79.2
    assert first.gimbal_yaw_deg == 63.3
    assert first.source_row == 2
    assert first.geometry.x == first.lon and first.geometry.y == first.lat


def test_a_climbing_sample_in_metres(real):
    samples, _ = real
    # Row 1085: 143000 ms, 239.50132 ft above take-off, 256.86929726181 ft AMSL, compass 136.9,
    # gimbal heading 125, gimbal pitch -3.7.
    row = samples.loc[samples.source_row == 1085].iloc[0]
    assert row.time == pd.Timestamp("2021-09-06T02:26:11Z")
    assert row.height_agl_m == pytest.approx(73.0, abs=1e-5)  # 239.50132 ft × 0.3048
    assert row.alt_msl_m == pytest.approx(78.2937618, abs=1e-6)
    assert (row.yaw_deg, row.gimbal_yaw_deg, row.gimbal_pitch_deg) == (136.9, 125.0, -3.7)


def test_units_and_conventions(real, real_rows):
    samples, flights = real
    header, rows = real_rows
    feet = np.array([float(r[header.index("height_above_takeoff(feet)")]) for r in rows])
    assert samples.height_agl_m.max() == pytest.approx(feet.max() * FT)
    assert samples.height_agl_m.max() == pytest.approx(117.7, abs=0.01)
    # AirData's gimbal pitch is already 0 = horizon, -90 = straight down.
    assert samples.gimbal_pitch_deg.min() == -90.0
    assert samples.gimbal_pitch_deg.max() <= 30
    assert (samples.height_ref == "takeoff").all()
    assert flights.iloc[0].height_ref == "takeoff"
    assert flights.iloc[0].vendor == "DJI"
    assert pd.isna(flights.iloc[0].model)
    assert samples.gimbal_roll_deg.isna().all()


def test_capturing_is_photo_or_video(real, real_rows):
    samples, _ = real
    header, rows = real_rows
    photo, video = header.index("isPhoto"), header.index("isVideo")
    expected = {i + 2 for i, r in enumerate(rows) if r[photo] == "1" or r[video] == "1"}
    assert samples.capturing.dtype == "boolean"
    assert set(samples.source_row[samples.capturing.to_numpy(dtype=bool)]) == expected
    assert len(expected) == 717


def test_flight_span(real):
    _, flights = real
    flight = flights.iloc[0]
    assert (flight.end - flight.start).total_seconds() == pytest.approx(1254, abs=1)
    assert flight.start == pd.Timestamp("2021-09-06T02:23:48Z")
    assert flight.source_format == "airdata_csv"
    assert "up to 1 s early" in flight.notes


def _write(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


HEAD = "time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet)"


def test_non_numeric_latitude_names_row_column_and_value(tmp_path):
    path = _write(
        tmp_path,
        f"{HEAD}, compass_heading(degrees)\n"
        "0,2021-09-06 02:23:48,47.5,-122.6,10,5\n"
        "100,2021-09-06 02:23:48,4x7.5,-122.6,10,x\n",
    )
    with pytest.raises(FlightLogError) as err:
        read(path)
    message = str(err.value)
    assert str(path) in message
    assert "column 'latitude': row 3 '4x7.5'" in message
    # Every bad column is reported at once.
    assert "column 'compass_heading(degrees)': row 3 'x'" in message
    assert "\n" not in message


def test_bad_date_is_reported(tmp_path):
    path = _write(tmp_path, f"{HEAD}\n0,yesterday,47.5,-122.6,10\n")
    with pytest.raises(FlightLogError, match=r"'datetime\(utc\)': row 2 'yesterday'"):
        read(path)


def test_csv_without_position_columns(tmp_path):
    path = _write(tmp_path, "time(millisecond),datetime(utc),speed\n0,2021-09-06 02:23:48,1\n")
    with pytest.raises(FlightLogError) as err:
        read(path)
    assert str(err.value) == (
        f"{path}: not an AirData CSV: no latitude/longitude columns "
        "(expected 'latitude', 'longitude')"
    )


def test_missing_required_columns_are_named(tmp_path):
    path = _write(tmp_path, "time(millisecond),latitude,longitude\n0,47.5,-122.6\n")
    with pytest.raises(FlightLogError, match=r"without column\(s\) \['datetime\(utc\)'\]"):
        read(path)
    path = _write(tmp_path, "datetime(utc),latitude\n2021-09-06 02:23:48,47.5\n", "g.csv")
    with pytest.raises(FlightLogError, match=r"\['longitude'\]"):
        read(path)


def test_header_only_and_no_positions(tmp_path):
    with pytest.raises(FlightLogError, match="header but no rows"):
        read(_write(tmp_path, HEAD + "\n"))
    with pytest.raises(FlightLogError, match="none of the 2 rows has both"):
        read(_write(tmp_path, f"{HEAD}\n0,2021-09-06 02:23:48,,,1\n100,,,,\n", "g.csv"))


def test_empty_cells_are_na_and_flags_use_kleene_logic(tmp_path):
    path = _write(
        tmp_path,
        f"{HEAD},isPhoto,isVideo\n"
        "0,2021-09-06 02:23:48,47.5,-122.6,,,1\n"
        "100,2021-09-06 02:23:48,47.5,-122.6,3.28084,0,0\n"
        "200,2021-09-06 02:23:48,47.5,-122.6,,,\n",
    )
    rows = read(path)[0].rows
    assert rows.height_agl_m.isna().tolist() == [True, False, True]
    assert rows.height_agl_m[1] == pytest.approx(1.0)
    assert rows.capturing.dtype == "boolean"
    assert rows.capturing.tolist() == [True, False, pd.NA]


def test_metre_headers_are_not_converted(tmp_path):
    path = _write(
        tmp_path,
        "time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(meters),"
        "altitude_above_seaLevel(meters)\n0,2021-09-06 02:23:48,47.5,-122.6,12.5,40\n",
    )
    log = read(path)[0]
    assert log.rows.height_agl_m[0] == 12.5 and log.rows.alt_msl_m[0] == 40
    assert log.height_ref == "takeoff"


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    path = _write(
        tmp_path,
        f"{HEAD}\n0,2021-09-06 02:23:48,47.5,-122.6,1\n\n200,2021-09-06 02:23:48,47.6,-122.6,x\n",
    )
    with pytest.raises(FlightLogError, match="row 4 'x'"):
        read(path)


def test_milliseconds_give_sub_second_times(tmp_path):
    path = _write(
        tmp_path,
        f"{HEAD}\n500,2021-09-06 02:23:48,47.5,-122.6,1\n1700,2021-09-06 02:23:49,47.5,-122.6,1\n",
    )
    times = read(path)[0].rows.time
    assert times.tolist() == [
        pd.Timestamp("2021-09-06T02:23:48Z"),
        pd.Timestamp("2021-09-06T02:23:49.2Z"),
    ]


def test_file_with_the_real_header_written_by_another_program(tmp_path):
    header = REAL.read_text().splitlines()[0]
    names = header.split(",")
    values = {
        "time(millisecond)": ["0", "100"],
        "datetime(utc)": ["2024-05-01 09:00:00", "2024-05-01 09:00:00"],
        "latitude": ["35.681236", "35.681300"],
        "longitude": ["139.767125", "139.767200"],
        "height_above_takeoff(feet)": ["328.084", "328.084"],
        "altitude_above_seaLevel(feet)": ["", ""],
        " compass_heading(degrees)": ["90.0", "90.5"],
        "gimbal_pitch(degrees)": ["-45.0", "-45.0"],
        "isVideo": ["1", "1"],
    }
    lines = [header] + [
        ",".join(values.get(name, [""] * 2)[i] for name in names) for i in range(2)
    ]
    path = _write(tmp_path, "\n".join(lines) + "\n", "demo.csv")
    samples, flights = read_flight_log(path)
    assert flights.iloc[0].n_samples == 2
    assert samples.height_agl_m.tolist() == pytest.approx([100.0, 100.0])
    assert samples.alt_msl_m.isna().all()
    assert samples.yaw_deg.tolist() == [90.0, 90.5]
    assert samples.gimbal_pitch_deg.tolist() == [-45.0, -45.0]
    assert samples.capturing.tolist() == [True, True]
    assert samples.time.iloc[1] == pd.Timestamp("2024-05-01T09:00:00.1Z")


def test_fast_and_careful_paths_agree_on_the_real_file(monkeypatch):
    from flightlogs.airdata import _read_table_fast

    assert _read_table_fast(REAL) is not None  # the real export takes the fast path
    fast = read(REAL)[0]
    monkeypatch.setattr("flightlogs.airdata._read_table_fast", lambda path: None)
    careful = read(REAL)[0]
    pd.testing.assert_frame_equal(fast.rows, careful.rows, check_dtype=False)
    assert fast.notes == careful.notes


@pytest.mark.parametrize(
    "text",
    [
        # A bad number, a quoted header, a time zone: the careful path takes over.
        f"{HEAD}\n0,2021-09-06 02:23:48,47.5,-122.6,1\n100,2021-09-06 02:23:48,47.5,-122.6,one\n",
        '"time(millisecond)",datetime(utc),latitude,longitude\n0,2021-09-06 02:23:48,47.5,1\n',
        f"{HEAD}\n0,2021-09-06T02:23:48Z,47.5,-122.6,1\n",
    ],
)
def test_files_the_fast_path_refuses_are_still_read_or_reported(tmp_path, text):
    from flightlogs.airdata import _read_table_fast

    path = _write(tmp_path, text)
    assert _read_table_fast(path) is None
    if "one" in text:
        with pytest.raises(FlightLogError, match="row 3 'one'"):
            read(path)
    else:
        assert len(read(path)[0].rows) == 1


def test_a_row_stamped_with_another_time_is_a_clock_mismatch(tmp_path):
    # Row 3 says 02:24:30 while its time(millisecond) puts it at 02:23:48.2.
    path = _write(
        tmp_path,
        f"{HEAD}\n0,2021-09-06 02:23:48,47.5,-122.6,1\n100,2021-09-06 02:23:48,47.5,-122.6,1\n"
        "200,2021-09-06 02:24:30,47.5,-122.6,1\n300,2021-09-06 02:23:48,47.5,-122.6,1\n",
    )
    samples, flights = read_flight_log(path)
    assert flights.iloc[0].rejected_reasons == '{"clock_mismatch": 1}'
    assert samples.source_row.tolist() == [2, 3, 5]
    assert samples.time.iloc[-1] == pd.Timestamp("2021-09-06T02:23:48.3Z")

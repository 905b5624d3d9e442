"""Remote ID receiver logs.

No receiver log is in ../shared/data; tests/data/remoteid_drone_scanner.csv was written by hand
in the column layout of the Drone Scanner app's CSV export (one row per received message, the
drone's messages linked by its MAC address), with two drones, a no-fix (0, 0) report and the
standard's -1000 m "unknown" altitude.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.remoteid import read, sniff

SCANNER = Path(__file__).resolve().parents[1] / "data" / "remoteid_drone_scanner.csv"


def _write(tmp_path: Path, text: str, name: str = "rid.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_drone_scanner_export_gives_one_flight_per_drone():
    assert detect_format(SCANNER) == "remoteid_csv"
    _, flights = read_flight_log(SCANNER)
    assert flights.flight_id.tolist() == [
        "remoteid_drone_scanner_1581F5FJD22A00XYZ",
        "remoteid_drone_scanner_1596F3A1B2C3D4",
    ]
    assert flights.drone_id.tolist() == ["1581F5FJD22A00XYZ", "1596F3A1B2C3D4"]
    a, b = flights.iloc[0], flights.iloc[1]
    # Drone A: three location reports, the first without a fix (0, 0).
    assert (a.n_read, a.n_samples, a.rejected_reasons) == (3, 2, '{"null_island": 1}')
    assert (b.n_read, b.n_samples) == (2, 2)
    assert (a.height_ref, b.height_ref) == ("takeoff", "ground")
    assert "operator ID JPN87astrd8d2f9" in a.notes
    assert "operator (pilot) position first reported at 35.681000, 139.767000" in a.notes
    assert "UAS ID type Serial Number" in b.notes and "taken as UTC" in b.notes


def test_drone_scanner_values_hand_checked():
    samples, _ = read_flight_log(SCANNER)
    a = samples[samples.flight_id.str.endswith("XYZ")]
    assert a.time.tolist() == list(
        pd.to_datetime(["2024-05-01T09:00:01.250Z", "2024-05-01T09:00:02.250Z"], utc=True)
    )
    assert a.lat.tolist() == [35.681236, 35.681281] and a.lon.tolist() == [139.767125] * 2
    assert a.alt_msl_m.tolist() == [80.5, 81.0] and a.height_agl_m.tolist() == [40.0, 40.5]
    # Spreadsheet rows of the Location messages.
    assert a.source_row.tolist() == [4, 9]
    assert a.yaw_deg.isna().all() and a.capturing.isna().all()


def test_flat_layout_feet_unknown_altitude_and_unix_times(tmp_path):
    path = _write(
        tmp_path,
        "time,serial_number,operator_id,latitude,longitude,altitude_geodetic (ft),height (ft),"
        "operator_latitude,operator_longitude\n"
        "1714554000,SN-1,OP-9,35.6,139.7,328.084,-1000,0,0\n"
        "1714554001,SN-1,OP-9,35.60001,139.7,-1000,32.8084,35.5,139.6\n"
        "1714554000.5,SN 2,,35.7,139.8,,,,\n",
    )
    logs = read(path)
    assert [log.suffix for log in logs] == ["_SN-1", "_SN-2"]
    rows = logs[0].rows
    assert rows.time.tolist() == list(pd.to_datetime([1714554000, 1714554001], unit="s", utc=True))
    # -1000 m is the standard's "unknown"; feet are converted.
    assert rows.alt_msl_m[0] == pytest.approx(100.0) and pd.isna(rows.alt_msl_m[1])
    assert pd.isna(rows.height_agl_m[0]) and rows.height_agl_m[1] == pytest.approx(10.0)
    assert logs[0].height_ref == "takeoff" and logs[1].height_ref == "unknown"
    # (0, 0) is "no operator position"; the first real one is noted.
    assert any("35.500000, 139.600000" in n for n in logs[0].notes)
    assert logs[1].drone_id == "SN 2"


def test_iso_times_with_zones_need_no_note(tmp_path):
    path = _write(
        tmp_path,
        "Timestamp,UAS ID,Latitude,Longitude\n2024-05-01T18:00:00+09:00,X,35.6,139.7\n",
    )
    log = read(path)[0]
    assert log.rows.time[0] == pd.Timestamp("2024-05-01T09:00:00Z")
    assert not any("UTC" in n for n in log.notes)


def test_sniffer():
    assert sniff(SCANNER.read_bytes())
    assert sniff(b"Detection Time,BasicID,Latitude,Longitude,AltitudeGeo,Height\n")
    assert not sniff(b"latitude,longitude,datetime(utc),isTakingVideo\n")
    assert not sniff(b"Message Type,Latitude,Longitude\n")  # no MAC to link messages by


def test_errors(tmp_path):
    path = _write(tmp_path, "UAS ID,Latitude,Longitude\nX,1,2\n")
    with pytest.raises(FlightLogError, match=re.escape("without ['time'] columns")):
        read(path)
    path = _write(tmp_path, "Timestamp,UAS ID,Latitude,Longitude\nyesterday,X,1,north\n", "b.csv")
    with pytest.raises(FlightLogError) as err:
        read(path)
    message = str(err.value)
    assert "'Longitude': row 2 'north'" in message and "'Timestamp': row 2 'yesterday'" in message
    path = _write(tmp_path, "Timestamp,UAS ID,Latitude,Longitude\n2024-05-01T09:00:00Z,X,,\n",
                  "c.csv")
    with pytest.raises(FlightLogError, match="no location report"):
        read(path)

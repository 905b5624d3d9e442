from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from flightlogs import (
    FORMATS,
    FlightLogError,
    UnknownFormatError,
    detect_format,
    read_flight_log,
    read_flight_logs,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LOGS = DATA / "flightlogs"
SRT = LOGS / "dji_srt"


@pytest.mark.parametrize("path", sorted((LOGS / "airdata").glob("*.csv")), ids=lambda p: p.name)
def test_airdata_csv_is_detected(path):
    assert detect_format(path) == "airdata_csv"


@pytest.mark.parametrize(
    "path", sorted(p for p in SRT.iterdir() if p.stat().st_size), ids=lambda p: p.name
)
def test_every_non_empty_srt_is_detected(path):
    assert detect_format(path) == "dji_srt"


def test_empty_file_is_an_error_not_a_format():
    with pytest.raises(FlightLogError, match=re.escape(f"{SRT / 'broken_empty.SRT'}: the file")):
        detect_format(SRT / "broken_empty.SRT")


@pytest.mark.parametrize("path", sorted((LOGS / "dji_txt").iterdir()), ids=lambda p: p.name)
def test_dji_flight_record_is_detected(path):
    assert detect_format(path) == "dji_txt"


def test_random_bytes_are_unknown(tmp_path):
    path = tmp_path / "noise.bin"
    path.write_bytes(random.Random(0).randbytes(4096))
    with pytest.raises(UnknownFormatError, match=re.escape(str(path))):
        detect_format(path)


def test_csv_with_another_header_is_unknown(tmp_path):
    path = tmp_path / "track.csv"
    path.write_text("lat,lon,alt\n35.6,139.7,100\n")
    with pytest.raises(UnknownFormatError) as err:
        read_flight_log(path)
    assert str(path) in str(err.value)
    assert "CSV without recognised position columns" in str(err.value)


def test_the_three_exports_of_one_flight_are_told_apart():
    folder = LOGS / "airdata"
    assert detect_format(folder / "Sep-5th-2021-07-23PM-Flight-Airdata.csv") == "airdata_csv"
    assert detect_format(folder / "Sep-5th-2021-07-23PM-Flight-Airdata.gpx") == "gpx"
    assert detect_format(folder / "Sep-5th-2021-07-23PM-Flight-Airdata.kml") == "kml"


def test_missing_file(tmp_path):
    path = tmp_path / "nowhere.srt"
    with pytest.raises(FlightLogError, match=re.escape(f"{path}: no such file")):
        read_flight_log(path)
    with pytest.raises(FlightLogError, match="no such file"):
        read_flight_log(path, format="dji_srt")


def test_directory_is_not_a_log(tmp_path):
    with pytest.raises(FlightLogError, match="not a regular file"):
        detect_format(tmp_path)


def test_forced_and_unknown_format(tmp_path):
    path = tmp_path / "m300.txt"  # the extension does not matter
    shutil.copy(SRT / "matrice_300.srt", path)
    samples, flights = read_flight_log(path, format="dji_srt", flight_id="m300")
    assert set(samples.flight_id) == {"m300"} and flights.flight_id.tolist() == ["m300"]
    with pytest.raises(FlightLogError, match="unknown format 'fdr'"):
        read_flight_log(path, format="fdr")
    # Forcing the wrong reader gives that reader's error, not a wrong track.
    with pytest.raises(FlightLogError, match="expected a GPX file"):
        read_flight_log(path, format="gpx")
    assert {"airdata_csv", "dji_srt", "dji_txt", "gpx", "kml", "px4_ulog"} <= set(FORMATS)


def test_read_flight_logs_on_a_directory(tmp_path):
    names = ["matrice_300.srt", "mavic_pro.SRT", "p4_rtk.SRT"]
    for name in names:
        shutil.copy(SRT / name, tmp_path / name)
    (tmp_path / "sub").mkdir()
    shutil.copy(LOGS / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.csv", tmp_path / "sub")
    samples, flights = read_flight_logs([tmp_path])
    assert sorted(flights.flight_id) == sorted(
        ["matrice_300", "mavic_pro", "p4_rtk", "Sep-5th-2021-07-23PM-Flight-Airdata"]
    )
    assert flights.n_samples.sum() == len(samples)
    assert (flights.n_read == flights.n_samples + flights.n_rejected).all()
    assert set(samples.flight_id) == set(flights.flight_id)
    assert samples.crs.to_epsg() == 4326 and flights.crs.to_epsg() == 4326
    counts = samples.groupby("flight_id").size()
    assert counts["matrice_300"] == 381 and counts["p4_rtk"] == 55


def test_read_flight_logs_lists_every_bad_file():
    with pytest.raises(FlightLogError) as err:
        read_flight_logs([SRT])
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert any("mavic_air.SRT" in line and "no position" in line for line in lines)
    assert any("broken_empty.SRT" in line and "empty" in line for line in lines)
    assert not any("MAVIC3" in line for line in lines)


def test_read_flight_logs_with_one_bad_file(tmp_path):
    good = tmp_path / "p4p_sample.SRT"
    shutil.copy(SRT / "p4p_sample.SRT", good)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "time(millisecond),datetime(utc),latitude,longitude\n0,2021-01-01 00:00:00,x,1\n"
    )
    with pytest.raises(FlightLogError) as err:
        read_flight_logs([good, bad])
    message = str(err.value)
    assert message.startswith(str(bad)) and "row 2 'x'" in message
    assert "p4p_sample" not in message


def test_read_flight_logs_without_files():
    with pytest.raises(FlightLogError, match="no flight-log files given"):
        read_flight_logs([])


def test_sha256_file_stops_when_asked(tmp_path):
    import hashlib
    import threading

    from flightlogs.core import sha256_file

    path = tmp_path / "x.bin"
    path.write_bytes(b"a" * (3 << 20))
    assert sha256_file(path) == hashlib.sha256(b"a" * (3 << 20)).hexdigest()
    stop = threading.Event()
    stop.set()
    assert sha256_file(path, stop=stop) == ""

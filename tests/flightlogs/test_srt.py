from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs import FlightLogError, UnknownFormatError, detect_format, read_flight_log
from flightlogs.srt import read, sniff

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SRT = DATA / "flightlogs" / "dji_srt"
READABLE = [
    "MAVIC3.srt",
    "air2s.srt",
    "broken_incomplete.SRT",
    "m2zoom.SRT",
    "matrice_300.srt",
    "mavic_mini.SRT",
    "mavic_pro.SRT",
    "p4_rtk.SRT",
    "p4p_sample.SRT",
]
UNREADABLE = ["mavic_air.SRT", "broken_empty.SRT"]


def test_every_file_in_the_folder_is_covered():
    assert sorted(p.name for p in SRT.iterdir()) == sorted(READABLE + UNREADABLE)


def _cue_count(path: Path) -> int:
    return sum("-->" in line for line in path.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("name", READABLE)
def test_reads_one_row_per_cue(name):
    path = SRT / name
    samples, flights = read_flight_log(path)
    flight = flights.iloc[0]
    assert flight.n_read == _cue_count(path)
    assert flight.n_samples + flight.n_rejected == flight.n_read
    assert flight.source_format == "dji_srt" and flight.vendor == "DJI"
    assert pd.isna(flight.model)
    assert samples.time.is_monotonic_increasing and samples.time.is_unique
    assert samples.capturing.all()
    assert (samples.source_row.diff().dropna() > 0).all()


@pytest.mark.parametrize("name", READABLE)
def test_parsed_times_follow_the_video(name):
    rows = read(SRT / name)[0].rows
    assert rows.time.is_monotonic_increasing
    assert rows.time.notna().all()


def test_cue_counts_of_the_large_files():
    assert read_flight_log(SRT / "MAVIC3.srt")[1].iloc[0].n_read == 12318
    assert read_flight_log(SRT / "m2zoom.SRT")[1].iloc[0].n_read == 7113


def test_matrice_300_gps_is_lat_lon_alt():
    log = read(SRT / "matrice_300.srt")[0]
    first = log.rows.iloc[0]
    assert (first.lat, first.lon) == (36.6146, -6.1120)  # Cádiz
    assert first.height_agl_m == 0.3  # BAROMETER:0.3M
    assert first.time == pd.Timestamp("2022-06-21T16:06:17Z")
    # "GPS(..., 0.0M)" in every cue is a placeholder, not an altitude.
    assert log.rows.alt_msl_m.isna().all()
    assert any("0.0 in every subtitle" in n for n in log.notes)
    assert log.height_ref == "takeoff"
    assert log.rows.height_agl_m.max() == 87.9


def test_mavic_pro_gps_is_lon_lat_satellites():
    log = read(SRT / "mavic_pro.SRT")[0]
    first = log.rows.iloc[0]
    assert (first.lon, first.lat) == (149.0251, -20.2533)  # Queensland
    assert first.height_agl_m == 1.9
    assert first.time == pd.Timestamp("2017-08-05T14:11:51Z")
    assert log.rows.alt_msl_m.isna().all()
    assert "positions read as GPS(lon, lat, satellites)" in log.notes


def test_mavic_pro_clock_repeats_do_not_lose_cues():
    # The drone clock written in the cues repeats five seconds; the video timeline does not.
    _, flights = read_flight_log(SRT / "mavic_pro.SRT")
    assert flights.iloc[0].n_samples == 468
    assert flights.iloc[0].end == pd.Timestamp("2017-08-05T14:19:38Z")


def test_p4_rtk_flight_and_gimbal_attitude():
    log = read(SRT / "p4_rtk.SRT")[0]
    first = log.rows.iloc[0]
    # F.PRY (2.7°, -7.0°, 110.1°), G.PRY (-24.4°, 0.0°, 110.4°)
    assert first.yaw_deg == 110.1
    assert (first.gimbal_pitch_deg, first.gimbal_roll_deg, first.gimbal_yaw_deg) == (
        -24.4,
        0.0,
        110.4,
    )
    assert (first.lon, first.lat) == (-58.851745, -34.237922)
    assert first.height_agl_m == 85.8
    assert log.rows.gimbal_pitch_deg.between(-90, 30).all()


def test_mavic3_focal_and_altitudes():
    log = read(SRT / "MAVIC3.srt")[0]
    first = log.rows.iloc[0]
    assert (first.lat, first.lon) == (3.41531, -3.37440)
    assert (first.height_agl_m, first.alt_msl_m) == (-2.4, 0.401)  # rel_alt, abs_alt
    assert first.zoom == 1.0  # focal_len: 24.00 (mm, 35-mm equivalent)
    assert "focal_length_mm" not in log.rows  # the real focal length is not in the file
    assert first.time == pd.Timestamp("2021-12-25T12:27:52.373Z")
    assert log.rows.time.iloc[1] == pd.Timestamp("2021-12-25T12:27:52.393Z")


def test_m2zoom_tenths_of_mm_focal_and_misspelt_longitude():
    rows = read(SRT / "m2zoom.SRT")[0].rows
    first = rows.iloc[0]
    assert (first.lat, first.lon) == (31.452012, 74.398751)  # Lahore
    assert first.alt_msl_m == 213.983002
    assert rows.zoom.min() == 1.0 and rows.zoom.max() == 2.0  # focal_len 240 .. 480
    assert first.time == pd.Timestamp("2020-04-02T15:19:58.720764Z")


def _distance_m(lon1, lat1, lon2, lat2):
    phi = math.radians((lat1 + lat2) / 2)
    dx = math.radians(lon2 - lon1) * math.cos(phi) * 6_371_000
    dy = math.radians(lat2 - lat1) * 6_371_000
    return math.hypot(dx, dy)


def test_air2s_is_in_barcelona():
    rows = read(SRT / "air2s.srt")[0].rows
    first = rows.iloc[0]
    assert (first.lat, first.lon) == (41.424724, 2.234156)
    # Barcelona, Plaça de Catalunya (41.3870, 2.1701): about 6.7 km away.
    assert _distance_m(first.lon, first.lat, 2.1701, 41.3870) < 10_000
    assert first.alt_msl_m == 117.0 and np.isnan(first.height_agl_m)
    assert first.time == pd.Timestamp("2022-08-07T13:40:40.774808Z")


def test_air2s_without_height_has_unknown_reference():
    assert read(SRT / "air2s.srt")[0].height_ref == "unknown"


def test_p4p_is_in_aargau():
    rows = read(SRT / "p4p_sample.SRT")[0].rows
    assert (rows.lon.iloc[0], rows.lat.iloc[0]) == (8.2090, 47.4692)
    assert rows.lon.between(7.7, 8.5).all() and rows.lat.between(47.1, 47.7).all()
    assert rows.height_agl_m.iloc[0] == 45.6


def test_undated_files_are_placed_on_the_epoch_and_say_so():
    log = read(SRT / "mavic_mini.SRT")[0]
    assert log.rows.time.iloc[0] == pd.Timestamp("1970-01-01T00:00:00Z")
    assert log.rows.time.iloc[-1] == pd.Timestamp("1970-01-01T00:01:56Z")
    assert any("no date" in n and "1970-01-01" in n for n in log.notes)
    assert (log.rows.lon.iloc[0], log.rows.lat.iloc[0]) == (-121.7458, 48.0771)
    assert log.rows.height_agl_m.iloc[0] == 200.7


def test_dated_files_say_the_clock_is_taken_as_utc():
    _, flights = read_flight_log(SRT / "matrice_300.srt")
    assert "taken as UTC" in flights.iloc[0].notes


def test_mavic_air_has_no_position():
    with pytest.raises(FlightLogError) as err:
        read_flight_log(SRT / "mavic_air.SRT")
    message = str(err.value)
    assert "mavic_air.SRT" in message
    assert "no position in any of the 2 subtitles" in message
    assert "camera settings only" in message


def test_empty_file():
    with pytest.raises(FlightLogError, match=r"broken_empty\.SRT: the file is empty"):
        read_flight_log(SRT / "broken_empty.SRT")
    with pytest.raises(FlightLogError, match="the file is empty"):
        read(SRT / "broken_empty.SRT")


def test_truncated_last_cue_is_counted_as_rejected():
    samples, flights = read_flight_log(SRT / "broken_incomplete.SRT")
    flight = flights.iloc[0]
    assert (flight.n_read, flight.n_samples, flight.n_rejected) == (20, 19, 1)
    assert flight.rejected_reasons == '{"no_position": 1}'
    assert "subtitle 20, the last, has no position" in flight.notes
    assert samples.source_row.max() == 19


# Small hand-made files for the edge cases.

MOVIE = (
    "1\n00:00:01,000 --> 00:00:03,000\nWhere did you park the car?\n\n"
    "2\n00:00:04,000 --> 00:00:05,500\nNear the GPS shop, ISO 9001 certified.\n"
)


def test_plain_movie_subtitle_is_not_dji(tmp_path):
    path = tmp_path / "movie.srt"
    path.write_text(MOVIE)
    assert not sniff(path.read_bytes())
    with pytest.raises(UnknownFormatError, match=r"movie\.srt"):
        detect_format(path)
    with pytest.raises(FlightLogError, match="no position in any of the 2 subtitles"):
        read(path)


def _cue(n: int, body: str) -> str:
    return f"{n}\n00:00:{n - 1:02d},000 --> 00:00:{n:02d},000\n{body}\n\n"


def test_gps_order_depends_on_the_altitude_suffix(tmp_path):
    lat_lon = tmp_path / "lat_lon.srt"
    lat_lon.write_text(_cue(1, "2022.06.21 16:06:17\nGPS(10.5,20.25,5.0M) BAROMETER:1.0M"))
    lon_lat = tmp_path / "lon_lat.srt"
    lon_lat.write_text(
        _cue(1, "HOME(20.25,10.5) 2017.08.05 14:11:51\nGPS(20.25,10.5,12) BAROMETER:1")
    )
    a = read(lat_lon)[0].rows.iloc[0]
    b = read(lon_lat)[0].rows.iloc[0]
    assert (a.lon, a.lat, a.alt_msl_m) == (20.25, 10.5, 5.0)
    assert (b.lon, b.lat) == (20.25, 10.5) and np.isnan(b.alt_msl_m)


def test_cp1252_degree_signs_crlf_and_bom(tmp_path):
    body = (
        "F/5.6, SS 400, ISO 100, EV 0, GPS (-58.85, -34.23, 15), D 10.00m, H 85.80m, "
        "H.S 0.00m/s, V.S 0.00m/s, F.PRY (2.7°, -7.0°, 110.1°), G.PRY (-24.4°, 0.0°, 110.4°)"
    )
    text = (_cue(1, body) + _cue(2, body)).replace("\n", "\r\n")
    path = tmp_path / "p4rtk_cp1252.srt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("cp1252"))
    assert sniff(path.read_bytes())
    rows = read(path)[0].rows
    assert len(rows) == 2
    assert (rows.gimbal_pitch_deg[0], rows.gimbal_yaw_deg[0], rows.yaw_deg[0]) == (
        -24.4,
        110.4,
        110.1,
    )
    assert rows.height_agl_m[0] == 85.8


def test_utf16_file(tmp_path):
    path = tmp_path / "u16.srt"
    path.write_bytes(_cue(1, "GPS(149.0251,-20.2533,16) BAROMETER:1.9").encode("utf-16"))
    assert sniff(path.read_bytes())
    assert read(path)[0].rows.lat[0] == -20.2533


def test_text_without_cues(tmp_path):
    path = tmp_path / "x.srt"
    path.write_text("GPS(149.0251,-20.2533,16) BAROMETER:1.9\n")
    with pytest.raises(FlightLogError, match="no SRT subtitles found"):
        read(path)


def test_mavic3_dialect_with_missing_values(tmp_path):
    body = (
        '<font size="28">FrameCnt: {n}, DiffTime: 20ms\n2024-05-01 09:00:00.{ms:03d}\n'
        "[iso: 100] [focal_len: 166.00] [latitude: {lat}] [longitude: 139.7] "
        "[rel_alt: nan abs_alt: 50.000] </font>"
    )
    text = _cue(1, body.format(n=1, ms=0, lat="35.6"))
    text += _cue(2, body.format(n=2, ms=20, lat="nan"))
    path = tmp_path / "m3.srt"
    path.write_text(text)
    rows = read(path)[0].rows
    assert rows.zoom[0] == pytest.approx(166 / 24)
    assert np.isnan(rows.lat[1]) and rows.lat[0] == 35.6
    assert rows.height_agl_m.isna().all() and rows.alt_msl_m.tolist() == [50.0, 50.0]

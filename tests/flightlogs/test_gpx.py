from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from flightlogs import FlightLogError, detect_format, read_flight_log
from flightlogs.gpx import read, sniff

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = DATA / "flightlogs" / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.gpx"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
GPX = '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'


def _point(lat, lon, time=None, ele=None):
    inner = (f"<ele>{ele}</ele>" if ele is not None else "") + (
        f"<time>{time}</time>" if time else ""
    )
    return f'<trkpt lat="{lat}" lon="{lon}">{inner}</trkpt>'


def _write(tmp_path: Path, body: str, name: str = "t.gpx", head: str = HEAD) -> Path:
    path = tmp_path / name
    path.write_text(head + GPX + body + "</gpx>")
    return path


@pytest.fixture(scope="module")
def real():
    return read_flight_log(REAL)


def test_real_gpx_is_detected():
    assert sniff(REAL.read_bytes()[:65536])
    assert detect_format(REAL) == "gpx"


def test_real_gpx_counts_and_first_point(real):
    samples, flights = real
    flight = flights.iloc[0]
    assert (flight.n_read, flight.n_samples, flight.n_rejected) == (10941, 10941, 0)
    assert flight.source_format == "gpx" and flight.height_ref == "unknown"
    assert "Airdata.com" in flight.notes
    first = samples.iloc[0]
    # <trkpt lon="-122.626623360638" lat="47.5726975932024"><ele>5.2937593</ele>
    # <time>2021-09-06T02:23:48.100Z</time>
    assert (first.lon, first.lat) == (-122.626623360638, 47.5726975932024)
    assert first.alt_msl_m == 5.2937593
    assert first.time == pd.Timestamp("2021-09-06T02:23:48.100Z")
    assert samples.time.iloc[-1] == pd.Timestamp("2021-09-06T02:44:42.400Z")
    assert samples.height_agl_m.isna().all() and samples.gimbal_pitch_deg.isna().all()
    assert samples.source_row.tolist() == list(range(1, 10942))


def test_real_gpx_times_keep_milliseconds(real):
    samples, _ = real
    # Times are written to the millisecond and fall on AirData's 100 ms grid.
    ms = samples.time.astype("int64") // 1_000_000
    assert (ms % 100 == 0).all()
    assert samples.time.diff().dropna().min() == pd.Timedelta(milliseconds=100)


def test_several_tracks_become_several_flights(tmp_path):
    path = _write(
        tmp_path,
        "<trk><trkseg>" + _point(35.6, 139.7, "2024-05-01T09:00:00Z", 40)
        + _point(35.6001, 139.7, "2024-05-01T09:00:01Z", 41) + "</trkseg><trkseg>"
        + _point(35.6002, 139.7, "2024-05-01T09:00:05Z") + "</trkseg></trk>"
        + "<trk><trkseg>" + _point(35.7, 139.8, "2024-05-01T10:00:00Z") + "</trkseg></trk>",
    )
    samples, flights = read_flight_log(path)
    assert flights.flight_id.tolist() == ["t_trk1", "t_trk2"]
    assert flights.n_samples.tolist() == [3, 1]
    # Segments of one track are joined in order; a point without <ele> has no altitude.
    first = samples[samples.flight_id == "t_trk1"]
    assert first.alt_msl_m.tolist()[:2] == [40.0, 41.0] and pd.isna(first.alt_msl_m.iloc[2])
    assert samples.source_row.tolist() == [1, 2, 3, 4]


def test_points_without_time_are_rejected_not_guessed(tmp_path):
    path = _write(
        tmp_path,
        "<trk><trkseg>" + _point(35.6, 139.7, "2024-05-01T09:00:00Z") + _point(35.6, 139.7)
        + "</trkseg></trk>",
    )
    _, flights = read_flight_log(path)
    assert flights.iloc[0].rejected_reasons == '{"no_time": 1}'


def test_no_track_points(tmp_path):
    path = _write(tmp_path, '<wpt lat="35.6" lon="139.7"/><rte><rtept lat="1" lon="2"/></rte>')
    with pytest.raises(FlightLogError, match=r"no track points .* 1 routes and 1 waypoints"):
        read(path)


@pytest.mark.parametrize(
    ("doctype", "entity"),
    [
        # Entity expansion ("billion laughs").
        ('<!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', "b"),
        # An external entity that would read a local file.
        ('<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "xxe"),
    ],
)
def test_document_type_declarations_are_refused(tmp_path, doctype, entity):
    body = f"<trk><name>&{entity};</name><trkseg>" + _point(1, 2, "2024-01-01T00:00:00Z")
    path = _write(tmp_path, body + "</trkseg></trk>", head=HEAD + doctype)
    with pytest.raises(FlightLogError) as err:
        read(path)
    assert "document type declaration" in str(err.value)
    assert "root:" not in str(err.value)


def test_broken_xml(tmp_path):
    path = tmp_path / "broken.gpx"
    path.write_text(HEAD + GPX + "<trk><trkseg>")
    with pytest.raises(FlightLogError, match="not well-formed XML"):
        read(path)

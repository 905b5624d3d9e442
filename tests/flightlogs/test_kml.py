from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from flightlogs import FlightLogError, detect_format, kml, read_flight_log
from flightlogs.kml import read, sniff

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
REAL = DATA / "flightlogs" / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.kml"
KML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2" '
    'xmlns:gx="http://www.google.com/kml/ext/2.2"><Document>{}</Document></kml>'
)
TRACK = (
    "<Placemark><name>flight A</name><gx:Track><altitudeMode>{mode}</altitudeMode>"
    "<when>2024-05-01T09:00:00Z</when><when>2024-05-01T09:00:01.5Z</when>"
    "<when>2024-05-01T18:00:02+09:00</when>"
    "<gx:coord>139.7 35.6 50</gx:coord><gx:coord>139.7001 35.6 51.5</gx:coord>"
    "<gx:coord>139.7002 35.6 52</gx:coord>"
    "<gx:angles>-10 0 0</gx:angles><gx:angles>350 0 0</gx:angles><gx:angles>0 0 0</gx:angles>"
    "</gx:Track></Placemark>"
)


def _write(tmp_path: Path, body: str, name: str = "t.kml") -> Path:
    path = tmp_path / name
    path.write_text(KML.format(body))
    return path


def _kmz(tmp_path: Path, entries: dict[str, str], name: str = "t.kmz") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, text in entries.items():
            archive.writestr(entry, text)
    return path


def test_real_kml_is_detected_and_read():
    assert sniff(REAL.read_bytes()[:65536]) and detect_format(REAL) == "kml"
    samples, flights = read_flight_log(REAL)
    flight = flights.iloc[0]
    # 2,284 LineString vertices; the "Home" Point placemark is not a track.
    assert (flight.n_read, flight.n_samples) == (2284, 2284)
    first = samples.iloc[0]
    assert (first.lon, first.lat, first.alt_msl_m) == (
        -122.626623360638, 47.5726975932024, 5.2937593
    )
    assert samples.height_agl_m.isna().all() and flight.height_ref == "unknown"
    # No times in a LineString: placeholders 1 s apart from 1970, said in the notes.
    assert samples.time.iloc[0] == pd.Timestamp("1970-01-01T00:00:00Z")
    assert samples.time.iloc[-1] == pd.Timestamp("1970-01-01T00:38:03Z")
    assert "placeholder times" in flight.notes and "altitudeMode absolute" in flight.notes


def test_gx_track_times_positions_and_heading(tmp_path):
    path = _write(tmp_path, TRACK.format(mode="absolute"))
    samples, flights = read_flight_log(path)
    # The third <when> is in Japan time (+09:00): the same instant as 09:00:02Z.
    assert samples.time.tolist() == list(
        pd.to_datetime(["2024-05-01T09:00:00Z", "2024-05-01T09:00:01.5Z",
                        "2024-05-01T09:00:02Z"], utc=True, format="ISO8601")
    )
    assert samples.lon.tolist() == [139.7, 139.7001, 139.7002]
    assert samples.alt_msl_m.tolist() == [50.0, 51.5, 52.0]
    assert samples.yaw_deg.tolist() == [350.0, 350.0, 0.0]  # heading wrapped to [0, 360)
    assert "flight A" in flights.iloc[0].notes


def test_relative_to_ground_and_clamped(tmp_path):
    samples, flights = read_flight_log(_write(tmp_path, TRACK.format(mode="relativeToGround")))
    assert samples.height_agl_m.tolist() == [50.0, 51.5, 52.0]
    assert flights.iloc[0].height_ref == "ground" and samples.alt_msl_m.isna().all()
    samples, flights = read_flight_log(
        _write(tmp_path, TRACK.format(mode="clampToGround"), "c.kml")
    )
    assert samples.alt_msl_m.isna().all() and samples.height_agl_m.isna().all()


def test_multitrack_and_several_placemarks(tmp_path):
    one = TRACK.format(mode="absolute").replace("<gx:Track>", "<gx:MultiTrack><gx:Track>")
    one = one.replace("</gx:Track>", "</gx:Track></gx:MultiTrack>")
    line = (
        "<Placemark><TimeSpan><begin>2024-05-01T10:00:00Z</begin>"
        "<end>2024-05-01T10:00:10Z</end></TimeSpan><LineString>"
        "<coordinates>139.8,35.7,10 139.8001,35.7,11\n139.8002,35.7,12</coordinates>"
        "</LineString></Placemark>"
        '<Placemark><name>Home</name><Point><coordinates>139.8,35.7,0</coordinates></Point>'
        "</Placemark>"
    )
    samples, flights = read_flight_log(_write(tmp_path, one + line))
    assert flights.flight_id.tolist() == ["t_1", "t_2"]
    second = samples[samples.flight_id == "t_2"]
    # A TimeSpan spreads the vertices evenly; clampToGround (the default) keeps no altitude.
    assert second.time.tolist() == list(
        pd.to_datetime(["2024-05-01T10:00:00Z", "2024-05-01T10:00:05Z",
                        "2024-05-01T10:00:10Z"], utc=True)
    )
    assert second.alt_msl_m.isna().all()
    assert "TimeSpan" in flights.iloc[1].notes
    assert samples.source_row.tolist() == [1, 2, 3, 4, 5, 6]


def test_track_count_mismatch_and_no_track(tmp_path):
    bad = TRACK.format(mode="absolute").replace("<when>2024-05-01T09:00:00Z</when>", "")
    with pytest.raises(FlightLogError, match="2 <when> and 3 <gx:coord>"):
        read(_write(tmp_path, bad))
    only_point = "<Placemark><Point><coordinates>1,2,0</coordinates></Point></Placemark>"
    with pytest.raises(FlightLogError, match=r"no track in the KML .* 1 placemarks"):
        read(_write(tmp_path, only_point, "p.kml"))


def test_entities_are_refused(tmp_path):
    path = tmp_path / "x.kml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name>'
        "<LineString><coordinates>1,2 3,4</coordinates></LineString></Placemark></kml>"
    )
    with pytest.raises(FlightLogError, match="document type declaration"):
        read(path)


def test_kmz_reads_doc_kml_only(tmp_path):
    path = _kmz(
        tmp_path,
        {"doc.kml": KML.format(TRACK.format(mode="absolute")), "files/icon.png": "not read"},
    )
    assert sniff(path.read_bytes()[:4096]) and detect_format(path) == "kml"
    samples, flights = read_flight_log(path)
    assert len(samples) == 3 and flights.iloc[0].source_format == "kml"


@pytest.mark.parametrize("name", ["../evil.kml", "/etc/evil.kml", "a/../../evil.kml",
                                  "C:/evil.kml"])
def test_kmz_with_unsafe_names_is_refused(tmp_path, name):
    path = _kmz(tmp_path, {"doc.kml": KML.format(""), name: "x"})
    with pytest.raises(FlightLogError, match="unsafe entry names"):
        read(path)


def test_kmz_size_bound(tmp_path, monkeypatch):
    path = _kmz(tmp_path, {"doc.kml": KML.format(TRACK.format(mode="absolute"))})
    monkeypatch.setattr(kml, "MAX_UNCOMPRESSED_BYTES", 200)
    with pytest.raises(FlightLogError, match="zip bomb"):
        read(path)


def test_kmz_without_kml(tmp_path):
    path = _kmz(tmp_path, {"files/doc.kml": "x", "readme.txt": "y"})
    with pytest.raises(FlightLogError, match=r"without a \.kml document at its top level"):
        read(path)
    broken = tmp_path / "b.kmz"
    broken.write_bytes(b"PK\x03\x04" + bytes(40))
    with pytest.raises(FlightLogError, match="not a readable KMZ"):
        read(broken)

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import ExifTags, Image

from flightlogs import FlightLogError, detect_format, read_flight_log, read_photo_folder
from flightlogs.photos import read_json, sniff_jpeg, sniff_json

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "flightlogs" / "photos"
JSONS = sorted(PHOTOS.glob("*.json"))
DJI_XMP = (
    '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:AbsoluteAltitude="+160.25" '
    'drone-dji:RelativeAltitude="+80.10" drone-dji:GimbalRollDegree="+0.00" '
    'drone-dji:GimbalYawDegree="-90.50" drone-dji:GimbalPitchDegree="-45.30" '
    'drone-dji:FlightRollDegree="+1.10" drone-dji:FlightYawDegree="-91.20" '
    'drone-dji:FlightPitchDegree="-2.00"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def _dji_jpeg(path: Path, *, when: str = "2024:05:01 18:00:00", offset: str | None = "+09:00",
              serial: str | None = None, xmp: str | None = DJI_XMP) -> Path:
    """A tiny JPEG with the EXIF and XMP a DJI Mini 3 Pro writes (values chosen by hand)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "DJI", "FC3582"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (35.0, 40.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", (139.0, 45.0, 36.0)
    gps[ExifTags.GPS.GPSAltitudeRef], gps[ExifTags.GPS.GPSAltitude] = 0, 155.0
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    ifd[ExifTags.Base.DateTimeOriginal] = when
    if offset:
        ifd[ExifTags.Base.OffsetTimeOriginal] = offset
    ifd[ExifTags.Base.FocalLength] = 6.72
    ifd[ExifTags.Base.FocalLengthIn35mmFilm] = 24
    ifd[ExifTags.Base.DigitalZoomRatio] = 2.0
    if serial:
        ifd[ExifTags.Base.BodySerialNumber] = serial
    extra = {"xmp": xmp.encode()} if xmp else {}
    Image.new("RGB", (40, 30), (90, 120, 60)).save(path, "JPEG", exif=exif, **extra)
    return path


# Real files


@pytest.mark.parametrize("path", JSONS, ids=lambda p: p.name)
def test_every_json_extract_is_read_with_pitch_below_the_horizon(path):
    assert detect_format(path) == "photo_json"
    samples, flights = read_flight_log(path)
    raw = json.loads(path.read_text())
    stored = float(raw.get("drone:GimbalPitchDegree", raw.get("GimbalPitchDegree")))
    sample = samples.iloc[0]
    # Every extract here stores a positive depression angle (OpenAthena's convention).
    assert stored > 0
    assert sample.gimbal_pitch_deg == -stored
    assert sample.lat == float(raw["GPS Latitude"]) and sample.lon == float(raw["GPS Longitude"])
    assert sample.alt_msl_m == float(raw["GPS Altitude"])
    assert bool(sample.capturing) and pd.notna(sample.time)
    assert "negated" in flights.iloc[0].notes


def test_json_extracts_hand_checked():
    samples, flights = read_flight_log(PHOTOS / "image4.json")
    s, f = samples.iloc[0], flights.iloc[0]
    # "drone:GimbalPitchDegree": "88.829998": nearly straight down.
    assert s.gimbal_pitch_deg == pytest.approx(-88.829998)
    assert s.gimbal_yaw_deg == pytest.approx(97.949994)
    assert s.focal_length_mm == pytest.approx(4.49, abs=1e-6) and s.zoom == 1.0
    assert s.time == pd.Timestamp("2025-06-06T20:22:25Z")  # "Date/TimeDate Original"
    assert (f.vendor, f.model) == ("Autel Robotics", "Autel Robotics XL715")
    assert "8000 x 6000 px" in f.notes and "taken as UTC" in f.notes
    samples, flights = read_flight_log(PHOTOS / "dji0419-fisheye.json")
    assert flights.iloc[0].model == "DJI Mavic 2 Enterprise Zoom"  # from its "Comment"
    assert "ORTHOMETRIC" in flights.iloc[0].notes
    samples, _ = read_flight_log(PHOTOS / "image2.json")
    assert samples.time.iloc[0] == pd.Timestamp("2026-01-25T21:28:43.456Z")  # timestamp_8601


def test_tiny_jpegs_hand_checked():
    path = PHOTOS / "tiny_drone_image.jpg"
    assert detect_format(path) == "photo_jpeg"
    samples, flights = read_flight_log(path)
    s, f = samples.iloc[0], flights.iloc[0]
    # GPS 41° 13' 34.93182" N, 81° 42' 19.80392" W, 438.19 m.
    assert s.lat == pytest.approx(41 + 13 / 60 + 34.93181999840141 / 3600, abs=1e-12)
    assert s.lon == pytest.approx(-(81 + 42 / 60 + 19.803924003476965 / 3600), abs=1e-12)
    assert s.alt_msl_m == pytest.approx(438.18859649122805)
    # senseFly XMP: Camera:Pitch 2.36 (0 = nadir), so 87.64 degrees below the horizon.
    assert s.gimbal_pitch_deg == pytest.approx(2.360064983367920 - 90)
    assert s.gimbal_roll_deg == pytest.approx(6.698935508728027)
    assert s.gimbal_yaw_deg == pytest.approx(274.931243896484375)
    assert s.focal_length_mm == 5.2 and s.time == pd.Timestamp("2015-07-31T14:32:14Z")
    assert (f.vendor, f.model) == ("senseFly", "Canon PowerShot S110")
    assert "taken as UTC" in f.notes and "48 x 36 px" in f.notes


def test_real_photo_folder_groups_by_camera_and_time():
    samples, flights = read_photo_folder([PHOTOS])
    # The two senseFly photos, 4 s apart, make one flight; the extracts are one each.
    pair = flights[flights.flight_id == "tiny_drone_image..tiny_drone_image_2"].iloc[0]
    assert pair.n_samples == 2 and pair.source_format == "photos"
    assert len(flights) == 9 and flights.n_samples.sum() == len(samples) == 10
    track = samples[samples.flight_id == pair.flight_id]
    assert track.source_row.tolist() == [1, 2]
    assert (track.time.diff().dropna() == pd.Timedelta(seconds=4)).all()
    digests = [hashlib.sha256(p.read_bytes()).hexdigest()
               for p in (PHOTOS / "tiny_drone_image.jpg", PHOTOS / "tiny_drone_image_2.jpg")]
    assert pair.sha256 == hashlib.sha256("\n".join(digests).encode()).hexdigest()


# Hand-made photos


def test_dji_jpeg_exif_and_xmp(tmp_path):
    path = _dji_jpeg(tmp_path / "DJI_0001.JPG", serial="5YSZK8A00123")
    assert sniff_jpeg(path.read_bytes()[:4096])
    samples, flights = read_flight_log(path)
    s, f = samples.iloc[0], flights.iloc[0]
    assert (s.lat, s.lon) == (35 + 40 / 60 + 30 / 3600, 139 + 45 / 60 + 36 / 3600)
    # 18:00 at +09:00 is 09:00 UTC.
    assert s.time == pd.Timestamp("2024-05-01T09:00:00Z")
    # XMP altitudes win over the EXIF GPS altitude (155 m).
    assert (s.alt_msl_m, s.height_agl_m, s.height_ref) == (160.25, 80.1, "takeoff")
    assert (s.gimbal_pitch_deg, s.gimbal_roll_deg) == (-45.3, 0.0)
    assert (s.gimbal_yaw_deg, s.yaw_deg) == (269.5, pytest.approx(268.8))
    assert (s.focal_length_mm, s.zoom) == (6.72, 2.0)
    assert (f.drone_id, f.vendor, f.model) == ("5YSZK8A00123", "DJI", "DJI Mini 3 Pro")
    assert "24 mm" in f.notes


def test_jpeg_without_offset_or_xmp(tmp_path):
    path = _dji_jpeg(tmp_path / "a.jpg", offset=None, xmp=None)
    samples, flights = read_flight_log(path)
    s = samples.iloc[0]
    assert s.time == pd.Timestamp("2024-05-01T18:00:00Z")
    assert "taken as UTC" in flights.iloc[0].notes
    assert (s.alt_msl_m, s.height_ref) == (155.0, "unknown")
    assert pd.isna(s.gimbal_pitch_deg) and pd.isna(s.height_agl_m)


def test_xmp_with_entities_is_refused(tmp_path):
    evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + DJI_XMP
    path = _dji_jpeg(tmp_path / "evil.jpg", xmp=evil)
    with pytest.raises(FlightLogError, match="XMP metadata with a DTD or entities"):
        read_flight_log(path)


def test_jpeg_without_gps(tmp_path):
    path = tmp_path / "plain.jpg"
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    Image.new("RGB", (8, 8)).save(path, "JPEG", exif=exif)
    with pytest.raises(FlightLogError, match="no GPS position in the photo metadata"):
        read_flight_log(path)


def test_json_without_openathena_markers_keeps_dji_sign(tmp_path):
    path = tmp_path / "exif.json"
    path.write_text(json.dumps({
        "GPSLatitude": 35.6, "GPSLongitude": 139.7, "GimbalPitchDegree": "-30.5",
        "RelativeAltitude": "+55.0", "DateTimeOriginal": "2024:05:01 10:00:00",
    }))
    assert sniff_json(path.read_bytes())
    log = read_json(path)[0]
    assert log.rows.gimbal_pitch_deg[0] == -30.5 and log.height_ref == "takeoff"
    assert any("as DJI writes it" in n for n in log.notes)


def test_json_list_is_put_in_time_order(tmp_path):
    path = tmp_path / "exiftool.json"
    path.write_text(json.dumps([
        {"GPSLatitude": 35.6001, "GPSLongitude": 139.7, "DateTimeOriginal": "2024:05:01 10:00:05"},
        {"GPSLatitude": 35.6, "GPSLongitude": 139.7, "DateTimeOriginal": "2024:05:01 10:00:00"},
    ]))
    samples, flights = read_flight_log(path)
    assert samples.lat.tolist() == [35.6, 35.6001]
    assert samples.source_row.tolist() == [2, 1] and flights.iloc[0].n_rejected == 0


def test_json_errors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"GPS Latitude": "33 deg 50\' N", "GPS Longitude": "-84.5"}')
    with pytest.raises(FlightLogError, match=r"GPS Latitude .* is not a number"):
        read_json(path)
    path.write_text('{"GPS Latitude": "33.8", "GPS Longitude": "-84.5", "timestamp_8601": "x"}')
    with pytest.raises(FlightLogError, match="capture time 'x' not understood"):
        read_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(FlightLogError, match="expected a JSON object"):
        read_json(path)


def test_folder_splits_on_camera_and_pause(tmp_path):
    # Camera A: three photos 2 s apart, then one 20 minutes later; camera B: one photo.
    for name, when, serial in [
        ("DJI_0001.JPG", "2024:05:01 18:00:00", "A"),
        ("DJI_0002.JPG", "2024:05:01 18:00:02", "A"),
        ("DJI_0003.JPG", "2024:05:01 18:00:04", "A"),
        ("DJI_0004.JPG", "2024:05:01 18:20:04", "A"),
        ("DJI_0100.JPG", "2024:05:01 18:00:01", "B"),
    ]:
        _dji_jpeg(tmp_path / name, when=when, serial=serial)
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "sub").mkdir()
    shutil.copy(PHOTOS / "image1.json", tmp_path / "sub" / "image1.json")
    samples, flights = read_photo_folder([tmp_path])
    assert sorted(flights.flight_id) == sorted(
        ["DJI_0001..DJI_0003", "DJI_0004", "DJI_0100", "image1"]
    )
    first = flights.set_index("flight_id").loc["DJI_0001..DJI_0003"]
    assert (first.n_samples, first.drone_id) == (3, "A")
    assert "3 photos: DJI_0001.JPG to DJI_0003.JPG" in first.notes
    assert flights.n_samples.sum() == len(samples) == 6
    # A smaller gap limit cuts the first flight into single photos.
    _, flights = read_photo_folder([tmp_path], max_gap_s=1.0)
    assert len(flights) == 6


def test_folder_lists_every_unreadable_photo(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe1 truncated")
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(FlightLogError) as err:
        read_photo_folder([tmp_path])
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and all(str(tmp_path) in line for line in lines)
    with pytest.raises(FlightLogError, match="no photo files given"):
        read_photo_folder([])

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exposure.cameras import (
    Camera,
    camera_for_model,
    focal_lengths,
    focal_sources,
    load_cameras,
    per_sample_cameras,
)
from exposure.errors import CameraError

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PHOTOS = DATA / "flightlogs" / "photos"


@pytest.fixture(scope="module")
def cams() -> dict[str, Camera]:
    return load_cameras()


def test_catalogue_has_ten_sourced_cameras_with_zoom_and_thermal(cams):
    assert len(cams) >= 10
    assert sum(c.focal_max_mm > 2 * c.focal_min_mm for c in cams.values()) >= 3
    assert any(c.kind == "thermal" for c in cams.values())
    for cam in cams.values():
        assert cam.kind in ("visible", "thermal")
        assert len(cam.source) > 20, cam.key  # a real citation, not a placeholder
        assert 0 < cam.focal_min_mm <= cam.focal_max_mm


def test_crop_factor_and_equivalent_focal_by_hand(cams):
    wide = cams["dji_mavic3_wide"]
    # 17.3 x 13.0 mm: diagonal 21.64 mm, crop factor 43.27 / 21.64 = 2.0.
    assert wide.diagonal_mm == pytest.approx(21.640, abs=1e-3)
    assert wide.crop_factor == pytest.approx(2.0, abs=1e-3)
    assert float(wide.focal_from_equivalent(24.0)) == pytest.approx(24 * 21.640 / 43.27, rel=1e-4)
    # The Mini 3/4 Pro (9.6 x 7.2 mm, diagonal 12 mm) at 24 mm eq. is 6.66 mm, its 6.72 mm lens.
    assert float(cams["dji_mini3pro"].focal_from_equivalent(24.0)) == pytest.approx(6.656, abs=1e-3)


def test_focal_per_sample_real_zoom_and_default(cams):
    h20 = cams["dji_h20_zoom"]  # 7.6 x 5.7 mm (diagonal 9.5), 6.83-119.9 mm
    s = pd.DataFrame(
        {
            "focal_length_mm": [50.0, 300.0, np.nan, np.nan, np.nan, np.nan],
            "zoom": [np.nan, np.nan, 10.0, 40.0, 0.5, np.nan],
        }
    )
    f = focal_lengths(s, h20)
    assert f.tolist() == pytest.approx([50.0, 119.9, 10 * 24 * 9.5 / 43.27, 119.9, 6.83, 6.83])
    assert focal_lengths(s, h20, worst_case=True).tolist() == [119.9] * 6
    assert focal_sources(s).tolist() == [
        "logged focal length",
        "logged focal length",
        "logged zoom",
        "logged zoom",
        "logged zoom",
        "widest (not logged)",
    ]
    assert set(focal_sources(s, worst_case=True)) == {"longest (worst case)"}


def test_srt_zoom_on_a_fixed_lens_stays_at_its_focal(cams):
    # A Mavic 3 SRT writes focal_len 24 (zoom 1) for the wide camera; its lens does not zoom.
    s = pd.DataFrame({"zoom": [1.0, 7.0]})
    assert focal_lengths(s, cams["dji_mavic3_wide"]).tolist() == [12.29, 12.29]


def test_focal_without_focal_columns_and_per_flight(cams):
    s = pd.DataFrame({"flight_id": ["a", "b", "a"]})
    per = {"a": cams["dji_h20_zoom"], "b": cams["dji_mini2"]}
    assert focal_lengths(s, per).tolist() == [6.83, 4.49, 6.83]
    assert focal_lengths(s, per, worst_case=True).tolist() == [119.9, 4.49, 119.9]
    table = per_sample_cameras(s, per)
    assert table["camera"].tolist() == ["dji_h20_zoom", "dji_mini2", "dji_h20_zoom"]
    assert table["pixel_pitch_mm"].iloc[1] == pytest.approx(6.17 / 4000)


def test_a_flight_without_camera_is_named(cams):
    s = pd.DataFrame({"flight_id": ["a", "zz"]})
    with pytest.raises(CameraError, match="zz"):
        focal_lengths(s, {"a": cams["dji_mini2"]})


def test_focal_lengths_do_not_alter_samples(cams):
    s = pd.DataFrame({"flight_id": ["a"], "zoom": [3.0], "focal_length_mm": [np.nan]})
    before = s.copy()
    focal_lengths(s, cams["dji_h20_zoom"])
    pd.testing.assert_frame_equal(s, before)


@given(
    real=st.floats(0.1, 500) | st.just(math.nan),
    zoom=st.floats(0.1, 200) | st.just(math.nan),
    key=st.sampled_from(sorted(load_cameras())),
)
def test_focal_is_always_within_the_optical_range(real, zoom, key):
    cam = load_cameras()[key]
    s = pd.DataFrame({"focal_length_mm": [real], "zoom": [zoom]})
    f = focal_lengths(s, cam)[0]
    assert cam.focal_min_mm <= f <= cam.focal_max_mm
    assert focal_lengths(s, cam, worst_case=True)[0] >= f


TOML = """
[[camera]]
key = "my_tele"
vendor = "Acme"
models = ["Acme Hawk", "Hawk 2"]
sensor_width_mm = 6.4
sensor_height_mm = 4.8
image_width_px = 4000
image_height_px = 3000
focal_min_mm = 10
focal_max_mm = 80
kind = "visible"
source = "Acme Hawk datasheet, 2024"

[[camera]]
key = "dji_mini2"
vendor = "DJI"
models = ["Mini 2"]
sensor_width_mm = 6.3
sensor_height_mm = 4.7
image_width_px = 4000
image_height_px = 3000
focal_min_mm = 4.5
focal_max_mm = 4.5
kind = "visible"
source = "own measurement"
"""


def test_toml_extends_and_overrides(tmp_path):
    path = tmp_path / "cams.toml"
    path.write_text(TOML, encoding="utf-8")
    cams = load_cameras(extra=path)
    assert cams["my_tele"].models == ("Acme Hawk", "Hawk 2")
    assert cams["my_tele"].focal_max_mm == 80.0
    assert cams["dji_mini2"].source == "own measurement"
    assert camera_for_model("ACME HAWK", cams) == "my_tele"
    assert len(cams) == len(load_cameras()) + 1


def test_bad_toml_reports_every_problem_with_where(tmp_path):
    bad = TOML.replace("focal_min_mm = 10", "focal_min_mm = 100").replace(
        'sensor_width_mm = 6.3', 'sensor_width_mm = "wide"'
    ).replace('source = "own measurement"\n', "")
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(CameraError) as err:
        load_cameras(extra=path)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert lines[0] == f"{path} camera 1: focal_min_mm 100 is above focal_max_mm 80"
    assert "camera 2: missing source" in lines[1]
    assert "camera 2: sensor_width_mm is 'wide', expected a number" in lines[2]


def test_bad_csv_and_unknown_file_type(tmp_path):
    csv_path = tmp_path / "c.csv"
    csv_path.write_text("key,vendor\nx,y\n", encoding="utf-8")
    with pytest.raises(CameraError, match=r"c\.csv: missing columns models"):
        load_cameras(extra=csv_path)
    other = tmp_path / "c.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(CameraError, match=r"expected a \.csv or \.toml"):
        load_cameras(extra=other)
    with pytest.raises(CameraError, match="cannot read"):
        load_cameras(extra=tmp_path / "absent.csv")


def test_csv_row_problems_name_the_row(tmp_path):
    header = (
        "key,vendor,models,sensor_width_mm,sensor_height_mm,image_width_px,image_height_px,"
        "focal_min_mm,focal_max_mm,kind,source\n"
    )
    rows = "a,V,A,6,4,4000,3000,5,5,visible,s\nb,V,B,6,4,4000.5,3000,5,5,infrared,s\n"
    path = tmp_path / "extra.csv"
    path.write_text(header + rows, encoding="utf-8")
    with pytest.raises(CameraError) as err:
        load_cameras(extra=path)
    lines = str(err.value).splitlines()
    assert [line.split(":")[0] for line in lines] == [f"{path} row 3"] * 2
    assert "image_width_px is 4000.5, expected a whole number" in lines[0]
    assert "kind is 'infrared'" in lines[1]


def test_photo_camera_models_are_in_the_catalogue(cams):
    models = {}
    for path in sorted(PHOTOS.glob("*.json")):
        meta = json.loads(path.read_text(encoding="utf-8"))
        model = meta.get("tiff:Model") or meta.get("Camera Model")
        if model in ("FC8482", "FC2204"):
            models[path.name] = camera_for_model(model, cams)
    assert models["image1.json"] == "dji_mini3pro"
    assert models["dji0419-fisheye.json"] == "dji_mavic2_zoom"
    # The catalogue's figures agree with the capture: 4.386 mm is 24 mm equivalent.
    m2 = cams["dji_mavic2_zoom"]
    assert float(m2.focal_from_equivalent(24.0)) == pytest.approx(4.386, abs=0.01)

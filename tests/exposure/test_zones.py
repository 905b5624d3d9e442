"""Zone proposals, their file formats, violations and what-ifs."""

import json
import math
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import sites
from exposure.cameras import load_cameras
from exposure.nofly import plan_zones, whatif_zones
from exposure.violations import violations
from exposure.zones_io import to_ed269, to_ed318, to_geojson, to_kml
from flightlogs.schema import make_flights, make_samples
from sites.schema import make_sites

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def plants():
    catalogue = sites.bundled("japan")
    return catalogue[catalogue["category"] == "nuclear"].head(3).reset_index(drop=True)


@pytest.fixture(scope="module")
def zones(plants):
    return plan_zones(plants, load_cameras())


def _area(frame):
    return frame.to_crs(frame.estimate_utm_crs()).area.to_numpy()


@pytest.mark.parametrize(
    ("writer", "suffix", "options"),
    [
        (to_ed269, ".json", {}),
        (to_ed318, ".geojson", {}),
        (to_kml, ".kml", {"category": "other"}),
        (to_geojson, ".geojson", {"category": "other"}),
    ],
)
def test_zone_files_round_trip_through_the_site_readers(zones, tmp_path, writer, suffix, options):
    path = tmp_path / f"zones{suffix}"
    path.write_text(writer(zones))
    back = sites.read_any(path, **options)
    assert len(back) == len(zones)
    assert (back["floor_m"] == 0).all() and (back["ceiling_m"] == 150).all()
    assert (back["vertical_ref"] == "AGL").all()
    assert (back["restriction"] == "PROHIBITED").all()
    np.testing.assert_allclose(np.sort(_area(back)), np.sort(_area(zones)), rtol=5e-3)


def test_ed269_and_ed318_follow_the_structure_of_the_published_samples(zones):
    sample = json.loads((DATA / "geozones" / "cis_source_sample_ed269.json").read_text())
    ours = json.loads(to_ed269(zones))
    assert set(sample) <= set(ours)
    ref_zone, zone = sample["UASZoneList"][0], ours["UASZoneList"][0]
    assert set(ref_zone) <= set(zone)
    assert set(ref_zone["geometry"][0]) == set(zone["geometry"][0])
    assert zone["reason"] == ["SENSITIVE"] and zone["restriction"] == "PROHIBITED"
    ref318 = json.loads((DATA / "geozones" / "cis_source_sample_ed318.json").read_text())
    f318 = json.loads(to_ed318(zones))["features"][0]
    assert set(ref318["features"][0]["geometry"]["layer"]) == set(f318["geometry"]["layer"])
    assert {"identifier", "country", "name", "type", "variant", "reason"} <= set(f318["properties"])


def test_a_plant_zone_is_the_worst_zoom_cameras_niirs5_distance(plants, zones):
    # Nuclear policy: deny NIIRS 5 to the worst catalogue camera over 30-150 m.
    assert (zones["niirs_denied"] == 5).all()
    assert (zones["buffer_m"] > 10_000).all()
    legal = plan_zones(plants, load_cameras(), distance_m=300)
    assert (_area(zones) > 100 * _area(legal)).all()


def _one_flight(lon, lat, *, start="2024-06-17T10:00:00Z", height=50.0, flight_id="f", **cols):
    n = len(lon)
    samples = make_samples(
        pd.DataFrame(
            {
                "flight_id": flight_id,
                "time": pd.date_range(start, periods=n, freq="s"),
                "lon": lon,
                "lat": lat,
                "height_agl_m": height,
                "height_ref": "takeoff",
                **cols,
            }
        )
    )
    flights = make_flights(
        pd.DataFrame(
            {
                "flight_id": [flight_id],
                "drone_id": ["SN1"],
                "camera": ["dji_mavic3_wide"],
                "source_path": ["m"],
                "source_format": ["t"],
                "n_read": [n],
                "n_samples": [n],
                "n_rejected": [0],
            }
        ),
        samples=samples,
    )
    return samples, flights


def _circle_zone(lon, lat, radius, *, ceiling=120.0, schedule=None):
    lons, lats, _ = GEOD.fwd(
        np.full(256, lon),
        np.full(256, lat),
        np.linspace(0, 360, 256, endpoint=False),
        np.full(256, radius),
    )
    return make_sites(
        gpd.GeoDataFrame(
            {
                "site_id": ["z"],
                "name": ["Circle"],
                "category": ["other"],
                "floor_m": [0.0],
                "ceiling_m": [ceiling],
                "vertical_ref": ["AGL"],
                "schedule": [schedule],
            },
            geometry=[shapely.Polygon(np.column_stack([lons, lats]))],
            crs=4326,
        )
    )


def _line_past(lon, lat, offset_m, *, speed=10.0, half_length=1000.0):
    """A north-bound line passing offset_m east of (lon, lat), 1 sample per second."""
    x0, y0, _ = GEOD.fwd(lon, lat, 90, offset_m)
    d = np.arange(-half_length, half_length + 1, speed)
    lons, lats, _ = GEOD.fwd(
        np.full(len(d), x0), np.full(len(d), y0), np.where(d < 0, 180, 0), np.abs(d)
    )
    return lons, lats


def test_a_flight_grazing_a_circle_zone(tmp_path):
    zone = _circle_zone(138.0, 36.0, 500.0)
    samples, flights = _one_flight(*_line_past(138.0, 36.0, 490.0))
    episodes, _ = violations(samples, flights, zone)
    assert len(episodes) == 1
    e = episodes.iloc[0]
    # Chord: 2·sqrt(500² − 490²) = 199 m at 10 m/s = 19.9 s; sampled every second, the first
    # and last samples inside lie up to one second within each end of the chord.
    chord_s = 2 * math.sqrt(500**2 - 490**2) / 10
    assert chord_s - 2 <= e["duration_s"] <= chord_s
    assert e["max_penetration_m"] == pytest.approx(10.0, abs=0.5)
    assert e["max_height_m"] == 50 and e["n_height_unknown"] == 0
    # 10 m farther out it never enters.
    samples2, flights2 = _one_flight(*_line_past(138.0, 36.0, 510.0))
    assert violations(samples2, flights2, zone)[0].empty


def test_a_flight_above_the_ceiling_is_no_violation():
    zone = _circle_zone(138.0, 36.0, 500.0, ceiling=120.0)
    samples, flights = _one_flight(*_line_past(138.0, 36.0, 0.0), height=150.0)
    assert violations(samples, flights, zone)[0].empty
    low, flights = _one_flight(*_line_past(138.0, 36.0, 0.0), height=100.0)
    assert len(violations(low, flights, zone)[0]) == 1


def test_a_zone_active_only_on_weekdays():
    weekdays = sites.schedule.from_applicability(
        [
            {
                "schedule": [
                    {
                        "day": ["MON", "TUE", "WED", "THU", "FRI"],
                        "startTime": "00:00:00Z",
                        "endTime": "00:00:00Z",
                    }
                ]
            }
        ]
    )
    zone = _circle_zone(138.0, 36.0, 500.0, schedule=weekdays)
    line = _line_past(138.0, 36.0, 0.0)
    monday, f1 = _one_flight(*line, start="2024-06-17T10:00:00Z")
    saturday, f2 = _one_flight(*line, start="2024-06-15T10:00:00Z")
    assert len(violations(monday, f1, zone)[0]) == 1
    assert violations(saturday, f2, zone)[0].empty


def test_whatif_zone_over_a_site_prevents_what_was_flown_inside_it():
    site = _circle_zone(138.0, 36.0, 100.0).assign(site_id="plant", category="nuclear")
    site = make_sites(site)
    # One flight crosses the site looking straight down; another passes 2 km away with no
    # logged pose (potential: it could have looked, but only coarsely).
    inside, f1 = _one_flight(
        *_line_past(138.0, 36.0, 0.0, half_length=200), flight_id="in", gimbal_pitch_deg=-90.0
    )
    outside, f2 = _one_flight(*_line_past(138.0, 36.0, 2000.0, half_length=200), flight_id="out")
    samples = pd.concat([inside, outside], ignore_index=True)
    flights = pd.concat([f1, f2], ignore_index=True)
    zone = _circle_zone(138.0, 36.0, 300.0, ceiling=np.nan)
    table, _ = whatif_zones(samples, flights, site, {"z300": zone})
    row = table.iloc[0]
    assert row["coverage_fraction_niirs5"] > 0 and row["z300_coverage_fraction_niirs5"] == 0
    assert row["z300_prevented_share"] == 1.0
    # The whole 400 m crossing (41 samples, one per 10 m) lies inside the 300 m circle.
    assert row["z300_samples_removed"] == 41
    # The far flight still has the site within reach: time in view remains.
    assert 0 < row["z300_seconds_in_view"] < row["seconds_in_view"]


def _cli(*args):
    script = Path(sys.executable).parent / "exposure"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=600)


def test_cli_plan_and_check_on_the_real_swiss_zones(tmp_path):
    out = tmp_path / "zones.json"
    result = _cli("nofly", "plan", "--sites", "bundled:japan", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len(json.loads(out.read_text())["UASZoneList"]) == 850
    episodes = tmp_path / "episodes.csv"
    ulg = DATA / "flightlogs" / "px4" / "sample_logging_tagged_and_default_params.ulg"
    result = _cli(
        "nofly",
        "check",
        "--logs",
        str(ulg),
        "--zones",
        str(DATA / "geozones" / "SwissGeozones_ED318_Testdaten.zip"),
        "--out",
        str(episodes),
    )
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(episodes)
    # The simulator sits on the ground inside the Zürich control zone, whose floor is 120 m AGL:
    # only the samples without a height are counted (and flagged).
    assert set(table["zone_name"]) >= {"CTR ZURICH 1"}
    assert (table["n_height_unknown"] == table["n_samples"]).all()


def test_cli_reports_a_bad_zone_file_in_one_line(tmp_path):
    bad = tmp_path / "zones.json"
    bad.write_text("{not json")
    result = _cli(
        "nofly",
        "check",
        "--logs",
        str(DATA / "flightlogs" / "dji_srt" / "p4p_sample.SRT"),
        "--zones",
        str(bad),
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "zones.json" in result.stderr


def test_a_zone_drawn_on_the_map_is_accepted(tmp_path):
    # The map's draw tool exports this shape of GeoJSON (maps/draw.py).
    from exposure.cli.nofly import load_zones

    lons, lats = _line_past(138.0, 36.0, 0.0)
    drawn = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [137.99, 35.99],
                            [138.01, 35.99],
                            [138.01, 36.01],
                            [137.99, 36.01],
                            [137.99, 35.99],
                        ]
                    ],
                },
                "properties": {
                    "name": "Zone 1",
                    "restriction": "PROHIBITED",
                    "floor_m": 0,
                    "ceiling_m": 120,
                    "vertical_ref": "AGL",
                    "source": "drawn on map",
                },
            }
        ],
    }
    path = tmp_path / "drawn-zones.geojson"
    path.write_text(json.dumps(drawn))
    zones = load_zones(str(path))
    assert len(zones) == 1 and zones.iloc[0]["ceiling_m"] == 120
    samples, flights = _one_flight(lons, lats, height=100.0)
    episodes, _ = violations(samples, flights, zones)
    assert len(episodes) == 1 and episodes.iloc[0]["zone_name"] == "Zone 1"

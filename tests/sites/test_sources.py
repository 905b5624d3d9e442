from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, read_any, source_kind

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

#: Every site file of the shared data, its kind, the options it needs, and the sites it yields.
REAL_FILES = [
    ("sites/airportsdata/airports.csv", "point_catalog", {}, 28_291),
    ("sites/geonucleardata/nuclear_power_plants.csv", "point_catalog", {}, 404),
    ("sites/wri_gppd/WRI_raw_Japan.csv", "point_catalog", {}, 331),
    ("sites/wri_gppd/database_GEODB.csv", "point_catalog", {}, 9_998),
    ("sites/ourairports/runways.csv", "runways", {}, 15_429),
    ("sites/japan/airport_surfaces.geojson", "vector", {}, 85),
    ("sites/japan/military_bases.geojson", "vector", {}, 737),
    ("sites/japan/no_fly_red.geojson", "vector", {}, 4),
    ("sites/japan/no_fly_yellow.geojson", "vector", {"category": {"imperial": "government"}}, 5),
    # census districts are not sensitive sites, but load as "other" areas
    ("sites/japan/r02_did_13_tokyo.geojson", "vector",
     {"category": "other", "name_field": "CITYNAME"}, 55),
    ("geozones/SwissGeozones_ED318_Testdaten.zip", "geozones", {}, 1_179),
    ("geozones/cis_source_sample_ed269.json", "geozones", {}, 1),
    ("geozones/geo-awareness-che-1.json", "geozones", {}, 10),
    ("geozones/cis_source_sample_ed318.json", "geozones", {}, 3),
]


@pytest.mark.parametrize(("name", "kind", "options", "count"), REAL_FILES)
def test_every_shared_site_file_loads(name, kind, options, count, adds_up) -> None:
    path = DATA / name
    assert source_kind(path) == kind
    s = read_any(path, **options)
    report = adds_up(s)
    assert report["kind"] == kind
    assert len(s) == count
    assert list(s.columns) == [*SITE_COLUMNS, "geometry"]
    assert s.crs == "EPSG:4326" and s["site_id"].is_unique
    assert shapely.is_valid(s.geometry.array).all()
    assert set(s.geometry.geom_type) <= {"Polygon", "MultiPolygon"}


def test_the_real_files_are_all_covered() -> None:
    listed = {name for name, *_ in REAL_FILES}
    present = {
        str(p.relative_to(DATA))
        for folder in ("sites", "geozones")
        for p in (DATA / folder).rglob("*")
        if p.is_file() and p.name != "LICENSE"
    }
    # OurAirports' countries.csv is a country list that runways.csv does not even refer to
    assert present - listed == {"sites/ourairports/countries.csv"}
    with pytest.raises(SiteDataError, match="not a known point catalogue"):
        read_any(DATA / "sites" / "ourairports" / "countries.csv")


def test_bundled_and_option_errors() -> None:
    assert source_kind("bundled:japan") == "bundled"
    with pytest.raises(SiteDataError, match="option country does not apply to a vector source"):
        read_any(DATA / "sites" / "japan" / "no_fly_red.geojson", country="JP")
    with pytest.raises(SiteDataError, match="no such file"):
        read_any("nowhere/at/all.geojson")


def test_json_is_told_apart_by_content(tmp_path: Path) -> None:
    overpass = tmp_path / "export.json"
    overpass.write_text(json.dumps({"elements": [
        {"type": "node", "id": 1, "lat": 35.0, "lon": 139.0, "tags": {"amenity": "prison"}}]}))
    assert source_kind(overpass) == "osm"
    assert read_any(overpass)["site_id"].tolist() == ["osm:node/1"]
    plain = tmp_path / "plain.geojson"
    plain.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"category": "dam"},
         "geometry": {"type": "Point", "coordinates": [139, 35]}}]}))
    assert source_kind(plain) == "vector"
    xml = tmp_path / "extract.xml"
    xml.write_text('<?xml version="1.0"?><osm version="0.6"></osm>')
    assert source_kind(xml) == "osm"
    zipped = tmp_path / "zones.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("zones.json", json.dumps({"UASZoneList": []}))
    assert source_kind(zipped) == "geozones"

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, read_osm
from sites.osm import osm_category

# A 0.01° x 0.01° base at 35°N with a 0.004° square hole, as a relation whose outer ring is
# split over two ways, plus a nuclear plant node, a coal plant way and a dam drawn as a line.
OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <bounds minlat="34.9" minlon="138.9" maxlat="35.1" maxlon="139.1"/>
  <node id="1" lat="35.00" lon="139.00"/>
  <node id="2" lat="35.00" lon="139.01"/>
  <node id="3" lat="35.01" lon="139.01"/>
  <node id="4" lat="35.01" lon="139.00"/>
  <node id="5" lat="35.003" lon="139.003"/>
  <node id="6" lat="35.003" lon="139.007"/>
  <node id="7" lat="35.007" lon="139.007"/>
  <node id="8" lat="35.007" lon="139.003"/>
  <node id="9" lat="35.05" lon="139.05">
    <tag k="power" v="plant"/><tag k="plant:source" v="nuclear"/><tag k="name" v="Genpatsu"/>
  </node>
  <node id="10" lat="35.06" lon="139.06"/>
  <node id="11" lat="35.06" lon="139.07"/>
  <node id="12" lat="35.07" lon="139.07"/>
  <node id="13" lat="35.08" lon="139.00"/>
  <node id="14" lat="35.08" lon="139.01"/>
  <node id="15" lat="35.09" lon="139.00"><tag k="amenity" v="townhall"/></node>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/></way>
  <way id="101"><nd ref="3"/><nd ref="4"/><nd ref="1"/></way>
  <way id="102"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="8"/><nd ref="5"/></way>
  <way id="103"><nd ref="10"/><nd ref="11"/><nd ref="12"/><nd ref="10"/>
    <tag k="power" v="plant"/><tag k="plant:source" v="coal"/><tag k="name:en" v="Coal"/></way>
  <way id="104"><nd ref="13"/><nd ref="14"/><tag k="waterway" v="dam"/></way>
  <way id="105"><nd ref="13"/><nd ref="99"/><tag k="landuse" v="military"/></way>
  <relation id="200">
    <member type="way" ref="100" role="outer"/>
    <member type="way" ref="101" role="outer"/>
    <member type="way" ref="102" role="inner"/>
    <tag k="type" v="multipolygon"/><tag k="landuse" v="military"/><tag k="name" v="Base"/>
  </relation>
  <relation id="201">
    <member type="way" ref="100" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="military" v="barracks"/>
  </relation>
  <relation id="202">
    <member type="node" ref="9" role=""/>
    <tag k="type" v="site"/><tag k="amenity" v="prison"/>
  </relation>
</osm>
"""


@pytest.fixture
def osm_file(tmp_path: Path) -> Path:
    path = tmp_path / "extract.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def test_relation_with_a_hole_and_a_split_ring(osm_file: Path, adds_up, area_m2) -> None:
    s = read_osm(osm_file).set_index("site_id")
    base = s.loc["osm:relation/200"]
    assert (base["name"], base["category"], base["source"]) == (
        "Base", "military", "extract.osm:relation/200"
    )
    geom = base["geometry"]
    assert geom.geom_type == "Polygon" and len(geom.interiors) == 1
    # 0.01² minus 0.004² square degrees
    assert geom.area == pytest.approx(1e-4 - 1.6e-5, rel=1e-9)
    assert not geom.contains(shapely.Point(139.005, 35.005))  # in the hole
    assert geom.contains(shapely.Point(139.001, 35.001))


def test_nodes_ways_lines_and_rejections(osm_file: Path, adds_up) -> None:
    s = read_osm(osm_file)
    report = adds_up(s)
    # the townhall node and the untagged ways are not sites; 7 tagged elements are
    assert report["n_read"] == 7
    assert report["rejected"] == {
        "incomplete way (nodes missing from the extract)": 1,
        "open ring in multipolygon (member ways do not join up)": 1,
        "relation of type=site is not an area": 1,
    }
    s = s.set_index("site_id")
    assert list(s.columns) == [c for c in SITE_COLUMNS if c != "site_id"] + ["geometry"]
    plant = s.loc["osm:node/9"]
    assert (plant["category"], plant["geometry_origin"], plant["name"]) == (
        "nuclear", "point+600m", "Genpatsu"
    )
    coal = s.loc["osm:way/103"]
    assert (coal["category"], coal["geometry_origin"], coal["name"]) == (
        "power_plant", "polygon", "Coal"
    )
    dam = s.loc["osm:way/104"]
    assert (dam["category"], dam["geometry_origin"]) == ("dam", "line+200m")


def test_point_radius_and_sensitivity_options(osm_file: Path) -> None:
    s = read_osm(osm_file, point_radius_m=50.0, sensitivity={"dam": 5}).set_index("site_id")
    assert s.loc["osm:node/9", "geometry_origin"] == "point+50m"
    assert s.loc["osm:way/104", "sensitivity"] == 5
    assert s.loc["osm:relation/200", "sensitivity"] == 5  # military's default


@pytest.mark.parametrize(
    ("tags", "category"),
    [
        ({"power": "plant", "plant:source": "nuclear;oil"}, "nuclear"),
        ({"power": "plant"}, "power_plant"),
        ({"landuse": "military", "aeroway": "aerodrome"}, "military"),
        ({"military": "no", "aeroway": "aerodrome"}, "airport"),
        ({"office": "government"}, "government"),
        ({"government": "ministry"}, "government"),
        ({"amenity": "prison"}, "prison"),
        ({"landuse": "port"}, "port"),
        ({"waterway": "dam"}, "dam"),
        ({"amenity": "townhall"}, None),
        ({"power": "substation"}, None),
    ],
)
def test_tag_mapping(tags: dict, category: str | None) -> None:
    assert osm_category(tags) == category


def _overpass(path: Path, elements: list[dict]) -> Path:
    path.write_text(json.dumps({"version": 0.6, "elements": elements}), encoding="utf-8")
    return path


def test_overpass_out_geom(tmp_path: Path) -> None:
    square = [{"lat": 35.0, "lon": 139.0}, {"lat": 35.0, "lon": 139.01},
              {"lat": 35.01, "lon": 139.01}, {"lat": 35.01, "lon": 139.0},
              {"lat": 35.0, "lon": 139.0}]
    hole = [{"lat": 35.003, "lon": 139.003}, {"lat": 35.003, "lon": 139.007},
            {"lat": 35.007, "lon": 139.007}, {"lat": 35.007, "lon": 139.003},
            {"lat": 35.003, "lon": 139.003}]
    path = _overpass(tmp_path / "geom.json", [
        {"type": "way", "id": 5, "nodes": [1, 2, 3, 4, 1], "geometry": square,
         "tags": {"aeroway": "aerodrome", "name": "Field"}},
        {"type": "relation", "id": 6, "tags": {"type": "multipolygon", "amenity": "prison"},
         "members": [{"type": "way", "ref": 7, "role": "outer", "geometry": square},
                     {"type": "way", "ref": 8, "role": "inner", "geometry": hole}]},
        # clipped by the query's bounding box: coordinates missing
        {"type": "way", "id": 9, "nodes": [1, 2], "geometry": [None, {"lat": 35, "lon": 139}],
         "tags": {"waterway": "dam"}},
    ])
    s = read_osm(path).set_index("site_id")
    assert s.loc["osm:way/5", "category"] == "airport"
    assert s.loc["osm:way/5", "geometry"].area == pytest.approx(1e-4)
    prison = s.loc["osm:relation/6", "geometry"]
    assert prison.area == pytest.approx(1e-4 - 1.6e-5)
    assert s.attrs["read_report"]["rejected"] == {
        "incomplete way (nodes missing from the extract)": 1
    }


def test_overpass_out_body_with_nodes_and_out_center(tmp_path: Path) -> None:
    nodes = [{"type": "node", "id": i, "lat": lat, "lon": lon}
             for i, (lon, lat) in enumerate([(139.0, 35.0), (139.01, 35.0), (139.01, 35.01)], 1)]
    path = _overpass(tmp_path / "body.json", [
        *nodes,
        {"type": "way", "id": 10, "nodes": [1, 2, 3, 1], "tags": {"office": "government"}},
        {"type": "way", "id": 11, "center": {"lat": 35.5, "lon": 139.5},
         "tags": {"amenity": "prison"}},
    ])
    s = read_osm(path).set_index("site_id")
    assert s.loc["osm:way/10", "geometry"].area == pytest.approx(0.5e-4)
    assert s.loc["osm:way/11", "geometry_origin"] == "point+150m"
    centre = s.loc["osm:way/11", "geometry"].centroid
    assert (centre.x, centre.y) == pytest.approx((139.5, 35.5), abs=1e-5)


def test_entities_and_dtds_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read me")
    path = tmp_path / "xxe.osm"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE osm [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        '<osm><node id="1" lat="35" lon="139"><tag k="name" v="&x;"/>'
        '<tag k="amenity" v="prison"/></node></osm>'
    )
    with pytest.raises(SiteDataError, match="refused or unreadable OSM XML") as err:
        read_osm(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<kml></kml>", "expected an <osm> root element"),
        ('{"features": []}', "expected an Overpass API"),
        ("node,way\n", "neither OSM XML nor Overpass JSON"),
        ('<osm><node id="x" lat="1" lon="2"/></osm>', "malformed id"),
    ],
)
def test_files_that_are_not_osm(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "not.osm"
    path.write_text(content)
    with pytest.raises(SiteDataError, match=message):
        read_osm(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteDataError, match="no such file"):
        read_osm(tmp_path / "none.osm")


def test_circle_of_a_node_has_the_category_radius(osm_file: Path, area_m2) -> None:
    s = read_osm(osm_file)
    node = s[s["site_id"] == "osm:node/9"]
    assert area_m2(node)[0] == pytest.approx(math.pi * 600.0**2, rel=0.005)

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import pandas as pd
import pyproj
import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, is_active, read_geozones

GEOD = pyproj.Geod(ellps="WGS84")


def geodesic_area(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


# --- the real files --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def swiss(geozones_data: Path):
    return read_geozones(geozones_data / "SwissGeozones_ED318_Testdaten.zip")


def test_swiss_ed318_set_loads_every_zone(swiss, adds_up) -> None:
    report = adds_up(swiss)
    assert report["n_read"] == len(swiss) == 1179
    assert report["rejected"] == {}
    assert list(swiss.columns) == [*SITE_COLUMNS, "geometry"]
    assert swiss["site_id"].is_unique
    # Liechtenstein's three zones are in the Swiss set
    assert swiss["site_id"].str.extract(r"^geozone:(\w+):")[0].value_counts().to_dict() == {
        "CHE": 1176, "LIE": 3,
    }
    assert swiss["zone_reason"].value_counts().to_dict() == {
        "NATURE": 648, "SENSITIVE": 347, "AIR_TRAFFIC": 184,
    }
    assert set(swiss["restriction"]) == {"REQ_AUTHORISATION"}
    assert shapely.is_valid(swiss.geometry.array).all()
    bounds = swiss.geometry.bounds
    assert (bounds["minx"] > 5.9).all() and (bounds["maxx"] < 10.6).all()


def test_swiss_sensitive_zones_have_limits_and_categories(swiss) -> None:
    sensitive = swiss[swiss["zone_reason"] == "SENSITIVE"]
    assert len(sensitive) == 347
    assert sensitive["floor_m"].notna().all() and sensitive["ceiling_m"].notna().all()
    assert (sensitive["floor_m"] == 0).all()
    # every limit in the set is in metres above ground, except 66 ceilings above sea level
    assert swiss["vertical_ref"].value_counts().to_dict() == {"AGL": 1113, "AGL/AMSL": 66}
    assert sensitive["category"].value_counts().to_dict() == {
        "power_plant": 131, "other": 99, "prison": 72, "military": 26, "government": 14,
        "nuclear": 5,
    }
    by_id = swiss.set_index("site_id")
    for ident, category, name in [
        ("ENSI001", "nuclear", "KKA Beznau"),
        ("VBS_1", "military", "VBS_1 Bern"),
        ("POE0001", "prison", "Justizvollzugsanstalt Pöschwies"),
        ("SVA0082", "power_plant", "Substation Olivone"),
        ("VD00027", "government", "Tribunal fédéral"),
        ("VD00033", "other", "CHUV"),  # a hospital
    ]:
        row = by_id.loc[f"geozone:CHE:{ident}"]
        assert (row["category"], row["name"]) == (category, name)
    beznau = by_id.loc["geozone:CHE:ENSI001"]
    assert (beznau["sensitivity"], beznau["ceiling_m"]) == (5, 99999.0)
    assert by_id.loc["geozone:CHE:SVA0082", "ceiling_m"] == 200.0
    # a SENSITIVE zone that no keyword places is "other" with sensitivity 2
    assert by_id.loc["geozone:CHE:VD00033", "sensitivity"] == 2
    air = swiss[swiss["zone_reason"] == "AIR_TRAFFIC"]
    assert set(air["category"]) == {"airport"} and len(air) == 184
    nature = swiss[swiss["zone_reason"] == "NATURE"]
    assert set(nature["category"]) == {"other"} and set(nature["sensitivity"]) == {1}


def test_swiss_schedules(swiss) -> None:
    scheduled = swiss["schedule"].dropna()
    # 57 zones have limitedApplicability; 19 of them are "every day, all day" (always)
    assert len(scheduled) == 57 - 19
    winter = json.loads(scheduled.value_counts().index[0])
    assert winter == [{"from": "2024-11-14T23:00:00Z", "to": "2025-04-14T22:00:00Z"}]
    row = swiss[swiss["schedule"] == scheduled.value_counts().index[0]].iloc[0]
    assert is_active(row["schedule"], ["2025-01-10T12:00Z", "2025-07-01T12:00Z"]).tolist() == [
        True, False,
    ]


def test_ed269_sample(geozones_data: Path, adds_up) -> None:
    s = read_geozones(geozones_data / "cis_source_sample_ed269.json")
    adds_up(s)
    row = s.iloc[0]
    assert (row["site_id"], row["name"], row["category"]) == (
        "geozone:CHE:LSXX", "LSXX City Sample", "airport"
    )
    assert row["floor_m"] == 0.0 and math.isnan(row["ceiling_m"])  # upperLimit null
    assert pd.isna(row["schedule"])  # permanent
    assert row["restriction"] == "REQ_AUTHORISATION"


def test_ed269_circles_feet_and_a_daily_schedule(geozones_data: Path, adds_up) -> None:
    s = read_geozones(geozones_data / "geo-awareness-che-1.json")
    report = adds_up(s)
    assert report["n_read"] == 10 and report["rejected"] == {}
    by_id = s.set_index("site_id")
    # one zone with three concentric circles: one row per volume
    rings = by_id.loc[[f"geozone:CHE:Flugplatz Reichenbach/{k}" for k in (1, 2, 3)]]
    assert rings["floor_m"].tolist() == [0.0, 50.0, 100.0]
    assert rings["geometry_origin"].tolist() == ["circle+1000m", "circle+2500m", "circle+3500m"]
    for geom, radius in zip(rings.geometry, (1000.0, 2500.0, 3500.0), strict=True):
        assert abs(geodesic_area(geom) / (math.pi * radius**2) - 1) < 0.005
    # limits in feet become metres; a zone the file lists twice is numbered
    gantrisch = by_id.loc[["geozone:CHE:Gantrisch Nature Park",
                           "geozone:CHE:Gantrisch Nature Park-2"]]
    assert gantrisch["ceiling_m"].tolist() == pytest.approx([76.2, 76.2])
    assert gantrisch["restriction"].tolist() == ["NO_RESTRICTION", "REQ_AUTHORISATION"]
    concert = by_id.loc["geozone:CHE:Montreux Concert Area"]
    assert concert["vertical_ref"] == "AGL/AMSL"
    assert (concert["floor_m"], concert["ceiling_m"]) == (0.0, 6259.0)
    assert concert["zone_reason"] == "OTHER" and concert["category"] == "other"
    # Saturday and Sunday 17:00-23:59:59 UTC, from 2022-06-15 09:00 to 2023-06-15 09:00
    times = ["2022-06-18T18:00Z", "2022-06-18T16:59Z", "2022-06-20T18:00Z", "2023-06-17T18:00Z"]
    assert is_active(concert["schedule"], times).tolist() == [True, False, False, False]


def test_ed318_sample(geozones_data: Path) -> None:
    s = read_geozones(geozones_data / "cis_source_sample_ed318.json")
    assert s["site_id"].tolist() == [
        "geozone:CHE:LSZB003", "geozone:CHE:BLns058", "geozone:CHE:LSTB002",
    ]
    assert s["name"].tolist()[1] == "Protected natural object Langmatt"
    assert read_geozones(geozones_data / "cis_source_sample_ed318.json", lang="de")[
        "name"
    ].tolist()[1] == "Geschütztes Naturobjekt Langmatt"
    assert s["floor_m"].tolist() == [60.0, 0.0, 0.0]


# --- hand-made zones -------------------------------------------------------------------------


def _ed269(path: Path, zones: list[dict]) -> Path:
    path.write_text(json.dumps({"UASZoneList": zones}), encoding="utf-8")
    return path


def _zone(ident: str, projection: dict | None, **extra) -> dict:
    volume = {"uomDimensions": "M", "lowerLimit": 0, "upperLimit": 120,
              "lowerVerticalReference": "AGL", "upperVerticalReference": "AGL"}
    if projection is not None:
        volume["horizontalProjection"] = projection
    return {"identifier": ident, "country": "JPN", "name": ident, "reason": ["SENSITIVE"],
            "restriction": "PROHIBITED", "geometry": [volume], **extra}


def test_circle_area_is_pi_r_squared(tmp_path: Path) -> None:
    circle = {"type": "Circle", "center": [139.7454, 35.6586], "radius": 300}
    s = read_geozones(_ed269(tmp_path / "c.json", [_zone("C1", circle)]))
    ratio = geodesic_area(s.geometry.iloc[0]) / (math.pi * 300.0**2)
    assert abs(ratio - 1) < 0.005
    centre = s.geometry.iloc[0].centroid
    assert (centre.x, centre.y) == pytest.approx((139.7454, 35.6586), abs=1e-6)


def test_bad_zones_are_rejected_with_a_reason(tmp_path: Path, adds_up) -> None:
    zones = [
        _zone("ok", {"type": "Polygon", "coordinates": [[[7, 46], [7.01, 46], [7.01, 46.01],
                                                          [7, 46]]]}),
        _zone("zero", {"type": "Circle", "center": [7, 46], "radius": 0}),
        _zone("negative", {"type": "Circle", "center": [7, 46], "radius": -5}),
        _zone("none", None),
        _zone("limits", {"type": "Circle", "center": [7, 46], "radius": 10},
              geometry=[{"uomDimensions": "M", "lowerLimit": "low", "upperLimit": 1,
                         "horizontalProjection": {"type": "Circle", "center": [7, 46],
                                                  "radius": 10}}]),
        _zone("unit", None, geometry=[{"uomDimensions": "FL", "lowerLimit": 0,
                                       "upperLimit": 1, "horizontalProjection": {
                                           "type": "Circle", "center": [7, 46], "radius": 1}}]),
        _zone("when", {"type": "Circle", "center": [7, 46], "radius": 10},
              applicability=[{"startDateTime": "yesterday"}]),
        _zone("bowtie", {"type": "Polygon", "coordinates": [[[7, 46], [7.01, 46.01],
                                                              [7.01, 46], [7, 46.01], [7, 46]]]}),
    ]
    s = read_geozones(_ed269(tmp_path / "bad.json", zones))
    report = adds_up(s)
    assert s["name"].tolist() == ["ok", "bowtie"]
    assert report["repaired"] == 1
    assert report["rejected"] == {
        "missing geometry": 1,
        "no usable radius": 2,
        "unknown unit 'FL'": 1,
        "unreadable applicability (startDateTime 'yesterday' is not an ISO 8601 date-time)": 1,
        "unreadable vertical limits": 1,
    }


def test_ed318_circles_and_geometry_collections(tmp_path: Path) -> None:
    layer = {"lower": 0, "upper": 400, "lowerReference": "AGL", "upperReference": "WGS84",
             "uom": "ft"}
    features = [
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [8.5, 47.4], "layer": layer,
                      "extent": {"subType": "Circle", "radius": 500}},
         "properties": {"identifier": "P1", "country": "CHE", "reason": ["SENSITIVE"],
                        "type": "PROHIBITED", "name": [{"lang": "de-CH", "text": "Kaserne"}]}},
        {"type": "Feature",
         "geometry": {"type": "GeometryCollection", "geometries": [
             {"type": "Point", "coordinates": [8.6, 47.4], "layer": layer,
              "extent": {"subType": "Circle", "radius": 100}},
             {"type": "Polygon", "coordinates": [[[8.6, 47.4], [8.61, 47.4], [8.61, 47.41],
                                                  [8.6, 47.4]]],
              "layer": {**layer, "lower": 100}}]},
         "properties": {"identifier": "G1", "country": "CHE", "reason": ["AIR_TRAFFIC"],
                        "type": "REQ_AUTHORIZATION", "name": "Heliport"}},
        {"type": "Feature",
         "geometry": {"type": "Point", "coordinates": [8.7, 47.4], "layer": layer},
         "properties": {"identifier": "X", "country": "CHE", "reason": [], "type": "PROHIBITED"}},
    ]
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    s = read_geozones(path).set_index("site_id")
    assert s.attrs["read_report"]["rejected"] == {"point without a circle extent": 1}
    camp = s.loc["geozone:CHE:P1"]
    assert (camp["category"], camp["geometry_origin"], camp["name"]) == (
        "military", "circle+500m", "Kaserne"
    )
    assert camp["ceiling_m"] == pytest.approx(121.92)
    assert camp["vertical_ref"] == "AGL/WGS84"
    assert abs(geodesic_area(camp["geometry"]) / (math.pi * 500.0**2) - 1) < 0.005
    parts = s.loc[["geozone:CHE:G1/1", "geozone:CHE:G1/2"]]
    assert parts["floor_m"].tolist() == pytest.approx([0.0, 30.48])
    assert set(parts["restriction"]) == {"REQ_AUTHORISATION"}
    assert set(parts["category"]) == {"airport"}


def test_zipped_zone_file_is_read_in_memory_with_limits(tmp_path: Path, monkeypatch) -> None:
    inner = json.dumps({"UASZoneList": [_zone("Z", {"type": "Circle", "center": [7, 46],
                                                     "radius": 50})]})
    path = tmp_path / "zones.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data/zones.json", inner)
    assert read_geozones(path)["site_id"].tolist() == ["geozone:JPN:Z"]
    # a member that expands a thousandfold is refused before it is read
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zones.json", " " * 5_000_000)
    with pytest.raises(SiteDataError, match="zip bomb"):
        read_geozones(bomb)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.writestr("a.json", inner)
        archive.writestr("b.json", inner)
    with pytest.raises(SiteDataError, match="2 JSON files in the archive"):
        read_geozones(two)
    assert len(read_geozones(two, member="b.json")) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "FeatureCollection", "features": []}', "not a UAS geozone file"),
        ("[1, 2", "not UTF-8 JSON"),
    ],
)
def test_files_that_are_not_geozones(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(SiteDataError, match=message) as err:
        read_geozones(path)
    assert str(path) in str(err.value)


def test_nothing_is_extracted_to_disk(tmp_path: Path) -> None:
    path = tmp_path / "zones.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("zones.json", json.dumps({"UASZoneList": [
            _zone("Z", {"type": "Circle", "center": [7, 46], "radius": 50})]}))
    read_geozones(path)
    assert [p.name for p in tmp_path.iterdir()] == ["zones.zip"]

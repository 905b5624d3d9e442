from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, read_sites


def _report_adds_up(frame: gpd.GeoDataFrame) -> dict:
    report = frame.attrs["read_report"]
    merged, rejected = report["merged"], report["rejected"]
    assert report["n_read"] == report["n_kept"] + sum(merged.values()) + sum(rejected.values())
    assert report["n_kept"] == len(frame)
    return report


def _geojson(path: Path, features: list[tuple[dict, dict | None]]) -> Path:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --- the real files --------------------------------------------------------------------------


def test_mlit_airport_surfaces(sites_data: Path) -> None:
    # 108 features describe 97 airports (C28_101); 85 carry a polygon, 23 have none
    s = read_sites(sites_data / "japan" / "airport_surfaces.geojson")
    report = _report_adds_up(s)
    assert report["n_read"] == 108
    assert len(s) == 85
    assert report["rejected"] == {"missing geometry": 23}
    assert list(s.columns) == [*SITE_COLUMNS, "geometry"]
    assert set(s["category"]) == {"airport"}
    assert set(s["geometry_origin"]) == {"polygon"}
    assert s["site_id"].is_unique
    assert s["site_id"].str.startswith("jp-airport:cf02_").all()
    first = s.iloc[0]
    assert (first["site_id"], first["name"]) == ("jp-airport:cf02_00001", "長崎空港")
    assert first["source"] == "airport_surfaces.geojson:cf02_00001"
    assert (s["sensitivity"] == 3).all()
    assert s.crs == "EPSG:4326"


def test_osm_military_points_become_250m_circles(sites_data: Path, area_m2) -> None:
    s = read_sites(sites_data / "japan" / "military_bases.geojson")
    report = _report_adds_up(s)
    assert report["n_read"] == len(s) == 737
    assert set(s["category"]) == {"military"}
    assert set(s["geometry_origin"]) == {"point+250m"}
    assert s["site_id"].str.fullmatch(r"osm:(node|way|relation)/\d+").all()
    assert s["site_id"].is_unique
    ratio = area_m2(s) / (math.pi * 250.0**2)
    assert np.all(np.abs(ratio - 1) < 0.005)
    # the circle is centred on the OSM point
    raw = gpd.read_file(sites_data / "japan" / "military_bases.geojson", engine="pyogrio")
    offset = shapely.distance(shapely.centroid(s.geometry.array), raw.geometry.array)
    assert offset.max() < 1e-5


def test_no_fly_red_keeps_the_file_labels(sites_data: Path) -> None:
    s = read_sites(sites_data / "japan" / "no_fly_red.geojson")
    _report_adds_up(s)
    assert len(s) == 4
    assert sorted(s["category"]) == ["government", "government", "government", "military"]
    assert s["site_id"].str.fullmatch(r"no-fly-red:[0-9a-f]{16}").all()
    assert s.loc[s["category"] == "military", "name"].item() == "防衛省周辺"


def test_no_fly_yellow_needs_its_imperial_label_translated(sites_data: Path) -> None:
    path = sites_data / "japan" / "no_fly_yellow.geojson"
    with pytest.raises(SiteDataError, match=r"'imperial' \(1 feature\).*category=") as err:
        read_sites(path)
    assert str(path) in str(err.value)
    s = read_sites(path, category={"imperial": "government"})
    assert len(s) == 5
    assert s["category"].value_counts().to_dict() == {"government": 4, "military": 1}
    everything = read_sites(path, category="government")
    assert set(everything["category"]) == {"government"}


# --- geometry repair and rejection -----------------------------------------------------------


def test_bowtie_is_repaired_and_counted(tmp_path: Path) -> None:
    bowtie = {"type": "Polygon", "coordinates": [[[139, 35], [139.01, 35.01], [139.01, 35],
                                                   [139, 35.01], [139, 35]]]}
    square = {"type": "Polygon", "coordinates": [[[140, 35], [140.01, 35], [140.01, 35.01],
                                                   [140, 35.01], [140, 35]]]}
    path = _geojson(tmp_path / "bow.geojson", [({"name": "bow"}, bowtie), ({"name": "sq"}, square)])
    s = read_sites(path, category="dam")
    report = _report_adds_up(s)
    assert report["repaired"] == 1
    assert report["rejected"] == {}
    assert shapely.is_valid(s.geometry.array).all()
    bow = s.loc[s["name"] == "bow", "geometry"].item()
    assert bow.geom_type == "MultiPolygon" and len(bow.geoms) == 2
    assert bow.area == pytest.approx(0.01 * 0.01 / 2)


def test_empty_and_degenerate_geometries_are_rejected_by_reason(tmp_path: Path) -> None:
    ok = {"type": "Point", "coordinates": [139.7, 35.6]}
    flat = {"type": "Polygon", "coordinates": [[[139, 35], [139.1, 35.1], [139.2, 35.2],
                                                 [139, 35]]]}
    path = _geojson(
        tmp_path / "mixed.geojson",
        [
            ({"name": "ok"}, ok),
            ({"name": "none"}, None),
            ({"name": "empty"}, {"type": "Polygon", "coordinates": []}),
            ({"name": "flat"}, flat),
            ({"name": "pts"}, {"type": "GeometryCollection", "geometries": [ok]}),
        ],
    )
    s = read_sites(path, category="port")
    report = _report_adds_up(s)
    assert report["n_read"] == 5
    assert s["name"].tolist() == ["ok"]
    assert report["rejected"] == {
        "degenerate polygon": 1,
        "empty geometry": 1,
        "missing geometry": 1,
        "no polygonal part": 1,
    }


def test_lines_are_buffered_in_metres(tmp_path: Path, area_m2) -> None:
    # a 1 km east-west line at 35°N buffered by 100 m: a 1000 x 200 m stadium
    dlon = 1000.0 / (111_320.0 * math.cos(math.radians(35.0)))
    line = {"type": "LineString", "coordinates": [[139.0, 35.0], [139.0 + dlon, 35.0]]}
    path = _geojson(tmp_path / "fence.geojson", [({"name": "fence"}, line)])
    s = read_sites(path, category="other", point_radius_m=100.0)
    assert s.loc[0, "geometry_origin"] == "line+100m"
    expected = 1000.0 * 200.0 + math.pi * 100.0**2
    assert area_m2(s)[0] == pytest.approx(expected, rel=0.01)


def test_projected_input_is_converted_to_4326(tmp_path: Path, write_vector) -> None:
    square = shapely.box(390_000, 3_950_000, 390_200, 3_950_200)  # 200 m, UTM 54N
    frame = gpd.GeoDataFrame({"name": ["sq"], "category": ["dam"]}, geometry=[square],
                             crs=32654)
    s = read_sites(write_vector(frame, tmp_path / "utm.gpkg"))
    assert s.crs == "EPSG:4326"
    assert s.to_crs(32654).area.iloc[0] == pytest.approx(200.0 * 200.0, rel=1e-6)
    assert 138 < s.geometry.iloc[0].centroid.x < 141


# --- CRS and file errors ---------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_file_without_crs_is_refused(tmp_path: Path, write_vector, suffix: str) -> None:
    frame = gpd.GeoDataFrame({"name": ["a"], "category": ["dam"]},
                             geometry=[shapely.box(139, 35, 139.01, 35.01)], crs=None)
    path = write_vector(frame, tmp_path / f"nocrs{suffix}")
    with pytest.raises(SiteDataError, match=r"no CRS.*refusing to guess") as err:
        read_sites(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SiteDataError, match=r"nope\.geojson: no such file"):
        read_sites(tmp_path / "nope.geojson")


@pytest.mark.parametrize(
    ("name", "content"),
    [("broken.geojson", b'{"type": "FeatureColl'), ("broken.gpkg", b"garbage" * 100)],
)
def test_corrupt_file_gives_one_line(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SiteDataError, match="cannot read") as err:
        read_sites(path)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_empty_collection_gives_an_empty_table(tmp_path: Path) -> None:
    s = read_sites(_geojson(tmp_path / "none.geojson", []))
    assert len(s) == 0 and list(s.columns) == [*SITE_COLUMNS, "geometry"]
    assert _report_adds_up(s)["n_read"] == 0


def test_csv_without_geometry_points_to_the_catalogue_reader(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(SiteDataError, match="read_point_catalog"):
        read_sites(path)


def test_several_layers_need_a_choice(tmp_path: Path, write_vector) -> None:
    path = tmp_path / "two.gpkg"
    for layer, cat in (("bases", "military"), ("plants", "nuclear")):
        frame = gpd.GeoDataFrame({"name": [layer], "category": [cat]},
                                 geometry=[shapely.box(139, 35, 139.01, 35.01)], crs=4326)
        write_vector(frame, path, layer=layer)
    with pytest.raises(SiteDataError, match=r"2 layers \['bases', 'plants'\]; pass layer="):
        read_sites(path)
    with pytest.raises(SiteDataError, match="no layer 'dams'"):
        read_sites(path, layer="dams")
    s = read_sites(path, layer="plants")
    assert s["category"].tolist() == ["nuclear"]
    assert s["source"].tolist() == ["two.gpkg/plants:0"]


# --- categories, names, ids ------------------------------------------------------------------


def test_category_problems_are_reported_together(tmp_path: Path) -> None:
    pt = {"type": "Point", "coordinates": [139.7, 35.6]}
    path = _geojson(
        tmp_path / "labels.geojson",
        [({"type": "zoo", "id": "a"}, pt), ({"type": "zoo", "id": "a"}, pt),
         ({"type": "Nuclear", "id": "b"}, pt), ({"type": None, "id": "c"}, pt)],
    )
    with pytest.raises(SiteDataError) as err:
        read_sites(path)
    text = str(err.value)
    assert "'zoo' (2 features)" in text and "'<missing>' (1 feature)" in text
    assert "ids repeated" in text and "'labels:a'" in text and "id_field=" in text


def test_no_category_field(tmp_path: Path) -> None:
    path = _geojson(tmp_path / "plain.geojson",
                    [({"name": "x"}, {"type": "Point", "coordinates": [139.7, 35.6]})])
    with pytest.raises(SiteDataError, match=r"no category field .*category, facility_type"):
        read_sites(path)
    with pytest.raises(SiteDataError, match="category='zoo' is not a category"):
        read_sites(path, category="zoo")
    assert read_sites(path, category="Aerodrome")["category"].tolist() == ["airport"]


def test_name_and_id_fields(tmp_path: Path) -> None:
    pt = {"type": "Point", "coordinates": [139.7, 35.6]}
    path = _geojson(tmp_path / "named.geojson",
                    [({"label": "Dam A", "code": 7, "category": "dam"}, pt),
                     ({"label": "", "code": 8, "category": "dam"}, pt)])
    s = read_sites(path, name_field="label", id_field="code", id_prefix="jp-dam")
    assert s["site_id"].tolist() == ["jp-dam:7", "jp-dam:8"]
    assert s["name"].tolist() == ["Dam A", "jp-dam:8"]
    assert s["source"].tolist() == ["named.geojson:7", "named.geojson:8"]
    with pytest.raises(SiteDataError, match="name_field='nom' is not a field") as err:
        read_sites(path, name_field="nom", id_field="kod")
    assert "id_field='kod' is not a field" in str(err.value)


def test_site_ids_are_stable_between_reads(tmp_path: Path, sites_data: Path) -> None:
    red = sites_data / "japan" / "no_fly_red.geojson"
    assert read_sites(red)["site_id"].tolist() == read_sites(red)["site_id"].tolist()
    # and do not depend on where the file lives
    copy = tmp_path / "no_fly_red.geojson"
    copy.write_bytes(red.read_bytes())
    assert read_sites(copy)["site_id"].tolist() == read_sites(red)["site_id"].tolist()


def test_identical_geometries_get_numbered_ids(tmp_path: Path) -> None:
    pt = {"type": "Point", "coordinates": [139.7, 35.6]}
    path = _geojson(tmp_path / "twins.geojson", [({"category": "dam"}, pt)] * 3)
    ids = read_sites(path)["site_id"].tolist()
    assert ids[1:] == [f"{ids[0]}-2", f"{ids[0]}-3"]


def test_sensitivity_and_radius_arguments(tmp_path: Path, area_m2) -> None:
    pt = {"type": "Point", "coordinates": [139.7, 35.6]}
    path = _geojson(tmp_path / "s.geojson",
                    [({"category": "dam"}, pt), ({"category": "port", "sensitivity": 1}, pt)])
    s = read_sites(path, point_radius_m=1000.0)
    assert s["sensitivity"].tolist() == [3, 1]  # the dam's default, the file's own value
    assert s["geometry_origin"].tolist() == ["point+1000m", "point+1000m"]
    assert area_m2(s) == pytest.approx([math.pi * 1e6] * 2, rel=0.005)
    assert read_sites(path, sensitivity=4)["sensitivity"].tolist() == [4, 4]
    assert read_sites(path, sensitivity={"dam": 5})["sensitivity"].tolist() == [5, 1]
    with pytest.raises(SiteDataError, match="sensitivity must be an integer 1-5, found \\[7"):
        read_sites(path, sensitivity=7)
    with pytest.raises(SiteDataError, match="point_radius_m=-5"):
        read_sites(path, point_radius_m=-5)


def test_round_trip_through_geopackage_and_geoparquet(tmp_path: Path, sites_data: Path,
                                                      write_vector) -> None:
    s = read_sites(sites_data / "japan" / "military_bases.geojson").head(20)
    for path in (tmp_path / "out.gpkg", tmp_path / "out.fgb"):
        again = read_sites(write_vector(s, path))
        # FlatGeobuf's spatial index reorders the features
        assert sorted(again["site_id"]) == sorted(s["site_id"])
        assert again["geometry_origin"].tolist() == ["point+250m"] * 20
    s.to_parquet(tmp_path / "out.parquet")
    again = read_sites(tmp_path / "out.parquet")
    assert again["site_id"].tolist() == s["site_id"].tolist()
    assert shapely.equals_exact(again.geometry.array, s.geometry.array, tolerance=1e-9).all()


def test_read_sites_does_not_touch_its_input(sites_data: Path) -> None:
    path = sites_data / "japan" / "no_fly_red.geojson"
    before = path.read_bytes()
    read_sites(path)
    assert path.read_bytes() == before


# --- archives, KML/KMZ, mixed geometry ---------------------------------------------------------


def _zip_folder(folder: Path, archive: Path, *, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.iterdir()):
            z.write(f, prefix + f.name)
    return archive


def _bases(crs: int | None = 4326) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 2], "name": ["North", "South"], "category": ["military", "military"]},
        geometry=[shapely.box(139.0, 35.1, 139.01, 35.11), shapely.Point(139.0, 35.0)],
        crs=crs,
    )


def test_zipped_shapefile_is_read_in_place(tmp_path: Path, write_vector) -> None:
    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    # a Shapefile holds one geometry type: polygons here, points in a second file
    write_vector(_bases().iloc[:1], shp_dir / "bases.shp")
    archive = _zip_folder(shp_dir, tmp_path / "bases.zip", prefix="data/")
    s = read_sites(archive)
    _report_adds_up(s)
    assert s["site_id"].tolist() == ["bases:1"]
    assert s["source"].tolist() == ["bases.zip/data/bases.shp:1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bases.zip", "shp"]  # not extracted


def test_zip_with_several_datasets_needs_a_member(tmp_path: Path, write_vector) -> None:
    folder = tmp_path / "two"
    folder.mkdir()
    write_vector(_bases().iloc[:1], folder / "a.shp")
    write_vector(_bases().iloc[1:], folder / "b.shp")
    archive = _zip_folder(folder, tmp_path / "two.zip")
    with pytest.raises(SiteDataError, match=r"2 datasets \['a.shp', 'b.shp'\].*member="):
        read_sites(archive)
    s = read_sites(archive, member="b.shp")
    assert s["geometry_origin"].tolist() == ["point+250m"]
    with pytest.raises(SiteDataError, match=r"no member 'c\.shp'"):
        read_sites(archive, member="c.shp")


def test_zipped_shapefile_without_prj_is_refused(tmp_path: Path, write_vector) -> None:
    folder = tmp_path / "noprj"
    folder.mkdir()
    write_vector(_bases(crs=None).iloc[:1], folder / "bases.shp")
    archive = _zip_folder(folder, tmp_path / "noprj.zip")
    with pytest.raises(SiteDataError, match="no CRS"):
        read_sites(archive)


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.geojson", " " * 3_000_000)
    with pytest.raises(SiteDataError, match="zip bomb"):
        read_sites(archive)


KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>drawn</name>
<Folder><name>Bases</name>
 <Placemark id="camp"><name>Camp</name>
  <ExtendedData><Data name="category"><value>military</value></Data></ExtendedData>
  <Point><coordinates>139.7,35.6,0</coordinates></Point></Placemark>
 <Placemark><name>Yard</name>
  <ExtendedData><Data name="category"><value>military</value></Data></ExtendedData>
  <Polygon><outerBoundaryIs><LinearRing><coordinates>
   139.70,35.60 139.71,35.60 139.71,35.61 139.70,35.60</coordinates></LinearRing>
  </outerBoundaryIs></Polygon></Placemark>
</Folder>
<Folder><name>Dams</name>
 <Placemark><name>Crest</name>
  <ExtendedData><Data name="category"><value>dam</value></Data></ExtendedData>
  <LineString><coordinates>139.8,35.6 139.81,35.6</coordinates></LineString></Placemark>
</Folder></Document></kml>
"""


def test_kml_reads_every_folder(tmp_path: Path) -> None:
    path = tmp_path / "drawn.kml"
    path.write_text(KML, encoding="utf-8")
    s = read_sites(path)
    _report_adds_up(s)
    assert s["name"].tolist() == ["Camp", "Yard", "Crest"]
    assert s["category"].tolist() == ["military", "military", "dam"]
    assert s["geometry_origin"].tolist() == ["point+250m", "polygon", "line+200m"]
    assert s["site_id"].iloc[0] == "drawn:camp"
    assert s["source"].tolist()[::2] == ["drawn.kml/Bases:camp", "drawn.kml/Dams:2"]
    only = read_sites(path, layer="Dams")
    assert only["name"].tolist() == ["Crest"]


def test_kmz_is_read_like_kml(tmp_path: Path) -> None:
    path = tmp_path / "drawn.kmz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("doc.kml", KML)
    s = read_sites(path)
    assert s["name"].tolist() == ["Camp", "Yard", "Crest"]


def test_kml_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.kml"
    path.write_text(
        '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + KML.split("?>", 1)[1]
    )
    with pytest.raises(SiteDataError, match="declares <!DOCTYPE and <!ENTITY; refused"):
        read_sites(path)


def test_mixed_geometry_types_in_one_file(tmp_path: Path, write_vector, area_m2) -> None:
    frame = gpd.GeoDataFrame(
        {"name": ["pt", "line", "poly", "multi"], "category": "power_plant"},
        geometry=[
            shapely.Point(139.0, 35.0),
            shapely.LineString([(139.1, 35.0), (139.11, 35.0)]),
            shapely.box(139.2, 35.0, 139.21, 35.01),
            shapely.MultiPolygon([shapely.box(139.3, 35.0, 139.31, 35.01),
                                  shapely.box(139.32, 35.0, 139.33, 35.01)]),
        ],
        crs=4326,
    )
    for path in (tmp_path / "mixed.gpkg", tmp_path / "mixed.fgb", tmp_path / "mixed.geojson"):
        s = read_sites(write_vector(frame, path)).sort_values("name")
        assert s["geometry_origin"].tolist() == ["line+300m", "polygon", "polygon", "point+300m"]
        assert s.geometry.geom_type.tolist() == ["Polygon", "MultiPolygon", "Polygon", "Polygon"]
        circle = s[s["name"] == "pt"]
        assert area_m2(circle)[0] == pytest.approx(math.pi * 300.0**2, rel=0.005)
    frame.to_parquet(tmp_path / "mixed.parquet")
    assert len(read_sites(tmp_path / "mixed.parquet", category="dam")) == 4


def test_kmz_with_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "xxe.kmz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("doc.kml", '<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x "y">]>'
                   + KML.split("?>", 1)[1])
    with pytest.raises(SiteDataError, match="refused"):
        read_sites(path)

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyproj
import pytest
import shapely

from sites import SiteDataError, read_runways
from sites.runways import runway_rectangles

GEOD = pyproj.Geod(ellps="WGS84")
HEADER = (
    "id,airport_ident,length_ft,width_ft,le_ident,le_latitude_deg,le_longitude_deg,"
    "he_ident,he_latitude_deg,he_longitude_deg\n"
)


def geodesic_area(geom: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_hand_computed_runway(tmp_path: Path, adds_up) -> None:
    # a 10,000 ft x 150 ft runway heading 045° from 35.0 N 139.0 E: the far end is where the
    # geodesic of 3048 m at azimuth 45° lands
    lon2, lat2, _ = GEOD.fwd(139.0, 35.0, 45.0, 3048.0)
    path = _csv(tmp_path / "runways.csv", [f"7,TEST,10000,150,04,35.0,139.0,22,{lat2},{lon2}"])
    s = read_runways(path)
    adds_up(s)
    row = s.iloc[0]
    assert (row["site_id"], row["name"], row["category"], row["source"]) == (
        "runway:7", "TEST runway 04/22", "airport", "runways.csv:7"
    )
    assert row["sensitivity"] == 3 and row["geometry_origin"] == "runway"
    geom = row["geometry"]
    length_m, width_m = 10_000 * 0.3048, 150 * 0.3048
    assert geodesic_area(geom) == pytest.approx(length_m * width_m, rel=0.002)
    # the rectangle runs between the two ends: its long sides are 3048 m, short ones 45.72 m
    x, y = np.asarray(geom.exterior.coords).T
    _, _, sides = GEOD.inv(x[:-1], y[:-1], x[1:], y[1:])
    assert sorted(sides) == pytest.approx([width_m] * 2 + [length_m] * 2, rel=0.002)
    centre = geom.centroid
    _, _, off = GEOD.inv(centre.x, centre.y, (139.0 + lon2) / 2, (35.0 + lat2) / 2)
    assert off < 1.0
    # both ends lie on the short sides' midpoints
    for lon, lat in ((139.0, 35.0), (lon2, lat2)):
        assert geom.exterior.distance(shapely.Point(lon, lat)) < 1e-6


def test_published_length_wins_over_the_ends_distance(tmp_path: Path) -> None:
    lon2, lat2, _ = GEOD.fwd(10.0, 50.0, 90.0, 1000.0)
    path = _csv(tmp_path / "r.csv", [f"1,X,4000,100,09,50.0,10.0,27,{lat2},{lon2}",
                                     f"2,X,,100,09,50.0,10.0,27,{lat2},{lon2}"])
    s = read_runways(path)
    areas = [geodesic_area(g) for g in s.geometry]
    assert areas == pytest.approx([4000 * 0.3048 * 100 * 0.3048, 1000 * 100 * 0.3048], rel=0.002)


def test_rows_without_thresholds_are_rejected_by_reason(tmp_path: Path, adds_up) -> None:
    lon2, lat2, _ = GEOD.fwd(10.0, 50.0, 90.0, 1000.0)
    path = _csv(tmp_path / "r.csv", [
        f"1,A,3281,100,09,50.0,10.0,27,{lat2},{lon2}",
        "2,B,3281,100,09,,,27,,",
        f"3,C,3281,100,09,50.0,10.0,27,,{lon2}",
        "4,D,3281,100,09,50.0,10.0,27,50.0,10.0",
        f"5,E,3281,,09,50.0,10.0,27,{lat2},{lon2}",
        f"6,F,9000,100,09,50.0,10.0,27,{lat2},{lon2}",
        f"7,G,3281,100,09,95.0,10.0,27,{lat2},{lon2}",
        f"8,H,3281,100,09,north,10.0,27,{lat2},{lon2}",
        f",I,3281,100,09,50.0,10.0,27,{lat2},{lon2}",
    ])
    s = read_runways(path)
    report = adds_up(s)
    assert s["site_id"].tolist() == ["runway:1"]
    assert report["rejected"] == {
        "coordinates out of range": 1,
        "missing id": 1,
        "missing threshold coordinates": 2,
        "missing width": 1,
        "thresholds coincide": 1,
        "thresholds disagree with length_ft": 1,
        "unparseable coordinates": 1,
    }


def test_real_ourairports_file(sites_data: Path, adds_up) -> None:
    s = read_runways(sites_data / "ourairports" / "runways.csv")
    report = adds_up(s)
    assert report["n_read"] == 48_184
    # 15,536 runways have both ends' coordinates; 107 of them cannot make a sane rectangle
    assert report["rejected"] == {
        "missing threshold coordinates": 32_648,
        "missing width": 28,
        "thresholds coincide": 19,
        "thresholds disagree with length_ft": 60,
    }
    assert len(s) == 15_429 and s["site_id"].is_unique
    assert shapely.is_valid(s.geometry.array).all()
    japan = read_runways(sites_data / "ourairports" / "runways.csv", airports=["RJTT"])
    assert len(japan) == 4  # Haneda's four runways
    widths = [min(GEOD.inv(*g.exterior.coords[0], *g.exterior.coords[1])[2],
                  GEOD.inv(*g.exterior.coords[1], *g.exterior.coords[2])[2])
              for g in japan.geometry]
    assert min(widths) >= 45.0  # 60 m runways, 150-200 ft wide in the file


def test_wrong_file_and_unknown_airports(tmp_path: Path, sites_data: Path) -> None:
    path = tmp_path / "airports.csv"
    path.write_text("icao,name,lat,lon\nRJTT,Haneda,35.5,139.8\n")
    with pytest.raises(SiteDataError, match=r"missing columns .*runways\.csv"):
        read_runways(path)
    with pytest.raises(SiteDataError, match="no runway of the airports"):
        read_runways(sites_data / "ourairports" / "runways.csv", airports=["ZZZZ"])


def test_runway_across_the_antimeridian_is_split(tmp_path: Path) -> None:
    lon2, lat2, _ = GEOD.fwd(179.99, -16.0, 90.0, 3000.0)
    assert lon2 < 0  # the far end is past the antimeridian
    s = read_runways(_csv(tmp_path / "r.csv", [f"1,NFXX,,150,09,-16.0,179.99,27,{lat2},{lon2}"]))
    geom = s.geometry.iloc[0]
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 2
    assert max(g.bounds[2] - g.bounds[0] for g in geom.geoms) < 0.03
    assert geodesic_area(geom) == pytest.approx(3000.0 * 150 * 0.3048, rel=0.002)
    assert s.attrs["read_report"]["repaired"] == 1


def test_rectangle_near_a_pole() -> None:
    polar, dist = runway_rectangles([0.0], [-89.99], [90.0], [-89.99], [1000.0], [30.0])
    assert shapely.is_valid(polar[0])
    assert geodesic_area(polar[0]) == pytest.approx(1000.0 * 30.0, rel=0.01)
    assert math.isfinite(dist[0])

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from sites import SiteDataError, read_point_catalog
from sites.catalogs import power_plant_radius

AIRPORTS_HEADER = (
    '"icao","iata","name","city","subd","country","elevation","lat","lon","tz","lid"\n'
)


def _adds_up(frame) -> dict:
    report = frame.attrs["read_report"]
    merged, rejected = report["merged"], report["rejected"]
    assert report["n_read"] == report["n_kept"] + sum(merged.values()) + sum(rejected.values())
    assert report["n_kept"] == len(frame)
    return report


def _radius(origin: pd.Series) -> np.ndarray:
    return origin.str.extract(r"point\+(\d+)m")[0].astype(float).to_numpy()


# --- the real catalogues ---------------------------------------------------------------------


def test_airportsdata_all_rows(sites_data: Path) -> None:
    s = read_point_catalog(sites_data / "airportsdata" / "airports.csv")
    report = _adds_up(s)
    assert report["n_read"] == 28_291
    assert report["n_kept"] == 28_291 and report["rejected"] == {}
    assert set(s["category"]) == {"airport"}
    assert set(s["geometry_origin"]) == {"point+1500m"}
    assert s["site_id"].is_unique and s["site_id"].str.startswith("icao:").all()
    assert shapely.is_valid(s.geometry.array).all()
    # the South Pole station's circle is a polar cap
    pole = s.loc[s["site_id"] == "icao:NZSP", "geometry"].item()
    assert pole.bounds[1] == -90.0


def test_airportsdata_keeps_namibia_and_filters_japan(sites_data: Path) -> None:
    path = sites_data / "airportsdata" / "airports.csv"
    japan = read_point_catalog(path, country="JP")
    assert _adds_up(japan)["n_read"] == 130
    haneda = japan.loc[japan["site_id"] == "icao:RJTT"].iloc[0]
    assert haneda["name"] == "Tokyo International Airport"
    assert haneda["source"] == "airports.csv:RJTT"
    # "NA" is Namibia's code, not a missing value
    assert len(read_point_catalog(path, country="NA")) == 63


def test_geonucleardata(sites_data: Path) -> None:
    path = sites_data / "geonucleardata" / "nuclear_power_plants.csv"
    units = read_point_catalog(path, by_plant=False)
    assert _adds_up(units) == {
        "source": str(path), "n_read": 804, "n_kept": 759, "repaired": 0, "merged": {},
        "rejected": {"missing coordinates": 45},
    }
    # One site per plant: the 759 located reactors sit at 404 distinct plants.
    world = read_point_catalog(path)
    report = _adds_up(world)
    assert report["merged"] == {"another unit of the same plant": 355}
    assert report["rejected"] == {"missing coordinates": 45}
    assert len(world) == 404
    japan = read_point_catalog(path, country="JP")
    report = _adds_up(japan)
    assert (report["n_read"], report["n_kept"]) == (71, 24)
    kk = japan[japan["name"] == "Kashiwazaki Kariwa"]
    # Seven reactors (Ids 371-377) at 37.434 N, 138.598 E become one site with the first id.
    assert kk["site_id"].tolist() == ["geonuclear:371"]
    assert len(read_point_catalog(path, country="JP", by_plant=False)) == 66
    assert set(japan["category"]) == {"nuclear"} and set(japan["sensitivity"]) == {5}
    assert set(japan["geometry_origin"]) == {"point+600m"}
    assert japan["site_id"].str.fullmatch(r"geonuclear:\d+").all()
    assert read_point_catalog(path, country="japan")["site_id"].tolist() == japan[
        "site_id"
    ].tolist()


def test_wri_japan_nuclear_rows_become_nuclear(sites_data: Path, area_m2) -> None:
    s = read_point_catalog(sites_data / "wri_gppd" / "WRI_raw_Japan.csv")
    report = _adds_up(s)
    assert (report["n_read"], report["n_kept"]) == (412, 331)
    assert report["rejected"] == {"missing coordinates": 81}
    assert s["category"].value_counts().to_dict() == {"power_plant": 314, "nuclear": 17}
    nuclear = s[s["category"] == "nuclear"]
    assert "Kashiwazaki Kariwa" in set(nuclear["name"])
    assert set(nuclear["geometry_origin"]) == {"point+600m"}
    assert s["site_id"].str.fullmatch(r"wri:\d+").all()
    # power plants: radius from capacity, and the circle has that radius
    raw = pd.read_csv(sites_data / "wri_gppd" / "WRI_raw_Japan.csv", dtype=str)
    capacity = raw.set_index("wri:" + raw["Power Plant ID"])["Capacity (MW)"].astype(float)
    plants = s[s["category"] == "power_plant"]
    expected = power_plant_radius(capacity.loc[plants["site_id"]].to_numpy())
    radius = _radius(plants["geometry_origin"])
    assert radius == pytest.approx(expected)
    assert area_m2(plants) / (math.pi * radius**2) == pytest.approx(np.ones(len(plants)), abs=0.005)


def test_gppd_geodb(sites_data: Path) -> None:
    path = sites_data / "wri_gppd" / "database_GEODB.csv"
    s = read_point_catalog(path)
    report = _adds_up(s)
    assert report["n_read"] == report["n_kept"] == 9998
    assert s["category"].value_counts().to_dict() == {"power_plant": 9798, "nuclear": 200}
    besos = s[s["name"] == "Besos-5 CCGT Power Plant Spain"].iloc[0]
    assert besos["category"] == "power_plant" and besos["site_id"].startswith("gppd:GEODB")
    spain = read_point_catalog(path, country="ESP")
    by_name = read_point_catalog(path, country="Spain")
    assert len(spain) > 0 and spain["site_id"].tolist() == by_name["site_id"].tolist()
    assert len(read_point_catalog(path, country="JPN")) == 191
    with pytest.raises(SiteDataError, match="alpha-3 codes such as"):
        read_point_catalog(path, country="JP")


# --- detection and errors --------------------------------------------------------------------


def test_unknown_header_lists_the_known_kinds(sites_data: Path) -> None:
    path = sites_data / "ourairports" / "runways.csv"
    with pytest.raises(SiteDataError, match="not a known point catalogue") as err:
        read_point_catalog(path)
    assert all(k in str(err.value) for k in ("airportsdata", "geonucleardata", "wri", "gppd"))
    nuclear = sites_data / "geonucleardata" / "nuclear_power_plants.csv"
    with pytest.raises(SiteDataError, match=re.escape("missing columns ['icao', 'name', 'lat'")):
        read_point_catalog(nuclear, kind="airportsdata")
    with pytest.raises(SiteDataError, match="kind='osm' is not one of"):
        read_point_catalog(nuclear, kind="osm")


def test_bad_rows_are_rejected_by_reason(tmp_path: Path) -> None:
    path = tmp_path / "airports.csv"
    path.write_text(
        AIRPORTS_HEADER
        + '"AAAA","","Good","","","JP",0,35.5,139.7,"",""\n'
        + '"BBBB","","No coords","","","JP",0,,,"",""\n'
        + '"CCCC","","Text","","","JP",0,north,139.7,"",""\n'
        + '"DDDD","","Too far","","","JP",0,95.0,139.7,"",""\n'
        + '"EEEE","","Null island","","","JP",0,0,0,"",""\n'
        + '"","","No id","","","JP",0,35.5,139.7,"",""\n',
        encoding="utf-8",
    )
    s = read_point_catalog(path, radius_m=2000.0)
    assert s["site_id"].tolist() == ["icao:AAAA"]
    assert s["geometry_origin"].tolist() == ["point+2000m"]
    assert _adds_up(s)["rejected"] == {
        "coordinates at 0,0": 1,
        "coordinates out of range": 1,
        "missing coordinates": 1,
        "missing id": 1,
        "unparseable coordinates": 1,
    }


def test_repeated_ids_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "airports.csv"
    path.write_text(AIRPORTS_HEADER + '"AAAA","","A","","","JP",0,35.5,139.7,"",""\n' * 2,
                    encoding="utf-8")
    with pytest.raises(SiteDataError, match=r"ids repeated, e.g. \['icao:AAAA'\]"):
        read_point_catalog(path)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SiteDataError, match=r"nope\.csv: no such file"):
        read_point_catalog(tmp_path / "nope.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 50)
    with pytest.raises(SiteDataError, match="cannot read as a UTF-8 CSV") as err:
        read_point_catalog(binary)
    assert "\n" not in str(err.value) and err.value.__suppress_context__
    empty = tmp_path / "airports.csv"
    empty.write_text(AIRPORTS_HEADER, encoding="utf-8")
    assert len(read_point_catalog(empty)) == 0
    with pytest.raises(SiteDataError, match="radius_m=0: expected a positive number"):
        read_point_catalog(empty, radius_m=0)


def test_power_plant_radius_grows_with_capacity_within_bounds() -> None:
    mw = np.array([0.5, 10, 100, 500, 1000, 5000, 50_000, -3, np.nan])
    r = power_plant_radius(mw)
    assert r.tolist() == [150, 150, 150, 300, 424, 949, 1000, 300, 300]
    assert np.all(np.diff(r[:7]) >= 0)

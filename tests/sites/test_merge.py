from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from sites import (
    SiteDataError,
    bundled,
    make_sites,
    merge_sites,
    read_geozones,
    read_point_catalog,
    read_runways,
    read_sites,
)
from sites.geometry import circles


def _table(items: list[tuple[dict, shapely.Geometry]], source: str) -> gpd.GeoDataFrame:
    rows = [row for row, _ in items]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[g for _, g in items], crs="EPSG:4326")
    frame["source"] = [f"{source}:{r['site_id']}" for r in rows]
    out = make_sites(frame, source=source)
    out.attrs["read_report"] = {"source": source, "n_read": len(out), "n_kept": len(out),
                                "repaired": 0, "merged": {}, "rejected": {}}
    return out


def _point(site_id: str, lon: float, lat: float, r: float, category: str = "airport") -> tuple:
    (c,) = circles([lon], [lat], r)
    return {"site_id": site_id, "name": site_id, "category": category,
            "geometry_origin": f"point+{r:g}m"}, c


def _poly(site_id: str, geom, category: str = "airport", origin: str = "polygon") -> tuple:
    return {"site_id": site_id, "name": site_id, "category": category,
            "geometry_origin": origin}, geom


def test_point_and_outline_of_one_airport_keep_the_outline(adds_up) -> None:
    points = _table([_point("icao:RJTT", 139.78, 35.55, 1500.0),
                           _point("icao:RJAA", 140.39, 35.77, 1500.0)], "points")
    outline = shapely.box(139.76, 35.53, 139.80, 35.57)
    runway = shapely.box(139.77, 35.54, 139.771, 35.56)
    outlines = _table([_poly("jp:haneda", outline)], "outlines")
    runways = _table([_poly("runway:1", runway, origin="runway")], "runways")
    m = merge_sites([points, runways, outlines])
    report = adds_up(m)
    assert report["merged"] == {"duplicate airport from another source": 2}
    haneda = m.set_index("site_id").loc["jp:haneda"]
    assert haneda["geometry"].equals(outline)
    assert haneda["source"] == "outlines:jp:haneda; points:icao:RJTT; runways:runway:1"
    assert sorted(m["site_id"]) == ["icao:RJAA", "jp:haneda"]
    assert {(d["site_id"], d["into"]) for d in m.attrs["merges"]} == {
        ("icao:RJTT", "jp:haneda"), ("runway:1", "jp:haneda"),
    }


def test_one_reference_point_is_not_folded_into_every_runway() -> None:
    points = _table([_point("icao:X", 10.0, 50.0, 1500.0)], "points")
    long = shapely.box(9.99, 50.0, 10.01, 50.0004)
    short = shapely.box(10.0, 49.995, 10.0004, 50.005)
    runways = _table([_poly("runway:1", long, origin="runway"),
                            _poly("runway:2", short, origin="runway")], "runways")
    m = merge_sites([points, runways]).set_index("site_id")
    # the point goes into the nearest runway; the runways of one source stay apart
    assert sorted(m.index) == ["runway:1", "runway:2"]
    assert m.loc["runway:1", "source"] == "runways:runway:1; points:icao:X"


def test_polygons_need_to_overlap_by_half() -> None:
    a = _table([_poly("a:1", shapely.box(0, 0, 1, 1), "dam")], "a")
    b = _table([_poly("b:1", shapely.box(0.6, 0, 1.6, 1), "dam"),
                      _poly("b:2", shapely.box(0.2, 0, 0.8, 1), "dam")], "b")
    m = merge_sites([a, b]).set_index("site_id")
    # b:1 shares 40 % of its area with a:1: a neighbour; b:2 lies wholly inside it
    assert sorted(m.index) == ["a:1", "b:1"]
    assert m.loc["a:1", "source"] == "a:a:1; b:b:2"


def test_categories_and_sources_are_never_mixed() -> None:
    a = _table([_poly("a:1", shapely.box(0, 0, 1, 1), "dam"),
                      _poly("a:2", shapely.box(0, 0, 1, 1), "military")], "a")
    assert len(merge_sites([a])) == 2
    b = _table([_poly("b:1", shapely.box(0, 0, 1, 1), "port")], "b")
    assert len(merge_sites([a, b])) == 3


def test_sensitivity_is_the_highest_and_input_is_untouched() -> None:
    a = _table([_point("p:1", 135.0, 35.0, 300.0, "power_plant")], "a")
    b = _table([_poly("q:1", shapely.box(134.99, 34.99, 135.01, 35.01), "power_plant")],
               "b")
    a.loc[0, "sensitivity"] = 5
    before_a, before_b = a.copy(), b.copy()
    m = merge_sites([a, b])
    assert m["site_id"].tolist() == ["q:1"] and m["sensitivity"].tolist() == [5]
    pd.testing.assert_frame_equal(a, before_a)
    pd.testing.assert_frame_equal(b, before_b)


def test_the_same_file_twice_is_one_catalogue(sites_data: Path, adds_up) -> None:
    red = read_sites(sites_data / "japan" / "no_fly_red.geojson")
    m = merge_sites([red, red])
    report = adds_up(m)
    assert len(m) == 4 and report["n_read"] == 8
    assert report["merged"] == {"duplicate government from another source": 3,
                                "duplicate military from another source": 1}


def test_geozones_are_not_merged_with_facilities(geozones_data: Path) -> None:
    zones = read_geozones(geozones_data / "cis_source_sample_ed318.json")
    bern = zones[zones["site_id"] == "geozone:CHE:LSZB003"]
    centre = bern.geometry.iloc[0].representative_point()
    points = _table([_point("icao:LSZB", centre.x, centre.y, 1500.0)], "points")
    assert len(merge_sites([zones, points])) == 4


def test_no_tables_is_an_error() -> None:
    with pytest.raises(SiteDataError, match="no site tables"):
        merge_sites([])


def test_real_japanese_catalogues(sites_data: Path, adds_up) -> None:
    path = sites_data / "geonucleardata" / "nuclear_power_plants.csv"
    nuclear = read_point_catalog(path, country="JP")
    wri = read_point_catalog(sites_data / "wri_gppd" / "WRI_raw_Japan.csv")
    airports = read_point_catalog(sites_data / "airportsdata" / "airports.csv", country="JP")
    runways = read_runways(sites_data / "ourairports" / "runways.csv",
                           airports=airports["site_id"].str.removeprefix("icao:"))
    m = merge_sites([bundled("japan"), airports, runways, nuclear, wri])
    report = adds_up(m)
    merged = report["merged"]
    # the bundled GeoNuclearData rows are the same 24 plants (same ids); WRI adds 16 of its 17
    # reactors' plants (Tokai Daini is 4.6 km from GeoNuclearData's JPDR, not a duplicate)
    assert merged["duplicate nuclear from another source"] == 24 + 16
    assert merged["another unit of the same plant"] == 42 + 42
    nuclear_sites = m[m["category"] == "nuclear"]
    assert len(nuclear_sites) == 24 + 1
    kk = m.set_index("site_id").loc["geonuclear:371"]
    assert kk["source"].split("; ") == [
        "nuclear_power_plants_jp.csv:371", "nuclear_power_plants.csv:371",
        "WRI_raw_Japan.csv:1000679",
    ]
    # Haneda: the MLIT outline absorbs airportsdata's point and OurAirports' four runways
    haneda = m[m["source"].str.contains("airports.csv:RJTT")]
    assert len(haneda) == 1 and haneda["site_id"].iloc[0].startswith("jp-airport:")
    assert haneda["source"].iloc[0].count("runways.csv:") == 4
    assert m["site_id"].is_unique and shapely.is_valid(m.geometry.array).all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 0.2), st.floats(0, 0.2), st.sampled_from([100.0, 500.0, 2000.0]),
                  st.integers(0, 2)),
        min_size=1, max_size=12,
    )
)
def test_every_site_is_kept_or_merged_exactly_once(points) -> None:
    frames = []
    for part in range(3):
        rows = [_point(f"s{part}:{i}", 135 + x, 35 + y, r, "dam")
                for i, (x, y, r, p) in enumerate(points) if p == part]
        if rows:
            frames.append(_table(rows, f"src{part}"))
    m = merge_sites(frames)
    total = sum(len(f) for f in frames)
    merged = sum(m.attrs["read_report"]["merged"].values())
    assert len(m) + merged == total
    assert len(m) >= max(len(f) for f in frames)  # a source's own sites never merge
    kept = set(m["site_id"])
    assert all(d["into"] in kept and d["site_id"] not in kept for d in m.attrs["merges"])

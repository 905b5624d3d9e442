from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, make_sites


def _frame(**columns) -> gpd.GeoDataFrame:
    # two 200 m squares in UTM 54N (Tokyo), the contract's metric fixture
    data = {"site_id": ["a", "b"], "name": ["A", "B"], "category": ["dam", "port"]}
    data.update(columns)
    squares = [shapely.box(390_000, 3_950_000, 390_200, 3_950_200),
               shapely.box(391_000, 3_950_000, 391_200, 3_950_200)]
    return gpd.GeoDataFrame(data, geometry=squares, crs=32654)


def test_make_sites_builds_the_contract() -> None:
    s = make_sites(_frame())
    assert list(s.columns) == [*SITE_COLUMNS, "geometry"]
    assert s.crs == "EPSG:4326"
    assert s["sensitivity"].tolist() == [3, 2]
    assert s["geometry_origin"].tolist() == ["polygon", "polygon"]
    assert s["floor_m"].isna().all() and s["schedule"].isna().all()
    assert s.to_crs(32654).area.tolist() == pytest.approx([40_000.0, 40_000.0], rel=1e-6)


def test_make_sites_does_not_mutate_its_input() -> None:
    frame = _frame(sensitivity=[None, 4])
    before = frame.copy()
    make_sites(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert frame.crs == before.crs


def test_make_sites_reports_every_problem_at_once() -> None:
    frame = _frame(site_id=["a", "a"], category=["zoo", "dam"], sensitivity=[None, 7])
    frame.geometry = [frame.geometry.iloc[0], shapely.Point(390_000, 3_950_000)]
    with pytest.raises(SiteDataError) as err:
        make_sites(frame, source="mine.geojson")
    text = str(err.value)
    assert text.startswith("mine.geojson: ")
    assert "unknown category ['zoo']" in text
    assert "sensitivity must be an integer 1-5, found [7.0]" in text
    assert "site_id repeated: ['a']" in text
    assert "not polygons" in text and "buffered by the reader" in text


def test_make_sites_refuses_a_sensitivity_that_is_not_a_number() -> None:
    frame = _frame(sensitivity=["high", 2])
    with pytest.raises(SiteDataError, match=r"sensitivity must be a number 1-5, found \['high'\]"):
        make_sites(frame)


def test_make_sites_refuses_missing_crs_and_columns() -> None:
    frame = _frame()
    with pytest.raises(SiteDataError, match="no CRS"):
        make_sites(frame.set_crs(None, allow_override=True))
    with pytest.raises(SiteDataError, match=r"missing required site columns \['name'\]"):
        make_sites(frame.drop(columns="name"))


def test_make_sites_refuses_invalid_and_empty_polygons() -> None:
    frame = _frame()
    bowtie = shapely.Polygon([(390_000, 3_950_000), (390_100, 3_950_100),
                              (390_100, 3_950_000), (390_000, 3_950_100)])
    frame.geometry = [bowtie, shapely.Polygon()]
    with pytest.raises(SiteDataError, match="1 sites without geometry") as err:
        make_sites(frame)
    assert "1 invalid polygons" in str(err.value)

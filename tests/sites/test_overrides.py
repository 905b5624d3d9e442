from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from sites import (
    DEFAULT_SENSITIVITY,
    SiteDataError,
    SiteOverrides,
    apply_overrides,
    make_sites,
    read_overrides,
)


@pytest.fixture
def catalogue() -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {
            "site_id": ["icao:RJTT", "icao:RJAA", "osm:way/1", "dam:1"],
            "name": ["Haneda", "Narita", "Office", "Dam"],
            "category": ["airport", "airport", "other", "dam"],
            "sensitivity": [3, 3, 1, 2],  # the dam's file said 2
        },
        geometry=[shapely.box(i, 0, i + 0.01, 0.01) for i in range(4)],
        crs="EPSG:4326",
    )
    out = make_sites(frame)
    out.attrs["read_report"] = {"source": "x"}
    return out


def test_defaults_are_documented() -> None:
    assert DEFAULT_SENSITIVITY == {
        "nuclear": 5, "military": 5, "government": 4, "power_plant": 3, "dam": 3,
        "airport": 3, "port": 2, "prison": 2, "other": 1,
    }


def test_toml_overrides_and_precedence(tmp_path: Path, catalogue) -> None:
    path = tmp_path / "o.toml"
    path.write_text(
        "[categories]\nairport = 4\ngovernment = 5\n\n[sites]\n"
        '"icao:RJTT" = 2\n'
        '"osm:way/1" = { category = "government" }\n'
        '"icao:XXXX" = 5\n',
        encoding="utf-8",
    )
    out = apply_overrides(catalogue, path)
    got = out.set_index("site_id")[["category", "sensitivity"]]
    assert got.to_dict("index") == {
        "icao:RJTT": {"category": "airport", "sensitivity": 2},  # its own beats its category's
        "icao:RJAA": {"category": "airport", "sensitivity": 4},  # the category's
        "osm:way/1": {"category": "government", "sensitivity": 5},  # moved: the new category's
        "dam:1": {"category": "dam", "sensitivity": 2},  # untouched
    }
    assert out.attrs["overrides"] == {
        "source": str(path), "sites_changed": 2,
        "by_category": {"airport": 2, "government": 1}, "unmatched": ["icao:XXXX"],
    }
    assert out.attrs["read_report"] == {"source": "x"}
    # the input is not modified
    assert catalogue["sensitivity"].tolist() == [3, 3, 1, 2]


def test_csv_overrides(tmp_path: Path, catalogue) -> None:
    path = tmp_path / "o.csv"
    path.write_text(
        "site_id,category,sensitivity\n"
        ",dam,5\n"
        "osm:way/1,military,\n"
        "icao:RJAA,,1\n",
        encoding="utf-8",
    )
    o = read_overrides(path)
    assert dict(o.categories) == {"dam": 5}
    assert dict(o.sites) == {"osm:way/1": {"category": "military"}, "icao:RJAA": {"sensitivity": 1}}
    out = apply_overrides(catalogue, o).set_index("site_id")
    assert out["sensitivity"].to_dict() == {
        "icao:RJTT": 3, "icao:RJAA": 1, "osm:way/1": 5, "dam:1": 5,
    }


@pytest.mark.parametrize(
    ("name", "text", "messages"),
    [
        ("o.toml", '[categories]\nzoo = 3\nairport = 7\n[sites]\n"a" = { colour = "red" }\n',
         ["category 'zoo' is not one of", "sensitivity 7 is not an integer 1-5",
          "unknown keys ['colour']"]),
        ("o.toml", "[stuff]\n", ["unknown table ['stuff']"]),
        ("o.toml", "[categories\n", ["not valid TOML"]),
        ("o.csv", "site_id,sensitivity\na,1\na,2\n,3\n",
         ["row 3: site 'a' is listed twice", "row 4: neither a site_id nor a category"]),
        ("o.csv", "site,level\na,1\n", ["expected site_id and/or category"]),
        ("o.csv", "category,sensitivity\nairport,\n", ["category 'airport' without a sensitivity"]),
        ("o.txt", "", ["unknown override format"]),
    ],
)
def test_every_problem_is_reported(tmp_path: Path, name: str, text: str, messages) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SiteDataError) as err:
        read_overrides(path)
    assert str(err.value).startswith(str(path))
    for message in messages:
        assert message in str(err.value)


def test_overrides_object_needs_no_file(catalogue) -> None:
    out = apply_overrides(catalogue, SiteOverrides(sites={"dam:1": {"sensitivity": 4}}))
    assert out["sensitivity"].tolist() == [3, 3, 1, 4]
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == "EPSG:4326"
    pd.testing.assert_series_equal(out["site_id"], catalogue["site_id"])

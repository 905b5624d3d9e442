from __future__ import annotations

from importlib import resources

import pytest
import shapely

from sites import SITE_COLUMNS, SiteDataError, bundled


def test_japan_has_the_four_categories_and_unique_ids() -> None:
    s = bundled("japan")
    assert list(s.columns) == [*SITE_COLUMNS, "geometry"]
    assert s["category"].value_counts().to_dict() == {
        "military": 738, "airport": 85, "nuclear": 24, "government": 3,
    }
    assert s["site_id"].is_unique
    assert shapely.is_valid(s.geometry.array).all()
    prefixes = set(s["site_id"].str.split(":").str[0])
    assert prefixes == {"jp-airport", "osm", "geonuclear", "jp-nofly"}


def test_japan_read_report_adds_up() -> None:
    s = bundled()
    report = s.attrs["read_report"]
    assert report["source"] == "bundled:japan"
    assert report["n_kept"] == len(s) == 850
    assert report["n_read"] == 897
    assert report["merged"] == {"another unit of the same plant": 42}
    assert report["rejected"] == {"missing coordinates": 5}
    assert [p["n_kept"] for p in report["parts"]] == [85, 737, 24, 4]


def test_bundled_is_fresh_each_call() -> None:
    first = bundled()
    first.loc[0, "name"] = "changed"
    assert bundled().loc[0, "name"] != "changed"


def test_unknown_catalogue_lists_the_available_ones() -> None:
    with pytest.raises(SiteDataError, match=r"bundled\('mars'\).*available: \['japan'\]"):
        bundled("mars")


def test_package_data_is_small_and_attributed() -> None:
    data = resources.files("sites") / "data"
    names = {p.name for p in data.iterdir()}
    assert {"airport_surfaces.geojson", "military_bases.geojson",
            "nuclear_power_plants_jp.csv", "no_fly_red.geojson", "ATTRIBUTION.md"} <= names
    assert all(len(p.read_bytes()) < 200_000 for p in data.iterdir())
    attribution = (data / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needed in ("国土数値情報（空港データ）国土交通省", "© OpenStreetMap contributors",
                   "ODbL", "GeoNuclearData", "DID-J26", "MIT", "not official"):
        assert needed in attribution


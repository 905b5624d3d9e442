"""The rendered page, checked as a string: offline, escaped, labelled and deterministic."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import folium
import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely import LineString, Point

import maps
from maps.assets import leaflet_assets

HERE = Path(__file__).parent
XSS_NAME = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
XSS_DRONE = '" onmouseover="window.__xss=3'
BANNER = "UNCLASSIFIED // demo data"


def as_script_json(value: str) -> str:
    """How a string appears inside folium's embedded GeoJSON (Jinja's ``tojson``)."""
    return (
        json.dumps(value)[1:-1]
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )


@pytest.fixture
def page(site_exposure, flights, provenance) -> str:
    m = maps.risk_map(site_exposure, flights=flights, title=BANNER, provenance=provenance)
    return maps.render_html(m)


@pytest.fixture
def own_part(page) -> str:
    """The page without the inlined Leaflet library: what this package wrote."""
    js = leaflet_assets().js
    assert page.count(js) == 1
    return page.replace(js, "")


def test_no_external_script_stylesheet_or_url(page, own_part):
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert not re.search(r"@import", own_part, re.IGNORECASE)
    targets = re.findall(r"url\(\s*['\"]?([^'\")]*)", own_part, re.IGNORECASE)
    assert targets, "the inlined Leaflet CSS has its images as url(data:...)"
    assert all(t.startswith("data:") for t in targets), targets


def test_only_unfetched_urls_remain_and_only_inside_leaflet(page, own_part):
    assert not re.search(r"\b(?:https?|ftp|wss?)://", own_part, re.IGNORECASE)
    in_leaflet = set(re.findall(r"https?://[^\s\"'<>)]*", page))
    # An XML namespace and the attribution link text, which the map replaces by plain text.
    assert in_leaflet <= {"http://www.w3.org/2000/svg", "https://leafletjs.com"}
    assert "sourceMappingURL" not in page
    assert maps.offline_problems(page) == []


def test_no_random_element_ids(page):
    assert not re.search(r"[0-9a-f]{32}", page)
    assert re.search(r'id="map_\d+"', page)


def test_hostile_text_is_escaped_everywhere(page):
    for raw in (XSS_NAME, XSS_DRONE):
        assert raw not in page
        assert as_script_json(raw) not in page
        assert as_script_json(html.escape(raw)) in page
    assert "<script>window" not in page
    assert "<img src=x" not in page
    assert 'onerror=\\"' not in page and 'onerror="' not in page
    assert 'onmouseover=\\"' not in page and 'onmouseover="' not in page


def test_provenance_banner_and_legend_are_on_the_page(page):
    assert page.count(f'role="note">{html.escape(BANNER)}</div>') == 2
    assert f"<title>{html.escape(BANNER)}</title>" in page
    assert "offline: no network requests" in page
    assert "<dd>sites/&lt;b&gt;catalogue&lt;/b&gt;.geojson</dd>" in page
    assert "<b>catalogue</b>" not in page
    assert "<dd>DJI_20240501_0912.SRT, skydio-0002.csv</dd>" in page
    assert "<dt>R_max</dt><dd>5 km</dd>" in page
    assert "Sites: risk score" in page
    for label in ("80 or more", "60 – 80", "40 – 60", "20 – 40", "below 20", "no flight came near"):
        assert label in page
    for colour in (*maps.RISK_COLOURS, maps.NO_SCORE_COLOUR):
        assert colour in page
    assert "Flight tracks by vendor" in page
    assert re.search(r"DJI<span class=\"exposure-count\">1 flight</span>", page)
    # Both layers are in the layer control.
    assert '"Sites" :' in page and '"Flight tracks" :' in page


def test_geojson_is_valid_json_without_nan_or_dates(own_part):
    assert not re.search(r"\bNaN\b|\bInfinity\b", own_part)
    assert "Timestamp(" not in own_part and "NaT" not in own_part
    blobs = re.findall(r"_add\((\{.*?\})\);\n", own_part)
    assert len(blobs) == 2
    sites, tracks = (json.loads(b) for b in blobs)
    assert len(sites["features"]) == 3 and len(tracks["features"]) == 2
    seen = {f["properties"]["seen"] for f in sites["features"]}
    assert "—" in seen  # the site nobody came near: NaT shown as missing
    assert any("2024-05-01T09:12:00Z" in s for s in seen)
    assert all(isinstance(v, str) for f in sites["features"] for v in f["properties"].values())


def test_two_renders_are_byte_identical(site_exposure, flights, provenance, tmp_path):
    def build():
        return maps.risk_map(site_exposure, flights=flights, title=BANNER, provenance=provenance)

    m = build()
    a = maps.save_html(m, tmp_path / "a.html").read_bytes()
    b = maps.save_html(m, tmp_path / "b.html").read_bytes()
    c = maps.save_html(build(), tmp_path / "c.html").read_bytes()
    assert a == b == c


def test_renders_are_identical_across_processes(tmp_path):
    code = (
        "import runpy, sys, maps\n"
        "d = runpy.run_path(sys.argv[1])\n"
        "m = maps.risk_map(d['make_site_exposure'](), flights=d['make_flights'](),\n"
        "                  title='T', provenance=d['make_provenance']())\n"
        "maps.save_html(m, sys.argv[2])\n"
    )
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"p{seed}.html"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-c", code, str(HERE / "conftest.py"), str(out)],
            check=True,
            env=env,
            cwd=HERE.parents[1],
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_input_frames_are_not_modified(site_exposure, flights, provenance):
    sites_before, flights_before = site_exposure.copy(deep=True), flights.copy(deep=True)
    provenance_before = json.dumps(provenance, sort_keys=True)
    maps.render_html(maps.risk_map(site_exposure, flights=flights, provenance=provenance))
    assert_geodataframe_equal(site_exposure, sites_before)
    assert_geodataframe_equal(flights, flights_before)
    assert json.dumps(provenance, sort_keys=True) == provenance_before


def test_folium_class_defaults_are_left_alone(site_exposure):
    js, css = list(folium.Map.default_js), list(folium.Map.default_css)
    m = maps.risk_map(site_exposure)
    assert m.default_js == [] and m.default_css == []
    assert folium.Map.default_js == js and folium.Map.default_css == css
    assert folium.Map.default_js, "folium's own maps still load their CDN assets"


def test_online_basemap_is_declared_and_refused_offline(site_exposure, tmp_path):
    m = maps.risk_map(site_exposure, tiles="OpenStreetMap")
    with pytest.raises(maps.OfflineError, match=r"tile\.openstreetmap\.org"):
        maps.render_html(m)
    page = maps.save_html(m, tmp_path / "online.html", offline=False).read_text("utf-8")
    assert "online: basemap tiles from tile.openstreetmap.org" in page
    assert "offline: no network requests" not in page
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page)  # Leaflet stays inline


def test_a_plain_folium_map_is_refused_offline(site_exposure):
    m = maps.add_sites(site_exposure, m=folium.Map(tiles=None))
    with pytest.raises(maps.OfflineError) as info:
        maps.render_html(m)
    assert "cdn.jsdelivr.net" in str(info.value) and "script loaded by src" in str(info.value)
    assert "leaflet" in maps.render_html(m, offline=False)


def test_layers_can_be_added_one_by_one(site_exposure, flights):
    m = maps.inline_leaflet(folium.Map(tiles=None))
    maps.add_sites(site_exposure, m=m, name="Sites <2024>", legend=False, tooltip=False)
    maps.add_tracks(flights, m=m, name="Tracks", style_kwds={"weight": 6})
    folium.LayerControl().add_to(m)
    page = maps.render_html(m)
    # Leaflet's layer control inserts names as HTML.
    assert as_script_json("Sites &lt;2024&gt;") in page
    assert as_script_json("Sites <2024>") not in page
    assert "Sites &lt;2024&gt;: risk score" not in page  # no legend asked for
    assert '"weight": 6' in page
    assert page.count("exposure-tooltip") >= 1


def test_point_and_empty_tracks(site_exposure, flights):
    more = gpd.GeoDataFrame(
        pd.concat([flights, flights], ignore_index=True), geometry="geometry", crs=flights.crs
    )
    more["flight_id"] = ["a", "b", "one-sample", "no-samples"]
    more["vendor"] = ["DJI", "Skydio", None, "Parrot"]
    more.loc[2, "geometry"] = Point(139.6, 35.3)
    more.loc[3, "geometry"] = LineString()
    page = maps.render_html(maps.risk_map(site_exposure, flights=more))
    tracks = json.loads(re.findall(r"_add\((\{.*?\})\);\n", page)[1])
    assert [f["properties"]["flight"] for f in tracks["features"]] == ["a", "b", "one-sample"]
    assert "L.CircleMarker" in page  # the one-sample flight is a circle, not an image marker
    assert "unknown<span" in page  # vendorless track in the legend
    assert "Parrot" not in page


def test_names_that_look_like_references_do_not_block_saving(site_exposure, tmp_path):
    odd = site_exposure.copy()
    odd["name"] = ["see https://evil.example/x.png", "url(http://a/b) @import 'c'", "//cdn"]
    page = maps.save_html(maps.risk_map(odd), tmp_path / "m.html").read_text("utf-8")
    assert maps.offline_problems(page) == []
    assert as_script_json("see https&#58;//evil.example/x.png") in page


def test_empty_site_table(site_exposure):
    empty = site_exposure.iloc[0:0]
    page = maps.render_html(maps.risk_map(empty))
    assert "0 sites" in page and maps.offline_problems(page) == []


def test_site_table_in_another_crs_is_converted(site_exposure):
    page = maps.render_html(maps.risk_map(site_exposure.to_crs(32654)))
    assert re.search(r"\[139\.65\d*, 35\.28\d*\]", page)


def test_bad_tables_are_reported(site_exposure, flights):
    no_crs = site_exposure.set_crs(None, allow_override=True).drop(columns=["risk_score"])
    with pytest.raises(maps.MapError, match=r"no CRS.*missing columns \['risk_score'\]"):
        maps.risk_map(no_crs)
    with pytest.raises(maps.MapError, match=r"flights: missing columns \['vendor'\]"):
        maps.risk_map(site_exposure, flights=flights.drop(columns=["vendor"]))
    with pytest.raises(maps.MapError, match="expected a GeoDataFrame"):
        maps.risk_map(site_exposure.drop(columns="geometry"))
    with pytest.raises(maps.MapError, match="strictly increasing"):
        maps.risk_map(site_exposure, bins=(1, 1, 2, 3))

"""The further layers, the tooltips they add, the time index and the controls, as page text."""

from __future__ import annotations

import html
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from pyproj import Geod
from shapely import box

import maps
from maps.coverage import NIIRS_COLOURS, aggregate_coverage, niirs_classes
from maps.siteinfo import site_extras

XSS = (
    '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">',
    '" onmouseover="window.__xss=3',
    '<b onmouseover="window.__xss=4">Zone</b>',
    '<svg onload="window.__xss=5">',
)


def blobs(page: str) -> list[dict]:
    return [json.loads(b) for b in re.findall(r"_add\((\{.*?\})\);\n", page)]


def by_name(page: str) -> dict[str, dict]:
    """GeoJSON of each layer by its layer-control name."""
    names = re.findall(r'"([^"]+)" : (geo_json_\d+)', page)
    data = dict(re.findall(r"(geo_json_\d+)_add\((\{.*?\})\);\n", page))
    return {html.unescape(n): json.loads(data[v]) for n, v in names if v in data}


@pytest.fixture
def full_page(site_exposure, flights, provenance, layers) -> str:
    m = maps.risk_map(site_exposure, flights=flights, title="T", provenance=provenance, **layers)
    return maps.render_html(m)


def test_every_layer_is_drawn_and_listed(full_page):
    found = by_name(full_page)
    counts = {k: len(v["features"]) for k, v in found.items()}
    assert counts == {
        "Radio receivers": 2,  # the range ring and the receiver
        "No-fly zones": 2,
        "Sites": 3,
        "Coverage (best NIIRS)": 2,  # four cells, two NIIRS classes
        "Footprints": 2,  # the third is outside both passes
        "Flight tracks": 2,
        "Passes": 2,
        "Zone violations": 1,
    }
    assert maps.offline_problems(full_page) == []


def test_hostile_names_in_every_layer_are_escaped(full_page):
    for raw in XSS:
        assert raw not in full_page
        for part in ("onerror=", "onmouseover=", "onload="):
            assert f"{part}\\u0022" not in full_page and f'{part}"' not in full_page
    zones = by_name(full_page)["No-fly zones"]["features"]
    assert zones[0]["properties"]["zone"] == html.escape(XSS[2])
    violation = by_name(full_page)["Zone violations"]["features"][0]["properties"]
    assert violation["zone"] == html.escape(XSS[2]) and violation["duration"] == "8 min 00 s"


def test_site_tooltip_names_drones_vendors_and_leaks(full_page):
    sites = by_name(full_page)["Sites"]["features"]
    top = next(f["properties"] for f in sites if f["properties"]["site"].startswith("Yokosuka"))
    assert top["top_drones"] == "1581F5FHD23 (DJI): 10 min 30 s"
    assert top["vendors"] == "DJI 100 %"
    assert top["leaks"] == "imagery leaked 34 %; visits known 91 %"
    quiet = next(f["properties"] for f in sites if f["properties"]["site"].startswith("Sagami"))
    assert quiet["top_drones"] == quiet["leaks"] == "—"
    assert "Drones longest in view" in full_page and "Chance of leak" in full_page


def test_site_extras_rank_drones_and_count_the_rest():
    passes = pd.DataFrame(
        {"site_id": ["s"] * 5, "drone_id": ["a", "b", "c", "d", "a"],
         "flight_id": ["1", "2", "3", "4", "5"], "seconds_in_view": [10.0, 50, 40, 30, 45]}
    )  # fmt: skip
    extra, labels = site_extras(pd.Series(["s"]), passes=passes)
    assert extra.loc[0, "top_drones"] == "a: 55 s; b: 50 s; c: 40 s; and 1 more"
    assert list(labels) == ["top_drones"]  # no flights table: no vendor shares


def test_pass_lines_are_cut_from_the_timed_track(flights, layers):
    thin, _ = maps.simplify_tracks(flights, points=layers["points"])
    lines = maps.pass_lines(layers["passes"], thin)
    first = np.asarray(lines.geometry.iloc[0].coords)
    # 09:13:30 is half-way between the vertices at 09:10 and 09:17: the line starts at the
    # midpoint of that leg and ends at 09:24, which is exactly the third vertex (14 min).
    track = np.asarray(flights.geometry.iloc[0].coords)
    np.testing.assert_allclose(first[0], (track[0] + track[1]) / 2)
    np.testing.assert_allclose(first[-1], track[2])
    np.testing.assert_allclose(first[1], track[1])


def test_time_index_of_tracks_and_passes(full_page):
    indexes = re.findall(r'kind: "(\w+)",\s*t0: (\[.*?\]),\s*t1: (\[.*?\]),\s*steps: (.*?)\n',
                         full_page)  # fmt: skip
    kinds = {k: (json.loads(a), json.loads(b), json.loads(s)) for k, a, b, s in indexes}
    assert set(kinds) == {"flights", "passes", "footprints", "violations"}
    t0, t1, steps = kinds["flights"]
    start = pd.Timestamp("2024-05-01T09:10:00Z").timestamp()
    assert t0[0] == start and t1[0] == start + 21 * 60
    assert steps[0] == [start, 420, 420, 420]  # first time, then the step to each vertex
    assert kinds["passes"][0] == [
        pd.Timestamp("2024-05-01T09:13:30Z").timestamp(),
        pd.Timestamp("2024-05-02T14:00:05Z").timestamp(),
    ]
    assert kinds["passes"][2] is None
    assert 'aria-label="Time window start"' in full_page


def test_coverage_cells_merge_by_site_and_class():
    cells = gpd.GeoDataFrame(
        {"site_id": ["a", "a", "a", "b", "b"], "best_niirs": [8.2, 8.9, 6.0, 2.0, np.nan]},
        geometry=[box(i, 0, i + 1, 1) for i in range(5)], crs=4326,
    )  # fmt: skip
    shapes, how = aggregate_coverage(cells)
    assert shapes[["site", "cells"]].to_numpy().tolist() == [["a", "1"], ["a", "2"], ["b", "1"]]
    assert shapes["niirs_class"].tolist() == [3, 5, 0]
    assert shapely.area(shapes.geometry.array).tolist() == [1.0, 2.0, 1.0]
    assert how.startswith("coverage: 4 cells of 2 sites merged into 3 shapes")
    assert niirs_classes([2.99, 3, 4.99, 5, 6, 7, 8]).tolist() == [0, 1, 1, 2, 3, 4, 5]


def test_coverage_budget_simplifies_outlines():
    # A staircase of 200 unit cells (two classes) has hundreds of outline vertices.
    cells = gpd.GeoDataFrame(
        {"site_id": "s", "best_niirs": [8.5 if (i + j) % 7 else 6.5 for i in range(20)
                                        for j in range(10)]},
        geometry=[box(i * 1e-4, j * 1e-4 + i * 3e-5, (i + 1) * 1e-4, (j + 1) * 1e-4 + i * 3e-5)
                  for i in range(20) for j in range(10)], crs=4326,
    )  # fmt: skip
    full, _ = aggregate_coverage(cells, max_vertices=None)
    capped, _ = aggregate_coverage(cells, max_vertices=60)
    n_full = int(shapely.get_num_coordinates(full.geometry.array).sum())
    n_capped = int(shapely.get_num_coordinates(capped.geometry.array).sum())
    assert n_capped <= 60 < n_full


def test_coverage_legend_and_colours(full_page):
    assert "Coverage (best NIIRS)" in full_page and "8 or more: readable markings" in full_page
    assert NIIRS_COLOURS[-1] in full_page and NIIRS_COLOURS[3] in full_page


def test_receiver_ring_is_a_geodesic_circle_of_the_range():
    r = gpd.GeoDataFrame({"name": ["rx"], "range_m": [2500.0]},
                         geometry=[shapely.Point(139.0, 35.0)], crs=4326)  # fmt: skip
    page = maps.render_html(maps.add_receivers(r, m=maps.inline_leaflet(folium.Map(tiles=None))))
    ring = blobs(page)[0]["features"][0]["geometry"]["coordinates"][0]
    lon, lat = np.asarray(ring).T
    _, _, dist = Geod(ellps="WGS84").inv(np.full(len(lon), 139.0), np.full(len(lat), 35.0),
                                         lon, lat)  # fmt: skip
    np.testing.assert_allclose(dist, 2500.0, rtol=1e-9)
    assert len(ring) == 73  # 72 azimuths, closed


def test_receivers_must_be_points():
    r = gpd.GeoDataFrame({"name": ["rx"], "range_m": [1.0]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(maps.MapError, match=r"rows \[0\]: expected Point"):
        maps.add_receivers(r, m=folium.Map(tiles=None))


def test_zone_status_and_limits(full_page):
    zones = by_name(full_page)["No-fly zones"]["features"]
    props = [z["properties"] for z in zones]
    assert [p["status"] for p in props] == ["existing", "proposed"]
    assert props[0]["limits"] == "0 – 150 m AGL" and props[1]["limits"] == "0 – unlimited m AGL"
    assert '"dashArray": "6 4"' in full_page  # proposed zones are dashed


def test_zones_missing_columns_are_named(layers):
    with pytest.raises(maps.MapError, match=r"zones: missing columns \['ceiling_m'\]"):
        maps.add_zones(layers["zones"].drop(columns="ceiling_m"), m=folium.Map(tiles=None))


def test_footprints_are_thinned_evenly(layers):
    fp = layers["footprints"]
    many = gpd.GeoDataFrame(pd.concat([fp] * 10, ignore_index=True), crs=fp.crs)
    many["time"] = pd.date_range("2024-05-01T09:00Z", periods=len(many), freq="min")
    page = maps.render_html(maps.add_footprints(
        many, m=maps.inline_leaflet(folium.Map(tiles=None)), max_features=5))  # fmt: skip
    assert len(blobs(page)[0]["features"]) == 5


def test_tracks_coloured_by_leak(flights):
    leaky = flights.assign(p_any_leaked=[0.62, np.nan])
    m = maps.inline_leaflet(folium.Map(tiles=None))
    page = maps.render_html(maps.add_tracks(leaky, m=m, color_by="leak"))
    assert re.search(r"chance the flight(&#x27;|')s data leaked", page)
    assert '"color": "#d73027"' in page  # 62 %: the highest class
    props = [f["properties"] for f in blobs(page)[0]["features"]]
    assert [p["leak"] for p in props] == ["62 %", "—"]
    with pytest.raises(maps.MapError, match=r"missing columns \['p_any_leaked'\]"):
        maps.add_tracks(flights, m=folium.Map(tiles=None), color_by="leak")
    with pytest.raises(maps.MapError, match="color_by"):
        maps.add_tracks(flights, m=folium.Map(tiles=None), color_by="speed")


def test_draw_tool_exports_the_zone_columns(full_page):
    assert "Draw zones" in full_page and "Download proposed_zones.geojson" in full_page
    for key in ("restriction: 'PROHIBITED'", "floor_m: 0", "vertical_ref: 'AGL'",
                "source: 'drawn on map'", "ceiling_m"):  # fmt: skip
        assert key in full_page


def test_inputs_are_not_modified(site_exposure, flights, layers):
    before = {k: v.copy(deep=True) for k, v in layers.items()}
    maps.render_html(maps.risk_map(site_exposure, flights=flights, **layers))
    for key, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            assert_geodataframe_equal(frame, before[key])
        else:
            pd.testing.assert_frame_equal(frame, before[key])


def test_full_map_renders_identically_twice(site_exposure, flights, layers):
    a = maps.render_html(maps.risk_map(site_exposure, flights=flights, **layers))
    b = maps.render_html(maps.risk_map(site_exposure, flights=flights, **layers))
    assert a == b and not re.search(r"[0-9a-f]{32}", a)


def test_simplification_is_reported_in_the_provenance_box(site_exposure, flights, layers):
    page = maps.render_html(maps.risk_map(site_exposure, flights=flights,
                                          points=layers["points"], coverage=layers["coverage"]))
    assert "simplified for the page" in page
    assert "tracks: 7 samples of 2 flights drawn with" in page
    assert "coverage: 4 cells of 1 site merged into 2 shapes" in page

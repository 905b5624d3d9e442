"""``exposure map`` and ``exposure report`` on a real result directory, via the console script."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import Point, box

import maps


def run(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def result_copy(demo_dir, tmp_path) -> Path:
    copy = tmp_path / "result"
    shutil.copytree(demo_dir, copy, ignore=shutil.ignore_patterns("logs"))
    return copy


def test_demo_writes_timed_tracks(demo_dir):
    tracks = pd.read_parquet(demo_dir / "tracks.parquet")
    assert list(tracks.columns) == ["flight_id", "time", "lon", "lat", "vendor", "drone_id"]
    flights = gpd.read_file(demo_dir / "flights.gpkg")
    assert set(tracks["flight_id"]) == set(flights["flight_id"])
    assert len(tracks) < flights["n_samples"].sum()  # thinned
    assert tracks.groupby("flight_id")["time"].is_monotonic_increasing.all()
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    assert "tracks.parquet" in manifest["outputs"]


def test_map_rerenders_offline_with_passes_and_time_window(demo_dir, tmp_path):
    out = tmp_path / "sub" / "map.html"
    result = run("map", str(demo_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Simplified tracks:" in result.stdout and "Douglas–Peucker" in result.stdout
    assert "Simplified coverage:" in result.stdout
    page = out.read_text("utf-8")
    assert maps.offline_problems(page) == []
    assert out.stat().st_size < 10e6  # the demo map's size budget
    assert '"Passes"' in page and '"Coverage (best NIIRS)"' in page
    assert 'kind: "passes"' in page and "Time window" in page and "DEMO" in page
    assert [p.name for p in out.parent.iterdir()] == ["map.html"]  # no temporary left


def test_map_online_basemap_says_so(demo_dir, tmp_path):
    out = tmp_path / "online.html"
    result = run("map", str(demo_dir), "--out", str(out), "--tiles", "OpenStreetMap")
    assert result.returncode == 0, result.stderr
    assert "not offline-safe" in result.stdout
    page = out.read_text("utf-8")
    assert "online: basemap tiles from tile.openstreetmap.org" in page
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", page)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tiles", "NoSuchBasemap"], "unknown basemap"),
        (["--tiles", "OpenStreetMap", "--offline"], "a public basemap needs the internet"),
        (["--tiles", "http://tiles.local/a.png"], r"\{z\}, \{x\} and \{y\}"),
    ],
)
def test_map_bad_tiles_are_one_line_errors(demo_dir, tmp_path, args, message):
    out = tmp_path / "m.html"
    result = run("map", str(demo_dir), "--out", str(out), *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]) and "Traceback" not in result.stderr
    assert not out.exists()


def test_report_is_one_offline_file_with_map_table_charts_and_caveats(demo_dir, tmp_path):
    out, png = tmp_path / "briefing.html", tmp_path / "slides" / "map.png"
    result = run("report", str(demo_dir), "--out", str(out), "--png", str(png))
    assert result.returncode == 0, result.stderr
    page = out.read_text("utf-8")
    outer = re.sub(r'srcdoc="[^"]*"', 'srcdoc=""', page)
    assert maps.offline_problems(outer) == []
    inner = html.unescape(re.search(r'srcdoc="([^"]*)"', page).group(1))
    assert maps.offline_problems(inner) == [] and "Time window" in inner
    assert "Most exposed sites" in page and "Exposure by category" in page
    assert "Exposure by vendor" in page and page.count("<svg") >= 2
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for assumption in manifest["assumptions"]:
        assert html.escape(assumption) in page
    assert "Caveats" in page and "upper bound" in page
    sites = pd.read_csv(demo_dir / "site_exposure.csv")
    top = sites.sort_values("risk_score", ascending=False).iloc[0]
    assert html.escape(top["name"]) in page
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_report_with_leaks_and_replacement_plan_draws_their_charts(result_copy, tmp_path):
    sites = pd.read_csv(result_copy / "site_exposure.csv")
    seen = sites[sites["flights"] > 0]
    pd.DataFrame(
        {"site_id": seen["site_id"], "p_any_imagery_leaked": 0.25, "p_visits_known": 0.9,
         "expected_leaked_coverage": seen["coverage_fraction"] * 0.3}
    ).to_csv(result_copy / "site_leaks.csv", index=False)  # fmt: skip
    pd.DataFrame(
        {"rank": [1, 2, 3], "drone_id": ["a", "b", "c"], "vendor": ["DJI"] * 3,
         "cost": [15000.0, 3000.0, 3000.0], "cumulative_reduction_share": [0.4, 0.55, 0.62]}
    ).to_csv(result_copy / "replacement_plan.csv", index=False)  # fmt: skip
    out = tmp_path / "b.html"
    result = run("report", str(result_copy), "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text("utf-8")
    assert "Leaked versus observed" in page and "Replacement curve" in page
    assert "Imagery leaked" in page and "25 %" in page
    assert "62 %" in page  # the curve's last point


def test_report_draws_zones_violations_and_receivers_when_present(result_copy, tmp_path):
    hostile = '<img src=x onerror="window.__xss=9">'
    gpd.GeoDataFrame(
        {"name": [hostile], "restriction": ["PROHIBITED"], "floor_m": [0.0],
         "ceiling_m": [150.0], "vertical_ref": ["AGL"], "source": ["test"]},
        geometry=[box(139.6, 35.2, 139.7, 35.3)], crs=4326,
    ).to_file(result_copy / "zones.gpkg")  # fmt: skip
    gpd.GeoDataFrame({"name": ["rx"], "range_m": [5000.0]}, geometry=[Point(139.65, 35.25)],
                     crs=4326).to_file(result_copy / "receivers.geojson")  # fmt: skip
    out = tmp_path / "m.html"
    result = run("map", str(result_copy), "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text("utf-8")
    assert '"No-fly zones"' in page and '"Radio receivers"' in page
    assert hostile not in page and maps.offline_problems(page) == []


def test_missing_result_directory(tmp_path):
    for command in ("map", "report"):
        result = run(command, str(tmp_path / "nothing"))
        assert result.returncode == 2
        assert result.stderr.strip() == (
            f"exposure: error: {tmp_path / 'nothing'}: no such result directory (expected the "
            "--out directory of `exposure assess` or `exposure demo`)"
        )


def test_every_problem_of_a_broken_result_directory_is_listed(result_copy, tmp_path):
    (result_copy / "site_exposure.gpkg").unlink()
    (result_copy / "manifest.json").write_text("{not json")
    (result_copy / "passes.csv").write_bytes(b"\x00\x01")
    out = tmp_path / "b.html"
    result = run("report", str(result_copy), "--out", str(out))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert any("site_exposure.gpkg: missing" in line for line in lines)
    assert any("manifest.json: cannot be read" in line for line in lines)
    assert all(line.startswith("exposure: error: ") for line in lines)
    assert not out.exists()


def test_site_table_without_a_column_is_named(result_copy, tmp_path):
    sites = gpd.read_file(result_copy / "site_exposure.gpkg").drop(columns="risk_score")
    sites.to_file(result_copy / "site_exposure.gpkg", layer="site_exposure")
    result = run("map", str(result_copy), "--out", str(tmp_path / "m.html"))
    assert result.returncode == 2
    assert "missing columns ['risk_score']" in result.stderr


def test_a_failed_report_leaves_the_previous_file(result_copy, tmp_path):
    out = tmp_path / "briefing.html"
    out.write_text("previous")
    (result_copy / "manifest.json").write_text("[]")
    result = run("report", str(result_copy), "--out", str(out))
    assert result.returncode == 2 and "expected a JSON object" in result.stderr
    assert out.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_help_has_examples():
    for command in ("map", "report"):
        result = run(command, "--help")
        assert result.returncode == 0 and f"Example: exposure {command}" in result.stdout

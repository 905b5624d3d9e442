"""The command line end to end, through the installed console script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from exposure.results import PASS_COLUMNS, SITE_EXPOSURE_COLUMNS

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
AIRDATA = DATA / "flightlogs" / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.csv"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Map:" in result.stdout
    return out


def test_demo_writes_every_output(demo_dir):
    for name in (
        "site_exposure.csv",
        "site_exposure.gpkg",
        "passes.csv",
        "map.html",
        "manifest.json",
    ):
        assert (demo_dir / name).stat().st_size > 0, name
    assert not list(demo_dir.glob(".staging-*"))
    exposure = pd.read_csv(demo_dir / "site_exposure.csv")
    assert list(exposure.columns) == list(SITE_EXPOSURE_COLUMNS)
    passes = pd.read_csv(demo_dir / "passes.csv")
    assert list(passes.columns) == list(PASS_COLUMNS)
    # The demo flies near real Japanese plants and bases: some must be in view.
    seen = exposure[exposure["flights"] > 0]
    assert {"nuclear", "military"} <= set(seen["category"])
    assert seen["coverage_fraction"].between(0, 1).all()
    assert set(passes["site_id"]) == set(seen["site_id"])
    gpkg = gpd.read_file(demo_dir / "site_exposure.gpkg")
    assert len(gpkg) == len(exposure) and gpkg.crs.to_epsg() == 4326


def test_demo_manifest_reconciles(demo_dir):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    logs = manifest["inputs"]["flight_logs"]
    assert len(logs) == 11
    for entry in logs:
        assert entry["rows_read"] == entry["rows_kept"] + entry["rows_rejected"]
        assert entry["rows_rejected"] == sum(entry["rejected_by_reason"].values())
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"])
    totals = manifest["totals"]
    assert totals["rows_read"] == totals["rows_kept"] + totals["rows_rejected"]
    assert manifest["counts"]["samples"] == totals["rows_kept"]
    assert manifest["assumptions"] and manifest["versions"]["exposure"]


def test_demo_map_is_offline(demo_dir):
    html = (demo_dir / "map.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link[^>]*\bhref\s*=", html, re.I)
    for target in re.findall(r"url\(\s*['\"]?([^'\")]*)", html):
        # Only data: URIs, or a same-document #fragment (Leaflet's IE-only VML behaviour string).
        assert target.startswith(("data:", "#")), target
    assert "L.map(" in html or "L.map (" in html


def test_assess_on_real_log_and_user_sites(tmp_path):
    # A 300 m square drawn over the take-off point of the real Bremerton Mini 2 flight.
    lon, lat = -122.62662335236, 47.5726976524126
    site = (
        gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326)
        .to_crs(32610)
        .buffer(150, cap_style="square")
    )
    path = tmp_path / "mysite.geojson"
    gpd.GeoDataFrame(
        {"name": ["Test yard"], "category": ["government"]},
        geometry=site.to_crs(4326).values,
        crs=4326,
    ).to_file(path)
    out = tmp_path / "out"
    result = run("assess", "--logs", str(AIRDATA), "--sites", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    row = pd.read_csv(out / "site_exposure.csv").iloc[0]
    assert row["flights"] == 1 and row["seconds_in_view"] > 0
    assert row["min_slant_range_m"] >= 0


def _assert_clean_failure(result, *fragments, out: Path):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("exposure: error: ") for ln in lines), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    written = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert not written, written


def test_missing_log_file(tmp_path):
    out = tmp_path / "out"
    result = run(
        "assess",
        "--logs",
        str(tmp_path / "nope.csv"),
        "--sites",
        "bundled:japan",
        "--out",
        str(out),
    )
    _assert_clean_failure(result, "nope.csv", "no such file", out=out)


def test_unknown_format(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01garbage that is no flight log\n" * 10)
    out = tmp_path / "out"
    result = run("assess", "--logs", str(junk), "--sites", "bundled:japan", "--out", str(out))
    _assert_clean_failure(result, "junk.bin", "unknown flight-log format", out=out)


def test_csv_without_position_columns(tmp_path):
    bad = tmp_path / "flight.csv"
    bad.write_text("time(millisecond),datetime(utc),speed(mph)\n0,2021-09-06 02:23:48,0\n")
    out = tmp_path / "out"
    result = run("assess", "--logs", str(bad), "--sites", "bundled:japan", "--out", str(out))
    _assert_clean_failure(result, "flight.csv", "latitude", out=out)


def test_site_file_without_crs(tmp_path):
    shp = tmp_path / "sites.shp"
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame(
            {"name": ["x"], "category": ["military"]}, geometry=[shapely.box(0, 0, 1, 1)]
        ).to_file(shp)
    out = tmp_path / "out"
    result = run("assess", "--logs", str(AIRDATA), "--sites", str(shp), "--out", str(out))
    _assert_clean_failure(result, "sites.shp", "CRS", out=out)


def test_site_file_with_only_a_degenerate_polygon(tmp_path):
    path = tmp_path / "flat.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "flat", "category": "military"},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[0, 0], [1, 1], [2, 2], [0, 0]]],
                        },
                    }
                ],
            }
        )
    )
    out = tmp_path / "out"
    result = run("assess", "--logs", str(AIRDATA), "--sites", str(path), "--out", str(out))
    _assert_clean_failure(result, "flat.geojson", out=out)


def test_failed_run_keeps_previous_outputs(demo_dir, tmp_path):
    before = {p.name: p.read_bytes() for p in demo_dir.iterdir() if p.is_file()}
    result = run(
        "assess",
        "--logs",
        str(tmp_path / "missing.csv"),
        "--sites",
        "bundled:japan",
        "--out",
        str(demo_dir),
    )
    assert result.returncode == 2
    after = {p.name: p.read_bytes() for p in demo_dir.iterdir() if p.is_file()}
    assert before == after


def test_help_has_examples():
    for command in ("demo", "assess"):
        result = run(command, "--help")
        assert result.returncode == 0 and "Example: exposure" in result.stdout


def test_a_new_assessment_removes_tables_derived_from_the_previous_one(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = out / "site_leaks.csv"
    stale.write_text("site_id,p_any_imagery_leaked\nold,1.0\n")
    lon, lat = -122.62662335236, 47.5726976524126
    site = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(32610).buffer(150)
    path = tmp_path / "mysite.geojson"
    gpd.GeoDataFrame(
        {"name": ["Yard"], "category": ["government"]}, geometry=site.to_crs(4326).values, crs=4326
    ).to_file(path)
    result = run("assess", "--logs", str(AIRDATA), "--sites", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert not stale.exists() and (out / "site_exposure.csv").exists()

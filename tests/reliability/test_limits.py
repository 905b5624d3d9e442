"""The documented limits hold, each with a clear error (or rejection reason) when exceeded.

| limit | where | value |
|---|---|---|
| size of one flight-log file | ``flightlogs.io.MAX_LOG_BYTES`` | 4 GiB (a store excepted) |
| records in one flight | ``flightlogs.core.MAX_SAMPLES_PER_FLIGHT`` | 20 million |
| vertices of one site | ``sites.geometry.MAX_VERTICES`` | 1 million |
| radius of a point or circle | ``sites.geometry.MAX_RADIUS_M`` | 1,000 km |
| leak-simulation draws × sites | ``exposure.cli.leaks.MAX_DRAW_BYTES`` | 2 GB (12 bytes each) |
| zip members / expansion | ``sites.archive``, ``flightlogs.kml`` | 10,000 / 1,000× (KMZ 500×) |

The README's "Limits and reliability" section lists the same values; a test keeps them in step.
"""

from __future__ import annotations

import math
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import flightlogs
import flightlogs.core
import flightlogs.io
import flightlogs.kml
import sites
import sites.archive
import sites.geometry
from exposure.cli.leaks import MAX_DRAW_BYTES
from exposure.engine import assess
from flightlogs.schema import make_flights, make_samples
from sites.schema import make_sites

ROOT = Path(__file__).resolve().parents[2]
HEAD = (
    "time(millisecond),datetime(utc),latitude,longitude,height_above_takeoff(feet)\n"
    + "".join(f"{i * 1000},2024-05-01 09:00:{i:02d},35.68{i},139.76,100\n" for i in range(10))
)


def test_a_log_larger_than_the_limit_is_refused_before_it_is_read(tmp_path, run_cli, workdir):
    path = tmp_path / "huge.csv"
    path.write_text(HEAD)
    with path.open("r+b") as fh:  # sparse: takes no disk space
        fh.truncate(flightlogs.io.MAX_LOG_BYTES + 1)
    with pytest.raises(flightlogs.FlightLogError, match=r"huge\.csv: 4294967297 bytes, more"):
        flightlogs.read_flight_log(path)
    result = run_cli(
        ["ingest", str(path), "--out", str(workdir / "s.parquet")], cwd=workdir, timeout=120
    )
    assert result.returncode == 2
    assert "more than the 4294967296 accepted for one flight log" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_flight_with_more_records_than_the_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "long.csv"
    path.write_text(HEAD)
    assert len(flightlogs.read_flight_log(path)[0]) == 10
    monkeypatch.setattr(flightlogs.core, "MAX_SAMPLES_PER_FLIGHT", 9)
    with pytest.raises(flightlogs.FlightLogError, match="'long' has 10 records, more than the 9"):
        flightlogs.read_flight_log(path)


def _star(k: int) -> shapely.Polygon:
    angle = 2 * np.pi * np.arange(k) / k
    radius = 0.01 * (1 + 0.05 * (np.arange(k) % 2))
    return shapely.Polygon(np.column_stack([139.7 + radius * np.cos(angle),
                                            35.6 + radius * np.sin(angle)]))


def test_a_site_with_more_vertices_than_the_limit_is_rejected():
    limit = sites.geometry.MAX_VERTICES
    result = sites.geometry.to_site_polygons([_star(limit + 10), _star(1000)], 100.0)
    assert result.reason.tolist() == [f"more than {limit} vertices", None]
    assert result.geometry[0] is None and result.geometry[1].is_valid


def test_a_site_of_100000_vertices_is_assessed_quickly(bounded):
    site = make_sites(
        gpd.GeoDataFrame({"site_id": ["star"], "name": ["star"], "category": ["military"]},
                         geometry=[_star(100_000)], crs=4326)
    )
    n = 600
    samples = make_samples(pd.DataFrame({
        "flight_id": "f", "time": pd.date_range("2024-05-01", periods=n, freq="1s", tz="UTC"),
        "lon": 139.68 + np.arange(n) * 7e-5, "lat": 35.6, "height_agl_m": 100.0,
        "height_ref": "takeoff", "source_row": np.arange(1, n + 1),
    }))
    flights = make_flights(
        pd.DataFrame({"flight_id": ["f"], "source_path": ["x"], "source_format": ["gpx"],
                      "n_read": [n], "n_samples": [n], "n_rejected": [0]}),
        samples=samples,
    )
    with bounded():
        result = assess(samples, flights, site)
    row = result.site_exposure.iloc[0]
    # The track crosses the 2 km star along its diameter at 100 m: every sample sees it.
    assert row["seconds_in_view"] == pytest.approx(n - 1)
    assert row["coverage_fraction"] > 0.5


def test_a_circle_wider_than_the_limit_is_rejected():
    result = sites.geometry.to_site_polygons(
        [shapely.Point(8.5, 47.4)] * 2, [sites.geometry.MAX_RADIUS_M * 1.01, 500.0]
    )
    assert result.reason.tolist() == ["no usable radius", None]


def test_more_draws_than_memory_allows_are_refused(demo_runs, tmp_path, run_cli, workdir):
    first, _ = demo_runs
    copy = tmp_path / "demo"
    shutil.copytree(first, copy)
    n_sites = len(pd.read_csv(copy / "site_exposure.csv"))
    too_many = MAX_DRAW_BYTES // (12 * n_sites) + 1
    before = sorted(p.name for p in copy.iterdir())
    result = run_cli(["leaks", str(copy), "--draws", str(too_many)], cwd=workdir, timeout=300)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert f"use at most {too_many - 1} draws" in line
    assert sorted(p.name for p in copy.iterdir()) == before


def test_zip_member_count_limits(tmp_path):
    for limit, reader, suffix in (
        (sites.archive.MAX_MEMBERS, sites.read_any, ".zip"),
        (flightlogs.kml.MAX_MEMBERS, flightlogs.read_flight_log, ".kmz"),
    ):
        path = tmp_path / f"many{suffix}"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("doc.kml", "<kml/>")
            for i in range(limit):
                archive.writestr(f"f/{i}.png", b"")
        with pytest.raises((sites.SiteDataError, flightlogs.FlightLogError), match="entries"):
            reader(path)


def test_the_readme_states_the_limits():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Limits and reliability")
    section = readme[start : readme.index("\n## ", start + 1)]
    assert f"{flightlogs.io.MAX_LOG_BYTES // 1024**3} GiB" in section
    assert f"{flightlogs.core.MAX_SAMPLES_PER_FLIGHT // 1_000_000} million" in section
    assert f"{sites.geometry.MAX_VERTICES // 1_000_000} million vertices" in section
    assert f"{sites.geometry.MAX_RADIUS_M / 1000:,.0f} km" in section
    assert f"{MAX_DRAW_BYTES / 1e9:g} GB" in section
    assert f"{sites.archive.MAX_MEMBERS:,}" in section
    assert f"{sites.archive.MAX_RATIO:,}" in section and f"{flightlogs.kml.MAX_RATIO}" in section
    assert math.isclose(sites.archive.MAX_UNCOMPRESSED_BYTES / 1024**3, 2)
    assert "2 GiB" in section

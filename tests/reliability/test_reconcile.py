"""Nothing lost, nothing invented: every count of every run adds up, on the whole shared data.

- ``exposure ingest`` of every shared flight log: each file is either stored or refused with
  one line; per file, rows read = kept + rejected, and rejected = the sum over reasons; the
  rows read are counted again here, independently of the readers, for the text formats.
- ``exposure sites`` of every shared site and geozone file: per source, sites read = kept +
  merged + rejected; the catalogue holds the kept sites minus those merged across sources.
- ``exposure assess`` on the ingested store: its manifest reconciles the same way, per flight
  and per site source, and with its own output tables; so does the demo's.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest

import flightlogs
import sites
from flightlogs import read_store

#: Shared site files that are not readable without an option, and the option they need.
NEEDS_OPTIONS = {
    "no_fly_yellow.geojson": {"category": {"imperial": "government"}},
    "r02_did_13_tokyo.geojson": {"category": "other"},
}
#: Files in the shared site folders that are not site sources.
NOT_SITES = {"LICENSE", "countries.csv"}
#: Shared logs that must be refused, with what the line says.
REFUSED = {
    "broken_empty.SRT": "the file is empty",
    "mavic_air.SRT": "no position",
    "sample_appended_multiple.ulg": "without GPS",
    "mini2_DJIFlightRecord_2021-09-05_[19-23-47].txt": "encrypted",
}


def _independent_rows(path: Path) -> int | None:
    """Records in a text log, counted without the readers (None for binary formats)."""
    suffix = path.suffix.lower()
    if suffix == ".srt":
        return len(re.findall(r"-->", path.read_text(errors="replace")))
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return sum(1 for row in csv.reader(fh) if row) - 1
    if suffix == ".gpx":
        return path.read_text().count("<trkpt")
    if suffix == ".kml":
        text = path.read_text()
        # track vertices only: a Point placemark (AirData's home point) is a mark, not a row
        coords = re.findall(
            r"<LineString>.*?<coordinates>(.*?)</coordinates>", text, flags=re.S
        )
        return text.count("<gx:coord>") + sum(len(c.split()) for c in coords)
    if suffix in (".json", ".jpg"):
        return 1
    return None


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, data_dir, run_cli, ingest_lines):
    """Every shared flight log through ``exposure ingest`` (names made unique by folder)."""
    work = tmp_path_factory.mktemp("ingest")
    (work / "tmpdir").mkdir()
    logs = work / "logs"
    logs.mkdir()
    originals = {}
    for path in sorted((data_dir / "flightlogs").rglob("*")):
        if path.is_file():
            # folder and extension in the stem: the GPX and KML twins of the AirData CSV
            # would otherwise give the same flight id
            link = logs / f"{path.parent.name}-{path.stem}-{path.suffix[1:]}{path.suffix}"
            link.symlink_to(path)
            originals[str(link)] = path
    store = work / "fleet.parquet"
    result = run_cli(["ingest", str(logs), "--out", str(store)], cwd=work, timeout=600)
    return result, store, originals, ingest_lines(result.stdout)


def test_ingest_accounts_for_every_shared_log(ingested):
    result, _, originals, reports = ingested
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert all(line.startswith("exposure: error: ") for line in errors)
    refused = {}
    for link, original in originals.items():
        lines = [ln for ln in errors if f"{link}: " in ln]
        assert (link in reports) != bool(lines), f"{original} must be read or refused, once"
        if lines:
            (refused[original.name],) = lines
    assert set(refused) == set(REFUSED)
    for name, words in REFUSED.items():
        assert words in refused[name]
    assert len(reports) == len(originals) - len(REFUSED) >= 20


def test_ingest_rows_read_kept_and_rejected_add_up(ingested):
    _, store, originals, reports = ingested
    samples, flights = read_store(store)
    per_flight = samples.groupby("flight_id").size()
    for link, report in reports.items():
        mine = flights[flights["source_path"] == link]
        assert len(mine) == report["flights"] >= 1
        reasons: dict[str, int] = {}
        for text in mine["rejected_reasons"].dropna():
            for reason, count in json.loads(text).items():
                reasons[reason] = reasons.get(reason, 0) + count
        n_read = int(mine["n_read"].sum())
        assert n_read == int(mine["n_samples"].sum()) + int(mine["n_rejected"].sum())
        assert int(mine["n_rejected"].sum()) == sum(reasons.values()) == report["n_rejected"]
        assert reasons == report["rejected"]
        assert int(mine["n_samples"].sum()) == report["samples"]
        stored = sum(int(per_flight.get(f, 0)) for f in mine["flight_id"])
        assert stored == report["samples"], f"{link}: the store holds what was kept"
        counted = _independent_rows(originals[link])
        if counted is not None:
            assert n_read == counted, f"{originals[link]}: {n_read} rows read, {counted} in it"


def _site_sources(data_dir: Path) -> list[Path]:
    found = [
        p
        for folder in ("sites", "geozones")
        for p in sorted((data_dir / folder).rglob("*"))
        if p.is_file() and p.suffix.lower() != ".md"
    ]
    return [p for p in found if p.name not in NOT_SITES and p.name not in NEEDS_OPTIONS]


def _features(path: Path) -> int | None:
    """Sites in a source, counted without the readers (None where a count needs a reader)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return sum(1 for row in csv.reader(fh) if row) - 1
    if path.suffix == ".geojson":
        return len(json.loads(path.read_text(encoding="utf-8"))["features"])
    return None


def test_sites_command_accounts_for_every_site(
    tmp_path, data_dir, run_cli, sites_lines, workdir
):
    sources = _site_sources(data_dir)
    out = workdir / "catalogue.gpkg"
    result = run_cli(
        ["sites", *map(str, sources), "bundled:japan", "--out", str(out)], cwd=workdir,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    reports = sites_lines(result.stdout)
    assert set(reports) == {*map(str, sources), "bundled:japan"}
    for source, r in reports.items():
        assert r["read"] == r["kept"] + r["merged"] + r["rejected"], source
        assert r["merged"] == sum(r["merged_by_reason"].values())
        assert r["rejected"] == sum(r["rejected_by_reason"].values())
    for path in sources:
        counted = _features(path)
        if counted is not None:
            assert reports[str(path)]["read"] == counted, path
    across = int(re.search(r"^Merged across sources: (\d+)", result.stdout, re.M).group(1))
    total = int(re.search(r"^Catalogue: (\d+) sites", result.stdout, re.M).group(1))
    assert total == sum(r["kept"] for r in reports.values()) - across
    catalogue = gpd.read_file(out, engine="pyogrio")
    assert len(catalogue) == total and catalogue["site_id"].is_unique


def test_files_that_need_an_option_are_refused_clearly_and_read_with_it(
    data_dir, run_cli, workdir
):
    paths = [p for p in (data_dir / "sites").rglob("*") if p.name in NEEDS_OPTIONS]
    paths.append(data_dir / "sites" / "ourairports" / "countries.csv")
    result = run_cli(
        ["sites", *map(str, paths), "--out", str(workdir / "c.gpkg")], cwd=workdir, timeout=300
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == len(paths)
    for path in paths:
        (line,) = [ln for ln in lines if f"{path}: " in ln]
        assert "category" in line or "not a known point catalogue" in line
    for path in paths[:-1]:
        frame = sites.read_any(path, **NEEDS_OPTIONS[path.name])
        report = frame.attrs["read_report"]
        merged = sum(report["merged"].values())
        assert report["n_read"] == report["n_kept"] + merged + sum(report["rejected"].values())
        assert report["n_read"] == _features(path) and report["n_kept"] == len(frame)


def _check_manifest(manifest: dict[str, Any], folder: Path) -> None:
    inputs = manifest["inputs"]["flight_logs"]
    for entry in inputs:
        assert entry["rows_read"] == entry["rows_kept"] + entry["rows_rejected"], entry
        assert entry["rows_rejected"] == sum(entry["rejected_by_reason"].values()), entry
    totals = manifest["totals"]
    for key in ("rows_read", "rows_kept", "rows_rejected"):
        assert totals[key] == sum(e[key] for e in inputs)
    assert manifest["counts"]["samples"] == totals["rows_kept"]
    reports = [r for r in manifest["inputs"]["sites"] if r.get("kind") != "merge"]
    merges = [m for r in manifest["inputs"]["sites"] if r.get("kind") == "merge"
              for m in r["merges"]]
    for r in reports:
        merged, rejected = sum(r["merged"].values()), sum(r["rejected"].values())
        assert r["n_read"] == r["n_kept"] + merged + rejected, r
    sites_kept = sum(r["n_kept"] for r in reports) - len(merges)
    assert manifest["counts"]["sites"] == sites_kept
    table = pd.read_csv(folder / "site_exposure.csv")
    assert len(table) == sites_kept and table["site_id"].is_unique
    passes = pd.read_csv(folder / "passes.csv")
    assert len(passes) == manifest["counts"]["passes"]
    assert set(passes["site_id"]) <= set(table["site_id"])
    assert (table["flights"] > 0).sum() == manifest["counts"]["sites_in_view"]


def test_assess_manifest_reconciles(ingested, data_dir, run_cli, workdir):
    _, store, _, _ = ingested
    site_args = []
    # (the Swiss zone set, read whole by the sites test above, is left out: 1,179 more
    # polygons to draw would make this test slower, not stronger)
    for path in [
        *sorted(p for p in (data_dir / "geozones").iterdir() if p.suffix == ".json"),
        data_dir / "sites" / "japan" / "airport_surfaces.geojson",
        data_dir / "sites" / "japan" / "no_fly_red.geojson",
        data_dir / "sites" / "geonucleardata" / "nuclear_power_plants.csv",
    ]:
        site_args += ["--sites", str(path)]
    out = workdir / "result"
    result = run_cli(
        ["assess", "--logs", str(store), *site_args, "--out", str(out)], cwd=workdir,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    _check_manifest(manifest, out)
    _, flights = read_store(store)
    assert sorted(e["flight_id"] for e in manifest["inputs"]["flight_logs"]) == sorted(
        flights["flight_id"]
    )
    assert manifest["totals"]["rows_read"] == int(flights["n_read"].sum())


def test_demo_manifest_reconciles(demo_runs):
    first, _ = demo_runs
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    _check_manifest(manifest, first)
    logs = sorted((first / "logs").iterdir())
    assert len(manifest["inputs"]["flight_logs"]) == len(logs)


def test_a_store_without_rejection_reasons_reads_back(tmp_path):
    # Found by the kill test: flights written without reasons came back as NA, which the
    # flights constructor could not take (an internal error, exit 3, instead of a result).
    samples = flightlogs.make_samples(
        pd.DataFrame({"flight_id": ["f"] * 2, "lon": [139.7, 139.71], "lat": [35.6, 35.6],
                      "time": ["2024-05-01T00:00:00Z", "2024-05-01T00:00:01Z"]})
    )
    flights = flightlogs.make_flights(
        pd.DataFrame({"flight_id": ["f"], "source_path": ["x"], "source_format": ["gpx"],
                      "n_read": [2], "n_samples": [2], "n_rejected": [0]}),
        samples=samples,
    )
    store = flightlogs.write_store(samples, flights, tmp_path / "s.parquet")
    s, f = flightlogs.read_flight_logs([store])
    assert len(s) == 2 and f["rejected_reasons"].isna().all()

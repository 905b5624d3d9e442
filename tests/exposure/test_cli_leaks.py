"""``exposure leaks`` end to end on the demo's result directory, through the console script."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
YELLOW = DATA / "sites" / "japan" / "no_fly_yellow.geojson"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("leaks") / "demo"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def result_dir(demo_dir, tmp_path) -> Path:
    """A private copy of the demo's results, free to change."""
    return Path(shutil.copytree(demo_dir, tmp_path / "result", ignore=shutil.ignore_patterns(
        "logs")))


def test_the_demo_runs_the_leak_simulation(demo_dir):
    for name in ("site_leaks.csv", "flight_leaks.csv", "attribution.csv",
                 "replacement_plan.csv", "sensitivity.csv"):
        assert (demo_dir / name).stat().st_size > 0, name
    assert not list(demo_dir.glob(".staging-*"))
    leaks = pd.read_csv(demo_dir / "site_leaks.csv")
    passes = pd.read_csv(demo_dir / "passes.csv")
    assert set(leaks["site_id"]) == set(passes["site_id"])
    assert leaks["p_any_imagery_leaked"].between(0, 1).all()
    assert (leaks["expected_leaked_coverage_niirs5"] <= leaks["coverage_fraction_niirs5"]).all()
    assert (leaks["draws"] == 2000).all()
    exposure = pd.read_csv(demo_dir / "site_exposure.csv").set_index("site_id")
    observed = exposure.loc[leaks["site_id"], "coverage_fraction_niirs5"].to_numpy()
    assert leaks["coverage_fraction_niirs5"].to_numpy() == pytest.approx(observed, abs=1e-5)
    plan = pd.read_csv(demo_dir / "replacement_plan.csv")
    assert plan["rank"].tolist() == list(range(1, len(plan) + 1))
    assert plan["reduction_per_cost"].is_monotonic_decreasing
    assert plan["cumulative_cost"].is_monotonic_increasing
    sweep = pd.read_csv(demo_dir / "sensitivity.csv")
    assert set(sweep["parameter"]) == {"access.p", "flight_record_sync.p"}
    manifest = json.loads((demo_dir / "manifest.json").read_text(encoding="utf-8"))
    shipped = files("exposure").joinpath("data", "leak_scenario.toml").read_bytes()
    assert manifest["leaks"]["scenario"]["sha256"] == hashlib.sha256(shipped).hexdigest()
    assert manifest["leaks"]["draws"] == 2000 and manifest["command"] == "demo"
    assert manifest["leaks"]["counts"]["sites"] == len(leaks)
    page = (demo_dir / "map.html").read_text(encoding="utf-8")
    assert "Chance of leak" in page and "<script src=" not in page


def test_same_seed_same_files_and_a_what_if_with_real_zones(result_dir, tmp_path):
    what_if = tmp_path / "zones.toml"
    what_if.write_text(f'name = "Tokyo yellow zones"\n[[changes]]\naction = "no_fly_zones"\n'
                       f'zones = "{YELLOW}"\n', encoding="utf-8")
    args = ("leaks", str(result_dir), "--draws", "300", "--seed", "3", "--no-map")
    first = run(*args, "--what-if", str(what_if))
    assert first.returncode == 0, first.stderr
    assert "What-if Tokyo yellow zones" in first.stdout
    before = (result_dir / "site_leaks.csv").read_bytes()
    compared = pd.read_csv(result_dir / "what_if.csv")
    assert compared["passes_removed"].iloc[0] > 0  # the Tokyo transit crosses the zones
    risk = compared.set_index("metric").loc["leak_risk"]
    assert risk["difference_p95"] <= 0 < risk["base_mean"]
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert (result_dir / "site_leaks.csv").read_bytes() == before
    # what_if.csv belonged to the earlier run and goes with it.
    assert not (result_dir / "what_if.csv").exists()
    manifest = json.loads((result_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["leaks"]["seed"] == 3 and manifest["leaks"]["draws"] == 300
    assert "what_if.csv" not in manifest["leaks"]["outputs"]


def test_listed_receivers_become_a_map_layer(result_dir, tmp_path):
    scenario = tmp_path / "points.toml"
    scenario.write_text('[radio]\nmode = "points"\n[[radio.receivers]]\nname = "Post <Yokosuka>"'
                        '\nlon = 139.66\nlat = 35.29\nrange_m = 3000\n', encoding="utf-8")
    done = run("leaks", str(result_dir), "--scenario", str(scenario), "--draws", "200")
    assert done.returncode == 0, done.stderr
    assert (result_dir / "receivers.gpkg").is_file()
    page = (result_dir / "map.html").read_text(encoding="utf-8")
    # The receiver's name is on the map, escaped (it is untrusted text).
    assert "Yokosuka\\u0026gt;" in page and "Post <Yokosuka>" not in page
    leaks = pd.read_csv(result_dir / "site_leaks.csv")
    assert 0 < (leaks["p_visits_known"] == 1).sum() < len(leaks)  # heard near Yokosuka only


def test_bad_input_is_one_line_per_problem_and_changes_nothing(result_dir, tmp_path):
    before = {p.name: p.read_bytes() for p in result_dir.iterdir() if p.is_file()}
    bad = tmp_path / "bad.toml"
    bad.write_text("[access]\np = 2\n[channels.droneid]\nrange = 5\n", encoding="utf-8")
    done = run("leaks", str(result_dir), "--scenario", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("exposure: error: ") for line in lines)
    assert f"{bad}: access.p = 2: expected a number in [0, 1]" in done.stderr
    assert "unknown key 'channels.droneid.range'" in done.stderr
    after = {p.name: p.read_bytes() for p in result_dir.iterdir() if p.is_file()}
    assert after == before
    (result_dir / "coverage_by_flight.parquet").unlink()
    (result_dir / "passes.csv").unlink()
    done = run("leaks", str(result_dir))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "passes.csv: missing" in done.stderr
    assert "coverage_by_flight.parquet: missing" in done.stderr
    done = run("leaks", str(tmp_path / "nowhere"))
    assert done.returncode == 2 and "no such result directory" in done.stderr

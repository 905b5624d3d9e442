"""``exposure patterns`` end to end: real log files, ``assess``, then patterns, map and briefing.

The fleet: ten AirData logs of a drone over a dam every Tuesday at 10:00 Tokyo time, ten over a
base at random times, and a Remote ID receiver log that heard someone else's drone at the base
twice. Written through the project's own writers and read back through the readers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs.writers import write_airdata_csv

SITES = {"tue": (139.600, 35.600), "rand": (139.800, 35.400)}
CHANNELS = ("droneid", "remote_id", "app_telemetry", "geofence", "flight_record_sync",
            "thumbnails", "media_upload", "live_streaming", "covert_exfiltration",
            "repair_lost_media")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


def hover(site: str, start: pd.Timestamp, n: int = 120) -> pd.DataFrame:
    """Two minutes at 80 m, about 300 m from the site, without a camera pose (potential mode)."""
    lon, lat = SITES[site]
    return pd.DataFrame({
        "time": start + pd.to_timedelta(np.arange(n), unit="s"),
        "lon": lon + 0.003 + 1e-5 * np.arange(n), "lat": lat + 0.003, "height_agl_m": 80.0,
        "alt_msl_m": np.nan, "yaw_deg": np.nan, "gimbal_yaw_deg": np.nan,
        "gimbal_pitch_deg": np.nan, "capturing": True,
    })


def write_inputs(root: Path) -> None:
    logs = root / "logs"
    fleet = []
    for i, t0 in enumerate(pd.date_range("2024-04-02T01:00:00Z", periods=10, freq="7D")):
        write_airdata_csv(hover("tue", t0), logs / f"tue{i}.csv")
        fleet.append((f"tue{i}", "Dam authority"))
    rng = np.random.default_rng(5)
    for i, s in enumerate(rng.uniform(0, 70 * 86400, 10)):
        t0 = pd.Timestamp("2024-04-01T00:00:00Z") + pd.Timedelta(seconds=int(s))
        write_airdata_csv(hover("rand", t0), logs / f"rand{i}.csv")
        fleet.append((f"rand{i}", "Army"))
    pd.DataFrame({"flight_id": [f for f, _ in fleet], "drone_id": [f"SN-{f}" for f, _ in fleet],
                  "vendor": "Skydio", "model": "X2D",
                  "agency": [a for _, a in fleet]}).to_csv(root / "fleet.csv", index=False)
    lon, lat = SITES["rand"]
    heard = pd.DataFrame([
        {"Timestamp": (pd.Timestamp(day) + pd.Timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "UAS ID": "1581F5XYZ", "Latitude": lat - 0.002, "Longitude": lon - 0.002,
         "Altitude Geodetic (m)": 120.0, "Height (m)": 60.0, "Height Type": "Takeoff",
         "Operator ID": "JPN-OP-77"}
        for day in ("2024-04-10T03:00:00Z", "2024-04-24T13:00:00Z") for k in range(60)
    ])
    heard.to_csv(logs / "scanner.csv", index=False)
    features = [
        {"type": "Feature",
         "properties": {"site_id": k, "name": "Tuesday <dam>" if k == "tue" else "Random base",
                        "category": "dam" if k == "tue" else "military"},
         "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 0.002, y],
                                                          [x + 0.002, y + 0.002],
                                                          [x, y + 0.002], [x, y]]]}}
        for k, (x, y) in SITES.items()
    ]
    (root / "sites.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                    "features": features}))


def scenario_file(path: Path, p: float, **channels: float) -> Path:
    """Every channel at chance ``p`` (others as given) for every flight, nothing turned off."""
    lines = ["[access]", "p = 1.0", "[settings]", "local_data = 0.0", "no_login = 0.0"]
    for name in CHANNELS:
        lines += [f"[channels.{name}]", f"p = {channels.get(name, p)}", "rules = []"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def assessed(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("patterns")
    write_inputs(root)
    out = root / "out"
    result = run("assess", "--logs", str(root / "logs"), "--sites", str(root / "sites.geojson"),
                 "--fleet", str(root / "fleet.csv"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def result_dir(assessed, tmp_path) -> Path:
    """A private copy of the assessed results, free to change."""
    return Path(shutil.copytree(assessed, tmp_path / "result"))


def table(result_dir: Path) -> pd.DataFrame:
    return pd.read_csv(result_dir / "site_patterns.csv").set_index("site_id")


def test_weekly_and_random_visits_and_a_third_party_end_to_end(result_dir):
    result = run("patterns", str(result_dir), "--draws", "200", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert "1 site is visited at a highly regular time" in result.stdout
    t = table(result_dir)
    tue, rand = t.loc["tue"], t.loc["rand"]
    assert (tue["usual_time"], tue["regularity"], tue["usual_share"]) == ("Tue 10:00", "high", 1)
    assert tue["time_zone"] == "Asia/Tokyo" and tue["operators"] == "Dam authority (10)"
    assert tue["visits"] == 10 and tue["gap_median_days"] == pytest.approx(7)
    assert rand["regularity"] == "low" and rand["usual_share"] <= 0.3
    assert rand["operators"] == "Army (10)"
    # The receiver's drone: not the fleet's, reported apart with the operator ID it broadcast.
    assert rand["visits"] == 10 and rand["third_party_visits"] == 2
    assert rand["third_party_operators"] == "JPN-OP-77 (2)"
    # Its log has no camera pose: assessed like a fleet flight without one, in potential mode.
    passes = pd.read_csv(result_dir / "passes.csv")
    heard = passes[passes["flight_id"].str.startswith("scanner_")]
    assert len(heard) == 2 and (heard["mode"] == "potential").all()
    visits = pd.read_csv(result_dir / "visits.csv")
    assert len(visits) == 22 and visits["third_party"].sum() == 2
    mine = visits[(visits["site_id"] == "tue")]
    assert mine["local_start"].str.match(r"2024-..-..T10:00:..\+09:00$").all()
    assert (mine["weekday"] == 1).all() and (mine["hour"] == 10).all()
    assert visits.loc[visits["third_party"], "p_known"].isna().all()
    manifest = json.loads((result_dir / "manifest.json").read_text())
    section = manifest["patterns"]
    assert section["counts"]["third_party_visits"] == 2
    assert section["leaks"]["draws"] == 200 and section["gap_hours"] == 2.0
    assert "command" in manifest  # the rest of the manifest is kept
    page = (result_dir / "map.html").read_text(encoding="utf-8")
    assert "Visit patterns" in page and "how predictable" in page
    assert "<script src" not in page and "<link href" not in page
    assert not list(result_dir.glob(".staging-*"))


def test_with_every_leak_chance_zero_nothing_leaks_and_with_one_everything(result_dir, tmp_path):
    zero = scenario_file(tmp_path / "zero.toml", 0.0)
    result = run("patterns", str(result_dir), "--scenario", str(zero), "--draws", "50",
                 "--no-map")
    assert result.returncode == 0, result.stderr
    t = table(result_dir)
    assert (t["expected_share_known"] == 0).all() and (t["p_any_visit_known"] == 0).all()
    assert t.loc["tue", "p_usual_time_learnt"] == 0 and t["leaked_usual_share"].isna().all()
    one = scenario_file(tmp_path / "one.toml", 1.0)
    result = run("patterns", str(result_dir), "--scenario", str(one), "--draws", "50",
                 "--no-map")
    assert result.returncode == 0, result.stderr
    t = table(result_dir)
    assert (t["expected_share_known"] == 1).all() and (t["share_known_p05"] == 1).all()
    assert t.loc["tue", "p_usual_time_learnt"] == 1
    assert t.loc["tue", "leaked_usual_share"] == 1
    assert t.loc["rand", "p_usual_time_learnt"] == 0  # nothing regular to learn


def test_the_pattern_draws_are_the_leak_runs_draws(result_dir, tmp_path):
    # No broadcast: visits become known only through the vendor cloud (chances below one).
    partial = scenario_file(tmp_path / "partial.toml", 0.0, app_telemetry=0.05,
                            flight_record_sync=0.05)
    args = ("--scenario", str(partial), "--draws", "1000", "--seed", "4")
    assert run("leaks", str(result_dir), *args, "--no-map", "--sweep-draws", "1").returncode == 0
    assert run("patterns", str(result_dir), *args, "--no-map").returncode == 0
    known = pd.read_csv(result_dir / "site_leaks.csv").set_index("site_id")["p_visits_known"]
    t = table(result_dir)
    # Per flight 1 - 0.95² = 0.0975; any of the dam's ten visits: 1 - 0.9025^10 = 0.64.
    assert t.loc["tue", "p_any_visit_known"] == pytest.approx(1 - 0.9025**10, abs=0.05)
    # The dam has no third-party visits: its visits are known in exactly the same draws.
    assert t.loc["tue", "p_any_visit_known"] == pytest.approx(known["tue"], abs=1e-9)
    assert t.loc["tue", "expected_share_known"] == pytest.approx(0.0975, abs=0.01)
    assert t.loc["tue", "share_known_p05"] == 0 and t.loc["tue", "share_known_p95"] >= 0.2


def test_report_and_map_show_the_patterns(result_dir):
    assert run("patterns", str(result_dir), "--no-leaks", "--no-map").returncode == 0
    assert "expected_share_known" not in table(result_dir).columns
    result = run("report", str(result_dir))
    assert result.returncode == 0, result.stderr
    page = (result_dir / "briefing.html").read_text(encoding="utf-8")
    start = page.index("<section><h2>Visit patterns</h2>")
    section = page[start:page.index("</section>", start)]
    assert "Tue 10:00–11:00: 10 visits" in section
    assert "Tuesday &lt;dam&gt;" in section and "<dam>" not in section
    assert "Wed 12:00–13:00: 1 third-party" in section  # 03:00 UTC is noon in Tokyo
    assert section.count('stroke="#d73027"') == 1  # only the regular site's hour is outlined
    # The embedded map, drawn from the directory's tables, has the pattern layer.
    assert "how predictable the visits are" in page[:start]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_bad_input_gives_one_line_per_problem_and_changes_nothing(result_dir, tmp_path):
    missing = run("patterns", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "no such result directory" in missing.stderr
    assert run("patterns", str(result_dir), "--no-leaks", "--no-map").returncode == 0
    before = digest(result_dir / "site_patterns.csv")
    bad = tmp_path / "bad.toml"
    bad.write_text("[channels.droneid]\np = 2.0\n", encoding="utf-8")
    result = run("patterns", str(result_dir), "--scenario", str(bad))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and "droneid" in result.stderr
    assert digest(result_dir / "site_patterns.csv") == before
    negative = run("patterns", str(result_dir), "--gap-hours", "-1")
    assert negative.returncode == 2 and "Traceback" not in negative.stderr
    (result_dir / "coverage_by_flight.parquet").unlink()
    result = run("patterns", str(result_dir))
    assert result.returncode == 2
    assert "coverage_by_flight.parquet" in result.stderr and "--no-leaks" in result.stderr
    (result_dir / "passes.csv").unlink()
    result = run("patterns", str(result_dir), "--no-leaks")
    assert result.returncode == 2 and "passes.csv: missing" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_demo_writes_the_patterns(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    t = pd.read_csv(out / "site_patterns.csv")
    passes = pd.read_csv(out / "passes.csv")
    assert set(t["site_id"]) == set(passes["site_id"])
    assert (t["time_zone"] == "Asia/Tokyo").all()
    assert (t["leak_draws"] == 2000).all()
    assert t["expected_share_known"].between(0, 1).all()
    visits = pd.read_csv(out / "visits.csv")
    assert visits["passes"].sum() == len(passes)
    assert "Visit patterns" in (out / "map.html").read_text(encoding="utf-8")

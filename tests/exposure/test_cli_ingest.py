"""``exposure ingest`` end to end through the installed console script, on the shared logs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flightlogs import read_store

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LOGS = DATA / "flightlogs"
GOOD = {
    "vtol.tlog": LOGS / "ardupilot" / "vtol.tlog",
    "sample_log_small.ulg": LOGS / "px4" / "sample_log_small.ulg",
    "p4p_sample.SRT": LOGS / "dji_srt" / "p4p_sample.SRT",
}
BAD = {
    "sample_appended_multiple.ulg": LOGS / "px4" / "sample_appended_multiple.ulg",
    "mavic_air.SRT": LOGS / "dji_srt" / "mavic_air.SRT",
    "broken_empty.SRT": LOGS / "dji_srt" / "broken_empty.SRT",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "exposure"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=600)


def link_logs(folder: Path, files: dict[str, Path]) -> Path:
    """A folder of logs (symbolic links to the shared files), with one nested folder."""
    for i, (name, source) in enumerate(sorted(files.items())):
        target = folder / ("nested" if i % 2 else "") / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(source)
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = link_logs(tmp_path_factory.mktemp("mixed") / "logs", {**GOOD, **BAD})
    out = folder.parent / "fleet.parquet"
    return run("ingest", str(folder), "--out", str(out)), out


def test_mixed_folder_exit_status_and_store(mixed):
    result, out = mixed
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    samples, flights = read_store(out)
    assert sorted(flights["flight_id"]) == ["p4p_sample", "sample_log_small", "vtol"]
    assert len(samples) == 804 + 32 + 5
    assert not list(out.parent.glob(".fleet.parquet.*"))


def test_mixed_folder_report(mixed):
    result, _ = mixed
    out = result.stdout
    assert (
        "vtol.tlog: mavlink_tlog, 1 flight, 804 samples kept, 3 rejected (time_backwards 3)" in out
    )
    assert "sample_log_small.ulg: px4_ulog, 1 flight, 32 samples kept, 0 rejected" in out
    assert "p4p_sample.SRT: dji_srt, 1 flight, 5 samples kept, 0 rejected" in out
    assert "  vtol: camera dji_mavic3_wide (none matched: default)" in out
    assert "from 3 of 6 files" in out and "3 file(s) could not be read" in out
    errors = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(errors) == 3 and all(ln.startswith("exposure: error: ") for ln in errors)
    by_file = {name: next(ln for ln in errors if name in ln) for name in BAD}
    assert "PX4 ULog without GPS" in by_file["sample_appended_multiple.ulg"]
    assert "no position" in by_file["mavic_air.SRT"]
    assert "the file is empty" in by_file["broken_empty.SRT"]


def test_all_good_with_a_fleet_file(tmp_path):
    folder = link_logs(tmp_path / "logs", GOOD)
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(
        "flight_id,model,camera,vendor_country\nvtol,,skydio_x2,US\np4p_sample,Phantom 4 Pro,,CN\n"
    )
    out = tmp_path / "store.parquet"
    result = run("ingest", str(folder), "--out", str(out), "--fleet", str(fleet))
    assert result.returncode == 0, result.stderr
    assert "  vtol: camera skydio_x2 (named)" in result.stdout
    assert "  p4p_sample: camera dji_phantom4pro (model Phantom 4 Pro)" in result.stdout
    _, flights = read_store(out)
    assert flights.set_index("flight_id").loc["p4p_sample", "vendor_country"] == "CN"
    # Run again over the same folder with the store inside it: the store is not an input.
    inside = folder / "store.parquet"
    first = run("ingest", str(folder), "--out", str(inside))
    second = run("ingest", str(folder), "--out", str(inside))
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert "from 3 of 3 files" in second.stdout


def test_a_store_is_an_input_too(tmp_path):
    first = tmp_path / "a.parquet"
    assert run("ingest", str(GOOD["vtol.tlog"]), "--out", str(first)).returncode == 0
    both = tmp_path / "b.parquet"
    result = run("ingest", str(first), str(GOOD["p4p_sample.SRT"]), "--out", str(both))
    assert result.returncode == 0, result.stderr
    assert "a.parquet: geoparquet_store, 1 flight, 804 samples kept" in result.stdout
    assert sorted(read_store(both)[1]["flight_id"]) == ["p4p_sample", "vtol"]


def test_nothing_usable_writes_nothing(tmp_path):
    folder = link_logs(tmp_path / "logs", BAD)
    out = tmp_path / "store.parquet"
    result = run("ingest", str(folder), "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "nothing usable was read from 3 file(s); no store written" in result.stderr
    assert not out.exists()


def test_same_flight_id_twice(tmp_path):
    a = link_logs(tmp_path / "a", {"vtol.tlog": GOOD["vtol.tlog"]})
    b = link_logs(tmp_path / "b", {"vtol.tlog": GOOD["vtol.tlog"]})
    out = tmp_path / "store.parquet"
    result = run("ingest", str(a), str(b), "--out", str(out))
    assert result.returncode == 1
    assert f"flight id 'vtol' is already used by {a / 'vtol.tlog'}" in result.stderr
    assert len(read_store(out)[1]) == 1


def test_bad_options(tmp_path):
    out = tmp_path / "store.parquet"
    result = run("ingest", str(GOOD["vtol.tlog"]), "--out", str(out), "--format", "kml2")
    assert result.returncode == 2 and "--format 'kml2': expected one of" in result.stderr
    result = run("ingest", str(tmp_path / "none"), "--out", str(out))
    assert result.returncode == 2 and "no such file" in result.stderr
    forced = run("ingest", str(GOOD["vtol.tlog"]), "--out", str(out), "--format", "px4_ulog")
    assert forced.returncode == 2 and "not a readable PX4 ULog" in forced.stderr
    assert not out.exists()
    assert "Example: exposure ingest" in run("ingest", "--help").stdout


def test_assess_from_a_store_records_the_store_and_the_original_logs(tmp_path):
    import hashlib
    import json

    store = tmp_path / "fleet.parquet"
    assert run("ingest", str(GOOD["p4p_sample.SRT"]), "--out", str(store)).returncode == 0
    out = tmp_path / "result"
    result = run("assess", "--logs", str(store), "--sites", "bundled:japan", "--out", str(out))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["store"] == {
        "path": str(store),
        "sha256": hashlib.sha256(store.read_bytes()).hexdigest(),
    }
    (log,) = manifest["inputs"]["flight_logs"]
    assert log["path"] == str(GOOD["p4p_sample.SRT"])
    assert log["sha256"] == hashlib.sha256(GOOD["p4p_sample.SRT"].read_bytes()).hexdigest()

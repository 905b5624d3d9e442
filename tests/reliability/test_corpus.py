"""Every hostile or broken input of ``tests/data/bad/`` gives its recorded outcome.

Each case is read twice: in process through the readers (one test per case, each bounded in
time), and through the command line in a few grouped subprocess runs (``exposure ingest`` of
the whole log corpus, ``exposure sites`` of the failing and of the readable site sources),
which must print one clear line per problem, exit non-zero when nothing usable was read, show
no traceback, and write nothing outside the output file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flightlogs
import sites
from exposure.cli.common import load_sites
from flightlogs import read_store


def _family(cases: list[dict[str, Any]], reader: str) -> list[dict[str, Any]]:
    return [c for c in cases if c["reader"] == reader]


def _log_outcome(path: Path) -> dict[str, Any]:
    try:
        _, flights = flightlogs.read_flight_log(path)
    except flightlogs.FlightLogError as exc:
        return {"expect": "error", "message": str(exc)}
    rejected: dict[str, int] = {}
    for text in flights["rejected_reasons"].dropna():
        for reason, count in json.loads(text).items():
            rejected[reason] = rejected.get(reason, 0) + int(count)
    # Nothing lost, nothing invented: every row read is kept or rejected for a reason.
    assert (flights["n_read"] == flights["n_samples"] + flights["n_rejected"]).all()
    assert int(flights["n_rejected"].sum()) == sum(rejected.values())
    return {
        "expect": "repaired" if rejected else "read",
        "flights": len(flights),
        "samples": int(flights["n_samples"].sum()),
        "rejected": rejected,
    }


def _site_outcome(path: Path) -> dict[str, Any]:
    try:
        frame, (report, *_) = load_sites([str(path)])
    except sites.SiteDataError as exc:
        return {"expect": "error", "message": str(exc)}
    rejected = report.get("rejected") or {}
    merged = sum((report.get("merged") or {}).values())
    assert report["n_read"] == report["n_kept"] + merged + sum(rejected.values())
    assert report["n_kept"] == len(frame)
    return {
        "expect": "repaired" if rejected or report["repaired"] else "read",
        "read": report["n_read"],
        "kept": report["n_kept"],
        "repaired": report["repaired"],
        "merged": merged,
        "rejected": rejected,
    }


def _check(case: dict[str, Any], got: dict[str, Any]) -> None:
    assert got["expect"] == case["expect"], got
    if case["expect"] == "error":
        message = got["message"]
        assert case["match"].lower() in message.lower(), message
        assert "\n" not in message, "one line per problem"
        assert len(message) < 2000, "a clear line, not a dump"
        return
    for key in ("flights", "samples", "rejected", "read", "kept", "repaired", "merged"):
        if key in case:
            assert got[key] == case[key], (key, got)


def test_corpus_size_and_coverage(bad_dir, cases):
    files = {str(p.relative_to(bad_dir)) for p in bad_dir.rglob("*") if p.is_file()}
    listed = [c["file"] for c in cases]
    assert len(listed) == len(set(listed)) >= 100
    assert files - {"cases.json"} == set(listed)
    total = sum((bad_dir / f).stat().st_size for f in listed)
    assert total < 3_000_000, f"the committed corpus should stay small ({total} bytes)"
    # Every reader is exercised, by files that must be refused and files that must be read.
    folders = {Path(c["file"]).parent.name for c in cases}
    assert folders >= {
        "airdata", "srt", "flightreader", "litchi", "remoteid", "gpx", "kml", "kmz", "photos",
        "binary", "junk", "vector", "zip", "osm", "geozones", "catalogs", "overrides",
    }
    for family in ("logs", "sites"):
        outcomes = {c["expect"] for c in _family(cases, family)}
        assert outcomes == {"error", "read", "repaired"}
    formats = {flightlogs.detect_format(bad_dir / c["file"]) for c in _family(cases, "logs")
               if c["expect"] != "error"}
    assert formats >= set(flightlogs.FORMATS) - {"dji_txt"}  # dji_txt is always refused


def test_corpus_matches_its_generator(tmp_path, bad_dir, corpus_module):
    corpus_module.write_corpus(tmp_path / "bad")
    fresh_files = {p.relative_to(tmp_path / "bad") for p in (tmp_path / "bad").rglob("*")}
    assert fresh_files == {p.relative_to(bad_dir) for p in bad_dir.rglob("*")}
    for path in sorted(bad_dir.rglob("*")):
        relative = path.relative_to(bad_dir)
        # Files whose bytes come from Parquet, JPEG or Shapefile writers may differ between
        # library versions; the rest must be exactly what the generator writes.
        if not path.is_file() or path.suffix in (".parquet", ".jpg") or "zip" in relative.parts:
            continue
        fresh = tmp_path / "bad" / relative
        assert fresh.read_bytes() == path.read_bytes(), f"{path} is stale: regenerate"


def test_log_case_in_process(log_case, bad_dir, bounded):
    with bounded():
        got = _log_outcome(bad_dir / log_case["file"])
    _check(log_case, got)


def test_site_case_in_process(site_case, bad_dir, bounded):
    with bounded():
        got = _site_outcome(bad_dir / site_case["file"])
    _check(site_case, got)


def test_override_case_in_process(override_case, bad_dir, bounded):
    with bounded(), pytest.raises(sites.SiteDataError) as info:
        sites.read_overrides(bad_dir / override_case["file"])
    _check(override_case, {"expect": "error", "message": str(info.value)})


def _error_lines(stderr: str) -> list[str]:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr
    assert all(ln.startswith("exposure: error: ") for ln in lines), stderr
    return [ln.removeprefix("exposure: error: ") for ln in lines]


def _line_for(lines: list[str], path: Path) -> str:
    found = [ln for ln in lines if ln.startswith(f"{path}: ")]
    assert len(found) == 1, (path, found)
    return found[0]


def test_ingest_of_the_whole_log_corpus(workdir, bad_dir, cases, run_cli, snapshot,
                                        ingest_lines):
    log_cases = _family(cases, "logs")
    work = workdir
    store = work / "out" / "store.parquet"
    store.parent.mkdir()
    before = snapshot(bad_dir, work)
    result = run_cli(
        ["ingest", str(bad_dir / "logs"), "--out", str(store)],
        cwd=work,
        timeout=60 + 2 * len(log_cases),
    )
    after = snapshot(bad_dir, work)
    # Exit 1: some files were read and stored, the others listed.
    assert result.returncode == 1, result.stderr
    errors = _error_lines(result.stderr)
    reports = ingest_lines(result.stdout)
    # stdout holds the report and nothing else (no library chatter about damaged files)
    for line in result.stdout.splitlines():
        assert line.startswith(("  ", "Wrote ")) or line.split(": ")[0] in reports, line
    failing = [c for c in log_cases if c["expect"] == "error"]
    assert len(errors) == len(failing)
    for case in failing:
        line = _line_for(errors, bad_dir / case["file"])
        assert case["match"].lower() in line.lower(), line
    readable = [c for c in log_cases if c["expect"] != "error"]
    assert len(reports) == len(readable)
    for case in readable:
        got = reports[str(bad_dir / case["file"])]
        assert (got["flights"], got["samples"], got["rejected"]) == (
            case["flights"], case["samples"], case["rejected"]
        ), case["file"]
        assert got["n_rejected"] == sum(case["rejected"].values())
    samples, flights = read_store(store)
    assert len(flights) == sum(c["flights"] for c in readable)
    assert len(samples) == sum(c["samples"] for c in readable)
    # The store is the only file written: nothing beside it, nothing in the corpus or TMPDIR.
    new = set(after) - set(before)
    assert new == {str(store)}, sorted(new)
    assert all(after[k] == v for k, v in before.items())


def test_ingest_of_only_bad_files_writes_nothing(workdir, bad_dir, cases, run_cli, snapshot):
    failing = [bad_dir / c["file"] for c in _family(cases, "logs") if c["expect"] == "error"]
    failing = failing[::5]
    work = workdir
    before = snapshot(work)
    result = run_cli(
        ["ingest", *map(str, failing), "--out", str(work / "store.parquet")], cwd=work,
        timeout=120,
    )
    assert result.returncode == 2
    errors = _error_lines(result.stderr)
    assert len(errors) == len(failing) + 1 and "no store written" in errors[-1]
    assert snapshot(work) == before


def test_sites_command_on_every_failing_source(workdir, bad_dir, cases, run_cli, snapshot):
    failing = [c for c in _family(cases, "sites") if c["expect"] == "error"]
    overrides = _family(cases, "overrides")
    work = workdir
    out = work / "catalogue.gpkg"
    before = snapshot(bad_dir, work)
    # One override file per run, so that each of their problems is seen too.
    groups = [failing[k :: len(overrides)] for k in range(len(overrides))]
    for group, override in zip(groups, overrides, strict=True):
        result = run_cli(
            [
                "sites",
                *(str(bad_dir / c["file"]) for c in group),
                "--out",
                str(out),
                "--overrides",
                str(bad_dir / override["file"]),
            ],
            cwd=work,
            timeout=60 + 2 * len(group),
        )
        assert result.returncode == 2
        errors = _error_lines(result.stderr)
        assert len(errors) == len(group) + 1
        for case in [*group, override]:
            line = _line_for(errors, bad_dir / case["file"])
            assert case["match"].lower() in line.lower(), line
    assert snapshot(bad_dir, work) == before, "a failed run must write nothing"


def test_sites_command_on_every_readable_source(workdir, bad_dir, cases, run_cli, snapshot,
                                                sites_lines):
    readable = [c for c in _family(cases, "sites") if c["expect"] != "error"]
    work = workdir
    out = work / "out" / "catalogue.gpkg"
    before = snapshot(bad_dir, work)
    result = run_cli(
        ["sites", *(str(bad_dir / c["file"]) for c in readable), "--out", str(out)],
        cwd=work,
        timeout=60 + 2 * len(readable),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    reports = sites_lines(result.stdout)
    for case in readable:
        got = reports[str(bad_dir / case["file"])]
        assert (got["read"], got["kept"], got["repaired"], got["merged"]) == (
            case["read"], case["kept"], case["repaired"], case["merged"]
        ), case["file"]
        assert got["rejected_by_reason"] == case["rejected"], case["file"]
    after = snapshot(bad_dir, work)
    assert set(after) - set(before) == {str(out.parent) + "/", str(out)}


def test_large_cases(large_cases, bounded, run_cli, workdir, ingest_lines):
    folder, entries = large_cases
    for case in entries:
        path = folder / case["file"]
        with bounded():
            got = (_log_outcome if case["reader"] == "logs" else _site_outcome)(path)
        _check(case, got)
    logs = [c for c in entries if c["reader"] == "logs"]
    result = run_cli(
        ["ingest", *(str(folder / c["file"]) for c in logs), "--out", str(workdir / "s.parquet")],
        cwd=workdir,
        timeout=120,
    )
    errors = _error_lines(result.stderr)
    reports = ingest_lines(result.stdout)
    for case in logs:
        if case["expect"] == "error":
            assert case["match"] in _line_for(errors, folder / case["file"])
        else:
            assert reports[str(folder / case["file"])]["samples"] == case["samples"]

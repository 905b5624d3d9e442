"""Shared fixtures of the reliability tests: the bad-input corpus, the command line, snapshots.

Test modules cannot import each other (``--import-mode=importlib``), so the helpers are handed
out as fixtures.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: The shared real data (../shared/data from the repository root).
DATA = ROOT.parent / "shared" / "data"
#: The committed corpus of hostile and broken inputs.
BAD = ROOT / "tests" / "data" / "bad"
#: Longest any single case may take, in seconds: past it the case counts as a hang.
CASE_TIMEOUT_S = 20


def exposure_command() -> list[str]:
    """The installed console script, or the module when the script is missing."""
    script = Path(sys.executable).parent / "exposure"
    return [str(script)] if script.exists() else [sys.executable, "-m", "exposure.cli"]


@pytest.fixture(scope="session")
def exposure_cmd() -> list[str]:
    """How to run the ``exposure`` command in a subprocess."""
    return exposure_command()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def bad_dir() -> Path:
    return BAD


@pytest.fixture(scope="session")
def corpus_module() -> ModuleType:
    """``scripts/make_bad_corpus.py``, loaded as a module (it is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "make_bad_corpus", ROOT / "scripts" / "make_bad_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def load_cases() -> list[dict[str, Any]]:
    return json.loads((BAD / "cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="session")
def cases() -> list[dict[str, Any]]:
    """Every committed case of ``tests/data/bad/cases.json``."""
    return load_cases()


#: Fixture names that parametrize a test over the committed cases of one reader family.
_CASE_FIXTURES = {"log_case": "logs", "site_case": "sites", "override_case": "overrides"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Give a test asking for ``log_case``, ``site_case`` or ``override_case`` one run per case."""
    for name, reader in _CASE_FIXTURES.items():
        if name in metafunc.fixturenames:
            chosen = [c for c in load_cases() if c["reader"] == reader]
            metafunc.parametrize(name, chosen, ids=[c["file"] for c in chosen])


@pytest.fixture(scope="session")
def large_cases(tmp_path_factory, corpus_module) -> tuple[Path, list[dict[str, Any]]]:
    """The cases too large to commit, written once per session."""
    folder = tmp_path_factory.mktemp("large-cases")
    return folder, corpus_module.write_large_cases(folder)


class CaseTimeout(Exception):
    """A case ran past :data:`CASE_TIMEOUT_S`."""


@contextmanager
def _bounded(seconds: int = CASE_TIMEOUT_S) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def bounded() -> Callable[..., Any]:
    """A context manager that fails a block still running after :data:`CASE_TIMEOUT_S`."""
    return _bounded


def _run(
    args: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    tmp = cwd / "tmpdir"
    tmp.mkdir(exist_ok=True)
    full_env = {**os.environ, "TMPDIR": str(tmp), "COLUMNS": "200", **(env or {})}
    full_env.pop("EXPOSURE_DEBUG", None)
    return subprocess.run(
        [*exposure_command(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=full_env,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An empty folder to run a command in, with the ``tmpdir`` it gets as TMPDIR."""
    work = tmp_path / "work"
    (work / "tmpdir").mkdir(parents=True)
    return work


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``exposure ARGS`` in ``cwd`` with its own TMPDIR (``cwd/tmpdir``) and a timeout."""
    return _run


def _snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every file under the roots: size and SHA-256 (directories as entries of their own)."""
    found: dict[str, tuple[int, str]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            key = str(path)
            if path.is_dir():
                found[key + "/"] = (0, "")
            elif path.is_file():
                data = path.read_bytes()
                found[key] = (len(data), hashlib.sha256(data).hexdigest())
    return found


@pytest.fixture(scope="session")
def snapshot() -> Callable[..., dict[str, tuple[int, str]]]:
    """Size and hash of every file under some folders, to tell what a run wrote where."""
    return _snapshot


_REPORT = re.compile(
    r"^(?P<path>.+?): (?P<format>\w+), (?P<flights>\d+) flights?, (?P<kept>\d+) samples kept, "
    r"(?P<rejected>\d+) rejected(?: \((?P<reasons>[^)]*)\))?$"
)


def _ingest_lines(stdout: str) -> dict[str, dict[str, Any]]:
    """Parse ``exposure ingest``'s per-file lines: path → format, counts, reasons."""
    out = {}
    for line in stdout.splitlines():
        m = _REPORT.match(line)
        if m is None:
            continue
        reasons = {}
        for part in filter(None, (m["reasons"] or "").split(", ")):
            name, count = part.rsplit(" ", 1)
            reasons[name] = int(count)
        out[m["path"]] = {
            "format": m["format"],
            "flights": int(m["flights"]),
            "samples": int(m["kept"]),
            "n_rejected": int(m["rejected"]),
            "rejected": reasons,
        }
    return out


@pytest.fixture(scope="session")
def ingest_lines() -> Callable[[str], dict[str, dict[str, Any]]]:
    return _ingest_lines


_SOURCE = re.compile(
    r"^(?P<source>.+?): (?P<kind>\w+), (?P<read>\d+) read, (?P<kept>\d+) kept, "
    r"(?P<repaired>\d+) repaired, (?P<merged>\d+) merged, (?P<rejected>\d+) rejected"
    r"(?: \((?P<detail>.*)\))?$"
)


def _counts(text: str) -> dict[str, int]:
    out = {}
    for part in filter(None, text.split(", ")):
        name, count = part.rsplit(" ", 1)
        out[name] = int(count)
    return out


def _sites_lines(stdout: str) -> dict[str, dict[str, Any]]:
    """Parse ``exposure sites``'s per-source lines: source → counts and reasons."""
    out = {}
    for line in stdout.splitlines():
        m = _SOURCE.match(line)
        if m is None:
            continue
        detail = {"merged": {}, "rejected": {}}
        for part in filter(None, (m["detail"] or "").split("; ")):
            key, _, rest = part.partition(": ")
            detail[key] = _counts(rest)
        out[m["source"]] = {
            "kind": m["kind"],
            **{k: int(m[k]) for k in ("read", "kept", "repaired", "merged", "rejected")},
            "merged_by_reason": detail["merged"],
            "rejected_by_reason": detail["rejected"],
        }
    return out


@pytest.fixture(scope="session")
def sites_lines() -> Callable[[str], dict[str, dict[str, Any]]]:
    return _sites_lines


def _bench_engine() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_engine", ROOT / "benchmarks" / "bench_engine.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_fleet(folder: Path, *, n_samples: int, seed: int) -> tuple[Path, Path]:
    """A synthetic fleet as a store, and its sites as GeoJSON (benchmarks/bench_engine.py)."""
    from flightlogs import write_store
    from flightlogs.schema import make_flights, make_samples

    samples, flights, sites = _bench_engine().scenario(n_samples, 300, seed=seed, near_share=0.5)
    per_flight = samples.groupby("flight_id", observed=True).size()
    samples = make_samples(
        samples.assign(
            flight_id=samples["flight_id"].astype(str), height_ref="takeoff", source_row=1
        )
    )
    flights = make_flights(
        flights.assign(
            source_path="synthetic",
            source_format="airdata_csv",
            n_read=flights["flight_id"].map(per_flight),
            n_samples=flights["flight_id"].map(per_flight),
            n_rejected=0,
        ),
        samples=samples,
    )
    folder.mkdir(parents=True, exist_ok=True)
    store = write_store(samples, flights, folder / f"fleet-{seed}.parquet")
    site_file = folder / "sites.geojson"
    sites.to_file(site_file, driver="GeoJSON", engine="pyogrio")
    return Path(store), site_file


@pytest.fixture(scope="session")
def synthetic_fleets(tmp_path_factory) -> dict[str, Path]:
    """Two different synthetic fleets (100,000 samples each) over the same 300 sites."""
    folder = tmp_path_factory.mktemp("fleets")
    first, sites = _write_fleet(folder, n_samples=100_000, seed=3)
    second, _ = _write_fleet(folder, n_samples=100_000, seed=4)
    return {"first": first, "second": second, "sites": sites}


@pytest.fixture(scope="session", autouse=True)
def _demo_processes(request, tmp_path_factory) -> Iterator[list[tuple[Path, Any]] | None]:
    """Start the two demo runs of :func:`demo_runs` as soon as the session begins.

    They take half a minute each; started early (only when a collected test needs them), they
    run while the other tests do.
    """
    if not any("demo_runs" in getattr(item, "fixturenames", ()) for item in
               request.session.items):
        yield None
        return
    base = tmp_path_factory.mktemp("demos")
    started = []
    for name in ("a", "b"):
        out = base / name / "demo"
        out.parent.mkdir()
        # --out relative to the run's own folder: the two command lines are the same, so
        # the paths the outputs record (each log's source_path) are the same too.
        proc = subprocess.Popen(
            [*exposure_command(), "demo", "--out", out.name],
            cwd=out.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append((out, proc))
    yield started
    for _, proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def demo_runs(_demo_processes) -> tuple[Path, Path]:
    """Two runs of ``exposure demo`` with the same seed, side by side (run concurrently).

    Both result directories are named ``demo`` (in different folders) and given as a relative
    ``--out``, so that the directory name a map shows and the log paths the outputs record are
    the same.
    """
    for _, proc in _demo_processes:
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    return _demo_processes[0][0], _demo_processes[1][0]

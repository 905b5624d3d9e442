"""The same inputs and seed give byte-identical outputs.

Two runs of ``exposure demo`` with the same seed and the same command line (``--out demo``,
each in its own folder) must write the same bytes into every table, GeoPackage, Parquet file
and map. What may differ, and only that:

- ``manifest.json``: when each run started and how long it took (``started_utc``,
  ``seconds_taken``);
- ``map.html``: the provenance line that names when the run started (taken from the
  manifest).

Both are compared after replacing those values with placeholders. Paths are recorded as given:
runs given different paths to the same files differ in them (``source_path`` of the flights,
the manifest's inputs). GeoPackages would otherwise
differ in the time GDAL stamps into ``gpkg_contents.last_change``; the outputs fix it (see
``exposure.output.GPKG_LAST_CHANGE``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Manifest keys that say when and how long, not what.
TIMING = {"started_utc", "seconds_taken"}


def _files(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _normalised(value: Any, root: str) -> Any:
    if isinstance(value, dict):
        return {k: "<timing>" if k in TIMING else _normalised(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "<out>")
    return value


def _started(folder: Path) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k == "started_utc":
                    found.append(v)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
    return found


def test_demo_twice_gives_the_same_bytes(demo_runs):
    first, second = demo_runs
    a, b = _files(first), _files(second)
    assert set(a) == set(b)
    expected = {
        "site_exposure.csv", "site_exposure.gpkg", "passes.csv", "coverage.gpkg",
        "coverage_by_flight.parquet", "flights.gpkg", "tracks.parquet", "map.html",
        "manifest.json", "site_leaks.csv", "flight_leaks.csv", "attribution.csv",
        "replacement_plan.csv", "exposure_by_drone.csv", "fleet.csv",
    }
    assert expected <= set(a)
    different = sorted(name for name in a if a[name].read_bytes() != b[name].read_bytes())
    # Only the two files that record when the run happened may differ at all.
    assert set(different) <= {"manifest.json", "map.html"}, different


def test_manifests_differ_only_in_timing_and_paths(demo_runs):
    first, second = demo_runs
    docs = [
        _normalised(json.loads((d / "manifest.json").read_text(encoding="utf-8")), str(d))
        for d in (first, second)
    ]
    assert docs[0] == docs[1]
    assert docs[0]["inputs"]["flight_logs"], "the manifest lists the logs it read"


def test_maps_differ_only_in_the_start_time(demo_runs):
    first, second = demo_runs
    pages = []
    for folder in (first, second):
        page = (folder / "map.html").read_text(encoding="utf-8")
        for stamp in _started(folder):
            page = page.replace(stamp, "<started>")
        pages.append(page)
    assert pages[0] == pages[1]
    assert "<started>" in pages[0]

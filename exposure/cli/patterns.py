"""``exposure patterns``: each site's pattern of life, and how much of it leaked positions reveal.

Reads what ``exposure assess`` (or ``exposure demo``) wrote, groups the passes into visits and
rebuilds each site's weekly pattern (:mod:`exposure.patterns`), then runs the leak simulation's
draws over the visits (:mod:`exposure.pattern_leaks`; with the scenario, seed and draws of an
``exposure leaks`` run it sees the same simulated worlds). Writes ``site_patterns.csv`` and
``visits.csv`` into the same directory, adds a ``patterns`` section to ``manifest.json`` and
redraws ``map.html`` with the visit-pattern layer; every file is staged and moved into place
only when all are complete.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.progress import Progress
from rich.table import Table

from exposure.cli.common import app, errors_as_lines, out_console, progress_bar, stage
from exposure.cli.map import ResultTables, default_title, load_results, render_map
from exposure.errors import ExposureError
from exposure.leakdraws import behaviour
from exposure.leakmodel import build_model
from exposure.manifest import manifest_json
from exposure.output import staged_outputs, write_table
from exposure.pattern_leaks import leaked_patterns
from exposure.patterns import Patterns, patterns_of_life
from exposure.rhythm import MIN_VISITS
from exposure.scenario import load_scenario
from exposure.visits import VISIT_GAP_HOURS, utc_times

__all__ = ["PATTERN_OUTPUTS", "patterns_cmd", "print_pattern_summary", "run_patterns"]

#: Files ``exposure patterns`` writes (``map.html`` is redrawn).
PATTERN_OUTPUTS = ("site_patterns.csv", "visits.csv", "map.html", "manifest.json")


def _inputs(result_dir: Path, with_leaks: bool) -> tuple[ResultTables, pd.DataFrame | None]:
    """Read the result directory's tables, and the per-flight coverage the leak model needs."""
    tables = load_results(result_dir)
    problems = [
        f"{result_dir / name}: missing (expected in a result directory of `exposure assess`; "
        "re-run it)"
        for name, table in (("passes.csv", tables.passes), ("flights.gpkg", tables.flights))
        if table is None
    ]
    coverage = None
    if with_leaks:
        path = result_dir / "coverage_by_flight.parquet"
        try:
            coverage = pd.read_parquet(path)
        except FileNotFoundError:
            problems.append(f"{path}: missing (the leak draws need it; re-run `exposure assess`, "
                            "or pass --no-leaks)")
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: cannot be read ({type(exc).__name__}: {exc})")
    if problems:
        raise ExposureError("\n".join(problems))
    return tables, coverage


def _period(flights: pd.DataFrame) -> tuple[object, object] | None:
    """Take the flights' own window: a quiet site then shows a low rate, not a short period."""
    if not {"start", "end"} <= set(flights.columns):
        return None
    a, b = utc_times(flights["start"]).dropna(), utc_times(flights["end"]).dropna()
    return (a.min(), b.max()) if len(a) and len(b) else None


def run_patterns(
    result_dir: Path,
    *,
    scenario_path: Path | None,
    draws: int,
    seed: int,
    gap_hours: float = VISIT_GAP_HOURS,
    min_visits: int = MIN_VISITS,
    with_leaks: bool = True,
    block_size: int = 256,
    redraw_map: bool = True,
    progress: Progress,
) -> Patterns:
    """Rebuild the patterns, estimate what leaked, write everything into ``result_dir``.

    Returns
    -------
    Patterns
        For the summary.
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    with stage(progress, "Reading the results"):
        scenario = load_scenario(scenario_path) if with_leaks else None
        tables, coverage = _inputs(result_dir, with_leaks)
        passes, flights, sites = tables.passes, tables.flights, tables.site_exposure
    with stage(progress, "Grouping passes into visits"):
        patterns = patterns_of_life(passes, flights, sites, gap_hours=gap_hours,
                                    min_visits=min_visits, period=_period(flights))
    if scenario is not None:
        with stage(progress, f"Simulating what leaks of the patterns ({draws} draws)"):
            model = build_model(passes, flights, sites, coverage, scenario=scenario,
                                tracks=tables.points)
            beh = behaviour(model.profiles, model.regions, scenario)
            patterns = leaked_patterns(patterns, model, beh, draws=draws, seed=seed,
                                       block_size=block_size)
    table, visits = patterns.site_patterns, patterns.visits
    manifest = dict(tables.manifest)
    written = ["site_patterns.csv", "visits.csv", *(["map.html"] if redraw_map else [])]
    manifest["patterns"] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds_taken": round(time.perf_counter() - t0, 3),
        "gap_hours": gap_hours,
        "min_visits": min_visits,
        "period": [patterns.period[0].isoformat(), patterns.period[1].isoformat()],
        "leaks": None if scenario is None else {
            "scenario": {"source": scenario.source, "sha256": scenario.sha256},
            "draws": draws, "seed": seed, "block_size": block_size,
        },
        "counts": {
            "visits": len(visits),
            "fleet_visits": int((~visits["third_party"]).sum()),
            "third_party_visits": int(visits["third_party"].sum()),
            "sites": len(table),
            "sites_rated": int(table["regularity"].notna().sum()),
            "sites_high_regularity": int((table["regularity"] == "high").sum()),
        },
        "assumptions": list(patterns.assumptions),
        "outputs": [*written, "manifest.json"],
    }
    with stage(progress, "Writing pattern tables and map"), staged_outputs(result_dir) as staging:
        write_table(table, staging / "site_patterns.csv")
        write_table(visits, staging / "visits.csv")
        if redraw_map:
            _render_map(result_dir, replace(tables, site_patterns=table, visits=visits),
                        staging / "map.html")
        (staging / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")
    return patterns


def _render_map(result_dir: Path, tables: ResultTables, target: Path) -> None:
    import maps

    try:
        m, _ = render_map(tables, title=default_title(tables))
        maps.save_html(m, target, offline=True)
    except maps.MapError as exc:
        raise ExposureError(f"{result_dir}: the map could not be redrawn ({exc})") from None


def _percent(value: object) -> str:
    v = float(pd.to_numeric(value, errors="coerce"))
    return "—" if np.isnan(v) else f"{v:.0%}"


def print_pattern_summary(patterns: Patterns, result_dir: Path) -> None:
    """Print the most visited sites' patterns and what leaked positions give away."""
    table = patterns.site_patterns
    leaked = "expected_share_known" in table
    out = Table(title=f"Visit patterns ({len(patterns.visits)} visits, {len(table)} sites)")
    heads = ["site", "visits", "usual time (local)", "within ±1 h", "regularity", "trend"]
    heads += ["visits known", "usual time learnt"] if leaked else []
    for col in heads:
        out.add_column(col, justify="left" if col in ("site", "usual time (local)", "regularity",
                                                      "trend") else "right")
    for r in table.head(8).itertuples(index=False):
        cells = [
            str(r.name if isinstance(r.name, str) else r.site_id), str(r.visits),
            "—" if pd.isna(r.usual_time) else f"{r.usual_time} {r.time_zone}",
            _percent(r.usual_share), "—" if pd.isna(r.regularity) else str(r.regularity),
            "—" if pd.isna(r.trend) else str(r.trend),
        ]
        if leaked:
            cells += [_percent(r.expected_share_known), _percent(r.p_usual_time_learnt)]
        out.add_row(*cells)
    out_console.print(out)
    high = int((table["regularity"] == "high").sum())
    third = int(patterns.visits["third_party"].sum())
    sites = "1 site is" if high == 1 else f"{high} sites are"
    out_console.print(
        f"{sites} visited at a highly regular time of the week; {third} visits were by third "
        f"parties' drones. Pattern tables: {result_dir}",
        highlight=False,
    )


@app.command("patterns")
def patterns_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Result directory of assess or demo.")],
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Leak scenario TOML (keys it changes; defaults else)."),
    ] = None,
    draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    gap_hours: Annotated[
        float, typer.Option("--gap-hours", min=0, help="Passes closer than this: one visit.")
    ] = VISIT_GAP_HOURS,
    min_visits: Annotated[
        int, typer.Option("--min-visits", min=1, help="Visits needed to rate regularity.")
    ] = MIN_VISITS,
    with_leaks: Annotated[
        bool, typer.Option("--leaks/--no-leaks", help="Estimate what leaked positions reveal.")
    ] = True,
    block_size: Annotated[
        int, typer.Option("--block-size", min=1, help="Draws per block (memory only).")
    ] = 256,
    redraw_map: Annotated[
        bool, typer.Option("--map/--no-map", help="Redraw map.html with the pattern layer.")
    ] = True,
) -> None:
    """Rebuild when and how regularly each site is visited, and what leaks of that pattern.

    Groups passes into visits (passes of a site less than --gap-hours apart), places them in
    the week of the site's local time zone, rates how predictable they are, measures the trend
    and who flew, and estimates from the leak simulation's draws how much of the pattern a
    foreign party could rebuild from leaked positions. Flights from Remote ID receiver logs are
    reported apart as third parties' drones. Writes site_patterns.csv and visits.csv into
    RESULT_DIR, adds a "patterns" section to its manifest.json and redraws map.html.

    Example: exposure patterns demo-out --draws 2000 --seed 7
    """
    with errors_as_lines(), progress_bar() as progress:
        patterns = run_patterns(
            result_dir, scenario_path=scenario, draws=draws, seed=seed, gap_hours=gap_hours,
            min_visits=min_visits, with_leaks=with_leaks, block_size=block_size,
            redraw_map=redraw_map, progress=progress,
        )
    print_pattern_summary(patterns, result_dir)

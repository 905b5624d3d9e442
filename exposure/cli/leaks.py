"""``exposure leaks``: what of a result directory's exposure could have reached a foreign party.

Reads what ``exposure assess`` (or ``exposure demo``) wrote, runs the leak simulation
(:mod:`exposure.leaks`), the what-ifs, the sensitivity sweep and the replacement planner
(:mod:`exposure.replacement`), and writes their tables into the same directory, with a
``leaks`` section in ``manifest.json`` and the map redrawn with the leak results; every file is
staged and moved into place only when all are complete.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import typer
from rich.progress import Progress
from rich.table import Table

import sites as sitelib
from exposure.cli.common import app, errors_as_lines, out_console, progress_bar, stage
from exposure.errors import ExposureError
from exposure.leaks import LeakResult, compare_what_ifs, sensitivity_sweep, simulate_leaks
from exposure.manifest import manifest_json
from exposure.output import staged_outputs, write_table
from exposure.replacement import plan_replacement
from exposure.scenario import Scenario, load_scenario
from exposure.whatif import WhatIf, load_what_if

__all__ = ["LEAK_OUTPUTS", "MAX_DRAW_BYTES", "leaks_cmd", "print_leak_summary", "run_leaks"]

#: Files ``exposure leaks`` writes (``what_if.csv`` only with ``--what-if``, ``receivers.gpkg``
#: only when the scenario lists receivers; ``map.html`` is redrawn).
LEAK_OUTPUTS = (
    "site_leaks.csv",
    "flight_leaks.csv",
    "attribution.csv",
    "replacement_plan.csv",
    "sensitivity.csv",
    "what_if.csv",
    "receivers.gpkg",
    "map.html",
    "manifest.json",
)
_IDS = {"flight_id": "string", "drone_id": "string", "site_id": "string"}


def _read_inputs(result_dir: Path) -> dict[str, object]:
    """Read the tables the simulation needs, reporting every missing or unreadable file."""
    if not result_dir.is_dir():
        raise ExposureError(
            f"{result_dir}: no such result directory (expected the --out directory of "
            "`exposure assess` or `exposure demo`)"
        )
    readers = {
        "passes": ("passes.csv", lambda f: pd.read_csv(f, dtype=_IDS, keep_default_na=True)),
        "flights": ("flights.gpkg", lambda f: gpd.read_file(f, engine="pyogrio")),
        "sites": ("site_exposure.gpkg", lambda f: gpd.read_file(f, engine="pyogrio")),
        "coverage": ("coverage_by_flight.parquet", pd.read_parquet),
        "manifest": ("manifest.json", lambda f: json.loads(f.read_text(encoding="utf-8"))),
        "tracks": ("tracks.parquet", pd.read_parquet),
    }
    found, problems = {}, []
    for key, (name, read) in readers.items():
        path = result_dir / name
        if not path.is_file():
            if key != "tracks":
                problems.append(f"{path}: missing (expected in a result directory of "
                                "`exposure assess`; re-run it)")
            continue
        try:
            found[key] = read(path)
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{path}: cannot be read ({type(exc).__name__}: {exc})")
    if problems:
        raise ExposureError("\n".join(problems))
    if not isinstance(found["manifest"], dict):
        raise ExposureError(f"{result_dir / 'manifest.json'}: expected a JSON object")
    return found


def _read_zones(what_ifs: list[WhatIf]) -> dict[Path, gpd.GeoDataFrame]:
    zones, problems = {}, []
    for path in dict.fromkeys(z for w in what_ifs for z in w.zone_files):
        try:
            kind = sitelib.sources.source_kind(path)
            # Zones need only their shapes: a plain vector file may lack site categories.
            options = {"category": "other"} if kind == "vector" else {}
            zones[path] = sitelib.read_any(path, **options)
        except sitelib.SiteDataError as exc:
            problems.append(str(exc))
    if problems:
        raise ExposureError("\n".join(problems))
    return zones


def _receivers(scenario: Scenario) -> gpd.GeoDataFrame | None:
    if scenario.radio_mode != "points":
        return None
    r = scenario.receivers
    return gpd.GeoDataFrame(
        {"name": [x.name for x in r], "range_m": [x.range_m for x in r]},
        geometry=shapely.points([x.lon for x in r], [x.lat for x in r]),
        crs="EPSG:4326",
    )


def _render_map(result_dir: Path, result: LeakResult, plan: pd.DataFrame, receivers, target):
    """Redraw the map with the leak layers (site tooltips, tracks by leak chance, receivers)."""
    import maps
    from exposure.cli.map import default_title, load_results, render_map

    tables = load_results(result_dir)
    layers = dict(tables.layers)
    layers.pop("receivers", None)
    if receivers is not None:
        layers["receivers"] = receivers
    tables = replace(tables, site_leaks=result.site_leaks, flight_leaks=result.flight_leaks,
                     replacement_plan=plan, layers=layers)
    try:
        m, _ = render_map(tables, title=default_title(tables))
        maps.save_html(m, target, offline=True)
    except maps.MapError as exc:
        raise ExposureError(f"{result_dir}: the map could not be redrawn ({exc})") from None


#: Memory (bytes) the per-draw tables of the leak simulation may take: draws × sites × 12.
MAX_DRAW_BYTES = 2_000_000_000


def run_leaks(
    result_dir: Path,
    *,
    scenario_path: Path | None,
    draws: int,
    seed: int,
    what_if_paths: list[Path] | None = None,
    niirs_k: float = 5.0,
    by: str = "drone",
    focus: str | None = None,
    cost_factor: float | None = None,
    sweep_draws: int | None = None,
    block_size: int = 256,
    redraw_map: bool = True,
    progress: Progress,
) -> dict[str, object]:
    """Simulate, compare, sweep and plan; write everything into ``result_dir`` (all or nothing).

    Returns
    -------
    dict
        ``result``, ``plan``, ``what_if`` and ``sensitivity`` for the summary.
    """
    started, t0 = datetime.now(UTC), time.perf_counter()
    with stage(progress, "Reading the scenario and results"):
        problems = []
        try:
            scenario = load_scenario(scenario_path)
        except ExposureError as exc:
            problems.append(str(exc))
        what_ifs = []
        for path in what_if_paths or []:
            try:
                what_ifs.append(load_what_if(path))
            except ExposureError as exc:
                problems.append(str(exc))
        if problems:
            raise ExposureError("\n".join(problems))
        zones = _read_zones(what_ifs)
        inputs = _read_inputs(result_dir)
        # The simulation holds three float32 values per draw and site (exposure.leakdraws).
        n_sites = max(len(inputs["sites"]), 1)
        if draws * n_sites * 12 > MAX_DRAW_BYTES:
            raise ExposureError(
                f"--draws {draws}: {draws} draws of {n_sites} sites need about "
                f"{draws * n_sites * 12 / 1e9:.1f} GB, more than the {MAX_DRAW_BYTES / 1e9:g} GB "
                f"accepted; use at most {MAX_DRAW_BYTES // (12 * n_sites)} draws"
            )
    with stage(progress, f"Simulating leaks ({draws} draws)"):
        result = simulate_leaks(
            inputs["passes"], inputs["flights"], inputs["sites"], inputs["coverage"],
            scenario=scenario, tracks=inputs.get("tracks"), draws=draws, seed=seed,
            niirs_k=niirs_k, block_size=block_size,
        )
    with stage(progress, "What-ifs, sensitivity and replacement plan"):
        compared = compare_what_ifs(result, what_ifs, zones=zones) if what_ifs else None
        # Ten more runs: fewer draws by default keep the sweep to the cost of a few base runs.
        sweep_draws = sweep_draws or min(draws, 1000)
        sweep = sensitivity_sweep(result, draws=sweep_draws)
        plan = plan_replacement(result, by=by, focus=focus, cost_factor=cost_factor)
    receivers = _receivers(scenario)
    written = ["site_leaks.csv", "flight_leaks.csv", "attribution.csv", "replacement_plan.csv",
               "sensitivity.csv"]
    written += ["what_if.csv"] if compared is not None else []
    written += ["receivers.gpkg"] if receivers is not None else []
    written += ["map.html"] if redraw_map else []
    manifest = dict(inputs["manifest"])
    earlier = manifest.get("leaks")
    previous = earlier.get("outputs", []) if isinstance(earlier, dict) else []
    manifest["leaks"] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "seconds_taken": round(time.perf_counter() - t0, 3),
        "scenario": {"source": scenario.source, "sha256": scenario.sha256},
        "what_ifs": [{"name": w.name, "source": w.source, "sha256": w.sha256} for w in what_ifs],
        "draws": draws,
        "seed": seed,
        "block_size": block_size,
        "sweep_draws": sweep_draws,
        "niirs_k": niirs_k,
        "replacement": {"by": by, "focus": focus,
                        "cost_factor": scenario.cost_factor if cost_factor is None
                        else cost_factor},
        "counts": dict(result.model.counts),
        "headline": {r.metric: {"mean": r.mean, "p05": r.p05, "p95": r.p95}
                     for r in result.headline.itertuples()},
        "assumptions": list(result.assumptions),
        "outputs": [*written, "manifest.json"],
    }
    # A file an earlier leak run wrote and this one does not would describe another scenario:
    # removed in the same commit as the new outputs.
    stale = [n for n in set(previous) - set(written) - {"manifest.json"} if n in LEAK_OUTPUTS]
    with (
        stage(progress, "Writing leak tables and map"),
        staged_outputs(result_dir, remove=stale) as staging,
    ):
        write_table(result.site_leaks, staging / "site_leaks.csv")
        write_table(result.flight_leaks, staging / "flight_leaks.csv")
        write_table(result.attribution, staging / "attribution.csv")
        write_table(plan, staging / "replacement_plan.csv")
        write_table(sweep, staging / "sensitivity.csv")
        if compared is not None:
            write_table(compared, staging / "what_if.csv")
        if receivers is not None:
            write_table(receivers, staging / "receivers.gpkg")
        if redraw_map:
            _render_map(result_dir, result, plan, receivers, staging / "map.html")
        (staging / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")
    return {"result": result, "plan": plan, "what_if": compared, "sensitivity": sweep}


def print_leak_summary(outcome: dict[str, object], result_dir: Path) -> None:
    """Print the sites most at risk of leaking, the headline numbers and the plan's curve."""
    result: LeakResult = outcome["result"]  # type: ignore[assignment]
    plan: pd.DataFrame = outcome["plan"]  # type: ignore[assignment]
    k = f"niirs{result.model.niirs_k:g}"
    table = Table(title=f"Leak simulation ({result.draws} draws, seed {result.seed})")
    for col in ("site", "category", "imagery leaked", "visits known", f"leaked {k} cover",
                "top channel"):
        table.add_column(col, justify="left" if col in ("site", "category", "top channel")
                         else "right")
    for r in result.site_leaks.head(8).itertuples(index=False):
        table.add_row(
            str(r.name), str(r.category), f"{r.p_any_imagery_leaked:.1%}",
            f"{r.p_visits_known:.1%}", f"{getattr(r, 'expected_leaked_coverage_' + k):.2%}",
            str(r.top_channel),
        )
    out_console.print(table)
    head = result.headline.set_index("metric")
    out_console.print(
        f"Expected: {head.loc['sites_imagery_leaked', 'mean']:.1f} sites with imagery leaked, "
        f"{head.loc['sites_visits_known', 'mean']:.1f} with visits known; leak risk "
        f"{head.loc['leak_risk', 'mean']:.2f} (5-95 %: {head.loc['leak_risk', 'p05']:.2f}-"
        f"{head.loc['leak_risk', 'p95']:.2f}).",
        highlight=False,
    )
    shares = plan["cumulative_coverage_share"].to_numpy(float) if len(plan) else []
    if len(shares) and np.isfinite(shares).any():
        best = float(np.nanmax(shares))
        first = plan.iloc[int(np.argmax(shares >= min(0.8, best) - 1e-12))]
        unit = "drones" if plan.attrs.get("by") == "drone" else "models"
        focus = plan.attrs.get("focus")
        out_console.print(
            f"Replacing the first {int(first['rank'])} {unit} of replacement_plan.csv "
            f"(cost {first['cumulative_cost']:,.0f}) removes "
            f"{first['cumulative_coverage_share']:.0%} of the expected leaked {k.upper()} "
            f"coverage of {focus + ' sites' if focus else 'all sites (sensitivity-weighted)'}; "
            f"replacing all {len(plan)} removes {best:.0%}.",
            highlight=False,
        )
    compared = outcome.get("what_if")
    if isinstance(compared, pd.DataFrame):
        for r in compared[compared["metric"] == "leak_risk"].itertuples(index=False):
            out_console.print(
                f"What-if {r.what_if}: leak risk {r.difference_mean:+.2f} "
                f"(5-95 %: {r.difference_p05:+.2f} to {r.difference_p95:+.2f})",
                highlight=False,
            )
    out_console.print(f"Leak tables: {result_dir}", highlight=False)


@app.command("leaks")
def leaks_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Result directory of assess or demo.")],
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario TOML (keys it changes; defaults otherwise)."),
    ] = None,
    draws: Annotated[int, typer.Option("--draws", min=1, help="Monte Carlo draws.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    what_if: Annotated[
        list[Path] | None,
        typer.Option("--what-if", help="What-if TOML, compared with the base (repeatable)."),
    ] = None,
    niirs_k: Annotated[
        float, typer.Option("--niirs", min=0, max=9, help="Coverage counts NIIRS ≥ this.")
    ] = 5.0,
    by: Annotated[
        str, typer.Option("--by", help="Replacement planner units: drone or model.")
    ] = "drone",
    focus: Annotated[
        str | None, typer.Option("--focus", help="Plan for one site category (e.g. nuclear).")
    ] = None,
    cost_factor: Annotated[
        float | None,
        typer.Option("--cost-factor", help="Replacement cost ÷ price of the drone replaced."),
    ] = None,
    sweep_draws: Annotated[
        int | None,
        typer.Option("--sweep-draws", min=1,
                     help="Draws per sensitivity point (default: --draws, at most 1000)."),
    ] = None,
    block_size: Annotated[
        int, typer.Option("--block-size", min=1, help="Draws per block (memory only).")
    ] = 256,
    redraw_map: Annotated[
        bool, typer.Option("--map/--no-map", help="Redraw map.html with the leak layers.")
    ] = True,
) -> None:
    """Simulate what of the exposure could have reached a foreign party, and what to change.

    Writes site_leaks.csv, flight_leaks.csv, attribution.csv, replacement_plan.csv,
    sensitivity.csv (and what_if.csv) into RESULT_DIR, adds a "leaks" section to its
    manifest.json and redraws map.html with the leak results.

    Example: exposure leaks demo-out --draws 5000 --seed 1 --what-if no_dji.toml
    """
    with errors_as_lines(), progress_bar() as progress:
        if by not in ("drone", "model"):
            raise ExposureError(f"--by {by!r}: expected 'drone' or 'model'")
        outcome = run_leaks(
            result_dir, scenario_path=scenario, draws=draws, seed=seed,
            what_if_paths=what_if, niirs_k=niirs_k, by=by, focus=focus,
            cost_factor=cost_factor, sweep_draws=sweep_draws, block_size=block_size,
            redraw_map=redraw_map, progress=progress,
        )
    print_leak_summary(outcome, result_dir)

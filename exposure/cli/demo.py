"""``exposure demo``: the bundled Japan scenario end to end, offline."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

import flightlogs
from exposure.cli.assess import print_summary, run_assessment
from exposure.cli.common import app, errors_as_lines, load_sites, progress_bar, stage
from exposure.cli.leaks import print_leak_summary, run_leaks
from exposure.cli.patterns import print_pattern_summary, run_patterns

__all__ = ["demo"]


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Result directory.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated fleet.")] = 7,
) -> None:
    """Run the bundled Japan scenario end to end, offline.

    A simulated government fleet is written as real log files (AirData CSV, DJI SRT) into
    OUT/logs, read back through the readers, assessed against the bundled Japanese site
    catalogue, and mapped; then the leak simulation runs with the shipped scenario and adds its
    tables and map layers to OUT, and the visits to each site are rebuilt into their pattern of
    life (site_patterns.csv, visits.csv) with what the leak draws give away of it.

    Example: exposure demo --out demo-out
    """
    from exposure.simulate import demo_fleet
    from flightlogs.writers import write_airdata_csv, write_dji_srt

    started = datetime.now(UTC)
    with errors_as_lines(), progress_bar() as progress:
        with stage(progress, "Simulating the demo fleet"):
            tracks, fleet = demo_fleet(seed=seed)
            log_dir = out / "logs"
            for row in fleet.itertuples(index=False):
                if row.log_format == "dji_srt":
                    write_dji_srt(tracks[row.flight_id], log_dir / f"{row.flight_id}.SRT")
                else:
                    write_airdata_csv(tracks[row.flight_id], log_dir / f"{row.flight_id}.csv")
            fleet_path = out / "fleet.csv"
            # Written whole, then renamed: a killed demo never leaves half a fleet file.
            partial = out / ".fleet.csv.partial"
            fleet.drop(columns="log_format").to_csv(partial, index=False)
            os.replace(partial, fleet_path)
        with stage(progress, "Reading flight logs"):
            samples, flights = flightlogs.read_flight_logs([log_dir])
            flights = flightlogs.apply_fleet(flights, flightlogs.read_fleet(fleet_path))
        with stage(progress, "Reading sites"):
            site_table, reports = load_sites(["bundled:japan"])
        result = run_assessment(
            command="demo",
            samples=samples,
            flights=flights,
            sites=site_table,
            site_reports=reports,
            out=out,
            camera=None,
            max_range_m=5000.0,
            title="DEMO (simulated flights, real sites) - exposure of Japanese sensitive sites",
            started=started,
            progress=progress,
        )
        leaks = run_leaks(out, scenario_path=None, draws=2000, seed=seed, progress=progress)
        patterns = run_patterns(out, scenario_path=None, draws=2000, seed=seed,
                                progress=progress)
    print_summary(result, out)
    print_leak_summary(leaks, out)
    print_pattern_summary(patterns, out)

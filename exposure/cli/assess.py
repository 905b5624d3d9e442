"""``exposure assess``: a fleet's logs against site sources → tables, map and manifest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer
from rich.progress import Progress
from rich.table import Table

import flightlogs
from exposure.cli.common import (
    app,
    errors_as_lines,
    load_sites,
    out_console,
    progress_bar,
    stage,
)
from exposure.engine import Assessment, assess
from exposure.errors import ExposureError
from exposure.manifest import build_manifest, manifest_json
from exposure.output import staged_outputs, write_table
from flightlogs.core import sha256_file

__all__ = ["OUTPUT_FILES", "assess_cmd", "print_summary", "read_logs", "run_assessment"]

OUTPUT_FILES = (
    "site_exposure.csv",
    "site_exposure.gpkg",
    "passes.csv",
    "coverage.gpkg",
    "coverage_by_flight.parquet",
    "exposure_by_drone.csv",
    "exposure_by_vendor.csv",
    "exposure_by_operator.csv",
    "flights.gpkg",
    "tracks.parquet",
    "map.html",
    "manifest.json",
)


def print_summary(result: Assessment, out: Path) -> None:
    """Print the most exposed sites and where the map is."""
    table = Table(title="Most exposed sites", show_lines=False)
    for col in (
        "site",
        "category",
        "flights",
        "in view (s)",
        "closest (m)",
        "best NIIRS",
        "coverage",
        "risk",
    ):
        table.add_column(col, justify="left" if col in ("site", "category") else "right")
    top = result.site_exposure[result.site_exposure["flights"] > 0].head(10)
    for r in top.itertuples(index=False):
        table.add_row(
            str(r.name),
            str(r.category),
            str(r.flights),
            f"{r.seconds_in_view:.0f}",
            f"{r.min_slant_range_m:.0f}",
            f"{r.best_niirs:.1f}",
            f"{r.coverage_fraction:.1%}",
            f"{r.risk_score:.1f}",
        )
    out_console.print(table)
    c = result.counts
    out_console.print(
        f"{c['sites_in_view']} of {c['sites']} sites in view; {c['passes']} passes from "
        f"{c['samples']} samples.",
        highlight=False,
    )
    out_console.print(f"Map: {out / 'map.html'}", highlight=False)


def read_logs(paths: list[Path]) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Read the logs; a single store comes without the samples' Point geometry.

    The engine works on the coordinate columns, and ten million shapely points take about
    3 GB: reading a store without them keeps a 10-million-sample fleet within 4 GB.
    """
    store = _single_store(paths)
    if store is not None:
        return flightlogs.read_store(store, points=False)
    return flightlogs.read_flight_logs(paths)


def _single_store(paths: list[Path]) -> Path | None:
    """Return the store when the logs are one store written by ``exposure ingest``."""
    files = flightlogs.list_log_files(paths)
    if len(files) == 1 and files[0].is_file():
        if flightlogs.detect_format(files[0]) == "geoparquet_store":
            return files[0]
    return None


def run_assessment(
    *,
    command: str,
    samples: pd.DataFrame,
    flights: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    site_reports: list[dict[str, object]],
    out: Path,
    camera: str | None,
    max_range_m: float,
    title: str,
    started: datetime,
    progress: Progress,
    engine: str = "local",
    scheduler: str | None = None,
    chunk_samples: int = 1_000_000,
    mode: str = "auto",
    manifest_extra: dict[str, object] | None = None,
) -> Assessment:
    """Assess, then write tables, map and manifest into ``out`` (all or nothing)."""
    import maps  # the map is drawn only here, at the edge

    with stage(progress, f"Assessing exposure ({engine})"):
        options = {
            "camera": camera,
            "max_range_m": max_range_m,
            "chunk_samples": chunk_samples,
            "mode": mode,
        }
        if engine == "dask":
            from exposure.distributed import cluster_client, dask_runner

            with cluster_client(scheduler) as client:
                result = assess(samples, flights, sites, runner=dask_runner(client), **options)
        else:
            result = assess(samples, flights, sites, **options)
    with (
        stage(progress, "Writing results and map"),
        staged_outputs(out, remove=_derived_outputs()) as staging,
    ):
        write_table(result.site_exposure, staging / "site_exposure.csv")
        write_table(result.site_exposure, staging / "site_exposure.gpkg")
        write_table(result.passes, staging / "passes.csv")
        write_table(result.coverage, staging / "coverage.gpkg")
        write_table(result.coverage_by_flight, staging / "coverage_by_flight.parquet")
        for level, table in result.attribution.items():
            write_table(table, staging / f"exposure_by_{level}.csv")
        write_table(flights, staging / "flights.gpkg")
        # Timed, thinned tracks (1 m: within GNSS noise) let `exposure map` redraw passes and
        # the time window without the logs.
        track_points, _ = maps.decimate_points(
            samples[["flight_id", "time", "lon", "lat"]], tolerance_m=1.0
        )
        track_points = track_points.merge(
            flights[["flight_id", "vendor", "drone_id"]], on="flight_id", how="left"
        )
        write_table(track_points, staging / "tracks.parquet")
        provenance = {
            "inputs": f"{len(flights)} flights, {len(sites)} sites",
            "parameters": f"mode {mode}, reach ≤ {max_range_m:g} m",
            "generated": started.strftime("%Y-%m-%d %H:%M UTC"),
            "version": f"exposure {flightlogs.__version__}",
        }
        m = maps.risk_map(
            result.site_exposure,
            flights=flights,
            points=track_points,
            passes=result.passes,
            coverage=result.coverage,
            title=title,
            provenance=provenance,
        )
        maps.save_html(m, staging / "map.html", offline=True)
        manifest = build_manifest(
            command=command,
            flights=flights,
            site_reports=site_reports,
            parameters={**result.parameters, "engine": engine, "scheduler": scheduler},
            counts=result.counts,
            assumptions=result.assumptions,
            outputs=list(OUTPUT_FILES),
            started=started,
            extra=manifest_extra,
        )
        (staging / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")
    return result


def _derived_outputs() -> list[str]:
    """List what later steps derive from an assessment: stale once a new one is written.

    Leak, pattern and what-if tables describe the passes they were computed from; left beside a
    new assessment they would be read (by the map and the briefing) as if they were its own, so
    the new outputs' commit removes them (:func:`exposure.output.staged_outputs`).
    """
    from exposure.cli.leaks import LEAK_OUTPUTS
    from exposure.cli.patterns import PATTERN_OUTPUTS

    return sorted({*LEAK_OUTPUTS, *PATTERN_OUTPUTS, "nofly_whatif.csv"} - set(OUTPUT_FILES))


@app.command("assess")
def assess_cmd(
    logs: Annotated[list[Path], typer.Option("--logs", help="Log file or directory (repeatable).")],
    sites: Annotated[
        list[str],
        typer.Option(
            "--sites", help="Site file, point-catalogue CSV, or bundled:NAME (repeatable)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Result directory.")],
    fleet: Annotated[Path | None, typer.Option("--fleet", help="Fleet inventory CSV.")] = None,
    camera: Annotated[
        str | None, typer.Option("--camera", help="Camera key for every flight.")
    ] = None,
    max_range_m: Annotated[
        float, typer.Option("--max-range-m", help="Cap on camera reach.")
    ] = 5000.0,
    title: Annotated[
        str, typer.Option("--title", help="Banner text of the map.")
    ] = "Drone exposure of sensitive sites",
    engine: Annotated[
        str, typer.Option("--engine", help="local (one process) or dask (a cluster).")
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Dask scheduler address; a local cluster if omitted."),
    ] = None,
    chunk_samples: Annotated[
        int, typer.Option("--chunk-samples", help="Samples per chunk of whole flights.")
    ] = 1_000_000,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="auto: observed where the log has the camera pose, potential elsewhere; "
            "potential: the worst case for every sample.",
        ),
    ] = "auto",
) -> None:
    """Assess a fleet's logs against site sources and write tables, map and manifest.

    Example: exposure assess --logs logs/ --sites sites.gpkg --sites bundled:japan --out result/
    """
    started = datetime.now(UTC)
    with errors_as_lines(), progress_bar() as progress:
        if engine not in ("local", "dask"):
            raise ExposureError(f"--engine {engine!r}: expected 'local' or 'dask'")
        if scheduler is not None and engine != "dask":
            raise ExposureError("--scheduler needs --engine dask")
        with stage(progress, "Reading flight logs"):
            samples, flights = read_logs(logs)
            # From a store, the flights name the original logs (path, hash, rows): the
            # manifest also records the store that was actually read.
            store = _single_store(logs)
            extra = (
                {"store": {"path": str(store), "sha256": sha256_file(store)}}
                if store is not None
                else None
            )
            if fleet is not None:
                flights = flightlogs.apply_fleet(flights, flightlogs.read_fleet(fleet))
        with stage(progress, "Reading sites"):
            site_table, reports = load_sites(sites)
        result = run_assessment(
            command="assess",
            samples=samples,
            flights=flights,
            sites=site_table,
            site_reports=reports,
            out=out,
            camera=camera,
            max_range_m=max_range_m,
            title=title,
            started=started,
            progress=progress,
            engine=engine,
            scheduler=scheduler,
            chunk_samples=chunk_samples,
            mode=mode,
            manifest_extra=extra,
        )
    print_summary(result, out)

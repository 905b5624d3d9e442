"""The ``exposure`` command line: the one place that wires readers, engine and maps together."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import flightlogs
import sites as sitelib
from exposure.engine import Assessment, assess
from exposure.errors import ExposureError
from exposure.manifest import build_manifest, manifest_json
from exposure.output import staged_outputs, write_table

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Estimate what a drone fleet saw of sensitive sites, how well, and what could leak.",
)
_err = Console(stderr=True)
_out = Console()

#: Errors that are the user's input, reported as one line and exit status 2.
_USER_ERRORS = (flightlogs.FlightLogError, sitelib.SiteDataError, ExposureError, OSError)

OUTPUT_FILES = (
    "site_exposure.csv",
    "site_exposure.gpkg",
    "passes.csv",
    "map.html",
    "manifest.json",
)


def _fail(message: str, code: int = 2) -> typer.Exit:
    for line in str(message).splitlines() or [""]:
        typer.echo(f"exposure: error: {line}", err=True)
    return typer.Exit(code)


@contextmanager
def _errors_as_lines() -> Iterator[None]:
    """Turn every failure into one line per problem on stderr and a non-zero exit, no traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except _USER_ERRORS as exc:
        if isinstance(exc, OSError) and exc.filename:
            raise _fail(f"{exc.filename}: {exc.strerror}") from None
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; no output was changed", code=130) from None
    except Exception as exc:  # the command line never shows a traceback
        if os.environ.get("EXPOSURE_DEBUG"):
            raise
        raise _fail(
            f"internal error: {type(exc).__name__}: {exc} (set EXPOSURE_DEBUG=1 for details)",
            code=3,
        ) from None


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=not _err.is_terminal,
    ) as progress:
        yield progress


@contextmanager
def _stage(progress: Progress, text: str) -> Iterator[None]:
    task = progress.add_task(text, total=None)
    yield
    progress.remove_task(task)


def _load_sites(specs: list[str]) -> tuple[gpd.GeoDataFrame, list[dict[str, object]]]:
    """Read each site source: ``bundled:NAME``, a point-catalogue CSV, or any vector file."""
    frames, reports = [], []
    for spec in specs:
        if spec.startswith("bundled:"):
            frame = sitelib.bundled(spec.split(":", 1)[1])
        elif Path(spec).suffix.lower() == ".csv":
            frame = sitelib.read_point_catalog(spec)
        else:
            frame = sitelib.read_sites(spec)
        report = frame.attrs.get("read_report", {"source": spec})
        if not len(frame):
            rejected = report.get("rejected") or {}
            detail = ", ".join(f"{k}: {v}" for k, v in rejected.items()) or "the source is empty"
            raise sitelib.SiteDataError(
                f"{spec}: no usable site ({detail}); expected at least one "
                "polygon, or a point with a category"
            )
        reports.append(report)
        frames.append(frame)
    merged = pd.concat(frames, ignore_index=True)
    merged = sitelib.make_sites(
        gpd.GeoDataFrame(merged, geometry="geometry", crs="EPSG:4326"), source=", ".join(specs)
    )
    return merged, reports


def _summary(result: Assessment, out: Path) -> None:
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
    _out.print(table)
    c = result.counts
    _out.print(
        f"{c['sites_in_view']} of {c['sites']} sites in view; {c['passes']} passes from "
        f"{c['samples']} samples.",
        highlight=False,
    )
    _out.print(f"Map: {out / 'map.html'}", highlight=False)


def _run(
    *,
    command: str,
    samples: gpd.GeoDataFrame,
    flights: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    site_reports: list[dict[str, object]],
    out: Path,
    camera: str | None,
    max_range_m: float,
    title: str,
    started: datetime,
    progress: Progress,
) -> Assessment:
    import maps  # the map is drawn only here, at the edge

    with _stage(progress, "Assessing exposure"):
        result = assess(samples, flights, sites, camera=camera, max_range_m=max_range_m)
    with _stage(progress, "Writing results and map"), staged_outputs(out) as stage:
        write_table(result.site_exposure, stage / "site_exposure.csv")
        write_table(result.site_exposure, stage / "site_exposure.gpkg")
        write_table(result.passes, stage / "passes.csv")
        provenance = {
            "inputs": f"{len(flights)} flights, {len(sites)} sites",
            "parameters": f"mode potential, reach ≤ {max_range_m:g} m",
            "generated": started.strftime("%Y-%m-%d %H:%M UTC"),
            "version": f"exposure {flightlogs.__version__}",
        }
        m = maps.risk_map(result.site_exposure, flights=flights, title=title, provenance=provenance)
        maps.save_html(m, stage / "map.html", offline=True)
        manifest = build_manifest(
            command=command,
            flights=flights,
            site_reports=site_reports,
            parameters=result.parameters,
            counts=result.counts,
            assumptions=result.assumptions,
            outputs=list(OUTPUT_FILES),
            started=started,
        )
        (stage / "manifest.json").write_text(manifest_json(manifest), encoding="utf-8")
    return result


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
) -> None:
    """Assess a fleet's logs against site sources and write tables, map and manifest.

    Example: exposure assess --logs logs/ --sites sites.gpkg --sites bundled:japan --out result/
    """
    started = datetime.now(UTC)
    with _errors_as_lines(), _progress() as progress:
        with _stage(progress, "Reading flight logs"):
            samples, flights = flightlogs.read_flight_logs(logs)
            if fleet is not None:
                flights = flightlogs.apply_fleet(flights, flightlogs.read_fleet(fleet))
        with _stage(progress, "Reading sites"):
            site_table, reports = _load_sites(sites)
        result = _run(
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
        )
    _summary(result, out)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Result directory.")] = Path("demo-out"),
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated fleet.")] = 7,
) -> None:
    """Run the bundled Japan scenario end to end, offline.

    A simulated government fleet is written as real log files (AirData CSV, DJI SRT) into
    OUT/logs, read back through the readers, assessed against the bundled Japanese site
    catalogue, and mapped.

    Example: exposure demo --out demo-out
    """
    from exposure.simulate import demo_fleet
    from flightlogs.writers import write_airdata_csv, write_dji_srt

    started = datetime.now(UTC)
    with _errors_as_lines(), _progress() as progress:
        with _stage(progress, "Simulating the demo fleet"):
            tracks, fleet = demo_fleet(seed=seed)
            log_dir = out / "logs"
            for row in fleet.itertuples(index=False):
                if row.log_format == "dji_srt":
                    write_dji_srt(tracks[row.flight_id], log_dir / f"{row.flight_id}.SRT")
                else:
                    write_airdata_csv(tracks[row.flight_id], log_dir / f"{row.flight_id}.csv")
            fleet_path = out / "fleet.csv"
            fleet.drop(columns="log_format").to_csv(fleet_path, index=False)
        with _stage(progress, "Reading flight logs"):
            samples, flights = flightlogs.read_flight_logs([log_dir])
            flights = flightlogs.apply_fleet(flights, flightlogs.read_fleet(fleet_path))
        with _stage(progress, "Reading sites"):
            site_table, reports = _load_sites(["bundled:japan"])
        result = _run(
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
    _summary(result, out)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="exposure")


if __name__ == "__main__":
    sys.exit(main())

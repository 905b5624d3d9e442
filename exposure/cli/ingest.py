"""``exposure ingest``: flight logs → one canonical GeoParquet store, with a report per file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer

import flightlogs
from exposure.cameras import identify_cameras, load_cameras
from exposure.cli.common import app, errors_as_lines, fail, progress_bar, stage

__all__ = ["file_report", "ingest_cmd"]

#: Exit status when some files could not be read but a store was written.
EXIT_PARTIAL = 1
#: Exit status when nothing usable was read (no store written).
EXIT_NOTHING = 2


def file_report(result: flightlogs.LogFile, cameras: pd.DataFrame) -> list[str]:
    """Lines describing one file that was read: format, counts, and each flight's camera.

    Parameters
    ----------
    result : flightlogs.LogFile
        A file that was read (``result.ok``).
    cameras : pandas.DataFrame
        :func:`exposure.cameras.identify_cameras` output for at least this file's flights.

    Returns
    -------
    list of str
        The file's line, then one indented line per flight.
    """
    flights = result.flights
    kept, rejected = int(flights["n_samples"].sum()), int(flights["n_rejected"].sum())
    reasons: dict[str, int] = {}
    for text in flights["rejected_reasons"].dropna():
        for reason, count in json.loads(text).items():
            reasons[reason] = reasons.get(reason, 0) + int(count)
    detail = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
    lines = [
        f"{result.path}: {result.format}, {len(flights)} flight{'s' * (len(flights) != 1)}, "
        f"{kept} samples kept, {rejected} rejected" + (f" ({detail})" if detail else "")
    ]
    match = cameras.set_index("flight_id")
    for fid in flights["flight_id"]:
        row = match.loc[fid]
        lines.append(f"  {fid}: camera {row['camera']} ({row['camera_match']})")
    return lines


@app.command("ingest")
def ingest_cmd(
    paths: Annotated[
        list[Path],
        typer.Argument(metavar="PATH", help="Log files or directories (walked recursively)."),
    ],
    out: Annotated[Path, typer.Option("--out", help="The GeoParquet store to write.")],
    fleet: Annotated[
        Path | None, typer.Option("--fleet", help="Fleet inventory CSV joined onto the flights.")
    ] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="Read every file as this format instead of detecting it."),
    ] = None,
) -> None:
    """Read flight logs once into a GeoParquet store that other commands read with --logs.

    Prints per file its format, flights, samples kept and rejected by reason, and the camera
    found for each flight. Files that cannot be read are listed on stderr and the others are
    still stored. Exit status: 0 when every file was read, 1 when some were not, 2 when none
    was (then no store is written).

    Example: exposure ingest logs/ extra.tlog --out fleet.parquet --fleet fleet.csv
    """
    with errors_as_lines(), progress_bar() as progress:
        if format is not None and format not in flightlogs.FORMATS:
            raise fail(
                f"--format {format!r}: expected one of {', '.join(sorted(flightlogs.FORMATS))}"
            )
        inventory = flightlogs.read_fleet(fleet) if fleet is not None else None
        target = out.resolve()
        # A store left by an earlier run inside a walked directory is not an input.
        files = [f for f in flightlogs.list_log_files(paths) if f.resolve() != target]
        if not files:
            raise fail(f"no flight-log files in {', '.join(map(str, paths))}")
        task = progress.add_task("Reading flight logs", total=len(files))
        read, failed, owner = [], [], {}
        n_samples = 0
        # Each file's samples go into the store as soon as it is read: memory holds one file's
        # samples at a time, whatever the size of the fleet.
        with flightlogs.StoreWriter(out) as store:
            for i, result in enumerate(flightlogs.iter_flight_logs(files, format=format), 1):
                progress.update(
                    task,
                    completed=i,
                    description=f"Reading {result.path.name} ({i}/{len(files)})",
                )
                if result.ok:
                    clash = [fid for fid in result.flights["flight_id"] if fid in owner]
                    if clash:
                        result = flightlogs.LogFile(
                            path=result.path,
                            format=result.format,
                            error=flightlogs.FlightLogError(
                                f"{result.path}: flight id {clash[0]!r} is already used by "
                                f"{owner[clash[0]]}; rename one of the files"
                            ),
                        )
                    else:
                        owner.update(dict.fromkeys(result.flights["flight_id"], result.path))
                        store.add(result.samples, result.flights)
                        n_samples += len(result.samples)
                        result = dataclasses.replace(result, samples=None)
                (read if result.ok else failed).append(result)
            progress.remove_task(task)
            for result in failed:
                for line in str(result.error).splitlines():
                    typer.echo(f"exposure: error: {line}", err=True)
            if not read:
                raise fail(
                    f"nothing usable was read from {len(files)} file(s); no store written",
                    code=EXIT_NOTHING,
                )
            flights = gpd.GeoDataFrame(
                pd.concat([r.flights for r in read], ignore_index=True), crs="EPSG:4326"
            )
            if inventory is not None:
                flights = flightlogs.apply_fleet(flights, inventory)
            cameras = identify_cameras(flights, load_cameras())
            with stage(progress, f"Writing {out}"):
                store.close(flights)
    for result in read:
        typer.echo("\n".join(file_report(result, cameras)))
    typer.echo(
        f"Wrote {len(flights)} flights, {n_samples} samples from {len(read)} of {len(files)} "
        f"files to {out}" + (f"; {len(failed)} file(s) could not be read" if failed else "")
    )
    if failed:
        raise typer.Exit(EXIT_PARTIAL)

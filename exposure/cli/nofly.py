"""``exposure nofly``: observation buffers, zone proposals, what-ifs on history, violations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.table import Table

import flightlogs
import sites as sitelib
from exposure.cameras import load_cameras
from exposure.cli.common import (
    app,
    errors_as_lines,
    load_sites,
    out_console,
    progress_bar,
    stage,
)
from exposure.errors import ExposureError
from exposure.nofly import buffer_table, plan_zones, whatif_zones
from exposure.output import staged_outputs, write_table
from exposure.violations import violations
from exposure.zones_io import to_ed269, to_ed318, to_geojson, to_kml

__all__ = ["load_zones", "nofly_app"]

nofly_app = typer.Typer(no_args_is_help=True, help="No-fly zones sized by what cameras can see.")
app.add_typer(nofly_app, name="nofly")

_WRITERS = {"ed269": to_ed269, "ed318": to_ed318, "kml": to_kml, "geojson": to_geojson}
_BY_SUFFIX = {".json": "ed269", ".geojson": "ed318", ".kml": "kml"}


def _heights(text: str) -> np.ndarray:
    try:
        lo, hi = (float(v) for v in text.split(":"))
    except ValueError:
        raise ExposureError(
            f"--heights {text!r}: expected LOW:HIGH in metres, e.g. 30:150"
        ) from None
    if not 0 < lo <= hi:
        raise ExposureError(f"--heights {text!r}: expected 0 < LOW <= HIGH")
    return np.unique(np.r_[np.arange(lo, hi, 5.0), hi])


def _levels(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ExposureError(f"--levels {text!r}: expected NIIRS levels like 3,5,6,7") from None


def load_zones(spec: str) -> gpd.GeoDataFrame:
    """Read a zone file of any kind the site readers know; plain polygons need no category."""
    kind = sitelib.source_kind(spec)
    zones = sitelib.read_any(spec, category="other") if kind == "vector" else sitelib.read_any(spec)
    if not len(zones):
        raise sitelib.SiteDataError(f"{spec}: no usable zone")
    return zones


def _write_text(path: Path, text: str) -> None:
    with staged_outputs(path.parent) as staging:
        (staging / path.name).write_text(text, encoding="utf-8")


@nofly_app.command("buffers")
def buffers_cmd(
    levels: Annotated[str, typer.Option("--levels", help="NIIRS levels to deny.")] = "3,5,6,7",
    heights: Annotated[str, typer.Option("--heights", help="Height band LOW:HIGH m.")] = "30:150",
    cameras: Annotated[Path | None, typer.Option("--cameras", help="Extra camera CSV.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the table as CSV.")] = None,
) -> None:
    """Print how far each catalogue camera must be kept to deny each NIIRS level.

    Example: exposure nofly buffers --levels 5,6 --heights 30:150 --out buffers.csv
    """
    with errors_as_lines():
        table = buffer_table(
            load_cameras(cameras), levels=_levels(levels), heights_m=_heights(heights)
        )
        if out is not None:
            with staged_outputs(out.parent) as staging:
                write_table(table, staging / out.name)
    view = Table(title=f"Observation buffers (m), heights {heights} m, longest focal length")
    for col in table.columns:
        label = (
            col.replace("buffer_niirs", "NIIRS ").removesuffix("_m").replace("focal_mm", "focal mm")
        )
        view.add_column(label, justify="right")
    for row in table.itertuples(index=False):
        view.add_row(*[f"{v:,.0f}" if isinstance(v, float) else str(v) for v in row])
    out_console.print(view)


@nofly_app.command("plan")
def plan_cmd(
    sites: Annotated[list[str], typer.Option("--sites", help="Site source (repeatable).")],
    out: Annotated[Path, typer.Option("--out", help="zones.json (ED-269), .geojson, .kml")],
    fmt: Annotated[str | None, typer.Option("--format", help="ed269, ed318, kml, geojson.")] = None,
    camera: Annotated[str | None, typer.Option("--camera", help="Camera to deny.")] = None,
    distance_m: Annotated[
        float | None, typer.Option("--distance-m", help="Fixed buffer instead (e.g. 300).")
    ] = None,
    heights: Annotated[str, typer.Option("--heights", help="Height band LOW:HIGH m.")] = "30:150",
) -> None:
    """Propose a zone per site that denies its category's NIIRS level to the worst camera.

    Example: exposure nofly plan --sites bundled:japan --out zones.json
    """
    with errors_as_lines():
        fmt = fmt or _BY_SUFFIX.get(out.suffix.lower())
        if fmt not in _WRITERS:
            raise ExposureError(
                f"{out}: cannot tell the zone format; pass --format ed269, ed318, kml or geojson"
            )
        site_table, _ = load_sites(sites)
        zones = plan_zones(
            site_table,
            load_cameras(),
            camera=camera,
            distance_m=distance_m,
            heights_m=_heights(heights),
        )
        _write_text(out, _WRITERS[fmt](zones))
    by_cat = zones.groupby(site_table["category"].to_numpy())["buffer_m"].agg(["count", "max"])
    for cat, row in by_cat.iterrows():
        out_console.print(
            f"{cat}: {row['count']} zones, buffer up to {row['max']:,.0f} m", highlight=False
        )
    out_console.print(f"Zones ({fmt}): {out}", highlight=False)


def _inputs(result_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame, dict]:
    """Re-read the logs and sites a result directory was made from (its manifest says which)."""
    manifest_path = result_dir / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        logs = [e["path"] for e in manifest["inputs"]["flight_logs"]]
        specs = [str(e["source"]) for e in manifest["inputs"]["sites"] if "source" in e]
    except FileNotFoundError:
        raise ExposureError(
            f"{manifest_path}: no such file (expected a result directory)"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ExposureError(f"{manifest_path}: not a result manifest ({exc})") from None
    samples, _ = flightlogs.read_flight_logs(logs)
    flights = gpd.read_file(result_dir / "flights.gpkg").drop(columns="geometry")
    site_table, _ = load_sites(specs)
    return samples, flights, site_table, manifest.get("parameters") or {}


@nofly_app.command("whatif")
def whatif_cmd(
    result_dir: Annotated[Path, typer.Argument(help="A result directory of assess or demo.")],
    zones: Annotated[list[str], typer.Option("--zones", help="Zone file (repeatable).")],
    legal_m: Annotated[
        float | None, typer.Option("--legal-m", help="Also test a legal buffer, e.g. 300.")
    ] = 300.0,
) -> None:
    """Re-assess history as if no one had flown inside the zones; compare with a legal buffer.

    Zone files may be ED-269/ED-318, KML, GeoJSON (also as drawn on the map) or any site file.
    Writes RESULT_DIR/nofly_whatif.csv.

    Example: exposure nofly whatif demo-out --zones zones.json --legal-m 300
    """
    with errors_as_lines(), progress_bar() as progress:
        with stage(progress, "Re-reading the inputs"):
            samples, flights, site_table, params = _inputs(result_dir)
            sets = {Path(z).stem: load_zones(z) for z in zones}
            if legal_m:
                legal = plan_zones(site_table, load_cameras(), distance_m=legal_m)
                legal = legal.rename(columns={"zone_id": "site_id"}).assign(category="other")
                sets[f"legal_{legal_m:g}m"] = sitelib.make_sites(legal)
        with stage(progress, "Assessing with and without the zones"):
            options = {k: params[k] for k in ("camera", "max_range_m") if params.get(k) is not None}
            table, notes = whatif_zones(samples, flights, site_table, sets, **options)
        with staged_outputs(result_dir) as staging:
            write_table(table, staging / "nofly_whatif.csv")
    seen = table[table["seconds_in_view"] > 0]
    for name in sets:
        share = seen[f"{name}_prevented_share"]
        out_console.print(
            f"{name}: prevents {share.mean():.0%} of exposure on average over {len(seen)} exposed "
            f"sites; {int((share >= 0.99).sum())} fully protected",
            highlight=False,
        )
    for note in notes:
        out_console.print(f"note: {note}", highlight=False)
    out_console.print(f"Table: {result_dir / 'nofly_whatif.csv'}", highlight=False)


@nofly_app.command("check")
def check_cmd(
    logs: Annotated[list[Path], typer.Option("--logs", help="Log file or directory (repeatable).")],
    zones: Annotated[list[str], typer.Option("--zones", help="Zone file (repeatable).")],
    out: Annotated[Path | None, typer.Option("--out", help="Episodes CSV.")] = None,
    gap_s: Annotated[float, typer.Option("--gap-s", help="Gap that ends an episode.")] = 30.0,
) -> None:
    """List entries of flights into zone volumes (floor/ceiling and schedules respected).

    Example: exposure nofly check --logs logs/ --zones SwissGeozones_ED318_Testdaten.zip
    """
    with errors_as_lines(), progress_bar() as progress:
        with stage(progress, "Reading"):
            samples, flights = flightlogs.read_flight_logs(logs)
            table = pd.concat([load_zones(z) for z in zones], ignore_index=True)
            zone_table = gpd.GeoDataFrame(table, geometry="geometry", crs="EPSG:4326")
        with stage(progress, "Checking"):
            episodes, notes = violations(samples, flights, zone_table, gap_s=gap_s)
        if out is not None:
            with staged_outputs(out.parent) as staging:
                write_table(episodes, staging / out.name)
    view = Table(title=f"{len(episodes)} zone entries")
    for col in ("flight", "zone", "entry (UTC)", "duration s", "deepest m", "max height m"):
        view.add_column(col)
    for r in episodes.head(30).itertuples(index=False):
        view.add_row(
            str(r.flight_id),
            str(r.zone_name),
            r.t_entry.strftime("%Y-%m-%d %H:%M:%S"),
            f"{r.duration_s:,.0f}",
            f"{r.max_penetration_m:,.0f}",
            f"{r.max_height_m:,.0f}",
        )
    out_console.print(view)
    for note in notes:
        out_console.print(f"note: {note}", highlight=False)

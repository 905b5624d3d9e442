"""``exposure map``: re-render the risk map from a result directory.

Also home of :func:`load_results`, which reads a result directory for this command and for
``exposure report``: the tables ``exposure assess`` writes, plus those later stages add when
they have run (leak results, zones, violations, receivers, footprints).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import geopandas as gpd
import pandas as pd
import typer

from exposure.cli.common import app, errors_as_lines, out_console, progress_bar, stage
from exposure.errors import ExposureError
from exposure.output import recover_staged

__all__ = ["ResultTables", "default_title", "load_results", "map_cmd", "render_map", "tile_layer"]

_IDS = {"flight_id": "string", "drone_id": "string", "site_id": "string"}
#: Optional layers: table name → file stems tried (first found wins).
_OPTIONAL_LAYERS = ("footprints", "zones", "violations", "receivers")


@dataclass
class ResultTables:
    """The tables of one result directory; None where a file is absent."""

    path: Path
    site_exposure: gpd.GeoDataFrame
    manifest: dict[str, object]
    flights: gpd.GeoDataFrame | None = None
    passes: pd.DataFrame | None = None
    points: pd.DataFrame | None = None
    coverage: gpd.GeoDataFrame | None = None
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    site_leaks: pd.DataFrame | None = None
    flight_leaks: pd.DataFrame | None = None
    replacement_plan: pd.DataFrame | None = None
    site_patterns: pd.DataFrame | None = None
    visits: pd.DataFrame | None = None


def _read_csv(path: Path, times: tuple[str, ...] = ()) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=dict(_IDS), keep_default_na=True)
    for col in times:
        if col in frame:
            frame[col] = pd.to_datetime(frame[col], utc=True, errors="coerce", format="ISO8601")
    return frame


def _vector(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path, engine="pyogrio")
    if frame.crs is None:
        raise ExposureError(f"{path}: no CRS (expected EPSG:4326, as exposure writes it)")
    return frame


def load_results(path: Path) -> ResultTables:
    """Read a result directory, reporting every unreadable or missing file at once.

    Parameters
    ----------
    path : pathlib.Path
        The directory ``exposure assess`` or ``exposure demo`` wrote.

    Returns
    -------
    ResultTables
        The tables found.

    Raises
    ------
    ExposureError
        If the directory is missing, or a required file (``site_exposure.gpkg``,
        ``manifest.json``) or any present file cannot be read; one line per problem.
    """
    if not path.exists():
        raise ExposureError(
            f"{path}: no such result directory (expected the --out directory of "
            "`exposure assess` or `exposure demo`)"
        )
    if not path.is_dir():
        raise ExposureError(f"{path}: not a directory (expected a result directory)")
    # A run killed while moving its outputs into place is finished first, so that the tables
    # read here all come from one run.
    recover_staged(path)
    problems: list[str] = []
    found: dict[str, object] = {}

    def attempt(
        key: str, name: str, reader: Callable[[Path], object], *, required: bool = False
    ) -> None:
        file = path / name
        if not file.is_file():
            if required:
                problems.append(
                    f"{file}: missing (expected in every result directory; re-run "
                    "`exposure assess`)"
                )
            return
        try:
            found[key] = reader(file)
        except ExposureError as exc:
            problems.append(str(exc))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{file}: cannot be read ({type(exc).__name__}: {exc})")

    def manifest(file: Path) -> dict[str, object]:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ExposureError(f"{file}: expected a JSON object, got {type(data).__name__}")
        return data

    attempt("site_exposure", "site_exposure.gpkg", _vector, required=True)
    attempt("manifest", "manifest.json", manifest, required=True)
    attempt("flights", "flights.gpkg", _vector)
    attempt("passes", "passes.csv", lambda f: _read_csv(f, ("t_start", "t_end")))
    attempt("points", "tracks.parquet", pd.read_parquet)
    attempt("coverage", "coverage.gpkg", _vector)
    for name in _OPTIONAL_LAYERS:
        for suffix in (".gpkg", ".geojson"):
            if (path / f"{name}{suffix}").is_file():
                attempt(name, f"{name}{suffix}", _vector)
                break
    attempt("site_leaks", "site_leaks.csv", _read_csv)
    attempt("flight_leaks", "flight_leaks.csv", _read_csv)
    attempt("replacement_plan", "replacement_plan.csv", _read_csv)
    attempt("site_patterns", "site_patterns.csv", _read_csv)
    attempt("visits", "visits.csv", _read_csv)
    if problems:
        raise ExposureError("\n".join(problems))
    layers = {k: found.pop(k) for k in _OPTIONAL_LAYERS if k in found}
    return ResultTables(path=path, layers=layers, **found)  # type: ignore[arg-type]


def tile_layer(tiles: str) -> object:
    """Make a folium tile layer from an xyzservices name or a ``{z}/{x}/{y}`` URL template.

    Raises
    ------
    ExposureError
        If the name is unknown or the URL is not a tile template.
    """
    import folium

    if "://" in tiles:
        if not all(part in tiles for part in ("{z}", "{x}", "{y}")):
            raise ExposureError(
                f"--tiles {tiles!r}: expected a tile URL template with {{z}}, {{x}} and {{y}}"
            )
        host = urlsplit(tiles.replace("{s}", "a")).hostname or "a tile server"
        return folium.TileLayer(tiles, attr=f"Basemap tiles: {host}", name="Basemap")
    try:
        return folium.TileLayer(tiles, name="Basemap")
    except ValueError:
        raise ExposureError(
            f"--tiles {tiles!r}: unknown basemap (expected an xyzservices name such as "
            "OpenStreetMap or Esri.WorldImagery, or a tile URL template)"
        ) from None


def _with_leaks(tables: ResultTables) -> tuple[gpd.GeoDataFrame | None, bool]:
    flights = tables.flights
    leaks = tables.flight_leaks
    if flights is None or leaks is None or "p_any_leaked" not in leaks:
        return flights, False
    extra = leaks[["flight_id", "p_any_leaked"]].drop_duplicates("flight_id")
    merged = flights.drop(columns=["p_any_leaked"], errors="ignore").merge(
        extra, on="flight_id", how="left"
    )
    return gpd.GeoDataFrame(merged, geometry=flights.geometry.name, crs=flights.crs), True


def render_map(
    tables: ResultTables,
    *,
    title: str,
    tiles: str | None = None,
    max_track_vertices: int | None = None,
) -> tuple[object, list[str]]:
    """Build the map of a result directory; also say what was simplified.

    Returns
    -------
    tuple
        The folium map and the simplification notes (one line each).
    """
    import maps

    flights, leak_colours = _with_leaks(tables)
    notes: list[str] = []
    thin = None
    if flights is not None:
        budget = max_track_vertices or maps.tracks.DEFAULT_MAX_VERTICES
        thin, how = maps.simplify_tracks(flights, points=tables.points, max_vertices=budget)
        notes.append(how.describe())
    shapes = None
    if tables.coverage is not None:
        shapes, words = maps.aggregate_coverage(tables.coverage)
        notes.append(words)
    manifest = tables.manifest
    versions = manifest.get("versions") if isinstance(manifest.get("versions"), dict) else {}
    provenance = {
        "result directory": tables.path.name,
        "run": f"{manifest.get('command', '?')} started {manifest.get('started_utc', '?')}",
        "inputs": _inputs_line(manifest),
        "parameters": manifest.get("parameters") or {},
        "version": f"exposure {versions.get('exposure', '?')}",
        "simplified for the page": notes,
    }
    m = maps.risk_map(
        tables.site_exposure,
        flights=thin,
        passes=tables.passes,
        coverage=shapes,
        footprints=tables.layers.get("footprints"),
        zones=tables.layers.get("zones"),
        violations=tables.layers.get("violations"),
        receivers=tables.layers.get("receivers"),
        site_leaks=tables.site_leaks,
        site_patterns=tables.site_patterns,
        color_tracks_by="leak" if leak_colours else "vendor",
        title=title,
        provenance=provenance,
        tiles=None if tiles is None else tile_layer(tiles),
    )
    return m, notes


def _inputs_line(manifest: dict[str, object]) -> str:
    inputs = manifest.get("inputs") if isinstance(manifest.get("inputs"), dict) else {}
    logs = inputs.get("flight_logs") or []
    site_sources = inputs.get("sites") or []
    names = ", ".join(str(s.get("source", "?")) for s in site_sources if isinstance(s, dict))
    return f"{len(logs)} flight logs; sites from {names or '?'}"


def default_title(tables: ResultTables) -> str:
    """Banner of a re-rendered map: says when the data is the simulated demo."""
    base = "Drone exposure of sensitive sites (estimate: see caveats)"
    if tables.manifest.get("command") == "demo":
        return "DEMO (simulated flights, real sites) - " + base
    return base


@app.command("map")
def map_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Result directory of assess or demo.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Map file (default RESULT_DIR/map.html).")
    ] = None,
    tiles: Annotated[
        str | None,
        typer.Option(
            "--tiles",
            help="Basemap: an xyzservices name (OpenStreetMap, Esri.WorldImagery), which makes "
            "the page load tiles from the internet, or a tile URL template on your own network.",
        ),
    ] = None,
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--online",
            help="Offline (default): every asset inlined, no request. --online alone adds the "
            "OpenStreetMap basemap.",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Banner text.")] = None,
    max_track_vertices: Annotated[
        int | None,
        typer.Option("--max-track-vertices", min=2, help="Vertex budget of the track layer."),
    ] = None,
) -> None:
    """Re-render the interactive risk map from a result directory.

    Example: exposure map demo-out --out demo-out/map.html
    """
    import maps

    target = out if out is not None else result_dir / "map.html"
    with errors_as_lines(), progress_bar() as progress:
        tiles = _resolve_tiles(tiles, offline)
        if tiles is not None:
            tile_layer(tiles)  # a bad name fails before the result directory is read
        with stage(progress, "Reading results"):
            tables = load_results(result_dir)
        with stage(progress, "Drawing the map"):
            try:
                m, notes = render_map(
                    tables, title=title or default_title(tables), tiles=tiles,
                    max_track_vertices=max_track_vertices,
                )  # fmt: skip
                target.parent.mkdir(parents=True, exist_ok=True)
                maps.save_html(m, target, offline=tiles is None)
            except maps.MapError as exc:
                raise ExposureError(f"{result_dir}: {exc}") from None
    for note in notes:
        out_console.print(f"Simplified {note}", highlight=False)
    if tiles is not None:
        out_console.print(
            f"Note: the page loads basemap tiles ({tiles}); it is not offline-safe.",
            highlight=False,
        )
    size = target.stat().st_size / 1e6
    out_console.print(f"Map: {target} ({size:.1f} MB)", highlight=False)


def _resolve_tiles(tiles: str | None, offline: bool | None) -> str | None:
    if tiles is None:
        return "OpenStreetMap" if offline is False else None
    if offline is True and "://" not in tiles:
        raise ExposureError(
            f"--offline with --tiles {tiles!r}: a public basemap needs the internet; drop "
            "--offline, or name a tile URL template on your own network"
        )
    return tiles

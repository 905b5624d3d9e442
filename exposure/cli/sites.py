"""``exposure sites``: site sources of every kind → one merged, canonical site catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import typer

import sites as sitelib
from exposure.cli.common import app, errors_as_lines, fail, progress_bar, stage
from exposure.output import fix_gpkg_time, staged_outputs

__all__ = ["CATALOGUE_FORMATS", "sites_cmd", "summary_lines", "write_catalogue"]

#: Output formats by extension, with the pyogrio driver (None: GeoParquet).
CATALOGUE_FORMATS: Mapping[str, str | None] = {
    ".gpkg": "GPKG",
    ".geojson": "GeoJSON",
    ".fgb": "FlatGeobuf",
    ".parquet": None,
}


def write_catalogue(catalogue: gpd.GeoDataFrame, out: Path) -> None:
    """Write the catalogue in the format its extension names, replacing ``out`` atomically.

    The file is written in full next to ``out`` and moved into place only when complete, so a
    failed run leaves an earlier catalogue as it was.
    """
    suffix = out.suffix.lower()
    if suffix not in CATALOGUE_FORMATS:
        raise fail(
            f"--out {out}: unknown catalogue format {suffix or '(none)'} "
            f"(expected {', '.join(CATALOGUE_FORMATS)})"
        )
    with staged_outputs(out.parent) as staging:
        target = staging / out.name
        driver = CATALOGUE_FORMATS[suffix]
        if driver is None:
            catalogue.to_parquet(target)
        else:
            layer = {"layer": "sites"} if driver == "GPKG" else {}
            catalogue.to_file(target, driver=driver, engine="pyogrio", **layer)
            if driver == "GPKG":
                fix_gpkg_time(target)


def _counts(counts: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def summary_lines(catalogue: gpd.GeoDataFrame, sources: list[str]) -> list[str]:
    """Describe what was read, repaired, merged and rejected per source, and the result.

    Parameters
    ----------
    catalogue : geopandas.GeoDataFrame
        The output of :func:`sites.merge_sites` (and :func:`sites.apply_overrides`).
    sources : list of str
        The sources as given on the command line.

    Returns
    -------
    list of str
        Lines to print.
    """
    report = catalogue.attrs["read_report"]
    lines = []
    for name, part in zip(sources, report["parts"], strict=True):
        merged, rejected = part.get("merged") or {}, part.get("rejected") or {}
        line = (
            f"{name}: {part.get('kind', '?')}, {part['n_read']} read, {part['n_kept']} kept, "
            f"{part['repaired']} repaired, {sum(merged.values())} merged, "
            f"{sum(rejected.values())} rejected"
        )
        details = [f"merged: {_counts(merged)}"] if merged else []
        details += [f"rejected: {_counts(rejected)}"] if rejected else []
        lines.append(line + (f" ({'; '.join(details)})" if details else ""))
    across = {
        k: v for k, v in report["merged"].items() if k.endswith("from another source")
    }
    lines.append(
        f"Merged across sources: {sum(across.values())}"
        + (f" ({_counts(across)})" if across else "")
    )
    overrides = catalogue.attrs.get("overrides")
    if overrides:
        by_cat = _counts(overrides["by_category"]) or "none"
        lines.append(
            f"Overrides from {overrides['source']}: {overrides['sites_changed']} sites changed, "
            f"by category: {by_cat}"
        )
        if overrides["unmatched"]:
            lines.append(
                f"  {len(overrides['unmatched'])} override(s) name sites not in the catalogue: "
                + ", ".join(overrides["unmatched"][:10])
            )
    per_category = catalogue["category"].value_counts()
    ordered = {c: int(per_category[c]) for c in sitelib.CATEGORIES if c in per_category}
    lines.append(f"Catalogue: {len(catalogue)} sites; by category: {_counts(ordered)}")
    first = catalogue["source"].astype(str).str.split(";").str[0].str.rsplit(":", n=1).str[0]
    lines.append(f"  by source of the kept geometry: {_counts(first.value_counts().to_dict())}")
    return lines


@app.command("sites")
def sites_cmd(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Site sources: vector files (GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, "
            "FlatGeobuf, GeoParquet), OSM XML or Overpass JSON, ED-269/ED-318 geozone files, "
            "point-catalogue CSVs, OurAirports runways.csv, or bundled:NAME. Reader options "
            "follow the source after '::', e.g. plants.geojson::category=power_plant.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Catalogue to write (.gpkg, .geojson, .fgb, .parquet).")
    ],
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Sensitivity/category overrides (.toml or .csv)."),
    ] = None,
) -> None:
    """Build one site catalogue from many sources, merging the same site found in several.

    Prints, per source, the sites read, kept, repaired, merged and rejected (with reasons), the
    merges across sources, and the catalogue's counts per category. Bad input gives one line
    per problem on stderr and exit status 2, and leaves any earlier catalogue untouched.

    Example: exposure sites bundled:japan airports.csv runways.csv zones.zip --out sites.gpkg

    Reader options go after the source: plants.geojson::category=power_plant::name_field=NAME
    (see ``sites.read_spec``; a wrong or misspelt option is an error).
    """
    with errors_as_lines(), progress_bar() as progress:
        if out.suffix.lower() not in CATALOGUE_FORMATS:
            raise fail(
                f"--out {out}: unknown catalogue format {out.suffix or '(none)'} "
                f"(expected {', '.join(CATALOGUE_FORMATS)})"
            )
        frames, problems = [], []
        for source in sources:
            with stage(progress, f"Reading {source}"):
                try:
                    frame = sitelib.read_spec(source)
                except sitelib.SiteDataError as exc:
                    problems.append(str(exc))
                    continue
            if not len(frame):
                rejected = _counts(frame.attrs["read_report"].get("rejected") or {})
                problems.append(f"{source}: no usable site ({rejected or 'the source is empty'})")
                continue
            frames.append(frame)
        table = None
        if overrides is not None:
            try:
                table = sitelib.read_overrides(overrides)
            except sitelib.SiteDataError as exc:
                problems.append(str(exc))
        if problems:
            raise fail("\n".join(problems))
        with stage(progress, "Merging duplicates"):
            catalogue = sitelib.merge_sites(frames, names=sources)
        if table is not None:
            catalogue = sitelib.apply_overrides(catalogue, table)
        with stage(progress, f"Writing {out}"):
            write_catalogue(catalogue, out)
    for line in summary_lines(catalogue, sources):
        typer.echo(line)
    typer.echo(f"Wrote {len(catalogue)} sites to {out}")

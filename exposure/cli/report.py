"""``exposure report``: the briefing of a result directory, one self-contained HTML file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from exposure.cli.common import app, errors_as_lines, out_console, progress_bar, stage
from exposure.cli.map import default_title, load_results, render_map
from exposure.errors import ExposureError

__all__ = ["report_cmd"]


@app.command("report")
def report_cmd(
    result_dir: Annotated[Path, typer.Argument(help="Result directory of assess or demo.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Briefing file (default RESULT_DIR/briefing.html)."),
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write a static map image (PNG) for slides.")
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="Banner text.")] = None,
) -> None:
    """Write the briefing: map, most exposed sites, charts, assumptions and caveats.

    The file opens offline on any machine: the map, its scripts and the charts are inside it.

    Example: exposure report demo-out --out briefing.html --png map.png
    """
    import maps

    target = out if out is not None else result_dir / "briefing.html"
    with errors_as_lines(), progress_bar() as progress:
        with stage(progress, "Reading results"):
            tables = load_results(result_dir)
        banner = title or default_title(tables)
        with stage(progress, "Writing the briefing"):
            try:
                m, notes = render_map(tables, title=banner)
                page = maps.briefing_html(
                    tables.site_exposure,
                    map_page=maps.render_html(m),
                    manifest=tables.manifest,
                    passes=tables.passes,
                    flights=tables.flights,
                    site_leaks=tables.site_leaks,
                    replacement_plan=tables.replacement_plan,
                    site_patterns=tables.site_patterns,
                    visits=tables.visits,
                    banner=banner,
                    generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                )
                image = None
                if png is not None:
                    image = maps.static.png_bytes(
                        tables.site_exposure, flights=tables.flights, title=banner
                    )
                # Everything is rendered before anything is written: a failure leaves no file.
                for path in (target, png):
                    if path is not None:
                        path.parent.mkdir(parents=True, exist_ok=True)
                maps.save_briefing(page, target)
                if png is not None and image is not None:
                    maps.write_atomic(image, png)
            except maps.MapError as exc:
                raise ExposureError(f"{result_dir}: {exc}") from None
    for note in notes:
        out_console.print(f"Simplified {note}", highlight=False)
    out_console.print(
        f"Briefing: {target} ({target.stat().st_size / 1e6:.1f} MB)", highlight=False
    )
    if png is not None:
        out_console.print(f"Static map: {png}", highlight=False)

"""Plumbing shared by every ``exposure`` command: errors as lines, progress, site loading."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import geopandas as gpd
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

import flightlogs
import sites as sitelib
from exposure.errors import ExposureError

__all__ = [
    "USER_ERRORS",
    "app",
    "err_console",
    "errors_as_lines",
    "fail",
    "load_sites",
    "out_console",
    "progress_bar",
    "stage",
]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Estimate what a drone fleet saw of sensitive sites, how well, and what could leak.",
)
err_console = Console(stderr=True)
out_console = Console()

#: Errors that are the user's input, reported as one line and exit status 2.
USER_ERRORS = (flightlogs.FlightLogError, sitelib.SiteDataError, ExposureError, OSError)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print each line of ``message`` as an error line and return the exit to raise."""
    for line in str(message).splitlines() or [""]:
        typer.echo(f"exposure: error: {line}", err=True)
    return typer.Exit(code)


@contextmanager
def errors_as_lines() -> Iterator[None]:
    """Turn every failure into one line per problem on stderr and a non-zero exit, no traceback."""
    try:
        yield
    except typer.Exit:
        raise
    except USER_ERRORS as exc:
        if isinstance(exc, OSError) and exc.filename:
            raise fail(f"{exc.filename}: {exc.strerror}") from None
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no output was changed", code=130) from None
    except Exception as exc:  # the command line never shows a traceback
        if os.environ.get("EXPOSURE_DEBUG"):
            raise
        raise fail(
            f"internal error: {type(exc).__name__}: {exc} (set EXPOSURE_DEBUG=1 for details)",
            code=3,
        ) from None


@contextmanager
def progress_bar() -> Iterator[Progress]:
    """Spinners with elapsed time on stderr, shown only on a terminal."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        yield progress


@contextmanager
def stage(progress: Progress, text: str) -> Iterator[None]:
    """Show ``text`` with a spinner while the block runs."""
    task = progress.add_task(text, total=None)
    yield
    progress.remove_task(task)


def load_sites(specs: list[str]) -> tuple[gpd.GeoDataFrame, list[dict[str, object]]]:
    """Read each site source (any kind :func:`sites.read_any` knows, or ``bundled:NAME``)."""
    frames, reports = [], []
    for spec in specs:
        frame = sitelib.read_any(spec)
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
    if len(frames) == 1:
        return frames[0], reports
    # The same site from two sources (an airport as a point and as a polygon) is one site.
    merged = sitelib.merge_sites(frames, names=specs)
    reports.append({"kind": "merge", "merges": merged.attrs.get("merges", [])})
    return merged, reports

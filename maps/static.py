"""A static map image for slides: sites by risk class and tracks by vendor, as a PNG.

Drawn with matplotlib's Agg canvas on a figure of its own (no pyplot, so no global state and no
display needed), framed like the interactive map on what was exposed and flown.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from maps.save import write_atomic
from maps.style import (
    NO_SCORE_COLOUR,
    RISK_BINS,
    RISK_COLOURS,
    risk_classes,
    risk_labels,
    vendor_colours,
    vendor_name,
)
from maps.tables import SITE_COLUMNS, bounds, checked

__all__ = ["png_bytes", "save_png"]


def png_bytes(
    site_exposure: gpd.GeoDataFrame,
    *,
    flights: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    width_px: int = 1600,
    height_px: int = 1000,
) -> bytes:
    r"""Render the static map to PNG bytes.

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table. Not modified.
    flights : geopandas.GeoDataFrame, optional
        Flights with tracks and ``vendor``. Not modified.
    title : str, optional
        Title above the map (drawn as plain text, never interpreted).
    width_px, height_px : int
        Image size in pixels.

    Returns
    -------
    bytes
        The PNG file.

    Raises
    ------
    MapError
        If a table lacks a CRS or a column.

    Examples
    --------
    >>> from shapely import box
    >>> row = dict.fromkeys(SITE_COLUMNS, float("nan")) | {"flights": 1, "risk_score": 90.0}
    >>> sites = gpd.GeoDataFrame([row], geometry=[box(139, 35, 139.01, 35.01)], crs=4326)
    >>> png_bytes(sites, width_px=320, height_px=200)[:8]
    b'\x89PNG\r\n\x1a\n'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sites = checked(site_exposure, SITE_COLUMNS, what="site_exposure")
    tracks = None if flights is None else checked(flights, ["flight_id", "vendor"], what="flights")
    dpi = 100
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.04, 0.03, 0.94, 0.9 if title else 0.94))
    ax.set_facecolor("#e8edf1")
    seen = pd.to_numeric(sites["flights"], errors="coerce").fillna(0).to_numpy() > 0
    scores = pd.to_numeric(sites["risk_score"], errors="coerce").to_numpy(
        "float64", na_value=np.nan
    )
    classes = risk_classes(np.where(seen, scores, np.nan), bins=RISK_BINS)
    colours = [RISK_COLOURS[k] if k >= 0 else NO_SCORE_COLOUR for k in classes]
    order = np.argsort(np.where(classes < 0, -1, classes), kind="stable")
    sites.iloc[order].plot(
        ax=ax, color=[colours[i] for i in order], edgecolor="#3d3d3d", linewidth=0.6, alpha=0.85
    )
    handles = [
        Patch(facecolor=c, edgecolor="#3d3d3d", label=f"risk {label}")
        for c, label in reversed(list(zip(RISK_COLOURS, risk_labels(bins=RISK_BINS), strict=True)))
    ]
    handles.append(Patch(facecolor=NO_SCORE_COLOUR, edgecolor="#6b6b6b", label="not in view"))
    if tracks is not None and len(tracks):
        names = [vendor_name(v) for v in tracks["vendor"]]
        palette = vendor_colours(names)
        tracks.plot(ax=ax, color=[palette[n] for n in names], linewidth=1.6)
        handles.extend(Line2D([], [], color=c, lw=2, label=f"{v} flights")
                       for v, c in palette.items())  # fmt: skip
    box = bounds(*[f for f in (sites[seen], tracks) if f is not None and len(f)] or [sites])
    if box is not None:
        minx, miny, maxx, maxy = box
        k = 1.0 / max(np.cos(np.radians((miny + maxy) / 2)), 0.05)
        pad = max(maxx - minx, maxy - miny, 0.01) * 0.05
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        dx, dy = (maxx - minx) / 2 + pad, (maxy - miny) / 2 + pad
        # Widen the frame to the image's shape so that, with equal ground distances along both
        # axes (aspect k), the map fills the axes.
        ratio = (height_px * (0.9 if title else 0.94)) / (width_px * 0.94)
        if dy * k / dx < ratio:
            dy = dx * ratio / k
        else:
            dx = dy * k / ratio
        ax.set_xlim(cx - dx, cx + dx)
        ax.set_ylim(cy - dy, cy + dy)
        ax.set_aspect(k)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(labelsize=8, colors="#52606d")
    ax.legend(handles=handles, loc="lower left", fontsize=9, framealpha=0.92)
    if title:
        # Plain text: mathtext and usetex off, so a title cannot be read as markup.
        fig.suptitle(title, fontsize=15, fontweight="bold", usetex=False, parse_math=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def save_png(
    site_exposure: gpd.GeoDataFrame,
    path: str | os.PathLike[str],
    *,
    flights: gpd.GeoDataFrame | None = None,
    title: str | None = None,
) -> Path:
    """Write the static map as a PNG file, atomically (see :func:`png_bytes`).

    Parameters
    ----------
    site_exposure : geopandas.GeoDataFrame
        The per-site table.
    path : str or os.PathLike
        Target file; its directory must exist.
    flights : geopandas.GeoDataFrame, optional
        Flights with tracks.
    title : str, optional
        Title above the map.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    return write_atomic(png_bytes(site_exposure, flights=flights, title=title), path)

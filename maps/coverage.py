"""The coverage grid, aggregated for the map, and the NIIRS colour scale it shares with passes.

NIIRS classes
    Breaks at 3, 5, 6, 7 and 8 split the civil NIIRS scale where an image interpreter's
    possibilities change (site layout; equipment types; car types; equipment details;
    readable markings). Colours are ColorBrewer's 6-class YlGnBu, light for poor imagery and
    dark for fine imagery: a heat scale that stays apart from the sites' yellow-to-red fills.

Aggregation
    The engine's grid has one square per cell, thousands per site. The map merges the cells of
    one site that fall in one NIIRS class into a single shape (a plain union: cells projected
    back from a metric grid do not share vertices exactly, which a coverage union requires),
    then simplifies its staircase outline by half a cell. When the shapes still
    exceed the vertex budget the simplification tolerance doubles until they fit.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from maps.tables import checked
from maps.text import text

__all__ = [
    "NIIRS_BREAKS",
    "NIIRS_COLOURS",
    "NIIRS_LABELS",
    "aggregate_coverage",
    "niirs_classes",
    "niirs_legend_html",
]

#: Lower NIIRS of classes 1–5 (class 0 is everything below 3).
NIIRS_BREAKS: tuple[float, ...] = (3.0, 5.0, 6.0, 7.0, 8.0)

#: ColorBrewer YlGnBu, 6 classes, poorest imagery first.
NIIRS_COLOURS: tuple[str, ...] = ("#ffffcc", "#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")

#: What an interpreter can make out in each class.
NIIRS_LABELS: tuple[str, ...] = (
    "below 3: little more than large facilities",
    "3 – 5: site layout, large buildings",
    "5 – 6: equipment types, rail cars by type",
    "6 – 7: car types",
    "7 – 8: equipment details",
    "8 or more: readable markings",
)

# Cells are degrees on a side at most this small before their outline is worth simplifying.
_MAX_TOLERANCE_DEG = 0.05


def niirs_classes(values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """NIIRS class (0–5) of each level, -1 where it is missing.

    Parameters
    ----------
    values : sequence of float
        NIIRS levels.

    Returns
    -------
    numpy.ndarray
        Integer class per level.

    Examples
    --------
    >>> niirs_classes([2.9, 3.0, 5.5, 9.0, float("nan")]).tolist()
    [0, 1, 2, 5, -1]
    """
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy("float64", na_value=np.nan)
    return np.where(np.isnan(arr), -1, np.digitize(arr, NIIRS_BREAKS))


def _cell_size(cells: gpd.GeoSeries) -> float:
    # Cells adapt to their site; half the median side is a tolerance no cell shape survives
    # in a way that matters at map scale.
    b = cells.bounds
    sides = np.minimum(b["maxx"] - b["minx"], b["maxy"] - b["miny"]).to_numpy()
    sides = sides[np.isfinite(sides) & (sides > 0)]
    return float(np.median(sides)) if len(sides) else 0.0


def aggregate_coverage(
    coverage: gpd.GeoDataFrame, *, max_vertices: int | None = 200_000
) -> tuple[gpd.GeoDataFrame, str]:
    """Merge coverage cells into one shape per site and NIIRS class, within a vertex budget.

    Parameters
    ----------
    coverage : geopandas.GeoDataFrame
        Cells with ``site_id`` and ``best_niirs``; cells without a level are left out. Not
        modified.
    max_vertices : int, optional
        Vertex budget of the merged shapes.

    Returns
    -------
    geopandas.GeoDataFrame
        ``site``, ``niirs``, ``cells`` (display text), ``niirs_class`` and the shape, EPSG:4326.
    str
        What was done, in words.

    Raises
    ------
    MapError
        If the table lacks a CRS or a column.

    Examples
    --------
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"site_id": ["s"] * 3, "best_niirs": [6.1, 6.9, 8.2]},
    ...                          geometry=[box(i, 0, i + 1, 1) for i in range(3)], crs=4326)
    >>> shapes, how = aggregate_coverage(cells)
    >>> shapes["niirs_class"].tolist(), shapes["cells"].tolist()
    ([3, 5], ['2', '1'])
    >>> how
    'coverage: 3 cells of 1 site merged into 2 shapes by NIIRS class (10 vertices)'
    """
    frame = checked(coverage, ["site_id", "best_niirs"], what="coverage")
    classes = niirs_classes(frame["best_niirs"])
    frame = frame.assign(niirs_class=classes, _site=frame["site_id"].astype("string"))
    frame = frame[classes >= 0]
    n_cells = int(frame["cells"].sum()) if "cells" in frame else len(frame)
    n_sites = int(frame["_site"].nunique())
    if n_cells == 0:
        empty = gpd.GeoDataFrame(
            {"site": [], "niirs": [], "cells": [], "niirs_class": pd.Series([], dtype="int64")},
            geometry=[], crs="EPSG:4326",
        )  # fmt: skip
        return empty, "coverage: no cell was imaged"
    tolerance = _cell_size(frame.geometry) / 2.0
    merged = frame[["_site", "niirs_class", "geometry"]].dissolve(
        by=["_site", "niirs_class"], as_index=False
    )
    grouped = frame.groupby(["_site", "niirs_class"], sort=True)
    # The engine's layer may already merge cells into shapes; it then says how many each holds.
    counts = (grouped["cells"].sum() if "cells" in frame else grouped.size()).to_numpy()
    shapes = np.asarray(merged.geometry.array, dtype=object)
    simple = shapely.simplify(shapes, tolerance) if tolerance else shapes
    while (
        max_vertices is not None
        and int(shapely.get_num_coordinates(simple).sum()) > max_vertices
        and 0 < tolerance < _MAX_TOLERANCE_DEG
    ):
        tolerance *= 2.0
        simple = shapely.simplify(shapes, tolerance)
    # Simplifying a thin strip can empty it; the unsimplified shape is the honest fallback.
    simple = np.where(shapely.is_empty(simple), shapes, simple)
    simple = shapely.set_precision(simple, 1e-6)
    vertices = int(shapely.get_num_coordinates(simple).sum())
    k = merged["niirs_class"].to_numpy("int64")
    out = gpd.GeoDataFrame(
        {
            "site": [text(s) for s in merged["_site"]],
            "niirs": [text(NIIRS_LABELS[c]) for c in k],
            "cells": [f"{c:,}" for c in counts],
            "niirs_class": k,
        },
        geometry=simple,
        crs="EPSG:4326",
    )
    out = out[~out.geometry.is_empty].reset_index(drop=True)
    how = (
        f"coverage: {n_cells:,} cells of {n_sites:,} site{'s' * (n_sites != 1)} merged into "
        f"{len(out):,} shapes by NIIRS class ({vertices:,} vertices)"
    )
    return out, how


def niirs_legend_html(*, title: str) -> str:
    """Legend of the NIIRS classes, finest first.

    Parameters
    ----------
    title : str
        Heading; escaped here.

    Returns
    -------
    str
        HTML.

    Examples
    --------
    >>> "readable markings" in niirs_legend_html(title="Coverage")
    True
    """
    rows = "".join(
        f'<div class="exposure-row"><span class="exposure-swatch" style="background:{colour}">'
        f"</span>{text(label)}</div>"
        for colour, label in reversed(list(zip(NIIRS_COLOURS, NIIRS_LABELS, strict=True)))
    )
    return (
        f'<div class="exposure-legend"><div class="exposure-panel-title">{text(title)}</div>'
        f'{rows}<div class="exposure-note">Best image quality reached in each grid cell '
        "(NIIRS: what an image interpreter can make out).</div></div>"
    )

"""Per-site coverage grids: which part of a site fell inside a footprint, and how sharply.

Each site gets a grid of cell centres in its local metric CRS. The cell size adapts to the site
(``max(min_cell_m, sqrt(bbox_area / max_cells))``) so that the cell count stays bounded; a 10 m
grid reproduces exact vector-union fractions to within about 0.006 (measured on real sites), at a
fraction of the cost. Each cell keeps the best weighted GSD of any footprint that covered it, so
coverage at a NIIRS threshold is a filter on the grid rather than a recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from exposure.quality import niirs, weighted_gsd_m

__all__ = ["SiteGrid", "cell_size_m", "coverage_fractions", "nadir_best_gsd", "site_grid"]

# Upper bound on cells × samples handled in one numpy step (about 100 MB of float64 temporaries).
_CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class SiteGrid:
    """Cell centres of one site in its local metric CRS.

    Attributes
    ----------
    x, y : numpy.ndarray
        Cell centres inside the site polygon.
    cell_m : float
        Cell edge length in metres.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    cell_m: float

    @property
    def n_cells(self) -> int:
        """Number of cells inside the site."""
        return len(self.x)


def site_grid(
    polygon: shapely.Geometry, *, max_cells: int = 10_000, min_cell_m: float = 2.0
) -> SiteGrid:
    """Build the coverage grid of one site polygon given in a metric CRS.

    Parameters
    ----------
    polygon : shapely.Geometry
        The site, in metres.
    max_cells : int
        Bound on the number of cells over the polygon's bounding box.
    min_cell_m : float
        Smallest cell edge; finer is meaningless for drone imagery of a site.

    Returns
    -------
    SiteGrid
        A site smaller than one cell gets one cell at its representative point.

    Examples
    --------
    >>> g = site_grid(shapely.box(0, 0, 200, 200), max_cells=400)
    >>> g.cell_m, g.n_cells
    (10.0, 400)
    """
    xmin, ymin, xmax, ymax = polygon.bounds
    bounds = np.array([polygon.bounds])
    cell = float(cell_size_m(bounds, max_cells=max_cells, min_cell_m=min_cell_m)[0])
    xs = np.arange(xmin + cell / 2, xmax, cell)
    ys = np.arange(ymin + cell / 2, ymax, cell)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(polygon, gx, gy)
    if not inside.any():
        p = polygon.representative_point()
        return SiteGrid(np.array([p.x]), np.array([p.y]), cell)
    return SiteGrid(gx[inside], gy[inside], cell)


def cell_size_m(
    bounds: NDArray[np.float64], *, max_cells: int = 10_000, min_cell_m: float = 2.0
) -> NDArray[np.float64]:
    """Grid cell edge per site: ``max(min_cell_m, sqrt(bbox_area / max_cells))``.

    Parameters
    ----------
    bounds : numpy.ndarray
        (n, 4) site bounding boxes in metres.

    Examples
    --------
    >>> cell_size_m(np.array([[0, 0, 200, 200], [0, 0, 10, 10]]), max_cells=400).tolist()
    [10.0, 2.0]
    """
    b = np.asarray(bounds, dtype=float)
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 0.0)
    return np.maximum(min_cell_m, np.sqrt(area / max_cells))


def nadir_best_gsd(
    grid: SiteGrid,
    *,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    height_m: NDArray[np.float64],
    yaw_deg: NDArray[np.float64],
    half_across: NDArray[np.float64],
    half_along: NDArray[np.float64],
    pixel_pitch_mm: NDArray[np.float64],
    focal_mm: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Best weighted GSD per grid cell over a set of nadir footprints (inf where never covered).

    A cell is covered by a sample when its centre lies in that sample's footprint rectangle; its
    GSD is the slant-range GSD from the drone to the cell, weighted for the viewing angle
    (GIQE 5), so cells at the footprint's edge are rated worse than the one under the drone.

    Examples
    --------
    One drone 100 m over the centre of a 20 m square, with a footprint wider than the square:

    >>> g = site_grid(shapely.box(-10, -10, 10, 10), max_cells=4)
    >>> best = nadir_best_gsd(g, x=np.array([0.0]), y=np.array([0.0]), height_m=np.array([100.0]),
    ...     yaw_deg=np.array([0.0]), half_across=np.array([50.0]), half_along=np.array([40.0]),
    ...     pixel_pitch_mm=np.array([0.004]), focal_mm=np.array([10.0]))
    >>> best.round(4).tolist()
    [0.0401, 0.0401, 0.0401, 0.0401]
    """
    best = np.full(grid.n_cells, np.inf)
    yaw = np.radians(np.nan_to_num(yaw_deg, nan=0.0))
    step = max(1, _CHUNK_ELEMENTS // max(grid.n_cells, 1))
    for start in range(0, len(x), step):
        s = slice(start, start + step)
        dx = grid.x[None, :] - x[s, None]
        dy = grid.y[None, :] - y[s, None]
        sin, cos = np.sin(yaw[s])[:, None], np.cos(yaw[s])[:, None]
        along = dx * sin + dy * cos
        across = dx * cos - dy * sin
        inside = (np.abs(across) <= half_across[s, None]) & (np.abs(along) <= half_along[s, None])
        # Resolution only where a footprint covers a cell: usually a small share of the pairs.
        row, cell = np.nonzero(inside)
        if not len(row):
            continue
        horiz = np.hypot(dx[row, cell], dy[row, cell])
        h = height_m[s][row]
        slant = np.hypot(horiz, h)
        gsd = pixel_pitch_mm[s][row] * slant / focal_mm[s][row]
        np.minimum.at(best, cell, weighted_gsd_m(gsd, np.arctan2(h, horiz)))
    return best


def coverage_fractions(
    best_gsd: NDArray[np.float64], *, niirs_threshold: float = 5.0
) -> tuple[float, float]:
    """Share of cells covered at all, and share covered at NIIRS ≥ ``niirs_threshold``.

    Examples
    --------
    >>> coverage_fractions(np.array([0.05, 1.0, np.inf, np.inf]))
    (0.5, 0.25)
    """
    if not len(best_gsd):
        return 0.0, 0.0
    covered = np.isfinite(best_gsd)
    sharp = covered & (niirs(best_gsd) >= niirs_threshold)
    return float(covered.mean()), float(sharp.mean())

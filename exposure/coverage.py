"""Per-site coverage grids: which part of a site fell inside a footprint, and how sharply.

Each site gets a grid of cell centres in its local metric CRS. The cell size adapts to the site
(``max(min_cell_m, sqrt(bbox_area / max_cells))``) so that the cell count stays bounded; a 10 m
grid reproduces exact vector-union fractions to within about 0.006 (measured on real sites), at a
fraction of the cost. Each cell keeps the best weighted GSD of any footprint that covered it, so
coverage at a NIIRS threshold is a filter on the grid rather than a recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from exposure.quality import niirs, weighted_gsd_m

__all__ = [
    "SiteGrid",
    "cell_size_m",
    "coverage_fractions",
    "footprint_best_gsd",
    "nadir_best_gsd",
    "points_in_footprints",
    "site_grid",
]

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
    reach = np.hypot(half_across, half_along)
    for start in range(0, len(x), step):
        s = slice(start, start + step)
        # Consecutive samples of a flight lie close together: only cells inside the bounding
        # box of this step's footprints can be covered.
        near = np.flatnonzero(
            (grid.x >= (x[s] - reach[s]).min())
            & (grid.x <= (x[s] + reach[s]).max())
            & (grid.y >= (y[s] - reach[s]).min())
            & (grid.y <= (y[s] + reach[s]).max())
        )
        if not len(near):
            continue
        dx = grid.x[near][None, :] - x[s, None]
        dy = grid.y[near][None, :] - y[s, None]
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
        np.minimum.at(best, near[cell], weighted_gsd_m(gsd, np.arctan2(h, horiz)))
    return best


def points_in_footprints(rings: ArrayLike, px: ArrayLike, py: ArrayLike) -> NDArray[np.bool_]:
    """Which points fall inside which convex footprint, shape (N rings, P points).

    A point on the boundary is inside; a NaN ring contains nothing.

    Parameters
    ----------
    rings : array_like
        (N, M, 2) convex counter-clockwise rings, or one (M, 2) ring, as
        :func:`exposure.footprint.footprint_rings` gives them.
    px, py : array_like
        (P,) point coordinates in the same frame.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> square = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]])
    >>> points_in_footprints(square, [1.0, 2.0, 3.0], [1.0, 1.0, 1.0]).tolist()
    [[True, True, False]]
    """
    r = np.asarray(rings, float)
    if r.ndim == 2:
        r = r[None]
    px = np.asarray(px, float)[None, None, :]
    py = np.asarray(py, float)[None, None, :]
    a = r[:, :, None, :]
    e = np.roll(r, -1, axis=1)[:, :, None, :] - a
    cross = e[..., 0] * (py - a[..., 1]) - e[..., 1] * (px - a[..., 0])
    # Tolerance relative to the edge length, so points on an edge count as inside.
    tol = (
        -1e-9
        * (np.abs(e[..., 0]) + np.abs(e[..., 1]))
        * (1.0 + np.abs(a[..., 0]) + np.abs(a[..., 1]))
    )
    inside = (cross >= tol).all(axis=1)
    return inside & np.isfinite(r).all(axis=(1, 2))[:, None]


@numba.njit(cache=True, parallel=True)
def _footprint_best_kernel(gx, gy, gz, rings, bbox, x, y, z, k_gsd, best):
    n_cells = gx.shape[0]
    n_poses, m = rings.shape[0], rings.shape[1]
    for j in numba.prange(n_cells):
        px = gx[j]
        py = gy[j]
        b = best[j]
        for i in range(n_poses):
            if not (
                px >= bbox[i, 0] and px <= bbox[i, 2] and py >= bbox[i, 1] and py <= bbox[i, 3]
            ):
                continue  # also skips NaN rings, whose boxes are NaN
            inside = True
            for k in range(m):
                kk = k + 1 if k + 1 < m else 0
                ax = rings[i, k, 0]
                ay = rings[i, k, 1]
                ex = rings[i, kk, 0] - ax
                ey = rings[i, kk, 1] - ay
                cross = ex * (py - ay) - ey * (px - ax)
                if cross < -1e-9 * (abs(ex) + abs(ey)) * (1.0 + abs(px - ax) + abs(py - ay)):
                    inside = False
                    break
            if not inside:
                continue
            v = z[i] - gz[j]
            if not v > 0.0:
                continue  # the camera is not above this cell
            hx = px - x[i]
            hy = py - y[i]
            slant = np.sqrt(hx * hx + hy * hy + v * v)
            # GIQE 5 weighting GSD / sin(ε)^(1/4), sin ε = v / slant.
            g = k_gsd[i] * slant / (v / slant) ** 0.25
            if g < b:
                b = g
        best[j] = b
    return best


def footprint_best_gsd(
    grid: SiteGrid,
    *,
    rings: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    height_m: NDArray[np.float64],
    pixel_pitch_mm: ArrayLike,
    focal_mm: ArrayLike,
    cell_z: NDArray[np.float64] | None = None,
    best: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Best weighted GSD per grid cell over a set of footprints of any pose (inf: never covered).

    The general form of :func:`nadir_best_gsd`: a cell is covered by a sample when its centre
    lies in that sample's convex footprint ring; its GSD is the slant-range GSD from the drone
    to the cell, weighted for the viewing angle (GIQE 5).

    Parameters
    ----------
    grid : SiteGrid
        Cell centres, in the same metric frame as the rings.
    rings : numpy.ndarray
        (N, M, 2) footprint rings (:func:`exposure.footprint.footprint_rings`).
    x, y : numpy.ndarray
        (N,) drone positions.
    height_m : numpy.ndarray
        (N,) drone height above the ground; with ``cell_z``, its altitude in the same vertical
        reference as ``cell_z``.
    pixel_pitch_mm, focal_mm : array_like
        (N,) or one value: camera pixel pitch and focal length.
    cell_z : numpy.ndarray, optional
        (n_cells,) ground elevation of each cell (from a DEM); 0 by default.
    best : numpy.ndarray, optional
        Best GSD so far per cell, to merge into (not modified).

    Returns
    -------
    numpy.ndarray
        (n_cells,) metres.

    Examples
    --------
    One drone 100 m over the centre of a 20 m square, looking straight down:

    >>> from exposure.footprint import footprint_rings
    >>> g = site_grid(shapely.box(-10, -10, 10, 10), max_cells=4)
    >>> rings = footprint_rings(x=[0.0], y=[0.0], height_m=100.0, yaw_deg=0.0, pitch_deg=-90.0,
    ...     roll_deg=0.0, hfov_rad=0.9, vfov_rad=0.7, reach_m=5000.0)
    >>> footprint_best_gsd(g, rings=rings, x=np.array([0.0]), y=np.array([0.0]),
    ...     height_m=np.array([100.0]), pixel_pitch_mm=0.004, focal_mm=10.0).round(4).tolist()
    [0.0401, 0.0401, 0.0401, 0.0401]
    """
    rings = np.ascontiguousarray(rings, dtype=np.float64)
    n = len(rings)
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    z = np.ascontiguousarray(height_m, dtype=np.float64)
    k_gsd = np.broadcast_to(
        np.asarray(pixel_pitch_mm, float) / np.asarray(focal_mm, float), (n,)
    ).copy()
    gz = np.zeros(grid.n_cells) if cell_z is None else np.ascontiguousarray(cell_z, float)
    with np.errstate(invalid="ignore"):
        bbox = (
            np.concatenate([rings.min(axis=1), rings.max(axis=1)], axis=1)
            if n
            else (np.empty((0, 4)))
        )
    out = np.full(grid.n_cells, np.inf) if best is None else np.array(best, dtype=float)
    if not n or not grid.n_cells:
        return out
    return _footprint_best_kernel(
        np.ascontiguousarray(grid.x, float),
        np.ascontiguousarray(grid.y, float),
        gz,
        rings,
        np.ascontiguousarray(bbox),
        x,
        y,
        z,
        k_gsd,
        out,
    )


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

"""Prefilter on reach: find the few samples that could see any site, with one pass over the arrays.

Most samples of a real fleet are nowhere near a site. Every site's bounding box, grown by the
largest reach, marks the cells of a coarse uniform longitude/latitude grid (a dense boolean
array, at most 7200 × 3600 cells); a sample is a candidate when its cell is marked. That test is
one compiled pass over the coordinates (tens of millions of samples per second), and only the
candidates go on to the exact distance computation (:func:`candidate_pairs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["ReachIndex", "box_tree", "candidate_pairs", "reach_boxes"]

_M_PER_DEG = 111_320.0
#: Coarsest useful grid: 0.05° (about 5.5 km); bounds the lookup array to 7200 × 3600 cells.
_MIN_CELL_DEG = 0.05


def reach_boxes(bounds: NDArray[np.float64], reach_m: float) -> NDArray[np.float64]:
    """Grow (minx, miny, maxx, maxy) boxes in degrees by ``reach_m`` metres on every side.

    The longitude padding uses the box's poleward latitude, so the grown box always contains
    every point within ``reach_m`` of the original box; near the poles it widens to all
    longitudes.

    Examples
    --------
    >>> reach_boxes(np.array([[0.0, 0.0, 0.0, 0.0]]), 111_320.0).round(3).tolist()
    [[-1.0, -1.0, 1.0, 1.0]]
    """
    b = np.asarray(bounds, dtype=float)
    lat_pad = reach_m / _M_PER_DEG
    poleward = np.minimum(np.maximum(np.abs(b[:, 1]), np.abs(b[:, 3])) + lat_pad, 90.0)
    cos = np.cos(np.radians(poleward))
    lon_pad = np.where(cos > 1e-6, reach_m / (_M_PER_DEG * np.maximum(cos, 1e-6)), 360.0)
    return np.column_stack(
        [b[:, 0] - lon_pad, b[:, 1] - lat_pad, b[:, 2] + lon_pad, b[:, 3] + lat_pad]
    )


@dataclass(frozen=True)
class ReachIndex:
    """A coarse grid marking where samples could see at least one site.

    Attributes
    ----------
    cell_deg : float
        Cell size in degrees.
    marked : numpy.ndarray
        Boolean array (rows = latitude cells from -90, columns = longitude cells from -180).
    """

    cell_deg: float
    marked: NDArray[np.bool_]

    @classmethod
    def build(cls, boxes: NDArray[np.float64]) -> ReachIndex:
        """Mark every cell that a grown site box touches (longitudes wrap at ±180°).

        Examples
        --------
        >>> idx = ReachIndex.build(np.array([[139.0, 35.0, 139.1, 35.1]]))
        >>> idx.candidates(np.array([139.05, 10.0]), np.array([35.05, 10.0])).tolist()
        [True, False]
        """
        widths = boxes[:, 2] - boxes[:, 0] if len(boxes) else np.zeros(0)
        cell = max(_MIN_CELL_DEG, float(np.median(widths)) / 2 if len(widths) else 1.0)
        nx, ny = int(np.ceil(360.0 / cell)), int(np.ceil(180.0 / cell))
        marked = np.zeros((ny, nx), dtype=bool)
        for x0, y0, x1, y1 in boxes:
            iy0 = max(int(np.floor((y0 + 90.0) / cell)), 0)
            iy1 = min(int(np.floor((y1 + 90.0) / cell)), ny - 1)
            if x1 - x0 >= 360.0:
                marked[iy0 : iy1 + 1, :] = True
                continue
            ix = np.arange(
                int(np.floor((x0 + 180.0) / cell)), int(np.floor((x1 + 180.0) / cell)) + 1
            )
            marked[iy0 : iy1 + 1, np.mod(ix, nx)] = True
        return cls(cell, marked)

    def candidates(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Tell which samples lie in a marked cell (a superset of those within reach).

        A sample without a finite position is never a candidate.

        Examples
        --------
        >>> idx = ReachIndex.build(np.array([[179.9, -90.0, 180.1, -89.9]]))
        >>> idx.candidates(np.array([-179.95, 0.0, np.nan]), np.array([-90.0, 0.0, -90.0])).tolist()
        [True, False, False]
        """
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        out = np.empty(len(lon), dtype=np.bool_)
        _lookup(lon, lat, self.marked, self.cell_deg, out)
        return out


@numba.njit(cache=True, nogil=True)
def _lookup(lon, lat, marked, cell, out):
    # One pass, no temporaries: with tens of millions of samples, the arrays a vectorised
    # version makes (cell indices, wrapped, clipped) cost more than the lookups themselves.
    ny, nx = marked.shape
    for i in range(len(lon)):
        x, y = lon[i], lat[i]
        if not (np.isfinite(x) and np.isfinite(y)):
            out[i] = False
            continue
        ix = int(np.floor((x + 180.0) / cell)) % nx
        iy = min(max(int(np.floor((y + 90.0) / cell)), 0), ny - 1)
        out[i] = marked[iy, ix]


def box_tree(boxes: NDArray[np.float64]) -> shapely.STRtree:
    """Build the search tree :func:`candidate_pairs` queries, once for many calls."""
    return shapely.STRtree(shapely.box(*boxes.T))


def candidate_pairs(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    boxes: NDArray[np.float64],
    tree: shapely.STRtree | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(sample, site) index pairs whose sample lies in the site's grown box.

    Boxes crossing the antimeridian are tested on both sides. ``tree`` is
    :func:`box_tree` of ``boxes`` when the caller keeps one.

    Examples
    --------
    >>> boxes = np.array([[179.5, 0.0, 180.5, 1.0]])
    >>> candidate_pairs(np.array([-179.8, 179.8, 0.0]), np.array([0.5, 0.5, 0.5]), boxes)
    (array([0, 1]), array([0, 0]))
    """
    if not len(lon) or not len(boxes):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    tree = box_tree(boxes) if tree is None else tree
    found = [tree.query(shapely.points(lon, lat), predicate="intersects")]
    for shift in (360.0, -360.0):  # a box beyond ±180° also holds the wrapped longitudes
        if ((boxes[:, 0] < -180.0) if shift < 0 else (boxes[:, 2] > 180.0)).any():
            found.append(tree.query(shapely.points(lon + shift, lat), predicate="intersects"))
    if len(found) > 1:  # wrapped queries may repeat pairs
        pairs = np.unique(np.concatenate(found, axis=1), axis=1)
    else:  # one query gives each pair once; sorted by sample, then site, like np.unique
        pairs = found[0]
        key = pairs[0].astype(np.int64) * len(boxes) + pairs[1]
        if len(key) > 1 and (key[1:] < key[:-1]).any():
            pairs = pairs[:, np.argsort(key, kind="stable")]
    return pairs[0].astype(np.int64), pairs[1].astype(np.int64)

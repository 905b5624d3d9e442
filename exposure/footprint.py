"""Camera footprints on the ground: what each camera could see, as polygons.

General footprints of N poses at once, as rings in a local metric frame (x east, y north):
:func:`footprint_rings` (the camera's view), :func:`boresight_points` (where the image
centre meets the ground), :func:`reach_rings` (all the ground within reach) and
:func:`ring_polygons`. The rules (border rays, ground or terrain, reach, convex rings) are
set out in :mod:`exposure.footprint_kernels`, which computes them;
:func:`exposure.footprint_frames.footprints` gives them per sample in EPSG:4326.

Nadir footprints (:func:`nadir_half_sizes`, :func:`nadir_corners`, :func:`nadir_footprints`):
a rectangle centred under the drone, ``2·h·tan(HFOV/2)`` across the aircraft's heading and
``2·h·tan(VFOV/2)`` along it. Worked check: HFOV 72°, VFOV 57°, 100 m above flat ground, heading
north → ±72.7 m east-west by ±54.3 m north-south; the general footprint straight down gives the
same rectangle.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from exposure.crs import local_epsg, to_geographic, to_local
from exposure.footprint_kernels import border_uv, ground_points, pose_array
from exposure.terrain import Dem

__all__ = [
    "boresight_points",
    "footprint_rings",
    "nadir_corners",
    "nadir_footprints",
    "nadir_half_sizes",
    "reach_rings",
    "ring_polygons",
]


def nadir_half_sizes(
    height_m: ArrayLike, hfov_rad: ArrayLike, vfov_rad: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Half-width across track and half-length along track of a nadir footprint, in metres.

    Examples
    --------
    >>> a, b = nadir_half_sizes(100.0, np.radians(72), np.radians(57))
    >>> round(float(a), 1), round(float(b), 1)
    (72.7, 54.3)
    """
    h = np.maximum(np.asarray(height_m, float), 0.0)
    return h * np.tan(np.asarray(hfov_rad, float) / 2), h * np.tan(np.asarray(vfov_rad, float) / 2)


def nadir_corners(
    x: ArrayLike, y: ArrayLike, half_across: ArrayLike, half_along: ArrayLike, yaw_deg: ArrayLike
) -> NDArray[np.float64]:
    """Corners of nadir footprints in a local metric frame (x east, y north).

    Parameters
    ----------
    x, y : array_like
        Drone positions, metres.
    half_across, half_along : array_like
        Half-sizes from :func:`nadir_half_sizes`.
    yaw_deg : array_like
        Heading, degrees clockwise from north (NaN is taken as north).

    Returns
    -------
    numpy.ndarray
        Shape (N, 4, 2): front-left, front-right, back-right, back-left corners.

    Examples
    --------
    >>> nadir_corners([0.0], [0.0], [2.0], [1.0], [90.0]).round(6)[0].tolist()
    [[1.0, 2.0], [1.0, -2.0], [-1.0, -2.0], [-1.0, 2.0]]
    """
    yaw = np.radians(np.nan_to_num(np.asarray(yaw_deg, float), nan=0.0))
    # Unit vectors of the heading (forward) and of the right-hand side, in east/north components.
    fwd = np.stack([np.sin(yaw), np.cos(yaw)], axis=-1)
    right = np.stack([np.cos(yaw), -np.sin(yaw)], axis=-1)
    a = np.asarray(half_across, float)[:, None]
    b = np.asarray(half_along, float)[:, None]
    centre = np.stack([np.asarray(x, float), np.asarray(y, float)], axis=-1)
    corners = [centre + b * fwd + sa * a * right for sa in (-1, 1)]
    corners += [centre - b * fwd + sa * a * right for sa in (1, -1)]
    return np.stack(corners, axis=1)


def nadir_footprints(
    samples: gpd.GeoDataFrame, *, hfov_rad: ArrayLike, vfov_rad: ArrayLike
) -> gpd.GeoDataFrame:
    """Nadir footprint polygons of samples, in EPSG:4326.

    Each footprint is built in the UTM zone of its own sample and converted back.

    Parameters
    ----------
    samples : geopandas.GeoDataFrame
        Canonical samples (``lon``, ``lat``, ``height_agl_m``, ``yaw_deg``); not modified.
    hfov_rad, vfov_rad : array_like
        Field of view per sample (or one value for all).

    Returns
    -------
    geopandas.GeoDataFrame
        ``flight_id``, ``time``, ``source_row`` and the footprint polygon (empty where the height
        is unknown or not above the ground).
    """
    n = len(samples)
    lon, lat = samples["lon"].to_numpy(float), samples["lat"].to_numpy(float)
    h = samples["height_agl_m"].to_numpy(float)
    a, b = nadir_half_sizes(h, np.broadcast_to(hfov_rad, n), np.broadcast_to(vfov_rad, n))
    polys = np.array([shapely.Polygon()] * n, dtype=object)
    epsg = local_epsg(lon, lat)
    for code in np.unique(epsg):
        sel = np.flatnonzero((epsg == code) & (h > 0))
        if not len(sel):
            continue
        x, y = to_local(lon[sel], lat[sel], code)
        corners = nadir_corners(x, y, a[sel], b[sel], samples["yaw_deg"].to_numpy(float)[sel])
        glon, glat = to_geographic(corners[..., 0].ravel(), corners[..., 1].ravel(), code)
        ring = np.stack([glon, glat], axis=-1).reshape(len(sel), 4, 2)
        polys[sel] = shapely.polygons(ring)
    out = samples[["flight_id", "time", "source_row"]].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry=polys, crs="EPSG:4326")


def footprint_rings(
    *,
    x: ArrayLike,
    y: ArrayLike,
    height_m: ArrayLike,
    yaw_deg: ArrayLike,
    pitch_deg: ArrayLike,
    roll_deg: ArrayLike,
    hfov_rad: ArrayLike,
    vfov_rad: ArrayLike,
    reach_m: ArrayLike,
    n_per_edge: int = 8,
    terrain: Dem | None = None,
) -> NDArray[np.float64]:
    """Footprint rings of N camera poses in a local metric frame (x east, y north).

    Parameters
    ----------
    x, y : array_like
        Camera positions, metres.
    height_m : array_like
        Height of the camera above the ground under it (with ``terrain``: above the DEM there).
    yaw_deg, pitch_deg, roll_deg : array_like
        Camera orientation (see :mod:`exposure.pose`).
    hfov_rad, vfov_rad : array_like
        Horizontal (across the long image side) and vertical fields of view.
    reach_m : array_like
        Slant range ``R_max`` beyond which the ground is not counted.
    n_per_edge : int
        Rays per image edge.
    terrain : Dem, optional
        A north-up DEM in the same metric CRS as ``x, y`` (:func:`exposure.terrain.local_dem`);
        rays then stop where they meet it. Without one the ground is flat.

    Returns
    -------
    numpy.ndarray
        Shape (N, 4·n_per_edge, 2): convex, counter-clockwise, open rings; NaN where there is
        no footprint. Any argument may be a single value for all poses.

    Raises
    ------
    ExposureError
        If an array has the wrong length or ``n_per_edge`` is not ≥ 1.

    Examples
    --------
    HFOV 72°, VFOV 57°, 100 m up, straight down: 145.3 m east-west by 108.6 m north-south.

    >>> r = footprint_rings(x=[0.0], y=[0.0], height_m=100.0, yaw_deg=0.0, pitch_deg=-90.0,
    ...     roll_deg=0.0, hfov_rad=np.radians(72), vfov_rad=np.radians(57), reach_m=5000.0,
    ...     n_per_edge=1)
    >>> np.ptp(r[0], axis=0).round(1).tolist()
    [145.3, 108.6]
    """
    return ground_points(
        x=x, y=y, height_m=height_m, yaw_deg=yaw_deg, pitch_deg=pitch_deg, roll_deg=roll_deg,
        hfov_rad=hfov_rad, vfov_rad=vfov_rad, reach_m=reach_m, uv=border_uv(n_per_edge),
        terrain=terrain, finish=True,
    )


def boresight_points(
    *,
    x: ArrayLike,
    y: ArrayLike,
    height_m: ArrayLike,
    yaw_deg: ArrayLike,
    pitch_deg: ArrayLike,
    reach_m: ArrayLike,
    terrain: Dem | None = None,
) -> NDArray[np.float64]:
    """Where the centre of each image meets the ground, shape (N, 2), clipped like the rings.

    Examples
    --------
    30° below the horizon from 100 m, looking east: 173.2 m east.

    >>> boresight_points(x=[0.0], y=[0.0], height_m=100.0, yaw_deg=90.0, pitch_deg=-30.0,
    ...                  reach_m=5000.0).round(1).tolist()
    [[173.2, 0.0]]
    """
    return ground_points(
        x=x, y=y, height_m=height_m, yaw_deg=yaw_deg, pitch_deg=pitch_deg, roll_deg=0.0,
        hfov_rad=0.0, vfov_rad=0.0, reach_m=reach_m, uv=np.zeros((1, 2)),
        terrain=terrain, finish=False,
    )[:, 0, :]


def reach_rings(
    *, x: ArrayLike, y: ArrayLike, height_m: ArrayLike, reach_m: ArrayLike, n_vertices: int
) -> NDArray[np.float64]:
    """Rings of the ground within slant range ``R_max`` (potential mode), shape (N, n, 2).

    Regular polygons inscribed in the circle of horizontal radius ``√(R_max² − h²)``,
    counter-clockwise; NaN where that radius is not positive.

    Examples
    --------
    >>> r = reach_rings(x=[0.0], y=[0.0], height_m=[300.0], reach_m=[500.0], n_vertices=4)
    >>> r[0].round(6).tolist()
    [[400.0, 0.0], [0.0, 400.0], [-400.0, 0.0], [-0.0, -400.0]]
    """
    x = np.atleast_1d(np.asarray(x, float))
    n = len(x)
    y = pose_array("y", y, n)
    h = pose_array("height_m", height_m, n)
    with np.errstate(invalid="ignore"):
        rh = np.sqrt(np.maximum(pose_array("reach_m", reach_m, n) ** 2 - h**2, 0.0))
    rh = np.where((h > 0) & (rh > 0), rh, np.nan)
    angle = 2 * np.pi * np.arange(int(n_vertices)) / int(n_vertices)
    return np.stack(
        [x[:, None] + rh[:, None] * np.cos(angle), y[:, None] + rh[:, None] * np.sin(angle)],
        axis=-1,
    )


def ring_polygons(rings: NDArray[np.float64]) -> NDArray[np.object_]:
    """Shapely polygons of rings (N, M, 2); an empty polygon where a ring is NaN.

    Examples
    --------
    >>> rings = np.array([[[0, 0], [1, 0], [0, 1.0]], [[np.nan] * 2] * 3])
    >>> [p.wkt for p in ring_polygons(rings)]
    ['POLYGON ((0 0, 1 0, 0 1, 0 0))', 'POLYGON EMPTY']
    """
    rings = np.asarray(rings, float)
    out = np.full(len(rings), shapely.Polygon(), dtype=object)
    ok = np.isfinite(rings).all(axis=(1, 2))
    if ok.any():
        out[ok] = shapely.polygons(rings[ok])
    return out

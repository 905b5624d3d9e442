"""Camera footprints on the ground.

This module computes the footprint of a camera looking straight down (nadir): a rectangle centred
under the drone, ``2·h·tan(HFOV/2)`` across the aircraft's heading and ``2·h·tan(VFOV/2)`` along
it, since the image's long side lies across the direction of flight. Worked check: HFOV 72°, VFOV
57°, 100 m above flat ground, heading north → ±72.7 m east-west by ±54.3 m north-south.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from exposure.crs import local_epsg, to_geographic, to_local

__all__ = ["nadir_corners", "nadir_footprints", "nadir_half_sizes"]


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

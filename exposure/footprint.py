"""Camera footprints on the ground: what each camera could see, as polygons.

General footprints (:func:`footprint_rings`, :func:`footprints`), for N poses at once:

- Rays are sampled along the whole image border, ``n_per_edge`` per edge starting at each
  corner (so an oblique view's far edge is an arc, not a chord), in the camera frame
  (forward, right, down) as ``(1, u·tan(HFOV/2), v·tan(VFOV/2))`` with ``u, v ∈ [−1, 1]``; the
  image's long side (HFOV) lies across the camera's heading.
- Rays are turned into the local north-east-down frame by yaw, then pitch, then roll (ZYX;
  :func:`rotation_matrices`; conventions in :mod:`exposure.pose`).
- Each ray meets a flat ground ``height_m`` below the camera, or the terrain of a DEM
  (:mod:`exposure.terrain`: marched at the DEM's cell size, the crossing interpolated linearly
  between the last sample above and the first below, so a flat DEM gives the flat answer).
- Reach: the footprint is limited to ground within slant range ``R_max`` (usually
  :func:`exposure.quality.reach_m`: ``min(cap, horizon, range at which NIIRS is no longer
  useful)``), a disc of horizontal radius ``√(R_max² − h²)``. A ray that misses the ground (at or
  above the horizon) or meets it beyond that disc is replaced by the point at the disc's edge
  along its azimuth, so the far edge becomes an arc and a camera at the horizon still has a
  finite footprint. For a camera pitched above the horizon the arc spans the azimuths of its
  upper rays, a little wider than the ground it could see: the error is on the side of more
  exposure, not less.
- The ring of border points is convex in the usual case (the view of a convex frustum on a plane,
  cut by a disc); where the replacement rule folds it (a camera pitched upwards) or terrain
  dents it, the ring is replaced by the convex hull of the same points. Rings are
  counter-clockwise, open (the first vertex is not repeated), ``4 · n_per_edge`` vertices,
  padded by repeating the last hull vertex; NaN where there is no footprint (unknown or
  non-positive height, ``R_max`` not beyond the height, or a degenerate view).

Nadir footprints (:func:`nadir_half_sizes`, :func:`nadir_corners`, :func:`nadir_footprints`):
a rectangle centred under the drone, ``2·h·tan(HFOV/2)`` across the aircraft's heading and
``2·h·tan(VFOV/2)`` along it. Worked check: HFOV 72°, VFOV 57°, 100 m above flat ground, heading
north → ±72.7 m east-west by ±54.3 m north-south; the general footprint straight down gives the
same rectangle.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import geopandas as gpd
import numba
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from exposure.cameras import Camera, focal_lengths, focal_sources, per_sample_cameras
from exposure.crs import local_epsg, to_geographic, to_local
from exposure.errors import ExposureError
from exposure.pose import Mount, camera_pose, observation_mode
from exposure.quality import niirs, reach_m, slant_gsd_m
from exposure.terrain import (
    Dem,
    elevation_xy,
    heights_above_ground,
    local_dem,
    ray_distances,
)

__all__ = [
    "border_uv",
    "boresight_points",
    "footprint_rings",
    "footprints",
    "nadir_corners",
    "nadir_footprints",
    "nadir_half_sizes",
    "ray_directions",
    "reach_rings",
    "ring_polygons",
    "rotation_matrices",
]


# Samples per step of :func:`footprints`: bounds its (block, vertices) temporaries to ~100 MB.
_BLOCK = 100_000


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


def border_uv(n_per_edge: int = 8) -> NDArray[np.float64]:
    """Image-border sample points in normalised image coordinates.

    ``u`` runs left to right and ``v`` top to bottom, both in [−1, 1]. The border is walked
    from the top-left corner down the left edge, along the bottom, up the right edge and back
    along the top, ``n_per_edge`` points per edge starting at its first corner: on the ground
    (x east, y north) this is counter-clockwise, as shapely expects of an exterior ring.

    Examples
    --------
    >>> border_uv(1).tolist()
    [[-1.0, -1.0], [-1.0, 1.0], [1.0, 1.0], [1.0, -1.0]]
    >>> border_uv(2)[:3].tolist()
    [[-1.0, -1.0], [-1.0, 0.0], [-1.0, 1.0]]
    """
    n = int(n_per_edge)
    if n < 1:
        raise ExposureError(f"n_per_edge is {n_per_edge}, expected a whole number ≥ 1")
    t = -1.0 + 2.0 * np.arange(n) / n
    one = np.ones(n)
    u = np.concatenate([-one, t, one, -t])
    v = np.concatenate([t, one, -t, -one])
    return np.stack([u, v], axis=-1)


def rotation_matrices(
    yaw_deg: ArrayLike, pitch_deg: ArrayLike, roll_deg: ArrayLike
) -> NDArray[np.float64]:
    """Camera-to-NED rotation matrices, yaw then pitch then roll (ZYX), shape (N, 3, 3).

    The camera frame is (forward, right, down); NED is (north, east, down). The first column is
    the line of sight.

    Examples
    --------
    Looking east and 30° down:

    >>> rotation_matrices([90.0], [-30.0], [0.0])[0, :, 0].round(3).tolist()
    [0.0, 0.866, 0.5]
    """
    yaw, pitch, roll = (np.radians(np.atleast_1d(np.asarray(a, float))) for a in
                        (yaw_deg, pitch_deg, roll_deg))
    yaw, pitch, roll = np.broadcast_arrays(yaw, pitch, roll)
    cy, sy, cp, sp, cr, sr = (np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch),
                              np.cos(roll), np.sin(roll))
    return np.stack(
        [
            np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], axis=-1),
            np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], axis=-1),
            np.stack([-sp, cp * sr, cp * cr], axis=-1),
        ],
        axis=-2,
    )


def ray_directions(
    *,
    yaw_deg: ArrayLike,
    pitch_deg: ArrayLike,
    roll_deg: ArrayLike,
    hfov_rad: ArrayLike,
    vfov_rad: ArrayLike,
    n_per_edge: int = 8,
    uv: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Directions (north, east, down) of the image-border rays, shape (N, 4·n_per_edge, 3).

    Not normalised: each is ``R · (1, u·tan(HFOV/2), v·tan(VFOV/2))``; ``uv`` replaces the
    border points of :func:`border_uv` by any (M, 2) image points.

    Examples
    --------
    Straight down, heading north: the top-left corner ray leans north and west.

    >>> d = ray_directions(yaw_deg=[0.0], pitch_deg=[-90.0], roll_deg=[0.0],
    ...                    hfov_rad=[np.radians(90)], vfov_rad=[np.radians(90)], n_per_edge=1)
    >>> d[0, 0].round(6).tolist()
    [1.0, -1.0, 1.0]
    """
    uv = border_uv(n_per_edge) if uv is None else np.asarray(uv, float)
    rot = rotation_matrices(yaw_deg, pitch_deg, roll_deg)
    th = np.tan(np.asarray(hfov_rad, float) / 2) * np.ones(len(rot))
    tv = np.tan(np.asarray(vfov_rad, float) / 2) * np.ones(len(rot))
    cam = np.stack(
        [np.ones((len(rot), len(uv))), uv[None, :, 0] * th[:, None], uv[None, :, 1] * tv[:, None]],
        axis=-1,
    )
    return np.einsum("nij,nmj->nmi", rot, cam)


@numba.njit(cache=True)
def _hull_in_place(ring):
    """Replace a ring's points by their convex hull (Andrew's monotone chain), CCW, padded.

    Returns the number of hull vertices (fewer than 3: degenerate).
    """
    m = ring.shape[0]
    px = ring[:, 0].copy()
    py = ring[:, 1].copy()
    # Coordinates on a grid of 1e-9 of the ring's size: points a rounding error apart in x
    # would otherwise sort in any order of y and defeat the chain's collinearity test.
    q = 0.0
    for i in range(m):
        q = max(q, abs(px[i]), abs(py[i]))
    q *= 1e-9
    if q > 0.0:
        for i in range(m):
            px[i] = np.round(px[i] / q) * q
            py[i] = np.round(py[i] / q) * q
    # Insertion sort by (x, y): this path is rare and m is small.
    for i in range(1, m):
        kx = px[i]
        ky = py[i]
        j = i - 1
        while j >= 0 and (px[j] > kx or (px[j] == kx and py[j] > ky)):
            px[j + 1] = px[j]
            py[j + 1] = py[j]
            j -= 1
        px[j + 1] = kx
        py[j + 1] = ky
    scale = max(px[m - 1] - px[0], np.max(py) - np.min(py))
    tol = 1e-12 * scale * scale
    hx = np.empty(2 * m)
    hy = np.empty(2 * m)
    k = 0
    for i in range(m):  # lower hull
        while k >= 2 and ((hx[k - 1] - hx[k - 2]) * (py[i] - hy[k - 2])
                          - (hy[k - 1] - hy[k - 2]) * (px[i] - hx[k - 2])) <= tol:
            k -= 1
        hx[k] = px[i]
        hy[k] = py[i]
        k += 1
    lower = k + 1
    for i in range(m - 2, -1, -1):  # upper hull
        while k >= lower and ((hx[k - 1] - hx[k - 2]) * (py[i] - hy[k - 2])
                              - (hy[k - 1] - hy[k - 2]) * (px[i] - hx[k - 2])) <= tol:
            k -= 1
        hx[k] = px[i]
        hy[k] = py[i]
        k += 1
    nh = k - 1  # the last point repeats the first
    if nh > m:
        nh = m
    for i in range(m):
        j = i if i < nh else nh - 1
        ring[i, 0] = hx[j]
        ring[i, 1] = hy[j]
    return nh


@numba.njit(cache=True)
def _is_convex(ring, tol_len):
    """Tell whether the ring turns only left (or goes straight) and winds once.

    Zero-length edges (repeated points) are skipped; a reversal (a turn of 180°) fails, as does
    a ring whose edges turn all the way round more than once.
    """
    m = ring.shape[0]
    # The last non-degenerate edge, to compare the first one with.
    pex = 0.0
    pey = 0.0
    for k in range(m - 1, -1, -1):
        j = k + 1 if k + 1 < m else 0
        ex = ring[j, 0] - ring[k, 0]
        ey = ring[j, 1] - ring[k, 1]
        if abs(ex) + abs(ey) > tol_len:
            pex = ex
            pey = ey
            break
    if pex == 0.0 and pey == 0.0:
        return False
    sx = 0.0
    if abs(pex) > tol_len:
        sx = 1.0 if pex > 0.0 else -1.0
    changes = 0
    for k in range(m):
        j = k + 1 if k + 1 < m else 0
        ex = ring[j, 0] - ring[k, 0]
        ey = ring[j, 1] - ring[k, 1]
        if abs(ex) + abs(ey) <= tol_len:
            continue
        cross = pex * ey - pey * ex
        # |cross| against 1e-9·|e_prev|·|e| without a square root.
        small = cross * cross <= 1e-18 * (pex * pex + pey * pey) * (ex * ex + ey * ey)
        if cross < 0.0 and not small:
            return False
        if small and pex * ex + pey * ey < 0.0:
            return False  # a reversal: the ring folds back on itself
        if abs(ex) > tol_len:
            sgn = 1.0 if ex > 0.0 else -1.0
            if sx != 0.0 and sgn != sx:
                changes += 1
            sx = sgn
        pex = ex
        pey = ey
    return changes <= 2


@numba.njit(cache=True)
def _signed_area2(ring):
    m = ring.shape[0]
    area2 = 0.0
    for k in range(m):
        j = k + 1 if k + 1 < m else 0
        area2 += ring[k, 0] * ring[j, 1] - ring[j, 0] * ring[k, 1]
    return area2


@numba.njit(cache=True)
def _finish_ring(ring, x, y, clipped):
    """Orient a ring counter-clockwise and make it convex; NaN it when degenerate.

    A ring whose rays all met flat ground within reach is the view of a convex frustum on a
    plane, already convex and counter-clockwise: only its area is checked. Otherwise the
    coordinates are taken relative to the drone at (x, y) for precision while the ring is
    checked and, if needed, replaced by its hull.
    """
    m = ring.shape[0]
    if not clipped:
        area2 = 0.0
        scale = 0.0
        for k in range(m):
            j = k + 1 if k + 1 < m else 0
            ax = ring[k, 0] - x
            ay = ring[k, 1] - y
            area2 += ax * (ring[j, 1] - y) - (ring[j, 0] - x) * ay
            scale = max(scale, abs(ax), abs(ay))
        if area2 > 1e-9 * scale * scale:
            return
    scale = 0.0
    for k in range(m):
        ring[k, 0] -= x
        ring[k, 1] -= y
        scale = max(scale, abs(ring[k, 0]), abs(ring[k, 1]))
    # Rays replaced at (almost) the same azimuth land within rounding of each other; such
    # points are made identical, since rounding-sized zigzags would make GEOS see the ring
    # crossing itself.
    snap = 1e-9 * scale
    for k in range(1, m):
        if abs(ring[k, 0] - ring[k - 1, 0]) + abs(ring[k, 1] - ring[k - 1, 1]) <= snap:
            ring[k, 0] = ring[k - 1, 0]
            ring[k, 1] = ring[k - 1, 1]
    if abs(ring[m - 1, 0] - ring[0, 0]) + abs(ring[m - 1, 1] - ring[0, 1]) <= snap:
        ring[m - 1, 0] = ring[0, 0]
        ring[m - 1, 1] = ring[0, 1]
    area2 = _signed_area2(ring)
    if not (np.isfinite(area2) and scale > 0.0):
        ring[:, :] = np.nan
        return
    if area2 < 0.0:
        for k in range(m // 2):
            for c in range(2):
                t = ring[k, c]
                ring[k, c] = ring[m - 1 - k, c]
                ring[m - 1 - k, c] = t
    tol_area = 1e-9 * scale * scale
    if abs(area2) <= tol_area or not _is_convex(ring, 0.0):
        if _hull_in_place(ring) < 3 or not _signed_area2(ring) > tol_area:
            ring[:, :] = np.nan
            return
    for k in range(m):
        ring[k, 0] += x
        ring[k, 1] += y


@numba.njit(cache=True, parallel=True)
def _ground_kernel(x, y, h, yaw, pitch, roll, tan_h, tan_v, rh, u, v, s_terrain, use_terrain,
                   finish, out):
    n = x.shape[0]
    m = u.shape[0]
    deg = np.pi / 180.0
    for i in numba.prange(n):
        ok = (h[i] > 0.0 and rh[i] > 0.0 and np.isfinite(x[i]) and np.isfinite(y[i])
              and np.isfinite(yaw[i]) and np.isfinite(pitch[i]) and np.isfinite(roll[i])
              and np.isfinite(tan_h[i]) and np.isfinite(tan_v[i]) and np.isfinite(rh[i]))
        if not ok:
            out[i, :, :] = np.nan
            continue
        cy = np.cos(yaw[i] * deg)
        sy = np.sin(yaw[i] * deg)
        cp = np.cos(pitch[i] * deg)
        sp = np.sin(pitch[i] * deg)
        cr = np.cos(roll[i] * deg)
        sr = np.sin(roll[i] * deg)
        r00 = cy * cp
        r01 = cy * sp * sr - sy * cr
        r02 = cy * sp * cr + sy * sr
        r10 = sy * cp
        r11 = sy * sp * sr + cy * cr
        r12 = sy * sp * cr - cy * sr
        r20 = -sp
        r21 = cp * sr
        r22 = cp * cr
        hi = h[i]
        rhi = rh[i]
        # Terrain distances are NaN where the DEM has no ground under the drone: flat there.
        on_terrain = use_terrain and s_terrain[i, 0] == s_terrain[i, 0]
        clipped = on_terrain
        for k in range(m):
            a = u[k] * tan_h[i]
            b = v[k] * tan_v[i]
            dn = r00 + r01 * a + r02 * b
            de = r10 + r11 * a + r12 * b
            dd = r20 + r21 * a + r22 * b
            hn2 = dn * dn + de * de
            if not on_terrain and dd > 0.0 and hi * hi * hn2 <= rhi * rhi * dd * dd:
                # Flat ground within reach: the common case needs no square root.
                t = hi / dd
                out[i, k, 0] = x[i] + t * de
                out[i, k, 1] = y[i] + t * dn
                continue
            clipped = True
            hn = np.sqrt(hn2)
            if hn <= 1e-12 * abs(dd):
                # Straight down (or up): no azimuth; the point under the drone.
                out[i, k, 0] = x[i]
                out[i, k, 1] = y[i]
                continue
            s = rhi
            if on_terrain:
                s = min(s, s_terrain[i, k])
            out[i, k, 0] = x[i] + s * de / hn
            out[i, k, 1] = y[i] + s * dn / hn
        if finish:
            _finish_ring(out[i], x[i], y[i], clipped)
    return out


def _as_array(name: str, value: ArrayLike, n: int) -> NDArray[np.float64]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ExposureError(f"{name} has shape {arr.shape}, expected ({n},) or a single value")
    return np.ascontiguousarray(arr)


def _run_kernel(
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
    uv: NDArray[np.float64],
    terrain: Dem | None,
    finish: bool,
) -> NDArray[np.float64]:
    n = len(np.atleast_1d(np.asarray(x)))
    args = {
        name: _as_array(name, value, n)
        for name, value in (("x", x), ("y", y), ("height_m", height_m), ("yaw_deg", yaw_deg),
                            ("pitch_deg", pitch_deg), ("roll_deg", roll_deg),
                            ("hfov_rad", hfov_rad), ("vfov_rad", vfov_rad), ("reach_m", reach_m))
    }
    h = args["height_m"]
    with np.errstate(invalid="ignore"):
        # Ground within slant range R_max lies in a disc of this horizontal radius.
        rh = np.sqrt(np.maximum(args["reach_m"] ** 2 - h**2, 0.0))
    if terrain is not None:
        directions = ray_directions(
            yaw_deg=args["yaw_deg"], pitch_deg=args["pitch_deg"], roll_deg=args["roll_deg"],
            hfov_rad=args["hfov_rad"], vfov_rad=args["vfov_rad"], uv=uv,
        )
        s_terrain = ray_distances(terrain, x=args["x"], y=args["y"], height_m=h,
                                  directions=directions, limit_m=rh)
    else:
        s_terrain = np.empty((0, 0))
    out = np.empty((n, len(uv), 2))
    return _ground_kernel(
        args["x"], args["y"], h, args["yaw_deg"], args["pitch_deg"], args["roll_deg"],
        np.tan(args["hfov_rad"] / 2), np.tan(args["vfov_rad"] / 2), rh,
        np.ascontiguousarray(uv[:, 0]), np.ascontiguousarray(uv[:, 1]),
        s_terrain, terrain is not None, finish, out,
    )


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
    return _run_kernel(
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
    return _run_kernel(
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
    y = _as_array("y", y, n)
    h = _as_array("height_m", height_m, n)
    with np.errstate(invalid="ignore"):
        rh = np.sqrt(np.maximum(_as_array("reach_m", reach_m, n) ** 2 - h**2, 0.0))
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


def _distance_to_rings(
    rings: NDArray[np.float64], px: NDArray[np.float64], py: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distance from one point per ring to that convex CCW ring (0 inside, NaN for no ring)."""
    a = rings
    b = np.roll(rings, -1, axis=1)
    ex, ey = b[..., 0] - a[..., 0], b[..., 1] - a[..., 1]
    wx, wy = px[:, None] - a[..., 0], py[:, None] - a[..., 1]
    inside = ((ex * wy - ey * wx) >= -1e-9 * (np.abs(ex) + np.abs(ey))).all(axis=1)
    length2 = ex * ex + ey * ey
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(np.where(length2 > 0, (wx * ex + wy * ey) / length2, 0.0), 0.0, 1.0)
    d = np.hypot(wx - t * ex, wy - t * ey).min(axis=1)
    return np.where(np.isfinite(a).all(axis=(1, 2)), np.where(inside, 0.0, d), np.nan)


def _check_samples(samples: gpd.GeoDataFrame, **options: float) -> None:
    problems = []
    if samples.crs is None:
        problems.append("samples have no CRS, expected EPSG:4326")
    elif samples.crs.to_epsg() != 4326:
        problems.append(f"samples are in {samples.crs}, expected EPSG:4326")
    missing = [c for c in ("flight_id", "lon", "lat") if c not in samples]
    if missing:
        problems.append(f"samples lack columns {', '.join(missing)}")
    for name, value in options.items():
        if not value > 0:
            problems.append(f"{name} is {value}, expected a positive number")
    if problems:
        raise ExposureError("footprints: " + "; ".join(problems))


def footprints(
    samples: gpd.GeoDataFrame,
    camera: Camera | Mapping[str, Camera],
    *,
    force: Literal["potential"] | None = None,
    worst_case: bool = False,
    mount: Mount | None = None,
    max_range_m: float = 5000.0,
    useful_niirs: float = 2.0,
    video: bool = False,
    n_per_edge: int = 8,
    dem: Dem | None = None,
) -> gpd.GeoDataFrame:
    """Compute what each sample's camera could see, as polygons in EPSG:4326, and how sharply.

    In *observed* mode (the log has the camera pose) the footprint is the camera's view of the
    ground (see the module docstring); in *potential* mode (no pose, or ``force="potential"``)
    it is all the ground within the camera's reach ``R_max``. Each footprint is built in the
    UTM/UPS zone of its own sample and converted back.

    Parameters
    ----------
    samples : geopandas.GeoDataFrame
        Canonical samples in EPSG:4326; not modified.
    camera : Camera or mapping of str to Camera
        One camera, or one per ``flight_id``.
    force : {"potential"}, optional
        Rate every sample as the worst case.
    worst_case : bool
        Use each camera's longest focal length instead of the logged one (a narrower footprint,
        a sharper image, a longer reach).
    mount : Mount, optional
        A camera fixed to the airframe (see :func:`exposure.pose.camera_pose`).
    max_range_m, useful_niirs : float
        Bound the reach (see :func:`exposure.quality.reach_m`).
    video : bool
        Rate NIIRS for video frames rather than stills.
    n_per_edge : int
        Rays per image edge.
    dem : Dem, optional
        Elevation model in any CRS: heights above ground become ``alt_msl_m − DEM`` where the
        sample has ``alt_msl_m``, and rays stop on the terrain.

    Returns
    -------
    geopandas.GeoDataFrame
        ``flight_id``, ``time``, ``source_row`` (when present), ``mode``, ``pose_source``,
        ``camera_yaw_deg``, ``camera_pitch_deg``, ``camera_roll_deg``, ``focal_mm``,
        ``focal_source``, ``height_m``, ``height_source``, ``reach_m``, ``centre_gsd_m`` (weighted
        GSD where the image centre meets the ground), ``best_gsd_m`` and ``best_niirs`` (at the
        footprint point nearest the drone), and the footprint polygon (empty where there is
        none). ``attrs["assumptions"]`` lists what was assumed, in words.

    Raises
    ------
    ExposureError
        If the samples are not in EPSG:4326 or an option is out of range.
    CameraError
        If a flight has no camera.

    Examples
    --------
    A Mavic 3 wide camera 100 m up, looking straight down, and a sample without gimbal data:

    >>> from exposure.cameras import load_cameras
    >>> s = gpd.GeoDataFrame({"flight_id": ["f", "f"], "lon": [139.7, 139.7],
    ...     "lat": [35.6, 35.6], "height_agl_m": [100.0, 100.0], "height_ref": "takeoff",
    ...     "yaw_deg": [0.0, 0.0], "gimbal_pitch_deg": [-90.0, None]},
    ...     geometry=gpd.points_from_xy([139.7, 139.7], [35.6, 35.6]), crs=4326)
    >>> fp = footprints(s, load_cameras()["dji_mavic3_wide"], max_range_m=1000.0)
    >>> fp["mode"].tolist(), fp["best_gsd_m"].round(4).tolist()
    (['observed', 'potential'], [0.0267, 0.0267])
    >>> (fp.to_crs(32654).area / 1e6).round(3).tolist()  # km²: the view, then the reach disc
    [0.015, 3.09]
    """
    _check_samples(samples, max_range_m=max_range_m, n_per_edge=n_per_edge)
    n = len(samples)
    m = 4 * int(n_per_edge)
    pose = camera_pose(samples, mount=mount)
    mode = observation_mode(samples, force=force, mount=mount)
    cams = per_sample_cameras(samples, camera)
    focal = focal_lengths(samples, camera, worst_case=worst_case)
    pitch_mm = cams["pixel_pitch_mm"].to_numpy(float)
    heights = heights_above_ground(samples, dem)
    h = heights["height_m"].to_numpy(float)
    reach = reach_m(h, pitch_mm, focal, max_range_m=max_range_m, useful_niirs=useful_niirs)
    hfov = 2 * np.arctan(cams["sensor_width_mm"].to_numpy(float) / (2 * focal))
    vfov = 2 * np.arctan(cams["sensor_height_mm"].to_numpy(float) / (2 * focal))
    lon = samples["lon"].to_numpy(float)
    lat = samples["lat"].to_numpy(float)
    rings_geo = np.full((n, m, 2), np.nan)
    centre_gsd = np.full(n, np.nan)
    best_gsd = np.full(n, np.nan)
    observed = mode == "observed"
    epsg = local_epsg(lon, lat)
    per_sample = {
        "height_m": h, "reach_m": reach, "yaw_deg": pose.yaw_deg, "pitch_deg": pose.pitch_deg,
        "roll_deg": pose.roll_deg, "hfov_rad": hfov, "vfov_rad": vfov,
        "pixel_pitch_mm": pitch_mm, "focal_mm": focal, "observed": observed,
    }
    for code in np.unique(epsg):
        zone = np.flatnonzero((epsg == code) & np.isfinite(h) & (h > 0))
        if not len(zone):
            continue
        terrain = None if dem is None else _zone_terrain(dem, int(code), lon, lat, reach, zone)
        for start in range(0, len(zone), _BLOCK):
            sel = zone[start : start + _BLOCK]
            x, y = to_local(lon[sel], lat[sel], code)
            rings, centre_gsd[sel], best_gsd[sel] = _block_footprints(
                x, y, {k: v[sel] for k, v in per_sample.items()}, m=m, terrain=terrain
            )
            ok = np.isfinite(rings).all(axis=(1, 2))
            glon, glat = to_geographic(rings[ok, :, 0].ravel(), rings[ok, :, 1].ravel(), code)
            rings_geo[sel[ok]] = np.stack([glon, glat], axis=-1).reshape(-1, m, 2)
    out = pd.DataFrame(
        {c: samples[c].to_numpy() for c in ("flight_id", "time", "source_row") if c in samples}
    )
    out["mode"] = mode
    out["pose_source"] = np.where(observed, pose.source, "potential mode").astype(object)
    out["camera_yaw_deg"] = np.where(observed, pose.yaw_deg, np.nan)
    out["camera_pitch_deg"] = np.where(observed, pose.pitch_deg, np.nan)
    out["camera_roll_deg"] = np.where(observed, pose.roll_deg, np.nan)
    out["focal_mm"] = focal
    out["focal_source"] = focal_sources(samples, worst_case=worst_case)
    out["height_m"] = h
    out["height_source"] = heights["height_source"].to_numpy()
    out["reach_m"] = reach
    out["centre_gsd_m"] = centre_gsd
    out["best_gsd_m"] = best_gsd
    out["best_niirs"] = np.where(np.isfinite(best_gsd), niirs(best_gsd, video=video), np.nan)
    result = gpd.GeoDataFrame(out, geometry=ring_polygons(rings_geo), crs="EPSG:4326")
    result.attrs["assumptions"] = _assumptions(pose.assumptions, heights, dem, mode, force)
    return result


def _zone_terrain(
    dem: Dem,
    code: int,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    reach: NDArray[np.float64],
    zone: NDArray[np.int64],
) -> Dem | None:
    """Warp the DEM into one UTM/UPS zone, over the zone's samples and their reach only."""
    x, y = to_local(lon[zone], lat[zone], code)
    pad = float(np.nanmax(reach[zone], initial=0.0)) + 2 * dem.resolution_m
    to_zone = Transformer.from_crs(dem.crs, CRS.from_epsg(code), always_xy=True)
    dxmin, dymin, dxmax, dymax = to_zone.transform_bounds(*dem.bounds)
    # Only where the DEM has data: a fleet flying far off the DEM must not get a huge grid.
    box = (max(x.min() - pad, dxmin), max(y.min() - pad, dymin),
           min(x.max() + pad, dxmax), min(y.max() + pad, dymax))
    if box[0] >= box[2] or box[1] >= box[3]:
        return None
    return local_dem(dem, code, bounds=box)


def _block_footprints(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    p: dict[str, NDArray],
    *,
    m: int,
    terrain: Dem | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Rings, image-centre GSD and best GSD of one block of samples in one zone."""
    common = {"x": x, "y": y, "height_m": p["height_m"], "reach_m": p["reach_m"]}
    obs = p["observed"]
    rings = reach_rings(**common, n_vertices=m)
    if obs.any():
        rings[obs] = footprint_rings(
            **{k: v[obs] for k, v in common.items()},
            **{k: p[k][obs] for k in ("yaw_deg", "pitch_deg", "roll_deg", "hfov_rad", "vfov_rad")},
            n_per_edge=m // 4,
            terrain=terrain,
        )
    centre = boresight_points(
        **common, yaw_deg=p["yaw_deg"], pitch_deg=p["pitch_deg"], terrain=terrain
    )
    rate = {"pixel_pitch_mm": p["pixel_pitch_mm"], "focal_mm": p["focal_mm"]}
    below = p["height_m"]
    if terrain is not None:
        # Height of the camera above the ground point it looks at, not above its own.
        g0 = elevation_xy(terrain, x, y)
        gc = elevation_xy(terrain, centre[:, 0], centre[:, 1])
        below = np.where(np.isfinite(g0 - gc), below + g0 - gc, below)
    horizontal = np.hypot(centre[:, 0] - x, centre[:, 1] - y)
    centre_gsd = np.where(obs, slant_gsd_m(horizontal, below, **rate), np.nan)
    best_gsd = slant_gsd_m(_distance_to_rings(rings, x, y), p["height_m"], **rate)
    return rings, centre_gsd, best_gsd


def _assumptions(
    pose_notes: tuple[str, ...],
    heights: pd.DataFrame,
    dem: Dem | None,
    mode: NDArray[np.object_],
    force: str | None,
) -> list[str]:
    notes = list(pose_notes)
    if force == "potential":
        notes.append("potential mode forced: every footprint is the ground within reach")
    counts = heights["height_source"].value_counts()
    for source, count in counts.items():
        if source == "alt_msl_m − DEM":
            notes.append(f"{count} samples: height above ground = alt_msl_m − DEM ({dem.source})")
        elif source == "log: above take-off":
            notes.append(
                f"{count} samples: height above the take-off point used as height above the "
                "ground (the ground taken as level with the take-off point)"
            )
        elif source in ("log: reference unknown", "unknown"):
            notes.append(f"{count} samples: height {source.removeprefix('log: ')}")
    if dem is not None:
        notes.append(
            f"terrain from {dem.source} at about {dem.resolution_m:.0f} m: a DEM of this kind "
            "is bare, smoothed ground; buildings and trees are not in it"
        )
    n_potential = int((mode == "potential").sum())
    if n_potential and force != "potential":
        notes.append(f"{n_potential} samples rated in potential mode (no camera pose)")
    return notes

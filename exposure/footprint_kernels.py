"""Ray geometry and the compiled kernels that turn camera poses into footprint rings.

General footprints (:func:`exposure.footprint.footprint_rings`,
:func:`exposure.footprint_frames.footprints`), for N poses at once:

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

:func:`ground_points` runs the kernels on any image points: the image border gives the
footprint rings, the image centre alone the boresight points.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from exposure.errors import ExposureError
from exposure.terrain import Dem, ray_distances

__all__ = [
    "border_uv",
    "ground_points",
    "pose_array",
    "ray_directions",
    "rotation_matrices",
]


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


def pose_array(name: str, value: ArrayLike, n: int) -> NDArray[np.float64]:
    """One float per pose: a single value repeated ``n`` times, or an array of shape (n,).

    Raises
    ------
    ExposureError
        If ``value`` is an array of another shape; ``name`` names it in the message.

    Examples
    --------
    >>> pose_array("height_m", 100.0, 3).tolist()
    [100.0, 100.0, 100.0]
    """
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr))
    if arr.shape != (n,):
        raise ExposureError(f"{name} has shape {arr.shape}, expected ({n},) or a single value")
    return np.ascontiguousarray(arr)


def ground_points(
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
    """Where rays through image points meet the ground, within the reach; shape (N, M, 2).

    Parameters
    ----------
    x, y, height_m, yaw_deg, pitch_deg, roll_deg, hfov_rad, vfov_rad, reach_m : array_like
        The poses, one value each or a single value for all (as for
        :func:`exposure.footprint.footprint_rings`).
    uv : numpy.ndarray
        (M, 2) image points in normalised image coordinates (:func:`border_uv` for the border).
    terrain : Dem or None
        A north-up DEM in the same metric CRS as ``x, y``; None for flat ground.
    finish : bool
        Turn each pose's points into a convex, counter-clockwise ring (NaN when degenerate).

    Returns
    -------
    numpy.ndarray
        Shape (N, M, 2), x east and y north; NaN for a pose without a usable height, reach or
        orientation.

    Raises
    ------
    ExposureError
        If an array has the wrong length.

    Examples
    --------
    The image centre, 45° below the horizon from 100 m, looking east:

    >>> ground_points(x=[0.0], y=[0.0], height_m=100.0, yaw_deg=90.0, pitch_deg=-45.0,
    ...     roll_deg=0.0, hfov_rad=0.0, vfov_rad=0.0, reach_m=5000.0, uv=np.zeros((1, 2)),
    ...     terrain=None, finish=False).round(6).tolist()
    [[[100.0, 0.0]]]
    """
    n = len(np.atleast_1d(np.asarray(x)))
    args = {
        name: pose_array(name, value, n)
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

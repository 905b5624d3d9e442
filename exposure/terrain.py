"""Terrain: a digital elevation model (DEM), heights above ground, and line of sight.

A DEM is a GeoTIFF in any CRS, read with rasterio into memory (:func:`read_dem`; a window
around the area of interest when ``bounds`` is given), nodata as NaN. Elevations are
interpolated bilinearly between pixel centres. Geometry that marches along rays (footprints on
the terrain, line of sight) works in a local metric CRS: :func:`local_dem` warps the DEM into
one (bilinear resampling, square cells at about the DEM's own resolution).

- **Heights above ground** (:func:`heights_above_ground`): ``alt_msl_m − DEM(x, y)`` where the
  sample has an altitude above sea level and the DEM a value; otherwise the log's own height,
  whose reference (take-off point or ground) is reported per sample. ``alt_msl_m`` is taken to
  be in the DEM's vertical datum (SRTM: EGM96 geoid); an altitude above the WGS 84 ellipsoid
  would be off by the geoid undulation (about −30 m in Georgia, +35 m in Japan).
- **Rays on the terrain** (:func:`ray_distances`): each ray is marched one DEM cell at a time
  and the crossing interpolated between the last sample above and the first below.
- **Line of sight** (:func:`visible`): a ground point T is visible from O when no terrain sample
  along O→T (one per DEM cell) rises above the straight sight line. Heights are corrected for
  earth curvature and standard refraction by subtracting ``(1 − k)·d²/(2R)`` at distance ``d``
  from O, ``k = 1/7``, ``R = 6371 km`` (6.7 m at 10 km; :func:`curvature_drop_m`). No full
  viewshed is computed: only the points asked about.
- A 30 m DEM such as SRTM describes the bare ground smoothed over 30 m cells: buildings,
  trees and walls that hide or expose a site are not in it, so line of sight from it is a
  terrain-only answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from affine import Affine
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from exposure.errors import ExposureError

__all__ = [
    "EARTH_RADIUS_M",
    "REFRACTION_K",
    "Dem",
    "TerrainError",
    "curvature_drop_m",
    "elevation",
    "elevation_xy",
    "heights_above_ground",
    "local_dem",
    "ray_distances",
    "read_dem",
    "visible",
]

#: Mean earth radius, metres.
EARTH_RADIUS_M = 6_371_000.0

#: Coefficient of standard atmospheric refraction (the sight line bends with the earth by k).
REFRACTION_K = 1.0 / 7.0

_M_PER_DEG = 111_320.0


class TerrainError(ExposureError):
    """A DEM cannot be read or used.

    No CRS, no data over the area, a geographic CRS where metres are needed, ...
    """


@dataclass(frozen=True, eq=False)
class Dem:
    """An elevation raster held in memory.

    Attributes
    ----------
    values : numpy.ndarray
        (rows, cols) float64 elevations in metres; NaN where there is no data.
    transform : affine.Affine
        Pixel (col, row) of the top-left corner → CRS coordinates, as rasterio gives it.
    crs : pyproj.CRS
        The raster's CRS.
    source : str
        Where the values came from (a path, or a description).

    Examples
    --------
    A 2 × 2 raster of 10 m cells in UTM zone 16 N:

    >>> dem = Dem(np.array([[0.0, 10.0], [20.0, 30.0]]), Affine(10, 0, 0, 0, -10, 20), 32616)
    >>> dem.resolution_m, dem.bounds
    (10.0, (0.0, 0.0, 20.0, 20.0))
    """

    values: NDArray[np.float64]
    transform: Affine
    crs: CRS
    source: str = "memory"

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        problems = []
        if values.ndim != 2 or min(values.shape) < 2:
            problems.append(f"values have shape {values.shape}, expected at least 2 × 2")
        try:
            crs = CRS.from_user_input(self.crs)
        except Exception as exc:  # pyproj raises its own error type for anything unusable
            problems.append(f"CRS {self.crs!r} is not usable ({exc})")
            crs = None
        if not isinstance(self.transform, Affine):
            problems.append(f"transform {self.transform!r} is not an affine.Affine")
        if problems:
            raise TerrainError(f"DEM {self.source}: " + "; ".join(problems))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "crs", crs)

    @property
    def north_up(self) -> bool:
        """True when rows run north to south with no rotation."""
        t = self.transform
        return t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the DEM's CRS (of a north-up raster)."""
        rows, cols = self.values.shape
        t = self.transform
        xs = (t.c, t.c + t.a * cols)
        ys = (t.f, t.f + t.e * rows)
        return (float(min(xs)), float(min(ys)), float(max(xs)), float(max(ys)))

    @property
    def resolution_m(self) -> float:
        """Approximate cell size in metres (the smaller side; degrees converted at mid-latitude)."""
        t = self.transform
        dx, dy = abs(t.a), abs(t.e)
        if self.crs.is_geographic:
            lat = np.radians((self.bounds[1] + self.bounds[3]) / 2)
            return float(min(dx * _M_PER_DEG * np.cos(lat), dy * _M_PER_DEG))
        return float(min(dx, dy))


def read_dem(
    path: str | Path, *, bounds: tuple[float, float, float, float] | None = None
) -> Dem:
    """Read a DEM GeoTIFF (any CRS) into memory.

    Parameters
    ----------
    path : str or pathlib.Path
        A single-band raster that rasterio (GDAL) can read.
    bounds : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` of the area of interest in EPSG:4326; only
        a window covering it (plus one cell) is read, which keeps a national DEM out of memory.

    Returns
    -------
    Dem
        Elevations in metres as float64, nodata as NaN.

    Raises
    ------
    TerrainError
        If the file cannot be opened as a raster, has no CRS, or has no cell within ``bounds``.
    """
    # rasterio is imported here, not at module level: only commands given a DEM pay its start-up.
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window, from_bounds

    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise TerrainError(f"{path}: the raster has no CRS, expected a georeferenced DEM")
            window = None
            if bounds is not None:
                to_dem = Transformer.from_crs(4326, CRS.from_user_input(src.crs), always_xy=True)
                box = to_dem.transform_bounds(*bounds)
                exact = from_bounds(*box, transform=src.transform)
                # Whole pixels covering the box, plus one on each side for interpolation.
                c0 = max(math.floor(exact.col_off) - 1, 0)
                r0 = max(math.floor(exact.row_off) - 1, 0)
                c1 = min(math.ceil(exact.col_off + exact.width) + 1, src.width)
                r1 = min(math.ceil(exact.row_off + exact.height) + 1, src.height)
                if c1 - c0 >= 2 and r1 - r0 >= 2:
                    window = Window(c0, r0, c1 - c0, r1 - r0)
                if window is None:
                    raise TerrainError(
                        f"{path}: no DEM cells within lon/lat bounds {tuple(bounds)} "
                        f"(the DEM covers {tuple(round(v, 4) for v in src.bounds)} "
                        f"in {src.crs})"
                    )
            band = src.read(1, window=window, masked=True)
            t = src.transform
            if window is not None:
                # The window's own transform, written out: rasterio's helper warns under
                # recent affine releases.
                c0, r0 = window.col_off, window.row_off
                t = Affine(t.a, t.b, t.c + c0 * t.a + r0 * t.b, t.d, t.e, t.f + c0 * t.d + r0 * t.e)
            crs = CRS.from_user_input(src.crs)
    except RasterioError as exc:
        raise TerrainError(f"{path}: cannot read as a DEM raster ({exc})") from None
    values = np.ma.filled(band.astype(np.float64), np.nan)
    return Dem(values, t, crs, source=str(path))


def elevation_xy(dem: Dem, x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """Bilinear elevation at points given in the DEM's own CRS; NaN off the raster or its data.

    Examples
    --------
    >>> dem = Dem(np.array([[0.0, 10.0], [20.0, 30.0]]), Affine(10, 0, 0, 0, -10, 20), 32616)
    >>> elevation_xy(dem, [5.0, 10.0, 15.0, 50.0], [15.0, 10.0, 5.0, 0.0]).tolist()
    [0.0, 15.0, 30.0, nan]
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    inv = ~dem.transform
    col = inv.a * x + inv.b * y + inv.c
    row = inv.d * x + inv.e * y + inv.f
    return _bilinear_px(dem.values, col - 0.5, row - 0.5)


def _bilinear_px(values: NDArray[np.float64], fc: NDArray, fr: NDArray) -> NDArray[np.float64]:
    """Bilinear interpolation at fractional pixel-centre coordinates (column, row)."""
    rows, cols = values.shape
    fc, fr = np.broadcast_arrays(np.asarray(fc, float), np.asarray(fr, float))
    # Points within half a cell of the raster edge are clamped onto the outer pixel centres.
    inside = (fc >= -0.5) & (fc <= cols - 0.5) & (fr >= -0.5) & (fr <= rows - 0.5)
    fc = np.clip(np.nan_to_num(fc), 0.0, cols - 1.0)
    fr = np.clip(np.nan_to_num(fr), 0.0, rows - 1.0)
    c0 = np.minimum(np.floor(fc).astype(np.int64), cols - 2)
    r0 = np.minimum(np.floor(fr).astype(np.int64), rows - 2)
    tc, tr = fc - c0, fr - r0
    top = values[r0, c0] * (1 - tc) + values[r0, c0 + 1] * tc
    bottom = values[r0 + 1, c0] * (1 - tc) + values[r0 + 1, c0 + 1] * tc
    z = top * (1 - tr) + bottom * tr
    return np.where(inside, z, np.nan)


def elevation(dem: Dem, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.float64]:
    """Bilinear elevation at longitudes/latitudes (EPSG:4326), whatever the DEM's CRS.

    Examples
    --------
    >>> dem = Dem(np.array([[0.0, 10.0], [20.0, 30.0]]), Affine(1, 0, 0, 0, -1, 2), 4326)
    >>> elevation(dem, [0.5, 1.0], [1.5, 1.0]).tolist()
    [0.0, 15.0]
    """
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    if dem.crs.equals(CRS.from_epsg(4326)):
        return elevation_xy(dem, lon, lat)
    x, y = Transformer.from_crs(4326, dem.crs, always_xy=True).transform(lon, lat)
    return elevation_xy(dem, x, y)


def heights_above_ground(samples: pd.DataFrame, dem: Dem | None) -> pd.DataFrame:
    """Height of each sample above the ground under it, and how it was obtained.

    Parameters
    ----------
    samples : pandas.DataFrame
        Canonical samples (``lon``, ``lat``, ``alt_msl_m``, ``height_agl_m``, ``height_ref``);
        not modified.
    dem : Dem or None
        Elevation model; without one every height is the log's own.

    Returns
    -------
    pandas.DataFrame
        Index of ``samples``: ``ground_m`` (DEM elevation under the sample, NaN without one),
        ``height_m`` and ``height_source``: ``"alt_msl_m − DEM"``, ``"log: above ground"``,
        ``"log: above take-off"``, ``"log: reference unknown"`` or ``"unknown"``.

    Examples
    --------
    >>> dem = Dem(np.full((3, 3), 250.0), Affine(1, 0, 139, 0, -1, 36), 4326)
    >>> s = pd.DataFrame({"lon": [140.0, 140.0, 150.0], "lat": [35.0, 35.0, 35.0],
    ...                   "alt_msl_m": [400.0, None, 400.0], "height_agl_m": [90.0, 80.0, None],
    ...                   "height_ref": ["takeoff", "takeoff", "takeoff"]})
    >>> heights_above_ground(s, dem)[["height_m", "height_source"]].values.tolist()
    [[150.0, 'alt_msl_m − DEM'], [80.0, 'log: above take-off'], [nan, 'unknown']]
    """
    n = len(samples)

    def col(name: str) -> NDArray[np.float64]:
        if name not in samples:
            return np.full(n, np.nan)
        series = pd.to_numeric(samples[name], errors="coerce")
        return series.to_numpy(dtype=float, na_value=np.nan)

    ground = np.full(n, np.nan)
    if dem is not None and n:
        ground = elevation(dem, col("lon"), col("lat"))
    alt = col("alt_msl_m")
    logged = col("height_agl_m")
    ref = (
        samples["height_ref"].astype(object).fillna("unknown").to_numpy()
        if "height_ref" in samples
        else np.full(n, "unknown", dtype=object)
    )
    from_dem = np.isfinite(alt) & np.isfinite(ground)
    log_words = np.select(
        [ref == "ground", ref == "takeoff"],
        ["log: above ground", "log: above take-off"],
        default="log: reference unknown",
    )
    source = np.where(
        from_dem, "alt_msl_m − DEM", np.where(np.isfinite(logged), log_words, "unknown")
    )
    out = pd.DataFrame(
        {
            "ground_m": ground,
            "height_m": np.where(from_dem, alt - ground, logged),
            "height_source": source.astype(object),
        },
        index=samples.index,
    )
    return out


def local_dem(
    dem: Dem,
    epsg: int,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    cell_m: float | None = None,
) -> Dem:
    """Warp a DEM into a metric CRS (north-up, square cells) for ray marching.

    Parameters
    ----------
    dem : Dem
        Any CRS.
    epsg : int
        The metric CRS, e.g. a UTM zone from :func:`exposure.crs.local_epsg`.
    bounds : tuple of float, optional
        ``(xmin, ymin, xmax, ymax)`` in ``epsg`` to cover; the whole DEM by default.
    cell_m : float, optional
        Cell size; the DEM's own resolution by default.

    Returns
    -------
    Dem
        Bilinearly resampled; NaN where the source has no data.

    Raises
    ------
    TerrainError
        If ``epsg`` is not a projected CRS, or the area is too large to hold.

    Examples
    --------
    A tilted plane in longitude/latitude, warped into UTM zone 54 N:

    >>> lon, lat = np.meshgrid(np.arange(139.0, 139.2, 0.01), np.arange(35.2, 35.0, -0.01))
    >>> dem = Dem(1000 * (lon - 139.0), Affine(0.01, 0, 138.995, 0, -0.01, 35.205), 4326)
    >>> utm = local_dem(dem, 32654, cell_m=50.0)
    >>> utm.resolution_m, utm.crs.to_epsg()
    (50.0, 32654)
    >>> x, y = 320_000.0, 3_892_000.0  # a point inside, in UTM 54 N
    >>> from exposure.crs import to_geographic
    >>> float(np.round(elevation_xy(utm, [x], [y])[0] - 1000 * (to_geographic(x, y, 32654)[0]
    ...       - 139.0), 1))
    0.0
    """
    from rasterio.warp import Resampling, reproject

    dst_crs = CRS.from_user_input(int(epsg))
    if not dst_crs.is_projected:
        raise TerrainError(f"local_dem: EPSG:{epsg} is not a projected (metric) CRS")
    cell = float(cell_m) if cell_m is not None else dem.resolution_m
    if bounds is None:
        to_dst = Transformer.from_crs(dem.crs, dst_crs, always_xy=True)
        bounds = to_dst.transform_bounds(*dem.bounds)
    xmin, ymin, xmax, ymax = bounds
    cols = int(np.ceil((xmax - xmin) / cell)) + 1
    rows = int(np.ceil((ymax - ymin) / cell)) + 1
    if cols * rows > 200_000_000:
        raise TerrainError(
            f"local_dem: {cols} × {rows} cells of {cell:g} m asked for; expected at most 2e8 "
            "(give smaller bounds or a larger cell_m)"
        )
    transform = Affine(cell, 0.0, xmin - cell / 2, 0.0, -cell, ymax + cell / 2)
    out = np.full((rows, cols), np.nan)
    reproject(
        source=dem.values,
        destination=out,
        src_transform=dem.transform,
        src_crs=dem.crs.to_wkt(),
        src_nodata=np.nan,
        dst_transform=transform,
        dst_crs=dst_crs.to_wkt(),
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return Dem(out, transform, dst_crs, source=f"{dem.source} warped to EPSG:{epsg}")


def curvature_drop_m(
    distance_m: ArrayLike, *, k: float = REFRACTION_K, radius_m: float = EARTH_RADIUS_M
) -> NDArray[np.float64]:
    """Apparent drop of the ground at a distance, earth curvature less refraction.

    ``(1 − k)·d²/(2R)``.

    Examples
    --------
    >>> round(float(curvature_drop_m(10_000.0)), 2)
    6.73
    """
    d = np.asarray(distance_m, float)
    return (1.0 - k) * d * d / (2.0 * radius_m)


def _metric_grid(dem: Dem, what: str) -> tuple[float, float, float, float]:
    """(left, top, cell x, cell y) of a north-up DEM in metres, or TerrainError."""
    if not dem.crs.is_projected or not dem.north_up:
        raise TerrainError(
            f"{what}: DEM {dem.source} is in {dem.crs.name}; expected a north-up raster in a "
            "metric CRS (warp it with local_dem(dem, epsg))"
        )
    t = dem.transform
    return float(t.c), float(t.f), float(t.a), float(t.e)


@numba.njit(cache=True)
def _z_at(values, left, top, dx, dy, x, y):  # pragma: no cover - compiled
    """Bilinear elevation in a north-up metric grid; NaN off the grid.

    The compiled twin of :func:`_bilinear_px`.
    """
    rows, cols = values.shape
    fc = (x - left) / dx - 0.5
    fr = (y - top) / dy - 0.5
    if not (fc >= -0.5 and fc <= cols - 0.5 and fr >= -0.5 and fr <= rows - 0.5):
        return np.nan
    fc = min(max(fc, 0.0), cols - 1.0)
    fr = min(max(fr, 0.0), rows - 1.0)
    c0 = min(int(np.floor(fc)), cols - 2)
    r0 = min(int(np.floor(fr)), rows - 2)
    tc = fc - c0
    tr = fr - r0
    z_top = values[r0, c0] * (1.0 - tc) + values[r0, c0 + 1] * tc
    z_bottom = values[r0 + 1, c0] * (1.0 - tc) + values[r0 + 1, c0 + 1] * tc
    return z_top * (1.0 - tr) + z_bottom * tr


@numba.njit(cache=True)
def _march(values, left, top, dx, dy, x, y, z0, g0, ee, en, slope, limit, step):
    """Horizontal distance at which a ray first meets the terrain, or inf within ``limit``.

    Samples every ``step`` metres; the crossing is interpolated linearly between the last
    sample above the terrain and the first at or below it (exact on a plane). Where the DEM has
    no data the ground is taken at ``g0``, the elevation under the drone.
    """
    s_prev = 0.0
    f_prev = z0 - g0
    n_steps = int(np.ceil(limit / step))
    for k in range(1, n_steps + 1):
        s = min(k * step, limit)
        z = _z_at(values, left, top, dx, dy, x + s * ee, y + s * en)
        if z != z:
            z = g0
        f = z0 - slope * s - z
        if f <= 0.0:
            return s_prev + (s - s_prev) * f_prev / (f_prev - f)
        s_prev = s
        f_prev = f
    return np.inf


@numba.njit(cache=True, parallel=True)
def _ray_distances_kernel(
    values, left, top, dx, dy, step, x, y, h, north, east, down, limit, out
):  # pragma: no cover - compiled
    n, m = north.shape
    rows, cols = values.shape
    right = left + cols * dx
    bottom = top + rows * dy
    for i in numba.prange(n):
        g0 = _z_at(values, left, top, dx, dy, x[i], y[i])
        if not (g0 == g0 and h[i] > 0.0 and limit[i] >= 0.0):
            out[i, :] = np.nan
            continue
        # Past the grid's farthest corner the ground is the plane at g0: no need to march on.
        far = 0.0
        for cx in (left, right):
            for cy in (top, bottom):
                far = max(far, np.sqrt((cx - x[i]) ** 2 + (cy - y[i]) ** 2))
        on_grid = min(limit[i], far + step)
        z0 = g0 + h[i]
        for k in range(m):
            hn = np.sqrt(north[i, k] ** 2 + east[i, k] ** 2)
            if hn <= 1e-12 * abs(down[i, k]):
                out[i, k] = 0.0 if down[i, k] > 0.0 else np.inf
                continue
            slope = down[i, k] / hn
            s = _march(values, left, top, dx, dy, x[i], y[i], z0, g0, east[i, k] / hn,
                       north[i, k] / hn, slope, on_grid, step)
            if s == np.inf and on_grid < limit[i]:
                if z0 - slope * on_grid <= g0:
                    s = on_grid
                elif slope > 0.0 and (z0 - g0) / slope <= limit[i]:
                    s = (z0 - g0) / slope
            out[i, k] = s
    return out


def ray_distances(
    dem: Dem,
    *,
    x: ArrayLike,
    y: ArrayLike,
    height_m: ArrayLike,
    directions: ArrayLike,
    limit_m: ArrayLike,
) -> NDArray[np.float64]:
    """Where rays from N cameras first meet the terrain: horizontal distance along each azimuth.

    Each ray is marched one DEM cell at a time from the camera, ``height_m`` above the DEM
    under it, and the crossing is interpolated linearly between the last sample above the
    terrain and the first below (so a flat DEM gives the exact flat-ground distance). Cells
    without data count as ground at the camera's own ground level.

    Parameters
    ----------
    dem : Dem
        North-up, in a metric CRS (see :func:`local_dem`).
    x, y : array_like
        (N,) camera positions in the DEM's CRS.
    height_m : array_like
        (N,) camera heights above the DEM under them.
    directions : array_like
        (N, M, 3) ray directions (north, east, down), e.g. from
        :func:`exposure.footprint_kernels.ray_directions`.
    limit_m : array_like
        (N,) horizontal distance beyond which a ray is not followed.

    Returns
    -------
    numpy.ndarray
        (N, M) metres: inf where a ray meets no terrain within the limit, 0 for a ray straight
        down, NaN for every ray of a camera with no DEM value under it.

    Examples
    --------
    Rays 45° down from 100 m over flat ground at 250 m, and one level with the horizon:

    >>> dem = Dem(np.full((50, 50), 250.0), Affine(10, 0, -250, 0, -10, 250), 32616)
    >>> rays = np.array([[[1.0, 0.0, 1.0], [0.0, -1.0, 1.0], [1.0, 0.0, 0.0]]])
    >>> ray_distances(dem, x=[0.0], y=[0.0], height_m=[100.0], directions=rays,
    ...               limit_m=[200.0]).tolist()
    [[100.0, 100.0, inf]]
    """
    left, top, dx, dy = _metric_grid(dem, "ray_distances")
    d = np.asarray(directions, dtype=np.float64)
    x = np.ascontiguousarray(x, dtype=np.float64)
    n = len(x)
    if d.ndim != 3 or d.shape[0] != n or d.shape[2] != 3:
        raise TerrainError(f"ray_distances: directions have shape {d.shape}, expected ({n}, M, 3)")
    out = np.empty(d.shape[:2])
    return _ray_distances_kernel(
        dem.values, left, top, dx, dy, min(abs(dx), abs(dy)), x,
        np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(np.broadcast_to(np.asarray(height_m, float), (n,))),
        np.ascontiguousarray(d[..., 0]), np.ascontiguousarray(d[..., 1]),
        np.ascontiguousarray(d[..., 2]),
        np.ascontiguousarray(np.broadcast_to(np.asarray(limit_m, float), (n,))), out,
    )


@numba.njit(cache=True, parallel=True)
def _visible_kernel(
    values, left, top, dx, dy, ox, oy, oz, tx, ty, tz, step, drop_coeff
):  # pragma: no cover - compiled
    n = len(tx)
    out = np.ones(n, dtype=np.bool_)
    for i in numba.prange(n):
        ddx = tx[i] - ox[i]
        ddy = ty[i] - oy[i]
        dist = np.sqrt(ddx * ddx + ddy * ddy)
        if not (np.isfinite(dist) and np.isfinite(oz[i]) and np.isfinite(tz[i])):
            continue
        # Sight line from O (no drop at d = 0) to T lowered by the drop at its distance.
        zt = tz[i] - drop_coeff * dist * dist
        # Samples stop half a cell short of T: T's own cell is the surface it stands on.
        n_steps = int(np.floor((dist - 0.5 * step) / step))
        for k in range(1, n_steps + 1):
            s = k * step
            f = s / dist
            z = _z_at(values, left, top, dx, dy, ox[i] + f * ddx, oy[i] + f * ddy)
            if z != z:  # no data here: nothing known to block
                continue
            line = oz[i] + (zt - oz[i]) * f
            if z - drop_coeff * s * s > line + 1e-6:
                out[i] = False
                break
    return out


def visible(
    dem: Dem,
    observer_xyz: ArrayLike,
    targets_xy: ArrayLike,
    *,
    target_height_m: float = 0.0,
    k: float = REFRACTION_K,
) -> NDArray[np.bool_]:
    """Whether each target on the ground can be seen from an observer, over the terrain.

    A target is hidden when a terrain sample between observer and target (one per DEM cell,
    heights lowered by :func:`curvature_drop_m` at their distance from the observer) rises above
    the straight line from the observer to the target. The last half cell before the target is
    its own surface and does not count.

    Parameters
    ----------
    dem : Dem
        In a metric CRS, north-up (see :func:`local_dem`).
    observer_xyz : array_like
        ``(3,)`` one observer, or ``(n, 3)`` one per target: x, y in the DEM's CRS and altitude
        in the DEM's vertical datum, metres.
    targets_xy : array_like
        ``(n, 2)`` targets in the DEM's CRS; each stands on the DEM.
    target_height_m : float
        Height of the targets above the ground (e.g. a roof, a mast).
    k : float
        Refraction coefficient.

    Returns
    -------
    numpy.ndarray of bool
        ``(n,)``; a target off the DEM or over nodata counts as visible (nothing known blocks it).

    Raises
    ------
    TerrainError
        If the DEM is not metric and north-up, or the arrays have the wrong shapes.

    Examples
    --------
    A 100 m wall 1 km east of an observer 50 m above flat ground: the ground 2 km east is
    hidden, 500 m east is not.

    >>> z = np.zeros((3, 300)); z[:, 100] = 100.0
    >>> dem = Dem(z, Affine(10, 0, 0, 0, -10, 30), 32616)
    >>> visible(dem, [5.0, 15.0, 50.0], [[2005.0, 15.0], [505.0, 15.0]]).tolist()
    [False, True]
    """
    left, top, dx, dy = _metric_grid(dem, "visible")
    targets = np.asarray(targets_xy, float)
    observers = np.asarray(observer_xyz, float)
    if targets.ndim == 1 and targets.shape == (2,):
        targets = targets[None, :]
    problems = []
    if targets.ndim != 2 or targets.shape[1] != 2:
        problems.append(f"targets_xy has shape {targets.shape}, expected (n, 2)")
    if observers.shape == (3,):
        observers = np.broadcast_to(observers, (len(targets), 3))
    elif observers.ndim != 2 or observers.shape != (len(targets), 3):
        problems.append(f"observer_xyz has shape {observers.shape}, expected (3,) or (n, 3)")
    if problems:
        raise TerrainError("visible: " + "; ".join(problems))
    tz = elevation_xy(dem, targets[:, 0], targets[:, 1]) + target_height_m
    return _visible_kernel(
        dem.values,
        left,
        top,
        dx,
        dy,
        np.ascontiguousarray(observers[:, 0]),
        np.ascontiguousarray(observers[:, 1]),
        np.ascontiguousarray(observers[:, 2]),
        np.ascontiguousarray(targets[:, 0]),
        np.ascontiguousarray(targets[:, 1]),
        tz,
        min(abs(dx), abs(dy)),
        (1.0 - k) / (2.0 * EARTH_RADIUS_M),
    )

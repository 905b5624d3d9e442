"""Turn the geometry of any site source into valid polygons in EPSG:4326.

Every reader ends here, so that a point, a line and a broken polygon become a site polygon by the
same rules:

- **Polygons** are kept; invalid ones are repaired with :func:`shapely.make_valid` (the
  ``"structure"`` method, which keeps only the polygonal result) and counted. Geometry
  collections keep their polygonal parts. A polygon whose edges jump more than 180° in
  longitude crosses the antimeridian (a ring from 179.9°E to 179.9°W is 0.2° wide, not a band
  around the world): it is unwrapped and split into parts on either side of ±180°, and a ring
  that winds once around a pole is closed over the pole (:func:`unwrap_antimeridian`); both
  count as repaired.
- **Points** become geodesic circles: :data:`N_VERTICES` vertices at exactly the radius from the
  centre on the WGS84 ellipsoid (:meth:`pyproj.Geod.fwd`), so a circle is equally true in Hokkaido
  and Okinawa. The inscribed 64-gon has ``64 / (2π) · sin(2π / 64) = 99.84 %`` of the area πr².
  A circle that crosses the antimeridian is split into two parts; one that contains a pole becomes
  a polar cap.
- **Lines and multipoints** are buffered in the UTM zone of their centroid (UPS beyond UTM's
  latitude range), one transformer per zone, and converted back.
- Rows that cannot become a polygon get a rejection reason instead: ``"missing geometry"``,
  ``"empty geometry"``, ``"no polygonal part"`` (a collection of points or lines),
  ``"degenerate polygon"`` (nothing with an area is left after repair), ``"coordinates out of
  range"`` (a latitude beyond ±90°, a longitude beyond ±360°, or a coordinate that is NaN or
  infinite), ``"more than 1000000 vertices"`` (:data:`MAX_VERTICES`) or ``"no usable
  radius"`` (a point or line whose radius is missing, zero, negative or larger than
  :data:`MAX_RADIUS_M`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyproj
import shapely

__all__ = [
    "MAX_RADIUS_M",
    "MAX_VERTICES",
    "N_VERTICES",
    "SitePolygons",
    "buffer_metric",
    "circles",
    "to_site_polygons",
    "unwrap_antimeridian",
]

#: Vertices of the polygon that stands for a circle.
N_VERTICES = 64
#: Most vertices accepted in one site: a detailed base boundary has thousands, a coastline
#: relation hundreds of thousands; beyond this a "site" costs seconds per footprint to test.
MAX_VERTICES = 1_000_000
#: Largest radius (m) of a point or line buffer: a wider "site" is a data error (a radius in the
#: wrong unit), and a geodesic circle past a quarter of the globe no longer encloses its centre.
MAX_RADIUS_M = 1_000_000.0

_GEOD = pyproj.Geod(ellps="WGS84")

# shapely type ids
_POINT, _LINESTRING, _LINEARRING, _POLYGON = 0, 1, 2, 3
_MULTIPOINT, _MULTILINESTRING, _MULTIPOLYGON, _COLLECTION = 4, 5, 6, 7

FloatArray = npt.NDArray[np.float64]
ObjectArray = npt.NDArray[np.object_]


class SitePolygons(NamedTuple):
    """The outcome of :func:`to_site_polygons`, one entry per input geometry."""

    #: Polygon or MultiPolygon in EPSG:4326, None where rejected.
    geometry: ObjectArray
    #: ``"polygon"``, ``"point+<r>m"`` or ``"line+<r>m"``; None where rejected.
    origin: ObjectArray
    #: Rejection reason, None where kept.
    reason: ObjectArray
    #: True where an invalid polygon was repaired.
    repaired: npt.NDArray[np.bool_]


def circles(
    lon: npt.ArrayLike, lat: npt.ArrayLike, radius_m: npt.ArrayLike
) -> ObjectArray:
    """Build geodesic circles around points given in longitude and latitude.

    Parameters
    ----------
    lon, lat : array_like
        Centres in degrees (EPSG:4326).
    radius_m : array_like
        Radius in metres, one per centre or a single value.

    Returns
    -------
    numpy.ndarray
        Polygons (MultiPolygons where a circle crosses the antimeridian), counter-clockwise.

    Examples
    --------
    >>> import pyproj
    >>> (c,) = circles([139.75], [35.68], 1000.0)
    >>> area = pyproj.Geod(ellps="WGS84").geometry_area_perimeter(c)[0]
    >>> round(area / (3.141592653589793 * 1000.0**2), 4)
    0.9984
    """
    lon, lat, radius = (
        np.asarray(a, dtype=float).ravel()
        for a in np.broadcast_arrays(np.asarray(lon), np.asarray(lat), np.asarray(radius_m))
    )
    n, k = len(lon), N_VERTICES
    if n == 0:
        return np.empty(0, dtype=object)
    # decreasing azimuth walks the ring counter-clockwise, as GeoJSON (RFC 7946) recommends
    azimuth = np.linspace(360.0, 0.0, k, endpoint=False)
    x, y, _ = _GEOD.fwd(
        np.repeat(lon, k), np.repeat(lat, k), np.tile(azimuth, n), np.repeat(radius, k)
    )
    x, y = x.reshape(n, k), y.reshape(n, k)
    # Geod.fwd wraps longitudes into [-180, 180]; unwrap them around the centre so that a circle
    # crossing the antimeridian stays one ring (split below)
    x = lon[:, None] + ((x - lon[:, None] + 180.0) % 360.0 - 180.0)
    ring = np.stack([x, y], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    out = shapely.polygons(ring)

    _, _, to_north = _GEOD.inv(lon, lat, lon, np.full(n, 90.0))
    _, _, to_south = _GEOD.inv(lon, lat, lon, np.full(n, -90.0))
    polar = (to_north < radius) | (to_south < radius)
    crosses = ~polar & ((x.max(axis=1) > 180.0) | (x.min(axis=1) < -180.0))
    if crosses.any():
        out[crosses] = _split_antimeridian(out[crosses])
    # a circle around a pole is rare (the South Pole station is in airport lists), so a loop
    for i in np.flatnonzero(polar):
        out[i] = _polar_cap(x[i], y[i], north=to_north[i] < to_south[i])
    return out


def _split_antimeridian(polygons: ObjectArray) -> ObjectArray:
    """Cut polygons whose longitudes run past ±180° into parts on either side of it."""
    world = shapely.box(-180.0, -90.0, 180.0, 90.0)
    parts = [shapely.intersection(polygons, world)]
    for shift in (-360.0, 360.0):
        window = shapely.box(-180.0 - shift, -90.0, 180.0 - shift, 90.0)
        beyond = shapely.intersection(polygons, window)
        parts.append(shapely.transform(beyond, lambda c, s=shift: c + np.array([s, 0.0])))
    return shapely.union_all(np.stack(parts), axis=0)


def _polar_cap(x: FloatArray, y: FloatArray, *, north: bool) -> shapely.Polygon:
    """Close a ring of points around a pole along the antimeridian and the pole itself."""
    x = ((x + 180.0) % 360.0) - 180.0
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    gap = (180.0 - x[-1]) + (x[0] + 180.0)
    t = (180.0 - x[-1]) / gap if gap > 0 else 0.0
    edge = y[-1] + t * (y[0] - y[-1])
    pole = 90.0 if north else -90.0
    ring = [(-180.0, edge), *zip(x, y, strict=True), (180.0, edge), (180.0, pole), (-180.0, pole)]
    return shapely.Polygon(ring)


def unwrap_antimeridian(geoms: npt.ArrayLike) -> tuple[ObjectArray, npt.NDArray[np.bool_]]:
    """Split polygons that cross the antimeridian, and close rings that wind around a pole.

    A ring is taken to cross the antimeridian where two consecutive vertices are more than 180°
    of longitude apart: the short way round is meant. Its longitudes are unwrapped (holes are
    shifted next to their shell), a ring that then ends 360° from where it began is closed over
    the pole on its side of the equator, and the result is cut at ±180°.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry or None
        Polygons and MultiPolygons in longitude and latitude; other geometries pass unchanged.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The geometries, and True where one was changed.

    Examples
    --------
    >>> import shapely
    >>> band = shapely.Polygon([(179.9, 0), (-179.9, 0), (-179.9, 1), (179.9, 1)])
    >>> (fixed,), changed = unwrap_antimeridian([band])
    >>> fixed.geom_type, round(fixed.area, 6), changed.tolist()
    ('MultiPolygon', 0.2, [True])
    """
    geoms = np.asarray(geoms, dtype=object).ravel().copy()
    changed = np.zeros(len(geoms), dtype=bool)
    kind = shapely.get_type_id(geoms)
    areal = np.isin(kind, [_POLYGON, _MULTIPOLYGON]) & ~shapely.is_empty(geoms)
    # only a geometry wider than 180° can hold an edge that jumps more than 180°
    bounds = shapely.bounds(geoms[areal])
    wide = np.flatnonzero(areal)[bounds[:, 2] - bounds[:, 0] > 180.0]
    for i in wide:  # rare: a handful of sites near the antimeridian or a pole in any catalogue
        original = shapely.get_parts(geoms[i])
        parts = [_unwrap_polygon(p) for p in original]
        if any(p is not None for p in parts):
            fixed = [p if p is not None else q for p, q in zip(parts, original, strict=True)]
            geoms[i] = shapely.union_all(_split_antimeridian(np.asarray(fixed, dtype=object)))
            changed[i] = True
    return geoms, changed


def _unwrap_ring(x: FloatArray) -> FloatArray:
    step = (np.diff(x) + 180.0) % 360.0 - 180.0
    return np.concatenate([x[:1], x[0] + np.cumsum(step)])


def _unwrap_polygon(polygon: shapely.Polygon) -> shapely.Polygon | None:
    """Unwrap the polygon's longitudes; None if no edge crosses the antimeridian."""
    rings = [np.asarray(polygon.exterior.coords)[:, :2]]
    rings += [np.asarray(r.coords)[:, :2] for r in polygon.interiors]
    if not any((np.abs(np.diff(r[:, 0])) > 180.0).any() for r in rings):
        return None
    shell = rings[0].copy()
    shell[:, 0] = _unwrap_ring(shell[:, 0])
    turn = shell[-1, 0] - shell[0, 0]
    if abs(turn) > 180.0:
        # the shell winds once around a pole: run along the pole's parallel to close it
        pole = 90.0 if shell[:, 1].mean() >= 0.0 else -90.0
        shell = np.vstack([shell, [[shell[-1, 0], pole], [shell[0, 0], pole]], shell[:1]])
    centre = shell[:, 0].mean()
    holes = []
    for ring in rings[1:]:
        ring = ring.copy()
        ring[:, 0] = _unwrap_ring(ring[:, 0])
        ring[:, 0] += 360.0 * np.round((centre - ring[:, 0].mean()) / 360.0)
        holes.append(ring)
    return shapely.make_valid(shapely.Polygon(shell, holes), method="structure")


def _utm_epsg(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.int64]:
    """EPSG code of the WGS84 UTM zone of each point, or of UPS beyond 84°N / 80°S."""
    zone = np.floor((lon + 180.0) / 6.0).astype(np.int64) % 60 + 1
    code = np.where(lat >= 0.0, 32600, 32700) + zone
    code = np.where(lat > 84.0, 32661, code)
    return np.where(lat < -80.0, 32761, code)


def buffer_metric(geoms: npt.ArrayLike, radius_m: npt.ArrayLike) -> ObjectArray:
    """Buffer geometries given in EPSG:4326 by a distance in metres.

    Each geometry is buffered in the UTM zone of its centroid (UPS near the poles), as
    :meth:`geopandas.GeoSeries.estimate_utm_crs` would choose for it alone, with one transformer
    per zone; the result is converted back to EPSG:4326.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry
        In longitude and latitude.
    radius_m : array_like
        Buffer distance in metres, one per geometry or a single value.

    Returns
    -------
    numpy.ndarray
        Polygons or MultiPolygons in EPSG:4326.

    Examples
    --------
    >>> import shapely
    >>> (b,) = buffer_metric([shapely.LineString([(139.70, 35.60), (139.71, 35.60)])], 100.0)
    >>> b.geom_type, round(b.bounds[3] - b.bounds[1], 5)
    ('Polygon', 0.0018)
    """
    geoms = np.asarray(geoms, dtype=object).ravel()
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), geoms.shape)
    out = np.full(len(geoms), None, dtype=object)
    centre = shapely.centroid(geoms)
    codes = _utm_epsg(shapely.get_x(centre), shapely.get_y(centre))
    for code in np.unique(codes):
        group = codes == code
        forward = pyproj.Transformer.from_crs(4326, int(code), always_xy=True)
        back = pyproj.Transformer.from_crs(int(code), 4326, always_xy=True)
        metric = shapely.transform(geoms[group], forward.transform, interleaved=False)
        buffered = shapely.buffer(metric, radius[group], quad_segs=16)
        out[group] = shapely.transform(buffered, back.transform, interleaved=False)
    return out


def _radius_label(kind: str, radius: FloatArray) -> ObjectArray:
    text = [np.format_float_positional(r, trim="-") for r in radius]
    return np.array([f"{kind}+{t}m" for t in text], dtype=object)


def _polygonal_parts(collections: ObjectArray) -> ObjectArray:
    """Keep the polygons of geometry collections (None where there are none)."""
    parts, index = shapely.get_parts(collections, return_index=True)
    # one more level flattens the multipolygons a collection may hold
    parts, inner = shapely.get_parts(parts, return_index=True)
    index = index[inner]
    polygon = shapely.get_type_id(parts) == _POLYGON
    out = np.full(len(collections), None, dtype=object)
    if polygon.any():
        shapely.multipolygons(parts[polygon], indices=index[polygon], out=out)
    return out


def _off_earth(geoms: ObjectArray, skip: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Mark the geometries with a coordinate that lies nowhere on earth.

    That is a non-finite coordinate, a latitude beyond ±90°, or a longitude beyond ±360° (a
    ring drawn across the antimeridian may run past ±180°, see :func:`unwrap_antimeridian`).
    """
    bad = np.zeros(len(geoms), dtype=bool)
    idx = np.flatnonzero(~skip)
    if not len(idx):
        return bad
    xy, owner = shapely.get_coordinates(geoms[idx], return_index=True)
    wrong = ~np.isfinite(xy).all(axis=1)
    with np.errstate(invalid="ignore"):
        wrong |= (np.abs(xy[:, 1]) > 90.0) | (np.abs(xy[:, 0]) > 360.0)
    bad[idx[np.unique(owner[wrong])]] = True
    return bad


def to_site_polygons(geoms: npt.ArrayLike, radius_m: npt.ArrayLike) -> SitePolygons:
    """Turn geometries in EPSG:4326 into valid site polygons, with reasons for the rejects.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry or None
        In longitude and latitude. Z coordinates are dropped.
    radius_m : array_like
        Radius in metres for points and lines, one per geometry or a single value.

    Returns
    -------
    SitePolygons
        ``geometry``, ``origin``, ``reason`` and ``repaired``, aligned with ``geoms``.

    Examples
    --------
    >>> import shapely
    >>> bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    >>> r = to_site_polygons([bowtie, shapely.Point(139.7, 35.6), None], 250.0)
    >>> [g.geom_type if g else None for g in r.geometry], r.origin.tolist()
    (['MultiPolygon', 'Polygon', None], ['polygon', 'point+250m', None])
    >>> r.reason.tolist(), r.repaired.tolist()
    ([None, None, 'missing geometry'], [True, False, False])
    """
    geoms = shapely.force_2d(np.asarray(geoms, dtype=object).ravel())
    n = len(geoms)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    out = np.full(n, None, dtype=object)
    origin = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    repaired = np.zeros(n, dtype=bool)

    missing = shapely.is_missing(geoms)
    empty = ~missing & shapely.is_empty(geoms)
    reason[missing] = "missing geometry"
    reason[empty] = "empty geometry"
    off_earth = _off_earth(geoms, missing | empty)
    reason[off_earth] = "coordinates out of range"
    too_big = np.zeros(n, dtype=bool)
    too_big[~missing] = shapely.get_num_coordinates(geoms[~missing]) > MAX_VERTICES
    reason[too_big] = f"more than {MAX_VERTICES} vertices"
    kind = np.where(missing | empty | off_earth | too_big, -1, shapely.get_type_id(geoms))
    needs_radius = np.isin(kind, [_POINT, _LINESTRING, _LINEARRING, _MULTIPOINT, _MULTILINESTRING])
    no_radius = needs_radius & ~(np.isfinite(radius) & (radius > 0) & (radius <= MAX_RADIUS_M))
    reason[no_radius] = "no usable radius"
    kind = np.where(no_radius, -1, kind)

    point = kind == _POINT
    if point.any():
        centre = geoms[point]
        out[point] = circles(shapely.get_x(centre), shapely.get_y(centre), radius[point])
        origin[point] = _radius_label("point", radius[point])
    linear = np.isin(kind, [_LINESTRING, _LINEARRING, _MULTILINESTRING, _MULTIPOINT])
    if linear.any():
        out[linear] = buffer_metric(geoms[linear], radius[linear])
        origin[linear] = np.where(
            kind[linear] == _MULTIPOINT,
            _radius_label("point", radius[linear]),
            _radius_label("line", radius[linear]),
        )

    areal = np.isin(kind, [_POLYGON, _MULTIPOLYGON, _COLLECTION])
    if areal.any():
        cand = geoms[areal].copy()
        coll = kind[areal] == _COLLECTION
        if coll.any():
            cand[coll] = _polygonal_parts(cand[coll])
        nothing = shapely.is_missing(cand)
        cand, wrapped = unwrap_antimeridian(cand)
        broken = ~nothing & ~shapely.is_valid(cand)
        cand[broken] = shapely.make_valid(cand[broken], method="structure", keep_collapsed=False)
        flat = nothing | shapely.is_missing(cand) | shapely.is_empty(cand)
        flat[~flat] = shapely.area(cand[~flat]) <= 0.0
        idx = np.flatnonzero(areal)
        reason[idx[nothing]] = "no polygonal part"
        reason[idx[flat & ~nothing]] = "degenerate polygon"
        ok = ~flat
        out[idx[ok]] = cand[ok]
        origin[idx[ok]] = "polygon"
        repaired[idx[ok & (broken | wrapped)]] = True
    return SitePolygons(out, origin, reason, repaired)

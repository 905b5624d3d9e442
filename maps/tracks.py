"""Flight tracks thinned for the map: few vertices, each still knowing when the drone was there.

A fleet of millions of samples cannot go into a web page vertex by vertex. Tracks are thinned
per flight with the Douglas–Peucker algorithm (``shapely.simplify``): a vertex is dropped when
the simplified line passes within the tolerance of it. The work happens in a local metric
frame per flight (an equirectangular projection about the flight's first sample: east metres
``= Δlon · cos(lat₀) · 111,320``, north metres ``= Δlat · 110,574``, within 1 % of true
distances for flights less than 100 km across), so the tolerance is a distance on the ground.

Simplification keeps vertices, it never moves them; each kept vertex carries the row it came
from (in the line's third coordinate), so its time and every other column come along unchanged.
When a vertex budget is given and the thinned tracks still exceed it, the tolerance doubles
until they fit; :class:`Simplification` says what was done, in words.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from maps.errors import MapError

__all__ = [
    "DEFAULT_MAX_VERTICES",
    "DEFAULT_TOLERANCE_M",
    "POINT_COLUMNS",
    "Simplification",
    "decimate_points",
    "epoch_seconds",
    "simplify_tracks",
]

#: Columns a table of track points must have.
POINT_COLUMNS = ("flight_id", "time", "lon", "lat")

#: Default Douglas–Peucker tolerance on the ground, in metres: below the position error of a
#: consumer GNSS receiver, so the drawn track is as true as the logged one.
DEFAULT_TOLERANCE_M = 5.0

#: Default vertex budget of a map's track layer: about 25 bytes each in the page (coordinates
#: to 1 m and a time step), so the tracks of any fleet stay within a few megabytes.
DEFAULT_MAX_VERTICES = 150_000

# Metres per degree of latitude and of longitude at the equator (WGS 84 mean values).
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0
# Past this tolerance a track is reduced to its end points; doubling further changes nothing.
_MAX_TOLERANCE_M = 1.0e7


@dataclass(frozen=True)
class Simplification:
    """What thinning did to a set of tracks.

    Attributes
    ----------
    flights : int
        Number of flights.
    samples : int
        Vertices before thinning.
    vertices : int
        Vertices kept.
    tolerance_m : float
        Douglas–Peucker tolerance finally used, in metres (0 when nothing was thinned).
    max_vertices : int or None
        The budget asked for.
    """

    flights: int
    samples: int
    vertices: int
    tolerance_m: float
    max_vertices: int | None

    @property
    def within_budget(self) -> bool:
        """Whether the kept vertices fit the budget (always true without one)."""
        return self.max_vertices is None or self.vertices <= self.max_vertices

    def describe(self) -> str:
        """One line for the command line and the provenance box.

        Examples
        --------
        >>> Simplification(3, 12_000, 800, 20.0, 1000).describe()
        'tracks: 12,000 samples of 3 flights drawn with 800 vertices (Douglas–Peucker, 20 m)'
        """
        out = (
            f"tracks: {self.samples:,} samples of {self.flights:,} flights drawn with "
            f"{self.vertices:,} vertices"
        )
        if self.tolerance_m > 0:
            out += f" (Douglas–Peucker, {self.tolerance_m:g} m)"
        if not self.within_budget:
            out += f"; over the budget of {self.max_vertices:,} (end points are always kept)"
        return out


def epoch_seconds(values: pd.Series | pd.Index | np.ndarray) -> np.ndarray:
    """Seconds since 1970-01-01 UTC as float64, NaN where a time is missing.

    Parameters
    ----------
    values : pandas.Series, pandas.Index or numpy.ndarray
        Datetimes (naive ones are taken as UTC) or strings that :func:`pandas.to_datetime`
        reads.

    Returns
    -------
    numpy.ndarray
        One float per value.

    Examples
    --------
    >>> epoch_seconds(pd.Series(["1970-01-01T00:01:00Z", None])).tolist()
    [60.0, nan]
    """
    if isinstance(getattr(values, "dtype", None), pd.DatetimeTZDtype) or (
        pd.api.types.is_datetime64_dtype(getattr(values, "dtype", None))
    ):
        # Datetimes already: no round trip through Python objects (ten million samples' times
        # as Timestamps take seconds). Aware ones count from UTC, naive ones are taken as UTC.
        times = pd.DatetimeIndex(values)
    else:
        times = pd.DatetimeIndex(pd.to_datetime(pd.Series(values).to_numpy(), utc=True))
    nat = times.isna()
    ms = times.as_unit("ms").asi8.astype("float64") / 1000.0
    ms[nat] = np.nan
    return ms


def _checked_points(points: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(points, pd.DataFrame):
        raise MapError(f"points: expected a DataFrame, got {type(points).__name__}")
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise MapError(f"points: missing columns {missing} (expected {list(POINT_COLUMNS)})")
    frame = pd.DataFrame(points.drop(columns=points.geometry.name)
                         if isinstance(points, gpd.GeoDataFrame) else points)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy("float64", na_value=np.nan)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy("float64", na_value=np.nan)
    keep = np.isfinite(lon) & np.isfinite(lat) & frame["flight_id"].notna().to_numpy()
    if not keep.all():
        frame, lon, lat = frame.loc[keep], lon[keep], lat[keep]
    flight = frame["flight_id"].astype("string")
    frame = frame.assign(lon=lon, lat=lat, _t=epoch_seconds(frame["time"]), _flight=flight)
    # Time orders the vertices of a flight; rows without a time keep their table order (last).
    # Samples tables come sorted that way already: checked in one pass, no sort then.
    codes = pd.factorize(frame["_flight"], sort=True)[0]
    t = frame["_t"].to_numpy()
    in_order = (codes[1:] > codes[:-1]) | (
        (codes[1:] == codes[:-1]) & (np.isnan(t[1:]) | (t[1:] >= t[:-1]))
    )
    if in_order.all():
        return frame
    return frame.sort_values(["_flight", "_t"], kind="stable", na_position="last")


#: Rows turned into metric lines per step: bounds the temporary arrays for large fleets.
_LINE_BATCH = 1 << 20


def _metric_lines(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """One 3-D line per flight: east and north metres, and the row position as Z."""
    codes = pd.factorize(frame["_flight"], sort=False)[0]
    lon = frame["lon"].to_numpy()
    lat = frame["lat"].to_numpy()
    first = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    sizes = np.diff(np.r_[first, len(codes)])
    parts = []
    # Whole flights, about a million rows at a time.
    at = np.searchsorted(first, np.arange(0, len(codes), _LINE_BATCH))
    cuts = np.unique(np.r_[first[np.minimum(at, len(first) - 1)], len(codes)])
    for a, b in itertools.pairwise(cuts):
        fa, fb = np.searchsorted(first, [a, b])
        n = sizes[fa:fb]
        lon0 = np.repeat(lon[first[fa:fb]], n)
        lat0 = np.repeat(lat[first[fa:fb]], n)
        # Longitudes wrap at ±180°: measure from the flight's first sample the short way round.
        x = (lon[a:b] - lon0 + 180.0) % 360.0 - 180.0
        x *= np.cos(np.radians(lat0)) * _M_PER_DEG_LON
        y = (lat[a:b] - lat0) * _M_PER_DEG_LAT
        multi = np.repeat(n >= 2, n)
        if multi.any():
            rows = np.arange(a, b, dtype="float64")[multi]
            line_of = np.repeat(np.arange(int((n >= 2).sum())), n[n >= 2])
            parts.append(
                shapely.linestrings(np.column_stack([x[multi], y[multi], rows]), indices=line_of)
            )
    lines = np.concatenate(parts) if parts else np.empty(0, dtype=object)
    single = first[sizes == 1].astype("int64")
    return lines, single


def _kept_rows(lines: np.ndarray, tolerance_m: float) -> np.ndarray:
    thin = shapely.simplify(lines, tolerance_m, preserve_topology=False) if tolerance_m else lines
    return shapely.get_coordinates(thin, include_z=True)[:, 2].astype("int64")


def decimate_points(
    points: pd.DataFrame,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    max_vertices: int | None = None,
) -> tuple[pd.DataFrame, Simplification]:
    """Thin track points per flight, keeping whole rows (time and every other column).

    Parameters
    ----------
    points : pandas.DataFrame
        One row per position: ``flight_id``, ``time``, ``lon``, ``lat`` and any other columns
        (e.g. the samples table, or ``tracks.parquet`` of a result directory). Rows without a
        position or flight are dropped. Not modified.
    tolerance_m : float
        Douglas–Peucker tolerance on the ground, metres; 0 keeps every vertex.
    max_vertices : int, optional
        Vertex budget over all flights: the tolerance doubles until the kept vertices fit.
        Each flight keeps at least its two end points.

    Returns
    -------
    pandas.DataFrame
        The kept rows, sorted by flight and time, with a fresh index.
    Simplification
        What was done.

    Raises
    ------
    MapError
        If a column is missing or an argument is out of range.

    Examples
    --------
    A straight flight east, with a 2 m wiggle in the middle and a 50 m dog-leg at the end:

    >>> pts = pd.DataFrame({"flight_id": "f", "time": pd.date_range("2024", periods=5, freq="s"),
    ...                     "lon": [139.0, 139.001, 139.002, 139.003, 139.004],
    ...                     "lat": [35.0, 35.0, 35.00002, 35.0, 35.00045]})
    >>> kept, how = decimate_points(pts, tolerance_m=5.0)
    >>> kept["lon"].tolist(), how.vertices
    ([139.0, 139.003, 139.004], 3)
    """
    if not (np.isfinite(tolerance_m) and tolerance_m >= 0):
        raise MapError(f"tolerance_m: expected a distance ≥ 0 in metres, got {tolerance_m!r}")
    if max_vertices is not None and max_vertices < 1:
        raise MapError(f"max_vertices: expected a positive count, got {max_vertices!r}")
    frame = _checked_points(points)
    flights = int(frame["_flight"].nunique())
    lines, single = _metric_lines(frame)
    tolerance = float(tolerance_m)
    kept = _kept_rows(lines, tolerance)
    while (
        max_vertices is not None
        and len(kept) + len(single) > max_vertices
        and tolerance < _MAX_TOLERANCE_M
    ):
        tolerance = max(2.0 * tolerance, 1.0)
        kept = _kept_rows(lines, tolerance)
    rows = np.sort(np.concatenate([kept, single]))
    out = frame.iloc[rows].drop(columns=["_t", "_flight"]).reset_index(drop=True)
    how = Simplification(
        flights=flights,
        samples=len(frame),
        vertices=len(out),
        tolerance_m=tolerance if len(out) < len(frame) else 0.0,
        max_vertices=max_vertices,
    )
    return out, how


def _track_points(tracks: gpd.GeoDataFrame) -> pd.DataFrame:
    # Vertices of the flights' own lines, timed only by the flight's start and end.
    coords, index = shapely.get_coordinates(tracks.geometry.array, return_index=True)
    return pd.DataFrame(
        {
            "flight_id": tracks["flight_id"].astype("string").to_numpy()[index],
            "time": pd.NaT,
            "lon": coords[:, 0],
            "lat": coords[:, 1],
        }
    )


def simplify_tracks(
    flights: gpd.GeoDataFrame,
    *,
    points: pd.DataFrame | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    max_vertices: int | None = DEFAULT_MAX_VERTICES,
) -> tuple[gpd.GeoDataFrame, Simplification]:
    """Thin the flights' tracks for the map, with a time for each vertex when points are given.

    Parameters
    ----------
    flights : geopandas.GeoDataFrame
        The flights table (``flight_id`` and a track per flight). Not modified.
    points : pandas.DataFrame, optional
        Timed track points (``flight_id``, ``time``, ``lon``, ``lat``): the samples, or the
        result directory's ``tracks.parquet``. Without them the flights' own lines are thinned
        and the vertices carry no time.
    tolerance_m : float
        Douglas–Peucker tolerance on the ground, metres.
    max_vertices : int, optional
        Vertex budget over all tracks (see :func:`decimate_points`).

    Returns
    -------
    geopandas.GeoDataFrame
        ``flights`` in EPSG:4326 with thinned geometries (a Point for a one-vertex flight) and
        a ``vertex_times`` column: per flight, a float array of epoch seconds per vertex, or
        None when the vertices have no time. Flights without a position are dropped.
    Simplification
        What was done.

    Raises
    ------
    MapError
        If a table lacks a column or a CRS, or an argument is out of range.

    Examples
    --------
    >>> from shapely import LineString
    >>> f = gpd.GeoDataFrame({"flight_id": ["a"]},
    ...                      geometry=[LineString([(0, 0), (0.001, 0), (0.002, 0)])], crs=4326)
    >>> thin, how = simplify_tracks(f)
    >>> thin.geometry.iloc[0].wkt, thin["vertex_times"].iloc[0], how.vertices
    ('LINESTRING (0 0, 0.002 0)', None, 2)
    """
    if not isinstance(flights, gpd.GeoDataFrame) or flights.crs is None:
        raise MapError("flights: expected a GeoDataFrame with a CRS")
    if "flight_id" not in flights.columns:
        raise MapError("flights: missing columns ['flight_id']")
    base = flights.to_crs(4326) if not flights.crs.equals("EPSG:4326") else flights
    base = base.drop(columns=["vertex_times"], errors="ignore")
    timed = points is not None
    source = _checked_points(points).drop(columns=["_t", "_flight"]) if timed else None
    if source is None:
        source = _track_points(base)
    kept, how = decimate_points(source, tolerance_m=tolerance_m, max_vertices=max_vertices)
    flight = kept["flight_id"].astype("string").to_numpy()
    starts = np.r_[0, np.flatnonzero(flight[1:] != flight[:-1]) + 1] if len(kept) else []
    sizes = np.diff(np.r_[starts, len(kept)]).astype("int64")
    ids = flight[starts] if len(kept) else np.array([], dtype=object)
    # 1e-6° is 0.1 m: far below any tolerance, and half the bytes of a full float in the page.
    coords = np.round(kept[["lon", "lat"]].to_numpy("float64"), 6)
    line_index = np.repeat(np.arange(len(sizes)), sizes)
    multi = np.repeat(sizes >= 2, sizes)
    geoms = np.empty(len(sizes), dtype=object)
    if multi.any():
        geoms[sizes >= 2] = shapely.linestrings(
            coords[multi], indices=pd.factorize(line_index[multi])[0]
        )
    geoms[sizes == 1] = shapely.points(coords[~multi])
    times = epoch_seconds(kept["time"]) if timed else None
    per_flight = (
        np.split(times, np.cumsum(sizes)[:-1]) if times is not None else [None] * len(sizes)
    )
    lookup = pd.DataFrame({"_id": ids, "_geom": geoms, "vertex_times": per_flight})
    keys = base["flight_id"].astype("string")
    out = base.assign(_id=keys.to_numpy()).merge(lookup, on="_id", how="inner", sort=False)
    out = out.drop(columns=[base.geometry.name, "_id"]).rename(columns={"_geom": "geometry"})
    frame = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    return frame, how

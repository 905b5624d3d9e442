"""The canonical ``samples`` and ``flights`` tables and their validating constructors.

Every reader ends in :func:`make_samples` and :func:`make_flights`; nothing else builds these
tables, so the contract below holds everywhere downstream.

``samples`` (one row per telemetry sample, Point geometry, EPSG:4326)
    ``flight_id`` (str), ``time`` (datetime64 UTC), ``lon``, ``lat`` (degrees), ``alt_msl_m``,
    ``height_agl_m`` (metres; the reference is in ``height_ref``: ``"takeoff"`` for height above
    the take-off point, ``"ground"`` for height above the ground under the drone, ``"unknown"``),
    ``yaw_deg`` (aircraft heading, true north, clockwise), ``gimbal_pitch_deg`` (0 = horizon,
    -90 = straight down), ``gimbal_yaw_deg`` (true north), ``gimbal_roll_deg``,
    ``focal_length_mm``, ``zoom``, ``capturing`` (nullable boolean: photo or video being recorded),
    ``source_row`` (1-based row, line or frame number in the source file).
    Float columns use NaN for "not in the log"; a pose column is never filled with 0.

``flights`` (one row per flight, LineString track geometry, EPSG:4326)
    ``flight_id``, ``drone_id`` (serial where the log has it), ``model``, ``vendor``, ``camera``
    (key into the camera catalogue), ``source_path``, ``source_format``, ``sha256``, ``start``,
    ``end``, ``n_read``, ``n_samples``, ``n_rejected``, ``rejected_reasons`` (JSON object
    reason → count; ``n_read == n_samples + n_rejected`` always), ``height_ref``, ``notes``.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from flightlogs.errors import SchemaError

__all__ = [
    "FLIGHT_COLUMNS",
    "HEIGHT_REFS",
    "SAMPLE_COLUMNS",
    "empty_samples",
    "flight_tracks",
    "make_flights",
    "make_samples",
    "paused_gc",
]

CRS = "EPSG:4326"

#: Column name → pandas dtype of the canonical samples table (geometry comes last).
SAMPLE_COLUMNS: dict[str, str] = {
    "flight_id": "string",
    "time": "datetime64[ns, UTC]",
    "lon": "float64",
    "lat": "float64",
    "alt_msl_m": "float64",
    "height_agl_m": "float64",
    "height_ref": "string",
    "yaw_deg": "float64",
    "gimbal_pitch_deg": "float64",
    "gimbal_yaw_deg": "float64",
    "gimbal_roll_deg": "float64",
    "focal_length_mm": "float64",
    "zoom": "float64",
    "capturing": "boolean",
    "source_row": "int64",
}
_REQUIRED_SAMPLE = ("flight_id", "time", "lon", "lat")

#: Allowed values of ``height_ref``.
HEIGHT_REFS = ("takeoff", "ground", "unknown")

#: Column name → pandas dtype of the canonical flights table (geometry comes last).
FLIGHT_COLUMNS: dict[str, str] = {
    "flight_id": "string",
    "drone_id": "string",
    "model": "string",
    "vendor": "string",
    "camera": "string",
    "source_path": "string",
    "source_format": "string",
    "sha256": "string",
    "start": "datetime64[ns, UTC]",
    "end": "datetime64[ns, UTC]",
    "n_read": "int64",
    "n_samples": "int64",
    "n_rejected": "int64",
    "rejected_reasons": "string",
    "height_ref": "string",
    "notes": "string",
}
_REQUIRED_FLIGHT = (
    "flight_id",
    "source_path",
    "source_format",
    "n_read",
    "n_samples",
    "n_rejected",
)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while millions of objects are made.

    Each batch of new container objects (shapely geometries are ones) starts a collection pass,
    and passes over a heap of millions of objects cost more than making them. Geometries hold
    no references, so there is nothing for a pass to find; the collector resumes afterwards
    (if it was running) and finds any cycle made meanwhile then.

    Examples
    --------
    >>> with paused_gc():
    ...     gc.isenabled()
    False
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def lonlat_points(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Build one shapely Point per (lon, lat) pair, quickly for millions of samples.

    The points come from one (n, 2) coordinate array (faster than separate x and y arrays) with
    the garbage collector paused (:func:`paused_gc`).

    Examples
    --------
    >>> [p.wkt for p in lonlat_points(np.array([139.5, 140.0]), np.array([35.25, 36.0]))]
    ['POINT (139.5 35.25)', 'POINT (140 36)']
    """
    coords = np.column_stack([np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)])
    with paused_gc():
        return shapely.points(coords)


def constant_strings(value: str, n: int) -> pd.Series:
    """Build a string column holding one value ``n`` times, without n Python objects.

    Examples
    --------
    >>> constant_strings("f1", 3).tolist(), str(constant_strings("f1", 3).dtype)
    (['f1', 'f1', 'f1'], 'string')
    """
    arrow = pc.take(pa.array([value], type=pa.large_string()), pa.array(np.zeros(n, np.int32)))
    return pd.Series(_arrow_strings(arrow))


def _arrow_strings(arrow: pa.Array) -> pd.api.extensions.ExtensionArray:
    """Wrap an Arrow string array as the ``"string"`` dtype without copying through Python."""
    wrapped = pd.arrays.ArrowStringArray(arrow)
    return wrapped if wrapped.dtype == "string" else pd.array(wrapped, dtype="string")


def _coerce(frame: pd.DataFrame, columns: Mapping[str, str], what: str) -> pd.DataFrame:
    n = len(frame)
    out: dict[str, object] = {}
    problems = []
    for name, dtype in columns.items():
        if name not in frame:
            if dtype == "string":
                out[name] = _arrow_strings(pa.nulls(n, pa.large_string()))
            elif dtype == "boolean":
                out[name] = pd.arrays.BooleanArray(np.zeros(n, bool), np.ones(n, bool))
            elif dtype.startswith("datetime64"):
                out[name] = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype=dtype)
            elif dtype == "int64":
                out[name] = np.zeros(n, dtype="int64")
            else:
                out[name] = np.full(n, np.nan)
            continue
        values = frame[name].reset_index(drop=True)
        try:
            if dtype.startswith("datetime64"):
                out[name] = pd.to_datetime(values, utc=True).astype(dtype)
            else:
                out[name] = values.astype(dtype)
        except (TypeError, ValueError) as exc:
            problems.append(f"column {name!r} cannot be read as {dtype}: {exc}")
    if problems:
        raise SchemaError(f"{what}: " + "; ".join(problems))
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def make_samples(frame: pd.DataFrame, *, source: str = "samples") -> gpd.GeoDataFrame:
    """Build the canonical samples table from a frame of per-sample columns.

    Parameters
    ----------
    frame : pandas.DataFrame
        At least ``flight_id``, ``time``, ``lon`` and ``lat``; any other column of
        :data:`SAMPLE_COLUMNS` is taken when present and set to NA otherwise. Extra columns are
        dropped. The input is not modified.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`SAMPLE_COLUMNS` in order, Point geometry, CRS EPSG:4326.

    Raises
    ------
    SchemaError
        Listing every problem found: missing required columns, values that cannot be converted,
        coordinates out of range, missing times, or an unknown ``height_ref``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = make_samples(pd.DataFrame({"flight_id": ["f1"], "time": ["2024-01-01T00:00:00Z"],
    ...                                "lon": [139.7], "lat": [35.6]}))
    >>> s.crs.to_epsg(), s.loc[0, "geometry"].x, bool(pd.isna(s.loc[0, "yaw_deg"]))
    (4326, 139.7, True)
    """
    missing = [c for c in _REQUIRED_SAMPLE if c not in frame]
    if missing:
        raise SchemaError(f"{source}: missing required sample columns {missing}")
    out = _coerce(frame, SAMPLE_COLUMNS, source)
    if "height_ref" not in frame:
        out["height_ref"] = pd.Series("unknown", index=out.index, dtype="string")
    problems = []
    bad_lon = ~out["lon"].between(-180, 180)
    bad_lat = ~out["lat"].between(-90, 90)
    if bad_lon.any() or bad_lat.any():
        first = int(np.flatnonzero((bad_lon | bad_lat).to_numpy())[0])
        problems.append(
            f"{int((bad_lon | bad_lat).sum())} rows with lon/lat outside [-180, 180]/[-90, 90] "
            f"(first: row {first}, lon={out['lon'].iloc[first]}, lat={out['lat'].iloc[first]})"
        )
    if out["time"].isna().any():
        problems.append(f"{int(out['time'].isna().sum())} rows without a time")
    if out["flight_id"].isna().any():
        problems.append(f"{int(out['flight_id'].isna().sum())} rows without a flight_id")
    bad_ref = ~out["height_ref"].isin(HEIGHT_REFS)
    if bad_ref.any():
        found = sorted(set(out["height_ref"][bad_ref]))
        problems.append(f"height_ref must be one of {HEIGHT_REFS}, found {found}")
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    geometry = lonlat_points(out["lon"].to_numpy(), out["lat"].to_numpy())
    # Points made here need no validation pass (``from_shapely`` would check each of them).
    return gpd.GeoDataFrame(
        out, geometry=gpd.array.GeometryArray(geometry, crs=CRS), crs=CRS, copy=False
    )


def empty_samples() -> gpd.GeoDataFrame:
    """Return an empty canonical samples table.

    Returns
    -------
    geopandas.GeoDataFrame
        No rows, the columns of :data:`SAMPLE_COLUMNS`, CRS EPSG:4326.
    """
    frame = pd.DataFrame({c: [] for c in _REQUIRED_SAMPLE})
    return make_samples(frame)


def flight_tracks(
    lon: np.ndarray, lat: np.ndarray, codes: np.ndarray, n_flights: int
) -> np.ndarray:
    """Each flight's track: a LineString through its samples in table order.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        The samples' positions.
    codes : numpy.ndarray
        Each sample's flight number in ``[0, n_flights)``; -1 leaves the sample out.
    n_flights : int
        Number of flights.

    Returns
    -------
    numpy.ndarray
        ``n_flights`` geometries: a LineString, a Point for a flight of one sample, an empty
        LineString for a flight without samples.

    Examples
    --------
    >>> t = flight_tracks(np.array([0.0, 5.0, 1.0, 9.0]), np.array([0.0, 5.0, 1.0, 9.0]),
    ...                   np.array([0, 1, 0, -1]), 3)
    >>> [g.wkt for g in t]
    ['LINESTRING (0 0, 1 1)', 'POINT (5 5)', 'LINESTRING EMPTY']
    """
    tracks = np.array([shapely.LineString()] * n_flights, dtype=object)
    keep = codes >= 0
    if not keep.any():
        return tracks
    if not keep.all():
        codes, lon, lat = codes[keep], lon[keep], lat[keep]
    xy = np.column_stack([lon, lat])
    if (codes[1:] < codes[:-1]).any():  # readers and stores give flights in one run each
        order = np.argsort(codes, kind="stable")
        codes, xy = codes[order], xy[order]
    first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    last = np.r_[first[1:], len(codes)]
    # One call per flight: faster than one call with per-vertex line numbers.
    with paused_gc():
        for a, b in zip(first, last, strict=True):
            tracks[codes[a]] = shapely.linestrings(xy[a:b]) if b - a > 1 else shapely.points(xy[a])
    return tracks


def _tracks(samples: pd.DataFrame):
    """Return each flight's id, first and last time and track, in order of first appearance."""
    codes, ids = pd.factorize(samples["flight_id"], sort=False)
    times = samples["time"].to_numpy(dtype="datetime64[ns]")
    # First and last time per flight over runs of one flight (sorted by flight if need be).
    run_codes, run_times = codes, times
    if (codes[1:] < codes[:-1]).any():
        order = np.argsort(codes, kind="stable")
        run_codes, run_times = codes[order], times[order]
    first = np.flatnonzero(np.r_[True, run_codes[1:] != run_codes[:-1]])
    start, end = np.empty(len(ids), times.dtype), np.empty(len(ids), times.dtype)
    start[run_codes[first]] = np.minimum.reduceat(run_times, first)
    end[run_codes[first]] = np.maximum.reduceat(run_times, first)
    lines = flight_tracks(samples["lon"].to_numpy(), samples["lat"].to_numpy(), codes, len(ids))
    return np.asarray(ids, dtype=object), start, end, lines


def make_flights(
    frame: pd.DataFrame, *, samples: gpd.GeoDataFrame | None = None, source: str = "flights"
) -> gpd.GeoDataFrame:
    """Build the canonical flights table.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per flight with at least ``flight_id``, ``source_path``, ``source_format``,
        ``n_read``, ``n_samples`` and ``n_rejected``. ``rejected_reasons`` may be a mapping or
        its JSON text. The input is not modified.
    samples : geopandas.GeoDataFrame, optional
        The flights' samples; when given, ``start``/``end`` are taken from them and each
        flight gets its track as a LineString (a Point for a single sample, empty for none).
    source : str
        Name used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The columns of :data:`FLIGHT_COLUMNS`, track geometry, CRS EPSG:4326.

    Raises
    ------
    SchemaError
        If a required column is missing, a flight_id repeats, or the row counts do not
        reconcile (``n_read != n_samples + n_rejected``).
    """
    missing = [c for c in _REQUIRED_FLIGHT if c not in frame]
    if missing:
        raise SchemaError(f"{source}: missing required flight columns {missing}")
    frame = frame.copy()
    if "rejected_reasons" in frame:
        frame["rejected_reasons"] = [
            r
            if isinstance(r, str) or r is None
            # NA (a store whose flights had no reasons) stays missing
            else None
            if not isinstance(r, Mapping) and pd.isna(r)
            else json.dumps(dict(sorted(dict(r).items())))
            for r in frame["rejected_reasons"]
        ]
    out = _coerce(frame, FLIGHT_COLUMNS, source)
    problems = []
    dup = out["flight_id"].duplicated()
    if dup.any():
        problems.append(f"flight_id repeated: {sorted(set(out['flight_id'][dup]))}")
    unbalanced = out["n_read"] != out["n_samples"] + out["n_rejected"]
    if unbalanced.any():
        problems.append(
            f"rows read != kept + rejected for flights {list(out['flight_id'][unbalanced])}"
        )
    if problems:
        raise SchemaError(f"{source}: " + "; ".join(problems))
    tracks = np.array([shapely.LineString()] * len(out), dtype=object)
    if samples is not None and len(samples):
        ids, start, end, lines = _tracks(samples)
        row = pd.Index(ids).get_indexer(out["flight_id"])
        has = row >= 0
        out["start"] = pd.Series(start[row], dtype=FLIGHT_COLUMNS["start"]).where(has)
        out["end"] = pd.Series(end[row], dtype=FLIGHT_COLUMNS["end"]).where(has)
        tracks[has] = lines[row[has]]
    return gpd.GeoDataFrame(out, geometry=tracks, crs=CRS)

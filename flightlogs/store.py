"""The canonical store: samples and flights in one GeoParquet file, read back losslessly.

``exposure ingest`` reads logs once and writes this file; later commands read it instead of
parsing the logs again.

Layout
    One Parquet file. Its rows are the **samples** table in the order given, with ``geometry``
    as WKB Points and GeoParquet 1.1 ``geo`` metadata (EPSG:4326), so that any GeoParquet
    reader (geopandas, GDAL, DuckDB) opens it as a point layer. Row groups hold whole flights,
    several small flights together up to :data:`ROW_GROUP_ROWS` rows, and a flight longer than
    that is split; a reader can stream the file group by group.

    The **flights** table lives in the file's key-value metadata under ``exposure:flights``:
    an Arrow IPC stream (zstd-compressed, base64 text), which keeps every column and dtype,
    extra columns such as those a fleet file adds included. Each flight's track is not stored
    when it is, as :func:`flightlogs.schema.make_flights` builds it, the line through the
    flight's samples: it is rebuilt from the samples on reading, which keeps the metadata
    small for long flights. Any other track is stored as WKB with its flight.
    ``exposure:row_groups`` lists the flights in each row group, so that reading a few flights
    reads only their groups. These keys, and the ``bbox`` of ``geo``, are in the file footer's
    key-value metadata, written when the store is closed (:class:`StoreWriter` writes the
    samples part by part before); the Arrow schema embedded at the start carries ``geo``
    without the bounds. ``exposure:columns`` keeps the column order and geometry names.
    When every sample's point is exactly ``(lon, lat)``, as :func:`flightlogs.make_samples`
    makes it, the points are rebuilt from those two columns on reading instead of parsing the
    WKB column, which is there for other GeoParquet readers.

Reading back gives frames equal to those written (same columns, dtypes, values, NA), with a
fresh ``RangeIndex``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from pyproj import CRS as ProjCRS

from flightlogs.core import ParsedLog
from flightlogs.errors import FlightLogError
from flightlogs.schema import CRS, FLIGHT_COLUMNS, SAMPLE_COLUMNS, flight_tracks

__all__ = [
    "ROW_GROUP_ROWS",
    "STORE_VERSION",
    "StoreWriter",
    "read_parsed",
    "read_store",
    "sniff",
    "write_store",
]

#: Most rows in one row group (a flight at 10 Hz for about 3.6 hours).
ROW_GROUP_ROWS = 131_072
#: Layout version written into the file, checked on reading.
STORE_VERSION = "1"

_KEY_VERSION = b"exposure:store"
_KEY_FLIGHTS = b"exposure:flights"
_KEY_GROUPS = b"exposure:row_groups"
_KEY_COLUMNS = b"exposure:columns"
_TRACK = "__track_wkb"
_PARQUET_MAGIC = b"PAR1"


def sniff(head: bytes) -> bool:
    r"""Tell whether the first bytes of a file are those of a Parquet file.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 64 KiB).

    Returns
    -------
    bool
        True for the Parquet magic ``PAR1``; :func:`read_store` then checks that it is a store.

    Examples
    --------
    >>> sniff(b"PAR1\x15\x04"), sniff(b"lat,lon")
    (True, False)
    """
    return head.startswith(_PARQUET_MAGIC)


def _codes(flight_ids: pd.Series, known: Sequence[str]) -> np.ndarray:
    """Position of each sample's flight in ``known`` (-1 for a flight not in it)."""
    # One lookup per distinct flight, then an integer take per sample.
    per_sample, distinct = pd.factorize(flight_ids.astype("string"))
    position = pd.Index(known, dtype="string").get_indexer(pd.Index(distinct, dtype="string"))
    return np.where(per_sample >= 0, position[per_sample], -1)


def _check(samples: gpd.GeoDataFrame, flights: gpd.GeoDataFrame, path: Path) -> np.ndarray:
    """Raise listing every problem; return each sample's position in the flights table."""
    problems = []
    for what, frame, columns in (
        ("samples", samples, SAMPLE_COLUMNS),
        ("flights", flights, FLIGHT_COLUMNS),
    ):
        if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
            problems.append(f"{what} must be a GeoDataFrame with a CRS (expected {CRS})")
        elif not frame.crs.equals(ProjCRS(CRS)):
            problems.append(f"{what} CRS is {frame.crs.to_string()} (expected {CRS})")
        missing = [c for c in columns if c not in frame]
        if missing:
            problems.append(f"{what} lack columns {missing}")
        wrong = [
            f"{c} is {frame[c].dtype} (expected {d})"
            for c, d in columns.items()
            if c in frame and str(frame[c].dtype) != str(pd.Series(dtype=d).dtype)
        ]
        if wrong:
            problems.append(f"{what} dtypes: " + "; ".join(wrong))
    if problems:
        raise FlightLogError(f"{path}: cannot write the store: " + "; ".join(problems))
    if flights["flight_id"].isna().any() or flights["flight_id"].duplicated().any():
        problems.append("flight_id in flights is missing or repeated")
    codes = _codes(samples["flight_id"], list(flights["flight_id"].dropna()))
    if (codes < 0).any():
        unknown = sorted(map(str, samples["flight_id"][codes < 0].unique()))
        problems.append(f"samples of flights not in the flights table: {unknown[:5]}")
    points = shapely.get_type_id(samples.geometry.to_numpy())
    if len(points) and (points != shapely.GeometryType.POINT).any():
        problems.append("samples geometry must be Points")
    if problems:
        raise FlightLogError(f"{path}: cannot write the store: " + "; ".join(problems))
    return codes


def _row_groups(codes: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """(start, stop) of each row group: runs of one flight packed up to ``limit`` rows."""
    if not len(codes):
        return []
    starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
    stops = np.append(starts[1:], len(codes))  # where each run of one flight ends
    groups: list[tuple[int, int]] = []
    begin = end = 0
    for stop in stops.tolist():
        if stop - begin > limit and end > begin:
            groups.append((begin, end))  # the next flight does not fit: close the group
            begin = end
        while stop - begin > limit:
            groups.append((begin, begin + limit))  # a flight longer than a whole group
            begin += limit
        end = stop
    if end > begin:
        groups.append((begin, end))
    return groups


def _rebuilt(given: np.ndarray, tracks: np.ndarray) -> np.ndarray:
    """Which flights' geometry is exactly the track rebuilt from their samples."""
    return shapely.equals_exact(given, tracks, tolerance=0) & (
        shapely.get_type_id(given) == shapely.get_type_id(tracks)
    )


def _flights_blob(flights: gpd.GeoDataFrame, same: np.ndarray) -> bytes:
    """Encode the flights table as base64 Arrow IPC, with the tracks that cannot be rebuilt.

    ``same`` marks the flights whose geometry is the track rebuilt from their samples.
    """
    given = flights.geometry.to_numpy()
    table = pd.DataFrame(flights.drop(columns=flights.geometry.name))
    # None: rebuild from the samples; b"": the flight had no geometry; else the track's WKB.
    stored = np.full(len(given), None, dtype=object)
    stored[~same] = [b"" if w is None else w for w in shapely.to_wkb(given[~same])]
    table[_TRACK] = pd.Series(stored, index=table.index, dtype=object)
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_stream(sink, arrow.schema, options=options) as writer:
        writer.write_table(arrow)
    return base64.b64encode(sink.getvalue().to_pybytes())


def _point_wkb(lon: np.ndarray, lat: np.ndarray) -> pa.Array:
    """Encode 2-D points as WKB straight from the coordinate arrays.

    21 bytes each (byte order 1 = little endian, uint32 type 1 = Point, then x and y as
    float64), as shapely writes them, but without one Python object per point.
    """
    record = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])
    data = np.empty(len(lon), dtype=record)
    data["order"], data["kind"], data["x"], data["y"] = 1, 1, lon, lat
    offsets = np.arange(0, 21 * (len(lon) + 1), 21, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.binary(), len(lon), [None, pa.py_buffer(offsets), pa.py_buffer(data.view(np.uint8))]
    )


def _geo_metadata(crs: ProjCRS, bounds: np.ndarray | None) -> bytes:
    column: dict[str, object] = {
        "encoding": "WKB",
        "geometry_types": ["Point"],
        "crs": crs.to_json_dict(),
    }
    if bounds is not None and np.isfinite(bounds).all():
        column["bbox"] = [float(b) for b in bounds]
    return json.dumps(
        {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}
    ).encode()


def write_store(
    samples: gpd.GeoDataFrame,
    flights: gpd.GeoDataFrame,
    path: str | Path,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> Path:
    """Write samples and flights into one GeoParquet store, atomically.

    Parameters
    ----------
    samples : geopandas.GeoDataFrame
        Canonical samples (:data:`flightlogs.SAMPLE_COLUMNS`, Point geometry, EPSG:4326);
        extra columns are kept. Not modified.
    flights : geopandas.GeoDataFrame
        Canonical flights with every flight that has samples; extra columns are kept.
    path : str or pathlib.Path
        The file to write; it is replaced only once the new one is complete.
    row_group_rows : int
        Most rows per row group.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    FlightLogError
        Listing every problem: a missing column or wrong dtype, another CRS, samples of a
        flight the flights table lacks, a repeated flight id.
    """
    with StoreWriter(path, row_group_rows=row_group_rows) as writer:
        writer.add(samples, flights)
    return Path(path)


class StoreWriter:
    """Write a store a part at a time: each part's samples go to disk as they are added.

    ``exposure ingest`` adds one log file at a time, so memory holds one file's samples, not the
    fleet's. The flights of all parts are kept (a row each) and written into the file's metadata
    when it is closed; the file appears under its name only then, complete.

    Parameters
    ----------
    path : str or pathlib.Path
        The store to write.
    row_group_rows : int
        Most rows per row group.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from flightlogs.schema import make_flights, make_samples
    >>> def part(fid, lon):
    ...     s = make_samples(pd.DataFrame({"flight_id": [fid] * 2, "lon": [lon, lon + 0.01],
    ...                                    "lat": [35.0, 35.0], "time": pd.to_datetime(
    ...                                    [0, 10**9], utc=True)}))
    ...     f = make_flights(pd.DataFrame({"flight_id": [fid], "source_path": [f"{fid}.csv"],
    ...         "source_format": ["airdata_csv"], "n_read": [2], "n_samples": [2],
    ...         "n_rejected": [0]}), samples=s)
    ...     return s, f
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "fleet.parquet"
    ...     with StoreWriter(path) as w:
    ...         w.add(*part("a", 139.0))
    ...         w.add(*part("b", 140.0))
    ...     samples, flights = read_store(path)
    >>> flights["flight_id"].tolist(), len(samples)
    (['a', 'b'], 4)
    """

    def __init__(self, path: str | Path, *, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.path = Path(path)
        self._limit = max(int(row_group_rows), 1)
        # A new hidden name next to the target (same file system, so os.replace is atomic),
        # made with the usual permissions rather than mkstemp's owner-only ones.
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        self._writer: pq.ParquetWriter | None = None
        self._layout: dict[str, object] | None = None
        self._flights: list[gpd.GeoDataFrame] = []
        self._same: list[np.ndarray] = []  # per flight: its geometry is the rebuilt track
        self._groups: list[list[str]] = []
        self._bounds = np.array([np.inf, np.inf, -np.inf, -np.inf])
        self._from_lonlat = True
        self._crs = None

    def add(self, samples: gpd.GeoDataFrame, flights: gpd.GeoDataFrame) -> None:
        """Write one part's samples; keep its flights for the metadata.

        Raises
        ------
        FlightLogError
            As :func:`write_store`, and when a part's columns differ from the first part's or
            a flight id was already added.
        """
        codes = _check(samples, flights, self.path)
        geometry = samples.geometry.name
        # Samples of every part share one Parquet schema; flights may differ in their extra
        # columns (a store read back with a fleet's columns), they are joined at the end.
        layout = {"samples": [str(c) for c in samples.columns], "samples_geometry": str(geometry)}
        problems = []
        if self._layout is not None and layout != self._layout:
            problems.append("its sample columns differ from those of the parts written before")
        seen = {fid for f in self._flights for fid in f["flight_id"]}
        again = sorted(seen & set(flights["flight_id"]))
        if again:
            problems.append(f"flight ids already written: {again[:5]}")
        if problems:
            raise FlightLogError(f"{self.path}: cannot write the store: " + "; ".join(problems))
        names = [c for c in samples.columns if c != geometry]
        table = pa.Table.from_pandas(samples, columns=names, preserve_index=False)
        lon, lat = samples["lon"].to_numpy(dtype=float), samples["lat"].to_numpy(dtype=float)
        xy = shapely.get_coordinates(samples.geometry.to_numpy())
        # Canonical samples have Point(lon, lat): then the WKB is built from the two columns,
        # and reading rebuilds the points from them instead of parsing WKB (both several times
        # faster).
        from_lonlat = len(xy) == len(samples) and np.array_equal(xy, np.column_stack([lon, lat]))
        wkb = (
            _point_wkb(lon, lat)
            if from_lonlat
            else pa.array(shapely.to_wkb(samples.geometry.to_numpy()), type=pa.binary())
        )
        table = table.append_column("geometry", wkb)
        first = self._writer is None
        if first:
            self._layout, self._crs = layout, samples.crs
            metadata = dict(table.schema.metadata or {})
            # Enough for any GeoParquet reader from the start; the bounds follow at the end.
            metadata.update({b"geo": _geo_metadata(samples.crs, None),
                             _KEY_VERSION: STORE_VERSION.encode()})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self._tmp, table.schema.with_metadata(metadata), compression="zstd"
            )
        elif not table.schema.equals(self._writer.schema, check_metadata=False):
            raise FlightLogError(
                f"{self.path}: cannot write the store: column types differ from those of the "
                "parts written before"
            )
        groups = _row_groups(codes, self._limit)
        flight_ids = np.asarray(flights["flight_id"].astype(str), dtype=object)
        for start, stop in groups or ([(0, 0)] if first else []):
            self._writer.write_table(
                table.slice(start, stop - start), row_group_size=stop - start or 1
            )
        self._groups += [sorted(flight_ids[np.unique(codes[a:b])].tolist()) for a, b in groups]
        self._flights.append(flights)
        rebuilt = flight_tracks(lon, lat, codes, len(flights))
        self._same.append(_rebuilt(flights.geometry.to_numpy(), rebuilt))
        self._from_lonlat &= bool(from_lonlat)
        if len(samples):
            box = samples.total_bounds
            self._bounds = np.r_[np.minimum(self._bounds[:2], box[:2]),
                                 np.maximum(self._bounds[2:], box[2:])]

    def close(self, flights: gpd.GeoDataFrame | None = None) -> Path:
        """Write the flights into the metadata and move the file into place.

        Parameters
        ----------
        flights : geopandas.GeoDataFrame, optional
            The flights to store instead of those added (e.g. with a fleet inventory's columns
            joined): the same flight ids, in any order.
        """
        if self._writer is None:
            raise FlightLogError(f"{self.path}: cannot write the store: nothing was added")
        added = pd.concat(self._flights, ignore_index=True)
        same = np.concatenate(self._same)
        table = added if flights is None else flights
        if flights is not None:
            if sorted(map(str, flights["flight_id"])) != sorted(map(str, added["flight_id"])):
                raise FlightLogError(
                    f"{self.path}: cannot write the store: the flights given at the end are not "
                    "those added"
                )
            where = pd.Index(added["flight_id"].astype(str))
            row = where.get_indexer(flights["flight_id"].astype(str))
            # A geometry changed at the end (not the one added) is stored as it is.
            unchanged = shapely.equals_exact(
                flights.geometry.to_numpy(), added.geometry.to_numpy()[row], tolerance=0
            )
            same = same[row] & unchanged
        table = gpd.GeoDataFrame(table, geometry=table.geometry.name, crs=CRS)
        layout = {
            **self._layout,
            "flights": [str(c) for c in table.columns],
            "flights_geometry": str(table.geometry.name),
        }
        bounds = self._bounds if np.isfinite(self._bounds).all() else None
        self._writer.add_key_value_metadata(
            {
                b"geo": _geo_metadata(self._crs, bounds),
                _KEY_VERSION: STORE_VERSION.encode(),
                _KEY_FLIGHTS: _flights_blob(table, same),
                # Column order and geometry names, so that frames come back equal, not alike.
                _KEY_COLUMNS: json.dumps(
                    {**layout, "points_from_lonlat": self._from_lonlat}
                ).encode(),
                _KEY_GROUPS: json.dumps(self._groups).encode(),
            }
        )
        self._writer.close()
        self._writer = None
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop what was written; the store's name is left as it was."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None and self._writer is not None:
            try:
                self.close()
            finally:
                self.abort()
        else:
            self.abort()


def _open(path: Path) -> tuple[pq.ParquetFile, dict[bytes, bytes]]:
    if not path.is_file():
        raise FlightLogError(f"{path}: no such file (expected a store written by exposure ingest)")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FlightLogError(f"{path}: not a readable Parquet file ({exc})") from None
    # The footer's key-value metadata: a store written part by part completes it at the end.
    metadata = {**(parquet.schema_arrow.metadata or {}), **(parquet.metadata.metadata or {})}
    if _KEY_FLIGHTS not in metadata:
        raise FlightLogError(
            f"{path}: a Parquet file but not an exposure store (no 'exposure:flights' "
            "metadata); write one with: exposure ingest LOGS... --out STORE.parquet"
        )
    version = metadata.get(_KEY_VERSION, b"?").decode()
    if version != STORE_VERSION:
        raise FlightLogError(
            f"{path}: store layout version {version!r} (expected {STORE_VERSION!r}); "
            "write it again with this version of exposure ingest"
        )
    return parquet, metadata


def _read_flights(blob: bytes) -> pd.DataFrame:
    table = pa.ipc.open_stream(pa.py_buffer(base64.b64decode(blob))).read_all()
    # An IPC stream is taken as it is: damaged string offsets would abort the process in C++
    # when read (found by fuzzing); a full check turns them into an ArrowInvalid here.
    table.validate(full=True)
    return table.to_pandas()


def read_store(
    path: str | Path,
    *,
    columns: Sequence[str] | None = None,
    flights: Iterable[str] | None = None,
    points: bool = True,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read a store written by :func:`write_store`.

    Parameters
    ----------
    path : str or pathlib.Path
        The store.
    columns : sequence of str, optional
        Sample columns to return, in the store's order (geometry always comes too); all when
        omitted.
    flights : iterable of str, optional
        Flight ids to read; only the row groups holding them are read. All when omitted.
    points : bool
        Build the samples' Point geometry. Without it the samples come as a plain DataFrame
        (``lon``/``lat`` are there): ten million shapely points take about 3 GB, and the
        engine works on the coordinate columns.

    Returns
    -------
    samples, flights : geopandas.GeoDataFrame
        Equal to what was written (for the chosen flights and columns), with a RangeIndex;
        ``samples`` a pandas DataFrame without geometry when ``points`` is false.

    Raises
    ------
    FlightLogError
        If the file is missing, not a store, of another layout version, or if a column or a
        flight asked for is not in it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from flightlogs.schema import make_flights, make_samples
    >>> s = make_samples(pd.DataFrame({"flight_id": ["a", "a"], "lon": [139.7, 139.8],
    ...                                "lat": [35.6, 35.7], "time": ["2024-01-01T00:00:00Z",
    ...                                                             "2024-01-01T00:00:01Z"]}))
    >>> f = make_flights(pd.DataFrame({"flight_id": ["a"], "source_path": ["a.csv"],
    ...                                "source_format": ["airdata_csv"], "n_read": [2],
    ...                                "n_samples": [2], "n_rejected": [0]}), samples=s)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = write_store(s, f, pathlib.Path(tmp) / "store.parquet")
    ...     s2, f2 = read_store(store)
    >>> s2.equals(s), f2.equals(f)
    (True, True)
    """
    path = Path(path)
    try:
        samples, flight_frame, lon, lat = _read_store(
            path, columns=columns, flights=flights, points=points
        )
    except FlightLogError:
        raise
    except (
        OSError, ValueError, KeyError, TypeError, IndexError, AttributeError, pa.ArrowException,
        shapely.errors.GEOSException, binascii.Error, pyproj.exceptions.CRSError,
        SyntaxError,  # numpy parsing a dtype from the pandas metadata
    ) as exc:
        # A store is written by exposure ingest; one that fails to decode was damaged or
        # altered since (json, base64, Arrow IPC, zstd and Parquet all raise their own way).
        message = " ".join(str(exc).split())[:200]
        raise FlightLogError(
            f"{path}: a damaged store ({type(exc).__name__}: {message}); write it again "
            "with exposure ingest"
        ) from None
    off = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if "time" in samples:
        off |= samples["time"].isna().to_numpy()
    if off.any():
        first = int(np.flatnonzero(off)[0])
        raise FlightLogError(
            f"{path}: a damaged store: {int(off.sum())} samples without a valid position or "
            f"time (first: row {first}, lon={lon[first]}, lat={lat[first]}); write it again "
            "with exposure ingest"
        )
    return samples, flight_frame


def _read_store(
    path: Path, *, columns: Sequence[str] | None, flights: Iterable[str] | None, points: bool
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    parquet, metadata = _open(path)
    flight_table = _read_flights(metadata[_KEY_FLIGHTS])
    names = [n for n in parquet.schema_arrow.names if n != "geometry"]
    if columns is not None:
        wanted = [c for c in columns if c != "geometry"]
        unknown = [c for c in wanted if c not in names]
        if unknown:
            raise FlightLogError(
                f"{path}: no sample column(s) {unknown} in the store (it has {names})"
            )
    else:
        wanted = names
    groups = list(range(parquet.num_row_groups))
    if flights is not None:
        chosen = [str(f) for f in flights]
        unknown = sorted(set(chosen) - set(flight_table["flight_id"]))
        if unknown:
            raise FlightLogError(
                f"{path}: no flight(s) {unknown[:10]} in the store "
                f"({len(flight_table)} flights, e.g. {list(flight_table['flight_id'][:3])})"
            )
        chosen_set = set(chosen)
        per_group = json.loads(metadata[_KEY_GROUPS])
        groups = [i for i, ids in enumerate(per_group) if chosen_set & set(ids)]
        flight_table = flight_table[flight_table["flight_id"].isin(chosen_set)]
        flight_table = flight_table.reset_index(drop=True)
    layout = json.loads(metadata[_KEY_COLUMNS])
    from_lonlat = bool(layout.get("points_from_lonlat"))
    extra = [] if from_lonlat or not points else ["geometry"]
    needed = list(dict.fromkeys([*wanted, "flight_id", "lon", "lat", *extra]))
    table = (
        parquet.read_row_groups(groups, columns=needed)
        if groups
        else (parquet.schema_arrow.empty_table().select(needed))
    )
    # (self_destruct frees each Arrow column once converted: a lower peak for big stores)
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    if flights is not None:
        frame = frame[frame["flight_id"].isin(chosen_set)].reset_index(drop=True)
    lon, lat = frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
    codes = _codes(frame["flight_id"], list(flight_table["flight_id"]))
    tracks = flight_tracks(lon, lat, codes, len(flight_table))
    stored = flight_table.pop(_TRACK).to_numpy(dtype=object)
    kept = np.array([w is not None for w in stored], dtype=bool)
    if kept.any():
        tracks[kept] = [shapely.from_wkb(w) if len(w) else None for w in stored[kept]]
    crs = _crs(metadata)
    f_geometry = layout["flights_geometry"]
    flight_table[f_geometry] = gpd.GeoSeries(tracks, index=flight_table.index, crs=crs)
    flight_frame = gpd.GeoDataFrame(flight_table[layout["flights"]], geometry=f_geometry, crs=crs)
    s_geometry = layout["samples_geometry"]
    keep = set(wanted) | ({s_geometry} if points else set())
    order = [c for c in layout["samples"] if c in keep]
    if not points:
        frame = frame.drop(columns=[c for c in frame.columns if c not in keep])
        return (frame if list(frame.columns) == order else frame[order]), flight_frame, lon, lat
    geometry = shapely.points(lon, lat) if from_lonlat else shapely.from_wkb(frame.pop("geometry"))
    frame = frame.drop(columns=[c for c in frame.columns if c not in keep])
    frame[s_geometry] = gpd.GeoSeries(geometry, index=frame.index, crs=crs)
    if list(frame.columns) != order:
        frame = frame[order]
    samples = gpd.GeoDataFrame(frame, geometry=s_geometry, crs=crs, copy=False)
    return samples, flight_frame, lon, lat


def _crs(metadata: dict[bytes, bytes]) -> ProjCRS:
    geo = json.loads(metadata.get(b"geo", b"{}"))
    spec = geo.get("columns", {}).get("geometry", {}).get("crs")
    return ProjCRS.from_json_dict(spec) if spec else ProjCRS("OGC:CRS84")


def read_parsed(path: Path) -> list[ParsedLog]:
    """Read a store as parsed flights, for callers that go through the reader registry.

    :func:`flightlogs.read_flight_log` reads a store with :func:`read_store` instead, which
    keeps the flights table as it was; this gives one :class:`~flightlogs.core.ParsedLog` per
    flight (its kept samples), named ``<store stem>:<flight id>``.

    Parameters
    ----------
    path : pathlib.Path
        The store.

    Returns
    -------
    list of ParsedLog
        One per flight with samples, in the store's order.
    """
    samples, flights = read_store(path)
    parsed = []
    for flight in flights.itertuples(index=False):
        rows = samples[samples["flight_id"] == flight.flight_id]
        rows = pd.DataFrame(rows.drop(columns=["flight_id", "geometry"])).reset_index(drop=True)
        notes = [] if pd.isna(flight.notes) else [str(flight.notes)]
        parsed.append(
            ParsedLog(
                rows=rows,
                source_format="geoparquet_store",
                height_ref=str(flight.height_ref),
                drone_id=None if pd.isna(flight.drone_id) else str(flight.drone_id),
                model=None if pd.isna(flight.model) else str(flight.model),
                vendor=None if pd.isna(flight.vendor) else str(flight.vendor),
                camera=None if pd.isna(flight.camera) else str(flight.camera),
                notes=notes,
                suffix=f":{flight.flight_id}",
            )
        )
    return parsed

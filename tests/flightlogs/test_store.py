"""The GeoParquet store: lossless round trips on the shared logs, selection, layout, atomicity."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlogs import (
    SAMPLE_COLUMNS,
    FlightLogError,
    detect_format,
    read_flight_log,
    read_flight_logs,
    read_store,
    write_store,
)
from flightlogs.store import _row_groups, read_parsed

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LOGS = DATA / "flightlogs"
REAL = [
    LOGS / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.csv",
    LOGS / "ardupilot" / "vtol.tlog",
    LOGS / "px4" / "sample_logging_tagged_and_default_params.ulg",
    LOGS / "dji_srt" / "p4_rtk.SRT",
    LOGS / "dji_srt" / "broken_incomplete.SRT",
]


@pytest.fixture(scope="module")
def real():
    return read_flight_logs(REAL)


@pytest.fixture(scope="module")
def store(real, tmp_path_factory):
    samples, flights = real
    return write_store(samples, flights, tmp_path_factory.mktemp("store") / "fleet.parquet")


def test_round_trip_is_lossless(real, store):
    samples, flights = real
    back_samples, back_flights = read_store(store)
    assert_geodataframe_equal(back_samples, samples, check_less_precise=False)
    assert_geodataframe_equal(back_flights, flights, check_less_precise=False)
    pd.testing.assert_series_equal(back_samples.dtypes, samples.dtypes)
    assert {c: str(back_samples[c].dtype) for c in SAMPLE_COLUMNS} == SAMPLE_COLUMNS
    # NA survives, and is not 0: the tlog and ULog have no capture flag, the SRT says true.
    for column in ("capturing", "gimbal_pitch_deg", "alt_msl_m", "height_agl_m"):
        assert back_samples[column].isna().sum() == samples[column].isna().sum()
    assert back_samples["capturing"].isna().sum() > 0
    assert back_samples["time"].dt.tz is not None and str(back_samples["time"].dt.unit) == "ns"


def test_store_is_recognised_and_read_as_a_log(real, store):
    assert detect_format(store) == "geoparquet_store"
    samples, flights = read_flight_log(store)
    assert_geodataframe_equal(flights, real[1])
    # Mixed with ordinary log files, as `exposure assess --logs` does.
    both_samples, both_flights = read_flight_logs([store, LOGS / "dji_srt" / "p4p_sample.SRT"])
    assert both_flights["flight_id"].tolist() == [*real[1]["flight_id"], "p4p_sample"]
    assert len(both_samples) == len(samples) + 5
    with pytest.raises(FlightLogError, match="keeps the ids of its flights"):
        read_flight_log(store, flight_id="renamed")


def test_selected_flights_and_columns(real, store):
    samples, flights = real
    chosen = ["vtol", "p4_rtk"]
    part, part_flights = read_store(store, flights=chosen, columns=["time", "yaw_deg"])
    want = samples[samples["flight_id"].isin(chosen)][["time", "yaw_deg", "geometry"]]
    assert_geodataframe_equal(part, want.reset_index(drop=True))
    want_flights = flights[flights["flight_id"].isin(chosen)].reset_index(drop=True)
    assert_geodataframe_equal(part_flights, want_flights)


def test_only_the_row_groups_of_chosen_flights_are_read(real, tmp_path, monkeypatch):
    samples, flights = real
    path = write_store(samples, flights, tmp_path / "small_groups.parquet", row_group_rows=1000)
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert max(sizes) <= 1000 and sum(sizes) == len(samples)
    per_group = json.loads(pq.ParquetFile(path).metadata.metadata[b"exposure:row_groups"])
    # 11,605 AirData rows fill 12 groups; the 804 + 44 + 55 + 19 rows of the four other flights
    # share the last one.
    assert len(sizes) == 13 and sizes[-1] == 804 + 44 + 55 + 19
    assert per_group[-1] == sorted(real[1]["flight_id"][1:])
    read_groups = []
    original = pq.ParquetFile.read_row_groups

    def spy(self, groups, *args, **kwargs):
        read_groups.extend(groups)
        return original(self, groups, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    part, _ = read_store(path, flights=["p4_rtk"])
    assert read_groups == [len(sizes) - 1]
    assert len(part) == 55


@settings(max_examples=200, deadline=None)
@given(
    runs=st.lists(st.integers(1, 40), min_size=0, max_size=30),
    limit=st.integers(1, 50),
)
def test_row_groups_hold_whole_flights(runs, limit):
    ids = np.array([i for i, n in enumerate(runs) for _ in range(n)], dtype=int)
    groups = _row_groups(ids, limit)
    # Contiguous, complete, bounded.
    if not groups:
        assert len(ids) == 0
        return
    assert [a for a, _ in groups] == [0] + [b for _, b in groups[:-1]]
    assert (groups[-1][1] if groups else 0) == len(ids)
    assert all(0 < b - a <= limit for a, b in groups)
    # A flight is split only when it is longer than a group.
    starts = {a for a, _ in groups}
    edges = np.cumsum([0, *runs])
    for n, (first, last) in zip(runs, itertools.pairwise(edges), strict=True):
        inner = [s for s in starts if first < s < last]
        assert not inner or n > limit


def test_interoperable_geoparquet(real, store):
    samples, _ = real
    other = gpd.read_parquet(store)
    assert other.crs.to_epsg() == 4326
    assert shapely.equals_exact(other.geometry.values, samples.geometry.values, 0).all()
    geo = json.loads(pq.ParquetFile(store).metadata.metadata[b"geo"])
    assert geo["columns"]["geometry"]["geometry_types"] == ["Point"]
    minx, _, _, maxy = geo["columns"]["geometry"]["bbox"]
    assert (minx, maxy) == (samples["lon"].min(), samples["lat"].max())


def test_a_track_that_is_not_the_samples_line_is_kept(real, tmp_path):
    samples, flights = real
    flights = flights.copy()
    flights.loc[0, "geometry"] = shapely.box(0, 0, 1, 1)
    flights.loc[1, "geometry"] = None
    path = write_store(samples, flights, tmp_path / "odd.parquet")
    _, back = read_store(path)
    assert_geodataframe_equal(back, flights)


def test_extra_flight_columns_survive(real, tmp_path):
    samples, flights = real
    flights = flights.assign(
        vendor_country=pd.Series(["CN", None, "CH", "CN", pd.NA], dtype="string"),
        replacement_cost=[1500.0, np.nan, 2.5, 3.0, 4.0],
    )
    _, back = read_store(write_store(samples, flights, tmp_path / "fleet.parquet"))
    assert_geodataframe_equal(back, flights)


def test_empty_samples(real, tmp_path):
    samples, flights = real
    none = samples.iloc[0:0]
    path = write_store(none, flights.iloc[0:1], tmp_path / "empty.parquet")
    back, back_flights = read_store(path)
    assert len(back) == 0 and list(back.columns) == list(samples.columns)
    assert back_flights["flight_id"].tolist() == [flights["flight_id"].iloc[0]]


def test_bad_requests_are_reported(store, tmp_path):
    with pytest.raises(FlightLogError, match=r"no sample column\(s\) \['speed'\]"):
        read_store(store, columns=["time", "speed"])
    with pytest.raises(FlightLogError, match=r"no flight\(s\) \['nope'\]"):
        read_store(store, flights=["vtol", "nope"])
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), plain)
    with pytest.raises(FlightLogError, match="a Parquet file but not an exposure store"):
        read_flight_log(plain)
    with pytest.raises(FlightLogError, match="no such file"):
        read_store(tmp_path / "missing.parquet")


def test_invalid_tables_are_refused_with_every_problem(real, tmp_path):
    samples, flights = real
    broken = samples.drop(columns="zoom").set_crs("EPSG:3857", allow_override=True)
    broken["time"] = broken["time"].astype(str)
    with pytest.raises(FlightLogError) as err:
        write_store(broken, flights.iloc[1:], tmp_path / "never.parquet")
    message = str(err.value)
    assert "samples CRS is EPSG:3857" in message
    assert "lack columns ['zoom']" in message
    assert "time is str" in message or "time is object" in message
    assert not (tmp_path / "never.parquet").exists()
    with pytest.raises(FlightLogError, match="samples of flights not in the flights table"):
        write_store(samples, flights.iloc[1:], tmp_path / "never.parquet")


def test_writing_is_atomic(real, tmp_path, monkeypatch):
    samples, flights = real
    path = write_store(samples, flights.copy(), tmp_path / "fleet.parquet")
    before = path.read_bytes()

    def broken_write(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken_write)
    with pytest.raises(OSError, match="No space left"):
        write_store(samples, flights, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.parquet"]


def test_inputs_are_not_modified(real, tmp_path):
    samples, flights = real
    s_copy, f_copy = samples.copy(), flights.copy()
    write_store(samples, flights, tmp_path / "x.parquet")
    assert_geodataframe_equal(samples, s_copy)
    assert_geodataframe_equal(flights, f_copy)


def test_parsed_view_of_a_store(real, store):
    samples, _ = real
    parsed = read_parsed(store)
    assert [p.suffix for p in parsed] == [f":{f}" for f in real[1]["flight_id"]]
    assert sum(len(p.rows) for p in parsed) == len(samples)
    assert (
        parsed[1].source_format == "geoparquet_store" and parsed[1].model == "ArduPlane V3.10.0-dev"
    )


def test_column_order_and_geometry_names_survive(real, tmp_path):
    samples, flights = real
    samples = samples.rename_geometry("position")[["position", *SAMPLE_COLUMNS]]
    flights = flights.rename_geometry("track")
    back_samples, back_flights = read_store(write_store(samples, flights, tmp_path / "n.parquet"))
    assert_geodataframe_equal(back_samples, samples)
    assert_geodataframe_equal(back_flights, flights)
    assert back_samples.geometry.name == "position" and back_flights.geometry.name == "track"


def test_a_store_written_file_by_file_is_the_store_written_at_once(tmp_path):
    # What exposure ingest does: one file's tables at a time, the flights (with a fleet
    # column joined, in another order) at the end.
    from flightlogs import StoreWriter

    parts = [read_flight_log(path) for path in REAL]
    path = tmp_path / "parts.parquet"
    with StoreWriter(path, row_group_rows=5000) as writer:
        for samples, flights in parts:
            writer.add(samples, flights)
        assert not path.exists()  # nothing under the name before the flights are written
        all_flights = pd.concat([f for _, f in parts], ignore_index=True)
        final = gpd.GeoDataFrame(
            all_flights.iloc[::-1].assign(agency="MoD").reset_index(drop=True),
            geometry="geometry",
            crs=4326,
        )
        writer.close(final)
    samples, flights = read_store(path)
    expected = pd.concat([s for s, _ in parts], ignore_index=True)
    assert_geodataframe_equal(samples, gpd.GeoDataFrame(expected, crs=4326),
                              check_less_precise=False)
    assert_geodataframe_equal(flights, final, check_less_precise=False)
    meta = pq.ParquetFile(path).metadata
    assert max(meta.row_group(i).num_rows for i in range(meta.num_row_groups)) <= 5000
    assert read_store(path, flights=[final["flight_id"].iloc[0]])[0]["flight_id"].nunique() == 1


def test_a_store_writer_refuses_repeated_flights_and_leaves_no_file(tmp_path, real):
    from flightlogs import StoreWriter

    samples, flights = read_flight_log(REAL[1])
    path = tmp_path / "x.parquet"
    with pytest.raises(FlightLogError, match="flight ids already written"):
        with StoreWriter(path) as writer:
            writer.add(samples, flights)
            writer.add(samples, flights)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FlightLogError, match="not those added"):
        with StoreWriter(path) as writer:
            writer.add(samples, flights)
            writer.close(real[1])
    assert list(tmp_path.iterdir()) == []


def test_parts_whose_flights_have_other_columns_are_joined(tmp_path):
    # A store read back with a fleet's columns, ingested with a plain log: the flights table
    # gets the union of the columns, NA where a part had none.
    from flightlogs import StoreWriter

    (s1, f1), (s2, f2) = (read_flight_log(REAL[1]), read_flight_log(REAL[3]))
    f1 = f1.assign(agency="MoD")
    path = tmp_path / "joined.parquet"
    with StoreWriter(path) as writer:
        writer.add(s1, f1)
        writer.add(s2, f2)
    _, flights = read_store(path)
    assert flights["agency"].tolist()[0] == "MoD" and pd.isna(flights["agency"].tolist()[1])
    assert list(flights["flight_id"]) == [f1["flight_id"].iloc[0], f2["flight_id"].iloc[0]]

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlogs import FlightLogError, SchemaError, apply_fleet, read_fleet
from flightlogs.core import ParsedLog, to_tables
from flightlogs.quality import REASONS, reject_rows
from flightlogs.schema import FLIGHT_COLUMNS, SAMPLE_COLUMNS, make_flights, make_samples


def _t(*seconds):
    return pd.to_datetime(list(seconds), unit="s", utc=True)


# make_samples


def test_make_samples_builds_the_contract():
    frame = pd.DataFrame(
        {
            "flight_id": ["f1", "f1"],
            "time": ["2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z"],
            "lon": [139.7, 139.8],
            "lat": [35.6, 35.7],
            "height_agl_m": [100, 101],
            "height_ref": ["takeoff", "takeoff"],
            "capturing": [True, None],
            "source_row": [2, 3],
            "battery": [90, 89],
        }
    )
    samples = make_samples(frame)
    assert list(samples.columns) == [*SAMPLE_COLUMNS, "geometry"]
    assert {c: str(samples[c].dtype) for c in SAMPLE_COLUMNS} == SAMPLE_COLUMNS
    assert samples.crs.to_epsg() == 4326
    assert samples.geometry.iloc[1].equals(shapely.Point(139.8, 35.7))
    assert samples.yaw_deg.isna().all()  # never 0 for "not in the log"
    assert samples.capturing.tolist() == [True, pd.NA]
    assert samples.time.iloc[1] == pd.Timestamp("2024-01-01T00:00:01Z")


def test_make_samples_defaults_height_ref_to_unknown():
    frame = pd.DataFrame({"flight_id": ["f"], "time": _t(0), "lon": [1.0], "lat": [2.0]})
    assert make_samples(frame).height_ref.tolist() == ["unknown"]


def test_make_samples_does_not_mutate_its_input():
    frame = pd.DataFrame(
        {"flight_id": ["f"], "time": ["2024-01-01T00:00:00Z"], "lon": [1.0], "lat": [2.0]}
    )
    before = frame.copy()
    make_samples(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_make_samples_missing_columns():
    expected = r"src: missing required sample columns \['time', 'lat'\]"
    with pytest.raises(SchemaError, match=expected):
        make_samples(pd.DataFrame({"flight_id": ["f"], "lon": [1.0]}), source="src")


def test_make_samples_lists_every_problem():
    frame = pd.DataFrame(
        {
            "flight_id": ["f", None, "f"],
            "time": [pd.Timestamp("2024-01-01", tz="UTC"), pd.NaT, pd.NaT],
            "lon": [200.0, 1.0, 1.0],
            "lat": [0.0, 1.0, 1.0],
            "height_ref": ["takeoff", "sea", "takeoff"],
        }
    )
    with pytest.raises(SchemaError) as err:
        make_samples(frame, source="log.csv")
    message = str(err.value)
    assert message.startswith("log.csv: ")
    assert "1 rows with lon/lat outside" in message and "lon=200.0" in message
    assert "2 rows without a time" in message
    assert "1 rows without a flight_id" in message
    assert "found ['sea']" in message


def test_make_samples_reports_values_that_cannot_be_converted():
    frame = pd.DataFrame(
        {"flight_id": ["f"], "time": _t(0), "lon": [1.0], "lat": [2.0], "yaw_deg": ["north"]}
    )
    with pytest.raises(SchemaError, match="column 'yaw_deg' cannot be read as float64"):
        make_samples(frame)


# make_flights


def _flight(fid, n_read, n_samples, n_rejected, reasons=None):
    return {
        "flight_id": fid,
        "source_path": f"{fid}.srt",
        "source_format": "dji_srt",
        "n_read": n_read,
        "n_samples": n_samples,
        "n_rejected": n_rejected,
        "rejected_reasons": reasons or {},
    }


def test_make_flights_with_tracks():
    samples = make_samples(
        pd.DataFrame(
            {
                "flight_id": ["a", "a", "b"],
                "time": _t(10, 20, 5),
                "lon": [1.0, 2.0, 3.0],
                "lat": [1.0, 2.0, 3.0],
            }
        )
    )
    frame = pd.DataFrame(
        [
            _flight("a", 3, 2, 1, {"time_duplicate": 1}),
            _flight("b", 1, 1, 0),
            _flight("c", 2, 0, 2, {"no_position": 2}),
        ]
    )
    flights = make_flights(frame, samples=samples)
    assert list(flights.columns) == [*FLIGHT_COLUMNS, "geometry"]
    assert flights.geometry.iloc[0].equals(shapely.LineString([(1, 1), (2, 2)]))
    assert flights.geometry.iloc[1].equals(shapely.Point(3, 3))
    assert flights.geometry.iloc[2].is_empty
    assert flights.start.iloc[0] == pd.Timestamp(10, unit="s", tz="UTC")
    assert flights.end.iloc[0] == pd.Timestamp(20, unit="s", tz="UTC")
    assert pd.isna(flights.start.iloc[2])
    assert json.loads(flights.rejected_reasons.iloc[2]) == {"no_position": 2}


def test_make_flights_tracks_of_interleaved_samples_follow_table_order():
    # Samples of two flights interleaved (a store sorted by time) and one single-sample flight
    # between them: each track keeps its own samples in table order.
    samples = make_samples(
        pd.DataFrame(
            {
                "flight_id": ["b", "a", "b", "c", "a", "b"],
                "time": _t(7, 30, 9, 1, 10, 8),
                "lon": [10.0, 1.0, 11.0, 5.0, 2.0, 12.0],
                "lat": [20.0, 1.0, 21.0, 5.0, 2.0, 22.0],
            }
        )
    )
    frame = pd.DataFrame([_flight("a", 2, 2, 0), _flight("c", 1, 1, 0), _flight("b", 3, 3, 0)])
    flights = make_flights(frame, samples=samples)
    assert flights.geometry.iloc[0].equals(shapely.LineString([(1, 1), (2, 2)]))
    assert flights.geometry.iloc[1].equals(shapely.Point(5, 5))
    assert flights.geometry.iloc[2].equals(shapely.LineString([(10, 20), (11, 21), (12, 22)]))
    # first and last by time, not by position in the table
    assert flights.start.iloc[0] == pd.Timestamp(10, unit="s", tz="UTC")
    assert flights.end.iloc[0] == pd.Timestamp(30, unit="s", tz="UTC")
    assert flights.start.iloc[2] == pd.Timestamp(7, unit="s", tz="UTC")
    assert flights.end.iloc[2] == pd.Timestamp(9, unit="s", tz="UTC")


def test_make_flights_lists_duplicate_ids_and_unbalanced_counts():
    frame = pd.DataFrame([_flight("a", 3, 2, 0), _flight("a", 1, 1, 0)])
    with pytest.raises(SchemaError) as err:
        make_flights(frame, source="fleet")
    assert "flight_id repeated: ['a']" in str(err.value)
    assert "rows read != kept + rejected for flights ['a']" in str(err.value)


def test_make_flights_missing_columns():
    with pytest.raises(SchemaError, match="missing required flight columns"):
        make_flights(pd.DataFrame({"flight_id": ["a"]}))


# reject_rows


def test_every_rejection_reason():
    frame = pd.DataFrame(
        {
            "lon": [np.nan, 200.0, 0.0, 10.0, 10.0, 10.0, 10.0, 10.0],
            "lat": [50.0, 50.0, 0.0, 50.0, 50.0, 50.00001, 50.00001, 50.00002],
            "time": pd.to_datetime([0, 1, 2, None, 10, 9, 10, 11], unit="s", utc=True),
            "source_row": range(1, 9),
        }
    )
    kept, rejected = reject_rows(frame)
    assert rejected == {
        "no_position": 1,
        "coordinates_out_of_range": 1,
        "null_island": 1,
        "no_time": 1,
        "time_backwards": 1,
        "time_duplicate": 1,
    }
    assert kept.source_row.tolist() == [5, 8]


def test_position_spike():
    # 1 s apart; the third sample lies 36 km east of a track that moves 11 m/s north.
    frame = pd.DataFrame(
        {
            "lon": [10.0, 10.0, 10.5, 10.0, 10.0],
            "lat": [50.0, 50.0001, 50.0, 50.0002, 50.0003],
            "time": _t(0, 1, 2, 3, 4),
        }
    )
    kept, rejected = reject_rows(frame)
    assert rejected == {"position_spike": 1}
    assert kept.lon.tolist() == [10.0] * 4


def test_first_reason_wins():
    frame = pd.DataFrame({"lon": [np.nan], "lat": [95.0], "time": [pd.NaT]})
    assert reject_rows(frame)[1] == {"no_position": 1}


def test_reject_rows_does_not_mutate():
    frame = pd.DataFrame({"lon": [1.0, 1.0], "lat": [1.0, 1.0], "time": _t(1, 1)})
    before = frame.copy()
    reject_rows(frame)
    pd.testing.assert_frame_equal(frame, before)


coordinate = st.one_of(
    st.floats(-200, 200, allow_nan=False), st.just(np.nan), st.just(0.0), st.just(10.0)
)
rows = st.lists(
    st.tuples(coordinate, coordinate, st.one_of(st.none(), st.integers(0, 60))), max_size=40
)


@settings(max_examples=200, deadline=None)
@given(rows)
def test_reject_rows_reconciles_and_keeps_only_good_rows(data):
    frame = pd.DataFrame(
        {
            "lon": np.array([r[0] for r in data], dtype=float),
            "lat": np.array([r[1] for r in data], dtype=float),
            "time": pd.to_datetime(
                [np.nan if r[2] is None else r[2] for r in data], unit="s", utc=True
            ),
        }
    )
    kept, rejected = reject_rows(frame)
    assert len(kept) + sum(rejected.values()) == len(frame)
    assert set(rejected) <= set(REASONS) and all(v > 0 for v in rejected.values())
    assert np.isfinite(kept.lon).all() and np.isfinite(kept.lat).all()
    assert kept.lon.between(-180, 180).all() and kept.lat.between(-90, 90).all()
    assert not ((kept.lon == 0) & (kept.lat == 0)).any()
    assert kept.time.notna().all()
    assert (kept.time.diff().dropna() > pd.Timedelta(0)).all()


# to_tables: the reconciliation as a reader sees it


def test_to_tables_reconciles_read_kept_rejected(tmp_path):
    path = tmp_path / "flight.log"
    path.write_bytes(b"anything")
    rows = pd.DataFrame(
        {
            "time": _t(0, 1, 1, 2),
            "lon": [10.0, 10.0, 10.0, np.nan],
            "lat": [50.0, 50.0, 50.0, 50.0],
            "source_row": [1, 2, 3, 4],
        }
    )
    log = ParsedLog(rows=rows, source_format="dji_srt", height_ref="takeoff", notes=["n1", "n2"])
    samples, flights = to_tables([log], path=path)
    flight = flights.iloc[0]
    assert (flight.n_read, flight.n_samples, flight.n_rejected) == (4, 2, 2)
    assert json.loads(flight.rejected_reasons) == {"no_position": 1, "time_duplicate": 1}
    assert flight.flight_id == "flight" and flight.notes == "n1; n2"
    assert len(flight.sha256) == 64
    assert samples.source_row.tolist() == [1, 2]
    assert (samples.height_ref == "takeoff").all()


# fleet


def test_read_fleet(tmp_path):
    path = tmp_path / "fleet.csv"
    path.write_text(
        "drone_id, model ,vendor,vendor_country,replacement_cost\n"
        "SN1,Mavic 3,DJI,CN,2000\nSN2,,Skydio,US,\n"
    )
    fleet = read_fleet(path)
    assert list(fleet.columns) == ["drone_id", "model", "vendor", "vendor_country",
                                   "replacement_cost"]
    assert fleet.replacement_cost.dtype == "float64"
    assert fleet.replacement_cost.iloc[0] == 2000 and np.isnan(fleet.replacement_cost.iloc[1])
    assert pd.isna(fleet.model.iloc[1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("drone_id\nSN1\nSN1\n", "column 'drone_id' repeats ['SN1']"),
        ("drone_id,replacement_cost\nSN1,2000\nSN2,lots\n", "row 3: replacement_cost 'lots'"),
        ("model,vendor\nX,Y\n", "no key column: expected 'drone_id' or 'flight_id'"),
    ],
)
def test_read_fleet_errors(tmp_path, text, expected):
    path = tmp_path / "fleet.csv"
    path.write_text(text)
    with pytest.raises(FlightLogError) as err:
        read_fleet(path)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_read_fleet_reports_all_problems_and_missing_files(tmp_path):
    path = tmp_path / "fleet.csv"
    path.write_text("model,replacement_cost\nX,abc\n")
    with pytest.raises(FlightLogError) as err:
        read_fleet(path)
    assert "no key column" in str(err.value) and "'abc' is not a number" in str(err.value)
    with pytest.raises(FlightLogError, match="no such fleet file"):
        read_fleet(tmp_path / "missing.csv")


def test_apply_fleet_joins_by_flight_then_drone():
    flights = gpd.GeoDataFrame(
        {"flight_id": ["a", "b"], "drone_id": ["SN1", None], "vendor": ["DJI", None]},
        geometry=[None, None],
        crs="EPSG:4326",
    )
    fleet = pd.DataFrame(
        {
            "flight_id": [None, "b"],
            "drone_id": ["SN1", "SN2"],
            "vendor": [None, "Skydio"],
            "vendor_country": ["CN", "US"],
        }
    )
    before = flights.copy()
    out = apply_fleet(flights, fleet)
    assert out.drone_id.tolist() == ["SN1", "SN2"]
    assert out.vendor.tolist() == ["DJI", "Skydio"]  # the log's value stays where none is given
    assert out.vendor_country.tolist() == ["CN", "US"]
    pd.testing.assert_frame_equal(flights, before)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == flights.crs

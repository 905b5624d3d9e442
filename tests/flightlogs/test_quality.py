from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightlogs import quality, read_flight_log
from flightlogs.quality import (
    ALTITUDE_TOLERANCE_M,
    MAX_VERTICAL_SPEED_MS,
    REASONS,
    reject_rows,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "flightlogs"
AIRDATA = DATA / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata.csv"


def _frame(heights, *, seconds=None, lat=None, column="height_agl_m"):
    n = len(heights)
    seconds = np.arange(n, dtype=float) if seconds is None else np.asarray(seconds, float)
    return pd.DataFrame(
        {
            "lon": np.full(n, 10.0),
            "lat": np.full(n, 50.0) if lat is None else np.asarray(lat, float),
            "time": pd.to_datetime(seconds * 1e9, utc=True),
            column: np.asarray(heights, float),
            "source_row": np.arange(1, n + 1),
        }
    )


# Altitude spikes, by hand


def test_altitude_spike_up_and_back_is_rejected():
    # 1 s apart: 30 -> 110 -> 31 needs 80 m/s up and 79 m/s down; 30 -> 31 over 2 s is flight.
    kept, rejected = reject_rows(_frame([30.0, 110.0, 31.0, 32.0]))
    assert rejected == {"altitude_spike": 1}
    assert kept.source_row.tolist() == [1, 3, 4]


def test_a_spike_in_msl_altitude_counts_too():
    kept, rejected = reject_rows(_frame([300.0, 300.5, 20.0, 301.0], column="alt_msl_m"))
    assert rejected == {"altitude_spike": 1} and kept.source_row.tolist() == [1, 2, 4]


def test_a_step_to_a_new_level_is_not_a_spike():
    # A barometer re-zeroing: the height jumps and stays. Not isolated, so kept.
    kept, rejected = reject_rows(_frame([30.0, 31.0, 110.0, 111.0, 112.0]))
    assert rejected == {} and len(kept) == 5


def test_fast_but_possible_climbs_are_kept():
    # 20 m/s for one second and back: below the 25 m/s limit.
    assert reject_rows(_frame([30.0, 50.0, 30.0]))[1] == {}
    # 1.9 m at 50 Hz is 95 m/s, but below the 2 m tolerance: sensor noise, not a glitch.
    assert reject_rows(_frame([30.0, 31.9, 30.0], seconds=[0, 0.02, 0.04]))[1] == {}
    assert reject_rows(_frame([30.0, 33.0, 30.0], seconds=[0, 0.02, 0.04]))[1] == {
        "altitude_spike": 1
    }


def test_limits_are_parameters():
    frame = _frame([30.0, 50.0, 30.0])
    assert reject_rows(frame, max_vertical_speed_ms=10.0)[1] == {"altitude_spike": 1}
    assert reject_rows(_frame([30.0, 110.0, 31.0]), altitude_tolerance_m=100.0)[1] == {}
    # Position spikes: 0.001 deg of latitude is 111 m; in 1 s that is too fast at 60 m/s but not
    # at 200 m/s, and never with a 500 m tolerance.
    frame = _frame([np.nan] * 3, lat=[50.0, 50.001, 50.0])
    assert reject_rows(frame)[1] == {"position_spike": 1}
    assert reject_rows(frame, max_speed_ms=200.0)[1] == {}
    assert reject_rows(frame, position_tolerance_m=500.0)[1] == {}


def test_heights_missing_in_some_rows_are_skipped_over():
    kept, rejected = reject_rows(_frame([30.0, np.nan, 110.0, np.nan, 31.0], seconds=range(5)))
    # 30 -> 110 in 2 s (40 m/s) and back in 2 s: a spike among the rows that have a height.
    assert rejected == {"altitude_spike": 1}
    assert kept.source_row.tolist() == [1, 2, 4, 5]


def test_reader_reasons_are_counted_in_their_place():
    frame = _frame([30.0, 31.0, 32.0]).assign(reject_reason=[None, "clock_mismatch", None])
    kept, rejected = reject_rows(frame)
    assert rejected == {"clock_mismatch": 1}
    assert "reject_reason" not in kept and kept.source_row.tolist() == [1, 3]
    # A position problem comes first, and an unknown name is a programming error.
    frame.loc[1, "lat"] = np.nan
    assert reject_rows(frame)[1] == {"no_position": 1}
    with pytest.raises(ValueError, match="unknown reject_reason"):
        reject_rows(frame.assign(reject_reason=["gremlins", None, None]))


# Real files


def test_airdata_clock_glitches_are_rejected_with_their_reason():
    samples, flights = read_flight_log(AIRDATA)
    flight = flights.iloc[0]
    assert flight.rejected_reasons == '{"clock_mismatch": 3, "time_duplicate": 1}'
    assert flight.n_read == flight.n_samples + flight.n_rejected == 11609
    # The rows before the three recording gaps carry the datetime(utc) of the row after the gap
    # (34, 31 and 27 s later) with the time(millisecond) of the row before: spreadsheet rows
    # 531, 11066 and 11201.
    with open(AIRDATA, newline="") as fh:
        rows = list(csv.reader(fh))
    for number, seconds_off in ((531, 34), (11066, 31), (11201, 27)):
        row, following = rows[number - 1], rows[number]
        assert row[1] == following[1]  # same wall-clock second as the row after the gap
        gap_s = (int(following[0]) - int(row[0])) / 1000
        assert gap_s == pytest.approx(seconds_off, abs=1)
        assert number not in set(samples.source_row)
    # The last row repeats time(millisecond) 1254400 with the altitude back at take-off level.
    assert rows[-1][0] == rows[-2][0] == "1254400"
    assert len(rows) not in set(samples.source_row)


@pytest.mark.parametrize(
    "name", ["MAVIC3.srt", "m2zoom.SRT", "matrice_300.srt", "mavic_pro.SRT", "p4_rtk.SRT"]
)
def test_real_srt_tracks_have_no_false_spikes(name):
    # MAVIC3 runs at 50 Hz with heights in 0.1 m steps (a 0.1 m blip is 5 m/s) and positions that
    # step every few frames; m2zoom at 60 Hz; mavic_pro has 4-decimal coordinates (15 m steps).
    _, flights = read_flight_log(DATA / "dji_srt" / name)
    reasons = flights.iloc[0].rejected_reasons
    assert "spike" not in reasons, reasons


# Properties


smooth = st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=60)


@settings(max_examples=100, deadline=None)
@given(smooth, st.integers(1, 58), st.floats(60.0, 5000.0), st.sampled_from([1.0, -1.0]))
def test_an_isolated_height_glitch_is_always_caught(steps, where, size, sign):
    # A flight climbing or descending at most 3 m/s (1 Hz), then one sample pushed far off.
    heights = 100.0 + np.cumsum(steps)
    where = min(where, len(heights) - 2)
    glitched = heights.copy()
    glitched[where] += sign * size
    kept, rejected = reject_rows(_frame(glitched))
    assert rejected == {"altitude_spike": 1}
    assert where + 1 not in set(kept.source_row)
    assert reject_rows(_frame(heights))[1] == {}


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(-1000.0, 10000.0), st.just(np.nan)),
            st.floats(0.0, 1.0),
            st.one_of(st.none(), st.integers(0, 100)),
        ),
        max_size=50,
    )
)
def test_kept_plus_rejected_is_read(data):
    frame = pd.DataFrame(
        {
            "lon": np.full(len(data), 10.0),
            "lat": 50.0 + np.array([d[1] for d in data], dtype=float) * 1e-3,
            "time": pd.to_datetime([np.nan if d[2] is None else d[2] for d in data], unit="s",
                                   utc=True),
            "height_agl_m": np.array([d[0] for d in data], dtype=float),
        }
    )
    kept, rejected = reject_rows(frame)
    assert len(kept) + sum(rejected.values()) == len(frame)
    assert set(rejected) <= set(REASONS)
    assert (kept.time.diff().dropna() > pd.Timedelta(0)).all()


def test_defaults_are_documented_values():
    assert MAX_VERTICAL_SPEED_MS == 25.0 and ALTITUDE_TOLERANCE_M == 2.0


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 9),
    st.lists(st.integers(1, 38), min_size=1, max_size=6, unique=True),
    st.lists(st.integers(1, 38), max_size=6, unique=True),
)
def test_screening_in_blocks_finds_glitches_across_block_edges(block, spikes, bumps):
    # The speed checks run over blocks of legs; a glitch whose legs straddle two blocks must be
    # found exactly as with one block over the whole flight.
    n = 40
    lat = 50.0 + np.arange(n) * 5e-5  # about 5.6 m/s at 1 Hz
    lat[spikes] += 0.01  # 1.1 km off for one sample: a position spike
    heights = np.full(n, 100.0)
    heights[bumps] += 80.0  # 80 m up and back within a second: an altitude spike
    frame = _frame(heights, lat=lat)
    whole = reject_rows(frame)
    original = quality._BLOCK
    try:
        quality._BLOCK = block
        small = reject_rows(frame)
    finally:
        quality._BLOCK = original
    assert whole[1] == small[1]
    assert whole[0].source_row.tolist() == small[0].source_row.tolist()
    # Isolated glitches are all found (neighbouring ones hide each other, as they should).
    lone = [i for i in spikes if i - 1 not in spikes and i + 1 not in spikes]
    assert whole[1].get("position_spike", 0) >= len(lone)

"""The same DJI Mini 2 flight exported by AirData as CSV, GPX and KML gives the same track.

What each export carries (looked at in the files):

- CSV: 11,609 rows at 10 Hz; ``time(millisecond)`` since the first row (1 ms resolution) on top
  of ``datetime(utc)`` (whole seconds); heights above take-off and ``altitude_above_seaLevel``
  in feet; attitude, gimbal and camera columns.
- GPX: 10,941 track points, the CSV rows minus 668 (AirData leaves some rows out, among them
  the duplicated last row); ``<time>`` written to the millisecond, UTC, equal to the CSV's
  first ``datetime(utc)`` plus ``time(millisecond)``; ``<ele>`` is the CSV's
  ``altitude_above_seaLevel`` in metres, rounded to 1e-7 m; positions are the CSV's digits.
- KML: a LineString of 2,284 vertices (every fifth CSV row, 2 Hz, for the first 1,541 of them,
  irregularly spaced after that) with ``altitudeMode`` absolute and the same altitude as the
  GPX; **no times at all** (plus a "Home" point).

So CSV and GPX are matched by time (exactly, to the millisecond), and the KML is matched by
order, since it has no times: each vertex to the nearest CSV sample at or after the previous
vertex's match and within the next 30 samples (3 s).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flightlogs import read_flight_log

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
STEM = DATA / "flightlogs" / "airdata" / "Sep-5th-2021-07-23PM-Flight-Airdata"
EARTH_M = 6_371_008.8


def _metres(lon, lat, lon0, lat0):
    """Local east/north metres around (lon0, lat0): exact enough over a 1 km flight."""
    east = np.radians(np.asarray(lon) - lon0) * EARTH_M * np.cos(np.radians(lat0))
    north = np.radians(np.asarray(lat) - lat0) * EARTH_M
    return np.column_stack([east, north])


@pytest.fixture(scope="module")
def tracks():
    return {ext: read_flight_log(STEM.with_suffix(f".{ext}")) for ext in ("csv", "gpx", "kml")}


def test_csv_and_gpx_agree_sample_by_sample(tracks):
    csv_samples, csv_flights = tracks["csv"]
    gpx_samples, _ = tracks["gpx"]
    joined = gpx_samples.merge(csv_samples, on="time", how="left", suffixes=("_gpx", "_csv"))
    matched = joined[joined.lat_csv.notna()]
    # Times agree to the millisecond: every GPX time but three is a CSV sample time.
    assert len(matched) == len(gpx_samples) - 3
    lon0, lat0 = csv_samples.lon.iloc[0], csv_samples.lat.iloc[0]
    gap = np.hypot(*(
        _metres(matched.lon_gpx, matched.lat_gpx, lon0, lat0)
        - _metres(matched.lon_csv, matched.lat_csv, lon0, lat0)
    ).T)
    assert gap.max() <= 1.0
    assert gap.max() == 0.0  # in fact the same digits
    assert (matched.alt_msl_m_gpx - matched.alt_msl_m_csv).abs().max() < 1e-5
    # The three GPX points without a CSV partner are the CSV rows rejected as clock glitches:
    # their datetime(utc) is 27-34 s off their time(millisecond). The GPX, which has one clock,
    # keeps them at their millisecond time.
    assert csv_flights.iloc[0].rejected_reasons == '{"clock_mismatch": 3, "time_duplicate": 1}'
    with open(STEM.with_suffix(".csv"), newline="") as fh:
        rows = list(csv.reader(fh))
    start = pd.Timestamp(rows[1][1] + "Z")
    glitches = [start + pd.Timedelta(milliseconds=int(rows[r - 1][0])) for r in (531, 11066, 11201)]
    assert joined[joined.lat_csv.isna()].time.tolist() == glitches


def test_kml_vertices_follow_the_csv_track_in_order(tracks):
    csv_samples, _ = tracks["csv"]
    kml_samples, _ = tracks["kml"]
    lon0, lat0 = csv_samples.lon.iloc[0], csv_samples.lat.iloc[0]
    csv_xy = _metres(csv_samples.lon, csv_samples.lat, lon0, lat0)
    kml_xy = _metres(kml_samples.lon, kml_samples.lat, lon0, lat0)
    csv_alt = csv_samples.alt_msl_m.to_numpy()
    start, matches, gaps, alt_gaps = 0, [], [], []
    for xy, alt in zip(kml_xy, kml_samples.alt_msl_m.to_numpy(), strict=True):
        window = csv_xy[start : start + 30]
        d = np.hypot(*(window - xy).T)
        best = int(np.argmin(d))
        matches.append(start + best)
        gaps.append(d[best])
        alt_gaps.append(abs(csv_alt[start + best] - alt))
        start += best
    gaps, alt_gaps = np.array(gaps), np.array(alt_gaps)
    assert gaps.max() <= 1.0
    assert np.median(gaps) == 0.0  # most vertices are CSV rows digit for digit
    # Altitudes agree too, except at the last vertex: it is the CSV's duplicated last row (same
    # time(millisecond) as the one before, altitude back to the take-off's 5.29 m), which the
    # CSV reader rejects as time_duplicate and AirData still drew into the KML.
    assert alt_gaps[:-1].max() < 1e-5
    assert alt_gaps[-1] == pytest.approx(1.8, abs=1e-3)
    assert kml_samples.alt_msl_m.iloc[-1] == 5.2937593
    assert np.all(np.diff(matches) >= 0)
    # The KML covers the whole flight: from the second CSV row (100 ms) to the last ones.
    assert matches[0] == 1 and matches[-1] >= len(csv_samples) - 5


def test_kml_is_every_fifth_csv_row_at_first():
    # Index matching where it holds: vertex i is CSV data row 1 + 5 i (0-based) for the first
    # 1,541 vertices, read independently of the readers.
    with open(STEM.with_suffix(".csv"), newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    text = STEM.with_suffix(".kml").read_text()
    block = text.split("<LineString>")[1].split("<coordinates>")[1].split("</coordinates>")[0]
    vertices = [v.split(",") for v in block.split()]
    for i in range(1541):
        lon, lat, _ = vertices[i]
        row = rows[1 + 5 * i]
        assert (float(row[2]), float(row[3])) == (float(lat), float(lon)), i


def test_all_three_span_the_same_flight(tracks):
    csv_samples, csv_flights = tracks["csv"]
    gpx_samples, _ = tracks["gpx"]
    # GPX starts at the second CSV row (+100 ms) and ends with the CSV's last kept sample.
    assert gpx_samples.time.iloc[0] - csv_samples.time.iloc[0] == pd.Timedelta(milliseconds=100)
    assert gpx_samples.time.iloc[-1] == csv_samples.time.iloc[-1]
    assert (csv_flights.iloc[0].end - csv_flights.iloc[0].start).total_seconds() == 1254.4

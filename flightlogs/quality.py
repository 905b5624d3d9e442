"""Row rejection with a reason for every rejected row.

Readers hand the rows they parsed to :func:`reject_rows`; it returns the rows to keep and a count of
the rejected ones per reason, so that ``read == kept + sum(rejected)`` holds for every file.

Reasons (checked in this order; a row is counted under the first reason that applies):

``no_position``
    longitude or latitude missing.
``coordinates_out_of_range``
    longitude outside [-180, 180] or latitude outside [-90, 90].
``null_island``
    exactly (0, 0): what many flight controllers write before the first GPS fix.
``no_time``
    the time is missing.
``clock_mismatch``
    set by a reader whose format carries two clocks that disagree on this row (AirData: the
    row's ``datetime(utc)`` is more than 2 s away from what ``time(millisecond)`` says). Readers
    mark such rows in a ``reject_reason`` column; any reason of :data:`REASONS` may be given
    there and is checked at this point.
``time_backwards``
    earlier than the latest time kept before it.
``time_duplicate``
    the same time as the row kept just before it (the later copy is dropped).
``position_spike``
    a single sample that lies far off its neighbours: reaching it from the previous sample and
    leaving it for the next one both need more than ``max_speed_ms`` (default 60 m/s), while the
    neighbours themselves are consistent with each other (a GPS glitch, not flight). A leg counts
    as too fast only when it is also longer than ``position_tolerance_m`` (default 5 m), so that
    the steps of a position repeated across 50 Hz video frames are not taken for spikes.
``altitude_spike``
    the same for heights: a single sample whose height (``height_agl_m``, and separately
    ``alt_msl_m``) jumps away and comes back, each jump needing more than
    ``max_vertical_speed_ms`` (default 25 m/s) and being larger than ``altitude_tolerance_m``
    (default 2 m), with the neighbours consistent with each other (a barometer or GPS-altitude
    glitch).

Distances for the speed tests use the equirectangular approximation on the WGS 84 mean radius,
which differs from the great-circle distance by less than 0.5 % below 500 km: ample for a test
against a speed limit, and several times cheaper than the haversine on millions of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ALTITUDE_TOLERANCE_M",
    "MAX_SPEED_MS",
    "MAX_VERTICAL_SPEED_MS",
    "POSITION_TOLERANCE_M",
    "READER_REASON",
    "REASONS",
    "reject_rows",
]

#: Fastest ground speed (m/s) accepted between two samples: above any multirotor or small
#: fixed-wing UAS (the fastest DJI enterprise airframes reach about 23 m/s).
MAX_SPEED_MS = 60.0
#: A leg shorter than this (m) is never too fast: GPS noise and repeated positions.
POSITION_TOLERANCE_M = 5.0
#: Fastest climb or descent (m/s) accepted between two samples: above any camera drone (DJI's
#: fastest consumer airframe, the DJI FPV, is specified at 15 m/s climb, 10 m/s descent).
MAX_VERTICAL_SPEED_MS = 25.0
#: A height change smaller than this (m) is never a spike: barometer and GPS-height noise.
ALTITUDE_TOLERANCE_M = 2.0

#: Name of the optional column in which a reader marks rows with a reason of its own.
READER_REASON = "reject_reason"

REASONS = (
    "no_position",
    "coordinates_out_of_range",
    "null_island",
    "no_time",
    "clock_mismatch",
    "time_backwards",
    "time_duplicate",
    "position_spike",
    "altitude_spike",
)
_CODE = {name: i + 1 for i, name in enumerate(REASONS)}  # 0 = kept

_EARTH_RADIUS_M = 6_371_008.8
_METRES_PER_DEGREE = _EARTH_RADIUS_M * np.pi / 180.0


def _ground_m(lon1, lat1, lon2, lat2):
    """Equirectangular distance in metres (see the module notes for its accuracy)."""
    dlon = (np.asarray(lon2) - lon1 + 180.0) % 360.0 - 180.0
    k = np.cos(np.radians((np.asarray(lat1) + lat2) / 2.0))
    return _EARTH_RADIUS_M * np.radians(np.hypot(dlon * k, np.asarray(lat2) - lat1))


def _floats(column: pd.Series) -> np.ndarray:
    """Return a column as float64 values, NaN where missing or not a number (no copy if float64)."""
    if column.dtype == np.float64:
        return column.to_numpy()
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _candidates(ok: np.ndarray) -> np.ndarray | None:
    """Return the positions of the rows still in play, or None when all of them are."""
    return None if ok.all() else np.flatnonzero(ok)


def _pick(values: np.ndarray, idx: np.ndarray | None) -> np.ndarray:
    return values if idx is None else values[idx]


#: Legs handled per step of the screening passes: the temporaries of one step (a few hundred
#: kilobytes) stay in the processor cache instead of streaming tens of millions of values
#: through memory once per arithmetic operation.
_BLOCK = 1 << 16


def _fast_legs(
    values: list[np.ndarray], tt: np.ndarray, limit: float, tolerance: float, scale: float = 1.0
) -> np.ndarray:
    """Return the legs i (sample i to i + 1) whose change may exceed ``limit`` per second.

    The change of a leg is ``scale`` times the sum of ``|diff|`` over ``values`` (metres, or
    an upper bound of them); a leg is returned when it exceeds both ``limit`` times the leg's
    duration (``tt`` in seconds) and ``tolerance``.
    """
    found = []
    for a in range(0, len(tt) - 1, _BLOCK):
        b = min(a + _BLOCK, len(tt) - 1)
        change = np.abs(values[0][a + 1 : b + 1] - values[0][a:b])
        for more in values[1:]:
            change += np.abs(more[a + 1 : b + 1] - more[a:b])
        if scale != 1.0:
            change *= scale
        allowed = tt[a + 1 : b + 1] - tt[a:b]
        allowed *= limit
        hit = np.flatnonzero((change > allowed) & (change > tolerance))
        if len(hit):
            found.append(hit + a)
    return np.concatenate(found) if found else np.empty(0, dtype=np.intp)


def _spikes(jumps: np.ndarray, skip_ok) -> np.ndarray:
    """Find the samples whose legs in and out both jump while ``skip_ok(before, after)`` holds.

    ``jumps`` are leg numbers in increasing order (leg i joins samples i and i + 1); the
    returned samples are the middle ones, i + 1 for two jumps i and i + 1.
    """
    pair = jumps[:-1][np.diff(jumps) == 1]
    if not len(pair):
        return pair
    return pair[skip_ok(pair, pair + 2)] + 1


def reject_rows(
    frame: pd.DataFrame,
    *,
    max_speed_ms: float = MAX_SPEED_MS,
    position_tolerance_m: float = POSITION_TOLERANCE_M,
    max_vertical_speed_ms: float = MAX_VERTICAL_SPEED_MS,
    altitude_tolerance_m: float = ALTITUDE_TOLERANCE_M,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Split one flight's parsed rows into kept rows and rejection counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        One flight's rows in file order, with ``lon``, ``lat`` and ``time`` (UTC datetimes,
        NaT where missing), optionally ``height_agl_m``, ``alt_msl_m`` and a ``reject_reason``
        column set by the reader (NA where the reader found nothing wrong). Not modified.
    max_speed_ms : float
        Ground speed above which an isolated sample is a position spike.
    position_tolerance_m : float
        Legs shorter than this never count as too fast.
    max_vertical_speed_ms : float
        Climb or descent rate above which an isolated sample is an altitude spike.
    altitude_tolerance_m : float
        Height changes smaller than this never count as too fast.

    Returns
    -------
    kept : pandas.DataFrame
        The rows that passed, in file order, index reset, without ``reject_reason``.
    rejected : dict of str to int
        Count per reason (only reasons that occurred); ``len(kept) + sum(rejected.values())``
        equals ``len(frame)``.

    Raises
    ------
    ValueError
        If ``reject_reason`` holds a name that is not one of :data:`REASONS`.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"lon": [0.0, 10.0, 10.0, 10.0], "lat": [0.0, 50.0, 50.0, 91.0],
    ...                      "time": pd.to_datetime(["2024-01-01T00:00:00", "2024-01-01T00:00:01",
    ...                                              "2024-01-01T00:00:01", "2024-01-01T00:00:02"],
    ...                                             utc=True)})
    >>> kept, rejected = reject_rows(rows)
    >>> len(kept), rejected
    (1, {'coordinates_out_of_range': 1, 'null_island': 1, 'time_duplicate': 1})

    A height that jumps 80 m up for one sample at 1 Hz and comes back is a glitch:

    >>> rows = pd.DataFrame({"lon": [10.0] * 4, "lat": [50.0] * 4,
    ...                      "time": pd.to_datetime([0, 1, 2, 3], unit="s", utc=True),
    ...                      "height_agl_m": [30.0, 110.0, 31.0, 32.0]})
    >>> reject_rows(rows)[1]
    {'altitude_spike': 1}
    """
    n = len(frame)
    lon, lat = _floats(frame["lon"]), _floats(frame["lat"])
    time = pd.to_datetime(frame["time"], utc=True)
    # One small integer per row (0 = kept so far) instead of strings: this runs on every sample
    # of every file, tens of millions of rows in a fleet-year.
    code = np.zeros(n, dtype=np.int8)

    def mark(mask: np.ndarray, name: str) -> None:
        code[(code == 0) & mask] = _CODE[name]

    mark(~np.isfinite(lon) | ~np.isfinite(lat), "no_position")
    mark((np.abs(lon) > 180) | (np.abs(lat) > 90), "coordinates_out_of_range")
    mark((lon == 0) & (lat == 0), "null_island")
    t = time.to_numpy(dtype="datetime64[ns]")
    mark(np.isnat(t), "no_time")
    if READER_REASON in frame:
        given = frame[READER_REASON].astype("string").fillna("").to_numpy(dtype=object)
        unknown = sorted(set(given[given != ""]) - set(REASONS))
        if unknown:
            raise ValueError(f"unknown {READER_REASON} values {unknown}; expected {REASONS}")
        for name in set(given[given != ""]):
            mark(given == name, name)

    t = t.astype("int64")
    # Time order against what is kept so far: a running maximum over the candidate rows. Most
    # files are in strict order already, which one difference pass tells.
    idx = _candidates(code == 0)
    tk = t if idx is None else t[idx]
    if len(tk) > 1 and not (tk[1:] > tk[:-1]).all():
        idx = np.arange(n) if idx is None else idx
        prev_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(tk)[:-1]])
        code[idx[tk < prev_max]] = _CODE["time_backwards"]
        code[idx[tk == prev_max]] = _CODE["time_duplicate"]

    seconds = t / 1e9  # once: the height checks below take the same times
    idx = _candidates(code == 0)
    x, y, tt = _pick(lon, idx), _pick(lat, idx), _pick(seconds, idx)
    if len(x) >= 3:
        # |dlat| + |dlon| in degrees, times the metres of a degree, bounds the distance from
        # above: only legs that might be too fast get the (dearer) distance computed.
        maybe = _fast_legs(
            [y, x], tt, max_speed_ms, position_tolerance_m, scale=_METRES_PER_DEGREE
        )
        if len(maybe):
            dist = _ground_m(x[maybe], y[maybe], x[maybe + 1], y[maybe + 1])
            gap = max_speed_ms * (tt[maybe + 1] - tt[maybe])
            jumps = maybe[(dist > gap) & (dist > position_tolerance_m)]

            def skip_ok(before: np.ndarray, after: np.ndarray) -> np.ndarray:
                skip = _ground_m(x[before], y[before], x[after], y[after])
                return (skip <= max_speed_ms * (tt[after] - tt[before])) | (
                    skip <= position_tolerance_m
                )

            spike = _spikes(jumps, skip_ok)
            code[spike if idx is None else idx[spike]] = _CODE["position_spike"]

    for column in ("height_agl_m", "alt_msl_m"):
        if column not in frame:
            continue
        h = _floats(frame[column])
        idx = _candidates((code == 0) & np.isfinite(h))
        hh, tt = _pick(h, idx), _pick(seconds, idx)
        if len(hh) < 3:
            continue
        jumps = _fast_legs([hh], tt, max_vertical_speed_ms, altitude_tolerance_m)
        if not len(jumps):
            continue

        def back_ok(before: np.ndarray, after: np.ndarray, hh=hh, tt=tt) -> np.ndarray:
            skip = np.abs(hh[after] - hh[before])
            middle = before + 1
            # Up then down, or down then up: a spike, not a step to a new level.
            back = (hh[middle] - hh[before]) * (hh[after] - hh[middle]) < 0
            return back & (
                (skip <= max_vertical_speed_ms * (tt[after] - tt[before]))
                | (skip <= altitude_tolerance_m)
            )

        spike = _spikes(jumps, back_ok)
        code[spike if idx is None else idx[spike]] = _CODE["altitude_spike"]

    keep = code == 0
    kept = frame if keep.all() else frame.loc[keep]
    if READER_REASON in kept:
        kept = kept.drop(columns=READER_REASON)
    counts = np.bincount(code[~keep], minlength=len(REASONS) + 1)  # the rejected rows only
    rejected = {name: int(counts[i + 1]) for i, name in enumerate(REASONS) if counts[i + 1]}
    return kept.reset_index(drop=True), rejected

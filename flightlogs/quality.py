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
``time_backwards``
    earlier than the latest time kept before it.
``time_duplicate``
    the same time as the row kept just before it (the later copy is dropped).
``position_spike``
    a single sample that lies far off its neighbours: reaching it from the previous sample and
    leaving it for the next one both need more than ``max_speed_ms`` (a GPS glitch, not flight).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["MAX_SPEED_MS", "REASONS", "reject_rows"]

#: Fastest ground speed (m/s) accepted between two samples: above any multirotor or small
#: fixed-wing UAS (the fastest DJI enterprise airframes reach about 23 m/s).
MAX_SPEED_MS = 60.0

REASONS = (
    "no_position",
    "coordinates_out_of_range",
    "null_island",
    "no_time",
    "time_backwards",
    "time_duplicate",
    "position_spike",
)

_EARTH_RADIUS_M = 6_371_008.8


def _haversine_m(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def reject_rows(
    frame: pd.DataFrame, *, max_speed_ms: float = MAX_SPEED_MS
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Split one flight's parsed rows into kept rows and rejection counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        One flight's rows in file order, with ``lon``, ``lat`` and ``time`` (UTC datetimes,
        NaT where missing). Not modified.
    max_speed_ms : float
        Ground speed above which an isolated sample is treated as a position spike.

    Returns
    -------
    kept : pandas.DataFrame
        The rows that passed, in file order, index reset.
    rejected : dict of str to int
        Count per reason (only reasons that occurred); ``len(kept) + sum(rejected.values())``
        equals ``len(frame)``.

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
    """
    n = len(frame)
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
    time = pd.to_datetime(frame["time"], utc=True)
    reason = np.full(n, "", dtype=object)

    def mark(mask: np.ndarray, name: str) -> None:
        reason[(reason == "") & mask] = name

    mark(~np.isfinite(lon) | ~np.isfinite(lat), "no_position")
    mark((np.abs(lon) > 180) | (np.abs(lat) > 90), "coordinates_out_of_range")
    mark((lon == 0) & (lat == 0), "null_island")
    mark(time.isna().to_numpy(), "no_time")

    # Time order against what is kept so far: a running maximum over the candidate rows.
    ok = reason == ""
    t = time.to_numpy(dtype="datetime64[ns]").astype("int64")
    idx = np.flatnonzero(ok)
    if len(idx):
        tk = t[idx]
        prev_max = np.concatenate([[np.iinfo(np.int64).min], np.maximum.accumulate(tk)[:-1]])
        reason[idx[tk < prev_max]] = "time_backwards"
        reason[idx[(tk == prev_max)]] = "time_duplicate"

    idx = np.flatnonzero(reason == "")
    if len(idx) >= 3:
        x, y, tt = lon[idx], lat[idx], t[idx] / 1e9
        dist = _haversine_m(x[:-1], y[:-1], x[1:], y[1:])
        speed = dist / np.maximum(np.diff(tt), 1e-3)
        fast = speed > max_speed_ms
        # Sample k (1..n-2) is a spike when both the leg into it and the leg out of it are too fast
        # but its neighbours are close to each other (the track continues where it left off).
        skip = _haversine_m(x[:-2], y[:-2], x[2:], y[2:]) / np.maximum(tt[2:] - tt[:-2], 1e-3)
        spike = fast[:-1] & fast[1:] & (skip <= max_speed_ms)
        reason[idx[1:-1][spike]] = "position_spike"

    kept = frame.loc[reason == ""].reset_index(drop=True)
    names, counts = np.unique(reason[reason != ""], return_counts=True)
    return kept, {str(k): int(v) for k, v in zip(names, counts, strict=True)}

"""The usual time of a set of visits, and how regular the visits are around it.

The usual time is the time of the cycle (the week, or the day) that the most visits started
within ±1 h of; the share of visits within that hour either side rates how predictable the next
visit is (definitions in :mod:`exposure.patterns`). :func:`best_times` finds it for many groups
(sites) and columns (draws of the leak simulation) at once, with a compiled sweep.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from exposure.errors import ExposureError

__all__ = [
    "DAY_MINUTES",
    "MIN_VISITS",
    "REGULARITY_BINS",
    "SLOTS",
    "WEEKDAYS",
    "WEEK_MINUTES",
    "best_times",
    "regularity_class",
    "time_label",
    "usual_time",
]

#: Visits needed before a site's regularity is rated.
MIN_VISITS = 3
#: Hours in a week: the cells of the weekday × hour distribution.
SLOTS = 168
#: Minutes in a week and in a day: the cycles a usual time is sought in.
WEEK_MINUTES = 10_080
DAY_MINUTES = 1_440
#: Lower bounds of the ``medium`` and ``high`` regularity classes (on the usual share).
REGULARITY_BINS = (0.4, 0.75)
#: Weekday names, Monday first (``weekday`` 0).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@numba.njit(cache=True)
def _best_times_kernel(bounds, minute, counts, period, width):
    n_groups, cols = len(bounds) - 1, counts.shape[1]
    best = np.full((n_groups, cols), -1, np.int64)
    found = np.zeros((n_groups, cols), np.int64)
    most = 0
    for g in range(n_groups):
        most = max(most, bounds[g + 1] - bounds[g])
    # The counted visits of one group and column, then the same one cycle later, so that a
    # window can wrap around the cycle's end.
    mm = np.empty(2 * most, np.int64)
    for g in range(n_groups):
        a, b = bounds[g], bounds[g + 1]
        for c in range(cols):
            k = 0
            for i in range(a, b):
                if counts[i, c]:
                    mm[k] = minute[i]
                    k += 1
            for i in range(k):
                mm[k + i] = mm[i] + period
            top, spread_top, first_top = 0, 0, 0
            j = 0
            # Visits come sorted, so each window starts at a visit and its end only moves on:
            # the strict comparisons keep the earliest of equal windows.
            for i in range(k):
                j = max(j, i)
                while j < i + k and mm[j] <= mm[i] + width:
                    j += 1
                inside, spread = j - i, mm[j - 1] - mm[i]
                if inside > top or (inside == top and spread < spread_top):
                    top, spread_top, first_top = inside, spread, mm[i]
            if top:
                found[g, c] = top
                best[g, c] = (first_top + spread_top // 2) % period
    return best, found


def best_times(
    group: ArrayLike,
    minute: ArrayLike,
    counts: ArrayLike | None = None,
    *,
    n_groups: int,
    period: int = WEEK_MINUTES,
    half_width: int = 60,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per group (site) and column (draw): the usual time and the visits within ±1 h of it.

    The usual time is the centre of the window ``2 × half_width`` minutes long (wrapping round
    the cycle) that holds the most visits, placed midway between the first and last of them, so
    that all of them lie within ``half_width`` of it and no other visit does. Ties go to the
    window whose visits lie closest together, then to the earliest. A compiled two-pointer
    sweep over each group's sorted visits finds it in one pass per column.

    Parameters
    ----------
    group : array-like of int
        Group of each visit, ``0 .. n_groups - 1``.
    minute : array-like of int
        Each visit's minute of the cycle (``minute_of_week``, or of the day).
    counts : array-like, optional
        ``(visits, columns)``: non-zero where the visit counts in that column (e.g. became
        known in that draw); every visit counts once by default.
    n_groups : int
        Number of groups.
    period : int
        Minutes in the cycle: 10080 for the week, 1440 for the day.
    half_width : int
        Minutes either side of the usual time (less than half the cycle).

    Returns
    -------
    tuple of numpy.ndarray
        ``(n_groups, columns)``: the usual time (minute of the cycle; -1 where no visit
        counts) and the number of counted visits within ``half_width`` of it.

    Raises
    ------
    ExposureError
        If a group is out of range or the window is not shorter than the cycle.

    Examples
    --------
    Visits on Tuesday at 09:50, 10:00 and 10:10 and one on Friday: the usual time is Tuesday
    10:00 (minute 2040 of the week), three visits lie within an hour of it.

    >>> best_times([0, 0, 0, 0], [2030, 2040, 2050, 6000], n_groups=1)
    (array([[2040]]), array([[3]]))
    """
    group = np.asarray(group, np.int64)
    minute = np.asarray(minute, np.int64) % period
    w = (np.ones((len(group), 1), np.bool_) if counts is None
         else np.asarray(counts).reshape(len(group), -1) != 0)
    if len(group) and (group.min() < 0 or group.max() >= n_groups):
        raise ExposureError(f"best_times: groups must lie in 0 .. {n_groups - 1}")
    if not 0 <= 2 * half_width < period:
        raise ExposureError(f"best_times: a window of ±{half_width} min does not fit a cycle of "
                            f"{period} min")
    order = np.lexsort((minute, group))
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1)).astype(np.int64)
    return _best_times_kernel(bounds, minute[order], np.ascontiguousarray(w[order]),
                              int(period), int(2 * half_width))


def usual_time(minutes: ArrayLike, *, period: int = WEEK_MINUTES) -> tuple[int, float]:
    """Find the usual time of a set of visits and the share of them within ±1 h of it.

    Parameters
    ----------
    minutes : array-like of int
        Each visit's minute of the week (or of the day, with ``period=1440``).
    period : int
        Minutes in the cycle.

    Returns
    -------
    tuple
        The usual time (-1 without visits) and the share (NaN without visits).

    Examples
    --------
    Eight visits on Tuesday between 09:56 and 10:04, one at 07:30, one on Friday night:

    >>> usual_time([2036, 2038, 2038, 2040, 2040, 2042, 2042, 2044, 1890, 6900])
    (2040, 0.8)

    The usual time covers as many visits as it can: with the early one at 08:30 instead, all
    nine Tuesday visits lie within an hour of 09:17.

    >>> usual_time([2036, 2038, 2038, 2040, 2040, 2042, 2042, 2044, 1950, 6900])
    (1997, 0.9)
    >>> usual_time([1420, 30], period=1440)  # 23:40 and 00:30: midway is 00:05
    (5, 1.0)
    """
    m = np.asarray(minutes, np.int64)
    best, count = best_times(np.zeros(len(m), np.int64), m, n_groups=1, period=period)
    return int(best[0, 0]), (float(count[0, 0]) / len(m) if len(m) else float("nan"))


def regularity_class(share: ArrayLike, visits: ArrayLike, *,
                     min_visits: int = MIN_VISITS) -> NDArray[np.object_]:
    """Rate regularity ``high``, ``medium`` or ``low`` by the share of visits near the usual time.

    None where fewer than ``min_visits`` visits (or no share) are given.

    Examples
    --------
    >>> regularity_class([1.0, 0.5, 0.1, 1.0], [10, 10, 10, 2]).tolist()
    ['high', 'medium', 'low', None]
    """
    share = np.asarray(share, float)
    out = np.where(share >= REGULARITY_BINS[1], "high",
                   np.where(share >= REGULARITY_BINS[0], "medium", "low")).astype(object)
    out[~(np.asarray(visits, float) >= min_visits) | np.isnan(share)] = None
    return out


def time_label(minutes: Sequence[int] | NDArray[np.int64], *,
               week: bool = True) -> list[str | None]:
    """Label minutes of the week (``Tue 10:00`` for 2040) or of the day; None for -1.

    Examples
    --------
    >>> time_label([2040, -1, 10079])
    ['Tue 10:00', None, 'Sun 23:59']
    >>> time_label([600], week=False)
    ['10:00']
    """
    out: list[str | None] = []
    for m in map(int, minutes):
        clock = f"{m % 1440 // 60:02d}:{m % 60:02d}"
        out.append(None if m < 0 else f"{WEEKDAYS[m // 1440]} {clock}" if week else clock)
    return out

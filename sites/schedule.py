"""When a site (a UAS geozone) is in force: the ``schedule`` column, and testing it against times.

A schedule is NA when the site always applies. Otherwise it is compact JSON text: a list of
periods, the site applying at the times that fall in *any* of them::

    [{"from": "2022-06-15T09:00:00Z", "to": "2023-06-15T09:00:00Z",
      "daily": [{"days": ["SAT", "SUN"], "start": "17:00:00", "end": "23:59:59",
                 "utc_offset": "+00:00"}]}]

- ``from`` / ``to``: the period's first and last instant in UTC (``to`` excluded); either may
  be missing (open-ended).
- ``daily`` (optional): windows repeated on the listed days (``MON`` … ``SUN``, or ``ANY``),
  ``start`` to ``end`` in local time at ``utc_offset``. An ``end`` not after ``start`` runs
  past midnight; ``start == end`` is the whole day. A window may instead name a daylight event
  (``start_event``/``end_event``: ``SR`` sunrise, ``SS`` sunset, ``BMCT``/``EECT`` civil
  twilight) as ED-318 allows; those are not computed here, and such a window counts as active
  (the safe reading for a restriction).

It is built from ED-269 ``applicability`` and ED-318 ``limitedApplicability`` by
:func:`from_applicability`, and tested with :func:`is_active`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["DAYS", "from_applicability", "is_active"]

#: Day codes of ED-269/ED-318, Monday first (pandas' ``day_of_week`` order).
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

_TIME = re.compile(
    r"^(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


class ScheduleError(ValueError):
    """An applicability entry that cannot be understood (the reader turns it into a problem)."""


def _utc(text: object, what: str) -> str | None:
    if text is None or text == "":
        return None
    try:
        stamp = pd.Timestamp(str(text))
    except ValueError:
        raise ScheduleError(f"{what} {text!r} is not an ISO 8601 date-time") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _clock(text: object, what: str) -> tuple[str, str]:
    match = _TIME.match(str(text).strip())
    if not match:
        raise ScheduleError(f"{what} {text!r} is not a time of day (expected hh:mm:ss[±hh:mm])")
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hour > 24 or minute > 59 or second > 59:
        raise ScheduleError(f"{what} {text!r} is not a time of day")
    tz = match["tz"] or "Z"
    offset = "+00:00" if tz == "Z" else f"{tz[:3]}:{tz[-2:]}"
    return f"{hour:02d}:{minute:02d}:{second:02d}", offset


def _daily(entry: Mapping[str, Any]) -> dict[str, Any] | None:
    days = [str(d).upper() for d in entry.get("day") or []]
    unknown = [d for d in days if d not in (*DAYS, "ANY")]
    if unknown:
        raise ScheduleError(f"day {unknown} is not one of {', '.join(DAYS)}, ANY")
    start, end = entry.get("startTime"), entry.get("endTime")
    events = {k: entry.get(k) for k in ("startEvent", "endEvent") if entry.get(k)}
    if not days and start is None and end is None and not events:
        return None  # ED-269 writes an empty daily period for "no daily restriction"
    out: dict[str, Any] = {"days": sorted(set(days) or {"ANY"}, key=(*DAYS, "ANY").index)}
    offset = None
    if start is not None:
        out["start"], offset = _clock(start, "startTime")
    if end is not None:
        out["end"], end_offset = _clock(end, "endTime")
        offset = offset or end_offset
    out["utc_offset"] = offset or "+00:00"
    if "startEvent" in events:
        out["start_event"] = str(events["startEvent"])
    if "endEvent" in events:
        out["end_event"] = str(events["endEvent"])
    if "start" not in out and "start_event" not in out:
        out["start"] = "00:00:00"
    if "end" not in out and "end_event" not in out:
        out["end"] = out.get("start", "00:00:00")
    return out


def _all_day(rule: Mapping[str, Any]) -> bool:
    """Whether a daily window covers every hour of every day."""
    return (
        "ANY" in rule["days"] or set(DAYS) <= set(rule["days"])
    ) and rule.get("start") == rule.get("end") is not None


def from_applicability(periods: Sequence[Mapping[str, Any]] | None) -> str | None:
    """Turn ED-269 ``applicability`` or ED-318 ``limitedApplicability`` into a schedule.

    Parameters
    ----------
    periods : sequence of mapping or None
        The zone's list of time periods (``startDateTime``, ``endDateTime``, ``permanent``,
        ``schedule`` or ED-269's ``dailyPeriod``).

    Returns
    -------
    str or None
        The schedule (see the module notes); None when the zone always applies: no periods,
        or one marked ``permanent: "YES"``.

    Raises
    ------
    ValueError
        If a date, time or day cannot be read.

    Examples
    --------
    >>> from_applicability([{"permanent": "YES"}]) is None
    True
    >>> from_applicability([{"schedule": [{"day": ["ANY"], "startTime": "00:00:00.00+01:00",
    ...                                    "endTime": "00:00:00.00+01:00"}]}]) is None
    True
    >>> from_applicability([{"startDateTime": "2024-11-15T00:00:00+01:00",
    ...                      "schedule": [{"day": ["SAT"], "startTime": "17:00:00.00Z",
    ...                                    "endTime": "23:00:00Z"}]}])
    '[{"daily":[{"days":["SAT"],"end":"23:00:00","start":"17:00:00","utc_offset":"+00:00"}],"from":"2024-11-14T23:00:00Z"}]'
    """
    out = []
    for period in periods or []:
        if str(period.get("permanent", "")).upper() == "YES":
            return None
        entry: dict[str, Any] = {}
        start = _utc(period.get("startDateTime"), "startDateTime")
        end = _utc(period.get("endDateTime"), "endDateTime")
        if start:
            entry["from"] = start
        if end:
            entry["to"] = end
        daily = [_daily(d) for d in (period.get("schedule") or period.get("dailyPeriod") or [])]
        daily = [d for d in daily if d is not None]
        if daily and not any(_all_day(d) for d in daily):
            entry["daily"] = daily
        out.append(entry)
    if not out or any(not entry for entry in out):
        return None  # a period with no limits at all: always
    return json.dumps(out, separators=(",", ":"), sort_keys=True)


def _seconds(clock: str) -> int:
    h, m, s = (int(p) for p in clock.split(":"))
    return h * 3600 + m * 60 + s


def _offset(text: str) -> pd.Timedelta:
    sign = -1 if text.startswith("-") else 1
    return sign * pd.Timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))


def _in_daily(utc: pd.DatetimeIndex, rule: Mapping[str, Any]) -> npt.NDArray[np.bool_]:
    if "start_event" in rule or "end_event" in rule:
        return np.ones(len(utc), dtype=bool)  # daylight events are not computed: assume active
    local = utc + _offset(rule["utc_offset"])
    second = (local.hour * 3600 + local.minute * 60 + local.second).to_numpy()
    start, end = _seconds(rule["start"]), _seconds(rule["end"])
    days = set(rule["days"])
    wanted = np.array([d in days or "ANY" in days for d in DAYS])
    today = wanted[local.day_of_week.to_numpy()]
    if start < end:
        return today & (second >= start) & (second < end)
    if start == end:
        return today
    # past midnight: the early part belongs to the window that opened the day before
    yesterday = wanted[(local.day_of_week.to_numpy() - 1) % 7]
    return (today & (second >= start)) | (yesterday & (second < end))


def is_active(schedule: object, when: Any) -> npt.NDArray[np.bool_]:
    """Tell, for each time, whether a site with this schedule is in force.

    Parameters
    ----------
    schedule : str or NA
        A ``schedule`` value of the sites table; NA (or None) means always.
    when : datetime-like or array-like of them
        Times; naive times are taken as UTC.

    Returns
    -------
    numpy.ndarray of bool
        One entry per time.

    Examples
    --------
    >>> s = from_applicability([{"schedule": [{"day": ["SAT", "SUN"],
    ...     "startTime": "17:00:00+02:00", "endTime": "23:59:59+02:00"}]}])
    >>> is_active(s, ["2024-06-15T16:00Z", "2024-06-15T14:00Z", "2024-06-17T16:00Z"]).tolist()
    [True, False, False]
    >>> is_active(None, ["2024-06-17T16:00Z"]).tolist()
    [True]
    """
    values = np.atleast_1d(np.asarray(when, dtype=object))
    utc = pd.DatetimeIndex(pd.to_datetime(values, utc=True, format="ISO8601"))
    if schedule is None or (not isinstance(schedule, str) and pd.isna(schedule)):
        return np.ones(len(utc), dtype=bool)
    active = np.zeros(len(utc), dtype=bool)
    for period in json.loads(str(schedule)):
        inside = np.ones(len(utc), dtype=bool)
        if "from" in period:
            inside &= utc >= pd.Timestamp(period["from"])
        if "to" in period:
            inside &= utc < pd.Timestamp(period["to"])
        if period.get("daily"):
            inside &= np.logical_or.reduce([_in_daily(utc, r) for r in period["daily"]])
        active |= inside
    return active

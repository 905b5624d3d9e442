from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sites.schedule import ScheduleError, from_applicability, is_active


def test_permanent_and_empty_mean_always() -> None:
    assert from_applicability(None) is None
    assert from_applicability([]) is None
    assert from_applicability([{"permanent": "YES", "startDateTime": "2020-01-01T00:00Z"}]) is None
    # ED-269's empty daily period says nothing
    empty = [{"permanent": "NO", "dailyPeriod": [{"day": [], "startTime": None, "endTime": None}]}]
    assert from_applicability(empty) is None


def test_window_dates_are_converted_to_utc() -> None:
    text = from_applicability(
        [{"startDateTime": "2024-11-15T00:00:00+01:00", "endDateTime": "2025-04-15T00:00:00+02:00"}]
    )
    assert json.loads(text) == [{"from": "2024-11-14T23:00:00Z", "to": "2025-04-14T22:00:00Z"}]
    inside, before, after = "2025-01-01T00:00Z", "2024-11-14T22:59:59Z", "2025-04-14T22:00Z"
    assert is_active(text, [inside, before, after]).tolist() == [True, False, False]


def test_daily_window_in_local_time() -> None:
    # weekdays 08:00-17:00 at UTC+09:00 (Japan)
    text = from_applicability([{"schedule": [
        {"day": ["MON", "TUE", "WED", "THU", "FRI"], "startTime": "08:00:00+09:00",
         "endTime": "17:00:00+09:00"}]}])
    times = pd.to_datetime([
        "2024-06-17T00:00Z",  # Monday 09:00 JST
        "2024-06-16T23:30Z",  # Monday 08:30 JST (Sunday in UTC)
        "2024-06-17T08:00Z",  # Monday 17:00 JST: the end is excluded
        "2024-06-15T00:00Z",  # Saturday 09:00 JST
    ], utc=True)
    assert is_active(text, times).tolist() == [True, True, False, False]


def test_window_past_midnight_belongs_to_the_day_it_opens() -> None:
    text = from_applicability([{"schedule": [
        {"day": ["FRI"], "startTime": "22:00:00Z", "endTime": "02:00:00Z"}]}])
    times = ["2024-06-14T23:00Z", "2024-06-15T01:00Z", "2024-06-15T23:00Z", "2024-06-14T01:00Z"]
    # Fri 23:00, Sat 01:00 (Friday's night), Sat 23:00, Fri 01:00 (Thursday's night)
    assert is_active(text, times).tolist() == [True, True, False, False]


def test_daylight_events_count_as_active() -> None:
    text = from_applicability([{"schedule": [
        {"day": ["ANY"], "startEvent": "SR", "endEvent": "SS"}]}])
    assert json.loads(text)[0]["daily"][0]["start_event"] == "SR"
    assert is_active(text, ["2024-06-15T03:00Z"]).tolist() == [True]


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ({"startDateTime": "soon"}, "startDateTime 'soon'"),
        ({"schedule": [{"day": ["FUNDAY"], "startTime": "10:00"}]}, "FUNDAY"),
        ({"schedule": [{"day": ["MON"], "startTime": "25:00"}]}, "not a time of day"),
    ],
)
def test_unreadable_applicability(period: dict, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        from_applicability([period])


@settings(max_examples=40, deadline=None)
@given(
    start=st.integers(0, 23),
    length=st.integers(1, 23),
    minute=st.integers(0, 7 * 24 * 60 - 1),
)
def test_a_daily_window_on_every_day_is_active_for_its_length(start, length, minute) -> None:
    end = (start + length) % 24
    text = from_applicability([{"schedule": [
        {"day": ["ANY"], "startTime": f"{start:02d}:00:00Z", "endTime": f"{end:02d}:00:00Z"}]}])
    when = pd.Timestamp("2024-06-10T00:00Z") + pd.Timedelta(minutes=minute)
    hour = when.hour + when.minute / 60
    expected = (hour - start) % 24 < length
    assert bool(is_active(text, [when])[0]) == expected

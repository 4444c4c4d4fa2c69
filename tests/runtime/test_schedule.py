"""Shift-close jobs fire at the ends the engine's own calendar gives (runtime/schedule.py):
weekdays, overnight shifts, holidays, the site's zone and its DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from lineside.config.plant import Calendar
from lineside.engine.calendar import Timeline
from lineside.runtime.schedule import shift_end

GRACE = 2.0


def local(zone: str, *ymdhm: int) -> float:
    return dt.datetime(*ymdhm, tzinfo=ZoneInfo(zone)).timestamp()


def next_end(cal: dict, zone: str, name: str, after: float) -> float:
    return shift_end(Timeline(Calendar.model_validate(cal), zone), name, GRACE)(after)


DAY = {"name": "day", "start": "08:00", "end": "17:00",
       "weekdays": ["mon", "tue", "wed", "thu", "fri"]}
NIGHT = {"name": "night", "start": "22:00", "end": "06:00", "overnight": True,
         "weekdays": ["mon", "tue", "wed", "thu", "fri"]}
SH = "Asia/Shanghai"

CASES = [
    # (calendar, zone, shift, after, the next end)
    ({"shifts": [DAY]}, SH, "day", local(SH, 2026, 11, 30, 9, 0),  # Monday morning
     local(SH, 2026, 11, 30, 17, 0)),
    ({"shifts": [DAY]}, SH, "day", local(SH, 2026, 12, 4, 18, 0),  # Friday evening
     local(SH, 2026, 12, 7, 17, 0)),
    ({"shifts": [DAY]}, SH, "day", local(SH, 2026, 11, 30, 17, 0) + 1,  # inside the grace
     local(SH, 2026, 11, 30, 17, 0)),
    ({"shifts": [DAY, NIGHT]}, SH, "night", local(SH, 2026, 12, 4, 23, 0),  # Friday night
     local(SH, 2026, 12, 5, 6, 0)),  # ends on Saturday
    ({"shifts": [DAY], "holidays": ["2026-12-01"]}, SH, "day",
     local(SH, 2026, 11, 30, 18, 0), local(SH, 2026, 12, 2, 17, 0)),
    # Europe/Berlin leaves summer time on Sunday 2026-10-25: 17:00 is 16:00 UTC after it
    ({"shifts": [DAY]}, "Europe/Berlin", "day", local("Europe/Berlin", 2026, 10, 23, 18, 0),
     dt.datetime(2026, 10, 26, 16, 0, tzinfo=dt.UTC).timestamp()),
]


@pytest.mark.parametrize(("cal", "zone", "name", "after", "end"), CASES,
                         ids=["same day", "over the weekend", "within the grace",
                              "overnight", "holiday", "DST"])
def test_the_next_shift_end_is_the_calendars(cal: dict, zone: str, name: str, after: float,
                                             end: float) -> None:
    assert next_end(cal, zone, name, after) == end + GRACE

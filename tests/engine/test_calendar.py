"""The shift calendar (engine/calendar.py): which shifts happen and how long they last."""

from __future__ import annotations

import datetime as dt

from lineside.engine.calendar import Timeline
from tests.engine.plant import at, cfg, one_machine_line, shift


def test_holiday_and_weekdays() -> None:
    # Shift Monday, Tuesday and Saturday; Tuesday 2026-12-01 is a holiday.
    c = cfg([one_machine_line("running")], [shift("A", "06:00-06:10",
                                                  weekdays=["mon", "tue", "sat"])],
            calendar={"holidays": ["2026-12-01"]})
    tl = Timeline(c.calendar, "UTC")
    got = [(s.name, s.date) for s in tl.shifts_between(at("00:00"), at("+7 00:00"))]
    assert got == [("A", "2026-11-30"), ("A", "2026-12-05")]


def test_dst_spring_forward_shift_is_one_hour_shorter() -> None:
    # Europe/Berlin jumps from 02:00 to 03:00 on 2026-03-29: the night shift is 7 h.
    c = cfg([one_machine_line("running")],
            [shift("N", "22:00-06:00", overnight=True)], tz="Europe/Berlin")
    tl = Timeline(c.calendar, "Europe/Berlin")
    t = dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC).timestamp()
    (s,) = [x for x in tl.shifts_between(t, t + 86400) if x.date == "2026-03-28"]
    assert s.end - s.start == 7 * 3600

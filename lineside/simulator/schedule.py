"""The site calendar as the simulator sees it, written from docs/design.md independently of
the engine: is an instant scheduled (inside a shift, outside its breaks, not a holiday),
is it in a planned downtime window of a line, and when does that next change.

`scheduled_at` / `downtime_at` are the plain predicates (used by `truth_oee`, easy to
check by eye); `CalendarIndex` derives piecewise-constant intervals from them for the
model, which needs to know when the next boundary is.
"""

from __future__ import annotations

import bisect
import datetime as dt
from zoneinfo import ZoneInfo

from lineside.config.plant import Calendar, Downtime, Shift

_WD = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY = dt.timedelta(days=1)


def _at(day: dt.date, t: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, t.replace(tzinfo=None), tzinfo=tz)


def _shift_window(shift: Shift, day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = _at(day, shift.start, tz)
    end = _at(day + _DAY if shift.overnight else day, shift.end, tz)
    return start, end


def _break_windows(shift: Shift, day: dt.date,
                   tz: ZoneInfo) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    for b in shift.breaks:
        # In an overnight shift a break before the shift's start time is after midnight.
        bday = day + _DAY if (shift.overnight and b.start < shift.start) else day
        bend_day = bday + _DAY if b.end <= b.start else bday
        out.append((_at(bday, b.start, tz), _at(bend_day, b.end, tz)))
    return out


def scheduled_at(cal: Calendar, tz: ZoneInfo, ts: float) -> bool:
    """True when `ts` is inside a shift, outside its breaks, on a day that is no holiday."""
    local = dt.datetime.fromtimestamp(ts, tz)
    for shift in cal.shifts:
        for day in (local.date(), local.date() - _DAY):
            if _WD[day.weekday()] not in shift.weekdays or day in cal.holidays:
                continue
            start, end = _shift_window(shift, day, tz)
            if not (start <= local < end):
                continue
            if any(bs <= local < be for bs, be in _break_windows(shift, day, tz)):
                continue
            return True
    return False


def downtime_at(cal: Calendar, tz: ZoneInfo, line_id: str, ts: float) -> bool:
    """True when `ts` is inside a planned downtime window that applies to the line."""
    local = dt.datetime.fromtimestamp(ts, tz)
    for w in cal.planned_downtime:
        if w.lines and line_id not in w.lines:
            continue
        # both datetimes or both times (Downtime's validator): one-off or recurring
        if isinstance(w.start, dt.datetime) and isinstance(w.end, dt.datetime):
            start = w.start if w.start.tzinfo else w.start.replace(tzinfo=tz)
            end = w.end if w.end.tzinfo else w.end.replace(tzinfo=tz)
            if start <= local < end:
                return True
        else:
            # A window across midnight belongs to the day it starts: look at yesterday's.
            for day in (local.date(), local.date() - _DAY):
                if _WD[day.weekday()] not in w.weekdays:
                    continue
                start, end = _downtime_window(w, day, tz)
                if start <= local < end:
                    return True
    return False


def _downtime_window(w: Downtime, day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """A recurring window starting on `day`; it ends the next day when it crosses midnight."""
    end_day = day + _DAY if w.end <= w.start else day  # type: ignore[operator]  # recurring: both ends times
    return _at(day, w.start, tz), _at(end_day, w.end, tz)  # type: ignore[arg-type]  # recurring: times


def busy_at(cal: Calendar, tz: ZoneInfo, line_id: str, ts: float) -> bool:
    """Planned to produce: scheduled and not in planned downtime."""
    return scheduled_at(cal, tz, ts) and not downtime_at(cal, tz, line_id, ts)


class CalendarIndex:
    """`busy(t)` and `next_change(t)` for one line, built lazily day by day.

    Candidate boundaries are every shift, break and downtime edge of the local days
    around `t`; the busy flag is constant between two consecutive candidates, so it is
    evaluated once per interval with `busy_at`.
    """

    def __init__(self, cal: Calendar, tz: ZoneInfo, line_id: str) -> None:
        self.cal, self.tz, self.line_id = cal, tz, line_id
        self._days: set[dt.date] = set()
        self._bounds: list[float] = []
        self._flags: list[bool] = []

    def _candidates(self, day: dt.date) -> set[float]:
        tz, out = self.tz, set[float]()
        for d in (day - _DAY, day, day + _DAY):
            for s in self.cal.shifts:
                for a, b in [_shift_window(s, d, tz), *_break_windows(s, d, tz)]:
                    out.update((a.timestamp(), b.timestamp()))
            out.add(_at(d, dt.time(0, 0), tz).timestamp())
            for w in self.cal.planned_downtime:
                if isinstance(w.start, dt.datetime) and isinstance(w.end, dt.datetime):
                    for x in (w.start, w.end):
                        out.add((x if x.tzinfo else x.replace(tzinfo=tz)).timestamp())
                else:
                    out.update(x.timestamp() for x in _downtime_window(w, d, tz))
        return out

    def _ensure(self, t: float) -> None:
        day = dt.datetime.fromtimestamp(t, self.tz).date()
        need = [d for d in (day - _DAY, day, day + _DAY, day + 2 * _DAY) if d not in self._days]
        if not need:
            return
        cands = set(self._bounds)
        for d in need:
            cands |= self._candidates(d)
            self._days.add(d)
        self._bounds = sorted(cands)
        self._flags = [busy_at(self.cal, self.tz, self.line_id, b) for b in self._bounds]

    def busy(self, t: float) -> bool:
        self._ensure(t)
        i = bisect.bisect_right(self._bounds, t) - 1
        if i < 0:
            return busy_at(self.cal, self.tz, self.line_id, t)
        return self._flags[i]

    def next_change(self, t: float) -> float:
        """First instant after `t` where `busy` differs from `busy(t)` (within 3 days)."""
        self._ensure(t)
        now = self.busy(t)
        for horizon in range(3):
            self._ensure(t + horizon * 86400.0)
            i = bisect.bisect_right(self._bounds, t)
            while i < len(self._bounds):
                if self._flags[i] != now:
                    return self._bounds[i]
                i += 1
        return t + 3 * 86400.0

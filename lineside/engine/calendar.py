"""The shift calendar as a timeline of epoch seconds.

Between two consecutive change points everything the engine needs from the calendar
is constant: which shift instance (if any) is on, whether it is scheduled (inside a
shift and outside its breaks, not on a holiday), and which lines are in planned
downtime. The engine cuts its accounting at every change point, so it never has to
intersect intervals with the calendar on the hot path.

Local wall times are turned into instants with zoneinfo (site timezone). On a DST
change a shift simply has the real length it has (7 or 9 hours); a wall time that
does not exist (spring-forward gap) is taken with the offset before the change.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from lineside.config.plant import WEEKDAYS, Calendar

ALL = "*"  # every line is in planned downtime


@dataclass(frozen=True, slots=True)
class ShiftInstance:
    name: str
    date: str  # local date the shift starts on, ISO
    start: float
    end: float

    @property
    def key(self) -> str:
        return f"{self.name}@{self.date}"


@dataclass(frozen=True, slots=True)
class Status:
    shift: ShiftInstance | None
    scheduled: bool
    down: frozenset[str]  # line ids in planned downtime (contains ALL for every line)

    def line_down(self, line_id: str) -> bool:
        return ALL in self.down or line_id in self.down


def _ts(day: dt.date, t: dt.time, tz: ZoneInfo) -> float:
    return dt.datetime.combine(day, t.replace(tzinfo=None), tzinfo=tz).timestamp()


class Timeline:
    """Change points and status of a calendar; days are built lazily and cached."""

    def __init__(self, cal: Calendar, tz: str | ZoneInfo) -> None:
        self.cal = cal
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.always = not cal.shifts  # no shifts configured: scheduled around the clock
        self.holidays = set(cal.holidays)
        self._days: dict[dt.date, tuple[list[ShiftInstance], list[tuple[float, float]],
                                        list[tuple[float, float, frozenset[str]]]]] = {}
        self._win: tuple[dt.date, dt.date] | None = None
        self._points: list[float] = []
        self._shifts: list[ShiftInstance] = []
        self._breaks: list[tuple[float, float]] = []
        self._downs: list[tuple[float, float, frozenset[str]]] = []
        self._cache_status: tuple[float, float, Status] | None = None

    # -- building ----------------------------------------------------------------------
    def _day(self, day: dt.date) -> tuple[list[ShiftInstance], list[tuple[float, float]],
                                          list[tuple[float, float, frozenset[str]]]]:
        got = self._days.get(day)
        if got is not None:
            return got
        tz = self.tz
        wd = WEEKDAYS[day.weekday()]
        shifts: list[ShiftInstance] = []
        breaks: list[tuple[float, float]] = []
        downs: list[tuple[float, float, frozenset[str]]] = []
        if self.always:
            if day in self.holidays:
                # A holiday in a 24/7 calendar: the whole local day is a "break".
                breaks.append((_ts(day, dt.time(0), tz),
                               _ts(day + dt.timedelta(days=1), dt.time(0), tz)))
        elif day not in self.holidays:
            for sh in self.cal.shifts:
                if wd not in sh.weekdays:
                    continue
                start = _ts(day, sh.start, tz)
                end = _ts(day + dt.timedelta(days=1) if sh.overnight else day, sh.end, tz)
                shifts.append(ShiftInstance(sh.name, day.isoformat(), start, end))
                for br in sh.breaks:
                    bday = day + dt.timedelta(days=1) if (sh.overnight and br.start < sh.start) \
                        else day
                    bs = _ts(bday, br.start, tz)
                    eday = bday + dt.timedelta(days=1) if br.end <= br.start else bday
                    be = _ts(eday, br.end, tz)
                    bs, be = max(bs, start), min(be, end)
                    if be > bs:
                        breaks.append((bs, be))
        for w in self.cal.planned_downtime:
            lines = frozenset(w.lines) if w.lines else frozenset((ALL,))
            if isinstance(w.start, dt.datetime) or wd not in w.weekdays:
                continue  # one-off windows are added by _ensure, whatever their length
            s = _ts(day, w.start, tz)
            # Across midnight (or ending 00:00): ends the next day, owned by its start day.
            eday = day + dt.timedelta(days=1) if w.end <= w.start else day  # type: ignore[operator]  # recurring: both ends times
            e = _ts(eday, w.end, tz)  # type: ignore[arg-type]  # recurring: a time
            if e > s:
                downs.append((s, e, lines))
        got = (shifts, breaks, downs)
        self._days[day] = got
        if len(self._days) > 64:  # bounded cache: drop the oldest days
            for k in sorted(self._days)[:32]:
                del self._days[k]
        return got

    def _local_day(self, t: float) -> dt.date:
        return dt.datetime.fromtimestamp(t, self.tz).date()

    def _ensure(self, t: float) -> None:
        day = self._local_day(t)
        if self._win is not None and self._win[0] + dt.timedelta(days=2) <= day \
                <= self._win[1] - dt.timedelta(days=2):
            return
        lo, hi = day - dt.timedelta(days=3), day + dt.timedelta(days=3)
        shifts: list[ShiftInstance] = []
        breaks: list[tuple[float, float]] = []
        downs: list[tuple[float, float, frozenset[str]]] = []
        d = lo
        while d <= hi:
            s, b, w = self._day(d)
            shifts += s
            breaks += b
            downs += w
            d += dt.timedelta(days=1)
        w_lo = _ts(lo, dt.time(0), self.tz)
        w_hi = _ts(hi + dt.timedelta(days=1), dt.time(0), self.tz)
        for pd in self.cal.planned_downtime:
            if isinstance(pd.start, dt.datetime) and isinstance(pd.end, dt.datetime):
                s0 = (pd.start if pd.start.tzinfo else pd.start.replace(tzinfo=self.tz)).timestamp()
                e0 = (pd.end if pd.end.tzinfo else pd.end.replace(tzinfo=self.tz)).timestamp()
                if e0 > w_lo and s0 < w_hi:
                    downs.append((s0, e0, frozenset(pd.lines) if pd.lines else frozenset((ALL,))))
        shifts.sort(key=lambda x: (x.start, x.name))
        pts: set[float] = set()
        for x in shifts:
            pts.update((x.start, x.end))
        for b0, b1 in breaks:
            pts.update((b0, b1))
        for w0, w1, _ in downs:
            pts.update((w0, w1))
        if self.always:  # local midnights, so holidays (and nothing else) cut the day
            d = lo
            while d <= hi + dt.timedelta(days=1):
                pts.add(_ts(d, dt.time(0), self.tz))
                d += dt.timedelta(days=1)
        self._win = (lo, hi)
        self._points = sorted(pts)
        self._shifts, self._breaks, self._downs = shifts, breaks, downs
        self._cache_status = None

    # -- queries -----------------------------------------------------------------------
    def next_change(self, t: float) -> float:
        """First change point strictly after t (never more than ~2 days away)."""
        self._ensure(t)
        i = bisect.bisect_right(self._points, t)
        if i < len(self._points):
            return self._points[i]
        return t + 86400.0

    def status(self, t: float) -> Status:
        """Calendar status on [t, next_change(t))."""
        self._ensure(t)
        shift = None
        for x in self._shifts:  # earliest-starting shift wins where shifts overlap
            if x.start <= t < x.end:
                shift = x
                break
        in_break = any(b0 <= t < b1 for b0, b1 in self._breaks)
        scheduled = (self.always or shift is not None) and not in_break
        down: set[str] = set()
        for w0, w1, lines in self._downs:
            if w0 <= t < w1:
                down |= lines
        return Status(shift, scheduled, frozenset(down))

    def shifts_between(self, t0: float, t1: float) -> list[ShiftInstance]:
        """Shift instances overlapping [t0, t1) (for reports and tests)."""
        out: list[ShiftInstance] = []
        t = t0
        seen: set[str] = set()
        while t < t1:
            self._ensure(t)
            for x in self._shifts:
                if x.start < t1 and x.end > t0 and x.key not in seen:
                    seen.add(x.key)
                    out.append(x)
            t += 86400.0
        return sorted(out, key=lambda x: x.start)

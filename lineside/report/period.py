"""Report periods: day, ISO week, calendar month or custom, in a given time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from lineside.report.data import Period

UTC = dt.UTC


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(UTC)


def _midnight(d: dt.date, z: ZoneInfo) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=z)


def period_containing(kind: str, day: dt.date, tz: str = "UTC") -> Period:
    """The day / week (Monday first) / month containing `day`, in zone `tz`."""
    z = ZoneInfo(tz)
    if kind == "day":
        s = day
        e = day + dt.timedelta(days=1)
    elif kind == "week":
        s = day - dt.timedelta(days=day.weekday())
        e = s + dt.timedelta(days=7)
    elif kind == "month":
        s = day.replace(day=1)
        e = (s + dt.timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown period kind {kind!r} (day, week, month, custom)")
    return Period(kind, _utc(_midnight(s, z)), _utc(_midnight(e, z)), tz)


def custom_period(start: dt.datetime, end: dt.datetime, tz: str = "UTC") -> Period:
    """[start, end); naive datetimes are read in `tz`."""
    z = ZoneInfo(tz)
    s = start if start.tzinfo else start.replace(tzinfo=z)
    e = end if end.tzinfo else end.replace(tzinfo=z)
    if e <= s:
        raise ValueError(f"period ends ({e.isoformat()}) before it starts ({s.isoformat()})")
    return Period("custom", _utc(s), _utc(e), tz)


def previous_period(p: Period) -> Period:
    """The period of the same kind just before `p` (a month before a month, etc.)."""
    if p.kind in ("day", "week", "month"):
        local_start = p.start.astimezone(ZoneInfo(p.tz)).date()
        return period_containing(p.kind, local_start - dt.timedelta(days=1), p.tz)
    length = p.end - p.start
    return Period("custom", p.start - length, p.start, p.tz)


def parse_when(text: str) -> dt.datetime:
    """A date (YYYY-MM-DD) or an ISO 8601 datetime, with or without offset."""
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(t)
    except ValueError:
        raise ValueError(f"not a date or ISO datetime: {text!r}") from None

"""The agent's clock jobs, on the engine's own calendar.

- `bucket-close` on every wall-clock bucket boundary, plus a grace for in-flight polls;
- `shift-close-<name>` at every end of that shift the engine's calendar
  (`engine/calendar.py`, the one calendar in the code: weekdays, overnight shifts,
  holidays, the site's time zone and its DST) gives, plus the same grace;
- `housekeeping` every 5 s, between two poll boundaries, never on one: its synchronous
  stretch (the engine snapshot) would delay every poll's start, i.e. its sample
  timestamps, and the engine counters it publishes would count some of that boundary's
  polls.

Each job only calls back into the agent (`engine.tick()`, housekeeping); `Timers` waits
on the monotonic clock so that a wall-clock step cannot stop them (runtime/timers.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.engine.calendar import Timeline
from lineside.runtime.timers import NextAfter, Timers

HORIZON_DAYS = 8  # a weekly shift always ends within this; else look again a day later
CLOCK_JOBS = ("bucket-close", "shift-close-", "housekeeping")  # name prefixes


def shift_end(timeline: Timeline, name: str, grace_s: float) -> NextAfter:
    """next_after(wall) for Timers: the next end of shift `name`, plus `grace_s`."""
    def next_after(wall: float) -> float:
        ends = [x.end + grace_s for x in timeline.shifts_between(
            wall - 86400.0, wall + HORIZON_DAYS * 86400.0)
            if x.name == name and x.end + grace_s > wall]
        return min(ends, default=wall + 86400.0)
    return next_after


def schedule_clock_jobs(timers: Timers, cfg: LinesideConfig, *, grace_s: float,
                        collection_offset_s: float,
                        tick: Callable[[], Awaitable[Any]],
                        housekeeping: Callable[[], Awaitable[Any]]) -> None:
    """Add the clock jobs of `cfg` (a reload removes the old ones first: `CLOCK_JOBS`)."""
    timers.every("bucket-close", cfg.metrics.bucket_s, tick, offset_s=grace_s)
    timeline = Timeline(cfg.calendar, cfg.site.timezone)
    for name in dict.fromkeys(s.name for s in cfg.calendar.shifts):
        timers.at(f"shift-close-{name}", shift_end(timeline, name, grace_s), tick)
    fastest = min([d.interval_s for d in cfg.devices] + [5.0])
    timers.every("housekeeping", 5, housekeeping,
                 offset_s=collection_offset_s + fastest / 2)

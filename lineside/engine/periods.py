"""The engine's periods: the open segment, bucket and shift, and what closing each does
(docs/engine.md). A segment is the span between two cut points (bucket boundaries and
every change of the calendar), so the calendar is constant inside it; at its end each
machine's segment accumulator is added to its bucket and shift accumulators; a bucket
end writes the `oee` and `automation` points, a shift end the `oee_shift` points.

`Periods` owns these instants and the written buckets; it changes the machines' period
accumulators and calendar modes, never their states: the engine applies the stale rule
(`Engine.expire`) before it closes a segment.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from lineside.engine import emit
from lineside.engine import fields as F
from lineside.engine.calendar import ShiftInstance, Status, Timeline
from lineside.engine.emit import ns
from lineside.engine.layout import PlantLayout
from lineside.engine.machine import DOWN, OFF, ON
from lineside.engine.states import UNKNOWN
from lineside.points import Point

MAX_SPANS = 32  # written bucket spans remembered (one per clock step; older ones are long past)


class PeriodStats(Protocol):
    buckets_closed: int
    shifts_closed: int
    buckets_not_rewritten: int


class Periods:
    """The open segment, bucket and shift of one engine."""

    def __init__(self, plant: PlantLayout, timeline: Timeline, bucket_s: int, target: float,
                 stats: PeriodStats, start: float) -> None:
        self.plant = plant
        self.machines = plant.machines
        self.timeline = timeline
        self.bucket_s = bucket_s
        self.target = target  # the automation target on `automation` points
        self.stats = stats
        # float: a snapshot restores it as read
        self.bucket_start: float = math.floor(start / bucket_s) * bucket_s
        self.seg_start = start
        self.seg_end = start  # set by open_segment
        self.status: Status = timeline.status(start)  # the open segment's calendar
        self.closed_until = -math.inf  # samples before this are late
        self.written_spans: list[list[float]] = []  # bucket starts already written

    # -- the open segment ---------------------------------------------------------------
    def open_segment(self, t: float) -> None:
        """Open the segment from `t` to the next cut point: the calendar's status at `t`
        sets each machine's calendar mode (off, planned down, on) until then."""
        self.seg_start = t
        st = self.timeline.status(t)
        self.status = st
        self.seg_end = min(self.bucket_start + self.bucket_s, self.timeline.next_change(t))
        line_mode = [OFF if not st.scheduled else (DOWN if st.line_down(ln.id) else ON)
                     for ln in self.plant.lines]
        for m in self.machines:
            mode = line_mode[m.line_i]
            if mode != ON:
                m.stop_start = None  # a stop interrupted by a break is no small stop
            m.calendar_mode = mode

    def close_segment(self, end: float, out: list[Point]) -> None:
        """Add each machine's segment, accounted up to `end`, to its bucket and (inside a
        shift) shift accumulators; close the bucket and the shift that end there."""
        st = self.status
        into_shift = st.shift is not None or self.timeline.always
        for m in self.machines:
            m.account(end)
            m.accounted_to = end
            acc = m.seg_acc
            if any(acc):
                b = m.bucket_acc
                for i, v in enumerate(acc):
                    b[i] += v
                if into_shift:
                    s = m.shift_acc
                    for i, v in enumerate(acc):
                        s[i] += v
                m.seg_acc = [0.0] * F.ACC_N
        if end >= self.bucket_start + self.bucket_s:
            self.close_bucket(out)
        sh = st.shift
        if sh is not None and end >= sh.end:
            self.close_shift(sh, out)

    # -- bucket and shift ---------------------------------------------------------------
    def close_bucket(self, out: list[Point]) -> None:
        """The bucket's `oee` and `automation` points; the next bucket starts empty."""
        start = self.bucket_start
        if written(self.written_spans, start):  # after a clock step back: never again
            self.stats.buckets_not_rewritten += 1
        else:
            vecs = [F.vector(m.bucket_acc, m.counter_kinds) for m in self.machines]
            live = [m.live_in_bucket for m in self.machines]
            out += self._points("oee", vecs, {}, ns(start), with_automation=True, live=live)
            record(self.written_spans, start, start + self.bucket_s)
        for m in self.machines:
            m.bucket_acc = [0.0] * F.ACC_N
            m.live_in_bucket = m.state != UNKNOWN
        self.bucket_start = start + self.bucket_s
        self.closed_until = self.bucket_start
        self.stats.buckets_closed += 1

    def close_shift(self, sh: ShiftInstance, out: list[Point]) -> None:
        """The shift's `oee_shift` points; the next shift starts empty."""
        vecs = [F.vector(m.shift_acc, m.counter_kinds) for m in self.machines]
        out += self._points("oee_shift", vecs, {"shift": sh.name, "shift_date": sh.date},
                            ns(sh.start), with_automation=False)
        for m in self.machines:
            m.shift_acc = [0.0] * F.ACC_N
        self.stats.shifts_closed += 1

    def cut(self, now: float, to: float, out: list[Point]) -> None:
        """A clock step from `now` to `to` (engine/timejump.py): the open bucket is closed
        with what it saw, the open shift too unless `to` is inside the same instance, and
        a fresh bucket opens at `to`."""
        old_shift = self.status.shift
        self.close_segment(now, out)  # accounts up to `now` into the bucket and the shift
        if self.bucket_start < now:  # something of the open bucket was observed: close it
            self.close_bucket(out)
        new_shift = self.timeline.status(to).shift
        if old_shift is not None and old_shift.end > now and (
                new_shift is None or (new_shift.name, new_shift.start)
                != (old_shift.name, old_shift.start)):
            self.close_shift(old_shift, out)
        self.bucket_start = math.floor(to / self.bucket_s) * self.bucket_s
        self.closed_until = self.bucket_start
        self.open_segment(to)

    def provisional_points(self, t: float, now: float) -> list[Point]:
        """Points of the open bucket and shift up to `t`, without closing them (shutdown).

        They carry the bucket's / shift's own timestamp, so the final points written
        after a restart (from the snapshot) overwrite them in InfluxDB.
        """
        vecs = [F.vector(m.partial(t, m.bucket_acc, now), m.counter_kinds)
                for m in self.machines]
        out = self._points("oee", vecs, {}, ns(self.bucket_start), with_automation=False)
        shift = self.status.shift
        if shift is not None:
            vecs = [F.vector(m.partial(t, m.shift_acc, now), m.counter_kinds)
                    for m in self.machines]
            out += self._points("oee_shift", vecs,
                                {"shift": shift.name, "shift_date": shift.date},
                                ns(shift.start), with_automation=False)
        return out

    def _points(self, measurement: str, vecs: list[list[float]], extra_tags: dict[str, str],
                ts_ns: int, with_automation: bool,
                live: list[bool] | None = None) -> list[Point]:
        """Points of every entity from the machines' vectors (and the bureau's, for a
        bucket)."""
        agg = self.plant.aggregate(vecs)
        out = emit.entity_points(self.plant, measurement, vecs, agg, extra_tags, ts_ns)
        if with_automation:
            out += emit.automation_points(self.plant, agg, live or [], self.target, ts_ns)
        return out

    # -- snapshot (the keys are those of snapshots already on disk) ----------------------
    def dump(self) -> dict[str, Any]:
        return {
            "seg_start": self.seg_start,
            "bucket_start": self.bucket_start,
            "bucket_s": self.bucket_s,
            "closed_until": self.closed_until if math.isfinite(self.closed_until) else None,
            "spans": self.written_spans,
        }

    def load(self, snap: dict[str, Any]) -> None:
        self.seg_start = float(snap["seg_start"])
        if int(snap.get("bucket_s", self.bucket_s)) == self.bucket_s:
            self.bucket_start = float(snap["bucket_start"])
        else:  # bucket size changed: realign (the open bucket mixes both sizes once)
            self.bucket_start = math.floor(self.seg_start / self.bucket_s) * self.bucket_s
        cu = snap.get("closed_until")
        self.closed_until = -math.inf if cu is None else float(cu)
        self.written_spans = [[float(a), float(b)] for a, b in snap.get("spans", [])]


def written(spans: list[list[float]], start: float) -> bool:
    """Was the bucket starting at `start` already written (closed) by this engine?"""
    return any(a <= start < b for a, b in spans)


def record(spans: list[list[float]], start: float, end: float) -> None:
    """Remember a written bucket: extend the last span, or start one after a step."""
    if spans and spans[-1][1] == start:
        spans[-1][1] = end
    else:
        spans.append([start, end])
        del spans[:-MAX_SPANS]

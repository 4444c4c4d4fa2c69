"""The engine's periods: the open segment, bucket and shift, and what closing each does
(docs/engine.md). A segment is the span between two cut points (bucket boundaries and
every change of the calendar), so the calendar is constant inside it; at its end each
machine's segment accumulator is added to its bucket and shift accumulators; a bucket
end writes the `oee` and `automation` points, a shift end the `oee_shift` points."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineside.engine import emit
from lineside.engine import fields as F
from lineside.engine.calendar import ShiftInstance, Status
from lineside.engine.emit import ns
from lineside.engine.machine import DOWN, OFF, ON
from lineside.engine.states import UNKNOWN
from lineside.points import Point

if TYPE_CHECKING:
    from lineside.engine.core import Engine

MAX_SPANS = 32  # written bucket spans remembered (one per clock step; older ones are long past)


def open_segment(e: Engine, t: float) -> None:
    """Open the segment from `t` to the next cut point: the calendar's status at `t`
    sets each machine's calendar mode (off, planned down, on) until then."""
    e.seg_start = t
    tl = e.timeline
    st: Status = tl.status(t)
    e.status = st
    e.seg_end = min(e.bucket_start + e.bucket_s, tl.next_change(t))
    line_mode = [OFF if not st.scheduled else (DOWN if st.line_down(ln.id) else ON)
                 for ln in e.plant.lines]
    for m in e.machines:
        mode = line_mode[m.line_i]
        if mode != ON:
            m.stop_start = None  # a stop interrupted by a break is no small stop
        m.calendar_mode = mode


def advance(e: Engine, t: float, out: list[Point]) -> None:
    """Close every segment ending at or before `t` (and the buckets and shifts they end)."""
    while e.seg_end <= t:
        end = e.seg_end
        close_segment(e, end, out)
        open_segment(e, end)


def close_segment(e: Engine, end: float, out: list[Point]) -> None:
    """Add each machine's segment to its bucket and (inside a shift) shift accumulators."""
    st = e.status
    into_shift = st.shift is not None or e.timeline.always
    for m in e.machines:
        if m.stale_at <= end and m.state != UNKNOWN:
            e.go_unknown(m, m.stale_at, out)
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
    if end >= e.bucket_start + e.bucket_s:
        close_bucket(e, out)
    sh = st.shift
    if sh is not None and end >= sh.end:
        close_shift(e, sh, out)


def close_bucket(e: Engine, out: list[Point]) -> None:
    """The bucket's `oee` and `automation` points; the next bucket starts empty."""
    start = e.bucket_start
    if written(e.written_spans, start):  # after a clock step back: never again
        e.stats.buckets_not_rewritten += 1
    else:
        vecs = [F.vector(m.bucket_acc, m.counter_kinds) for m in e.machines]
        live = [m.live_in_bucket for m in e.machines]
        out += _points(e, "oee", vecs, {}, ns(start), with_automation=True, live=live)
        record(e.written_spans, start, start + e.bucket_s)
    for m in e.machines:
        m.bucket_acc = [0.0] * F.ACC_N
        m.live_in_bucket = m.state != UNKNOWN
    e.bucket_start = start + e.bucket_s
    e.closed_until = e.bucket_start
    e.stats.buckets_closed += 1


def close_shift(e: Engine, sh: ShiftInstance, out: list[Point]) -> None:
    """The shift's `oee_shift` points; the next shift starts empty."""
    vecs = [F.vector(m.shift_acc, m.counter_kinds) for m in e.machines]
    out += _points(e, "oee_shift", vecs, {"shift": sh.name, "shift_date": sh.date},
                   ns(sh.start), with_automation=False)
    for m in e.machines:
        m.shift_acc = [0.0] * F.ACC_N
    e.stats.shifts_closed += 1


def _points(e: Engine, measurement: str, vecs: list[list[float]],
            extra_tags: dict[str, str], ts_ns: int, with_automation: bool,
            live: list[bool] | None = None) -> list[Point]:
    """Points of every entity from the machines' vectors (and the bureau's, for a bucket)."""
    agg = e.plant.aggregate(vecs)
    out = emit.entity_points(e.plant, measurement, vecs, agg, extra_tags, ts_ns)
    if with_automation:
        out += emit.automation_points(e.plant, agg, live or [], e.target, ts_ns)
    return out


def provisional_points(e: Engine, t: float) -> list[Point]:
    """Points of the open bucket and shift up to `t`, without closing them (shutdown).

    They carry the bucket's / shift's own timestamp, so the final points written
    after a restart (from the snapshot) overwrite them in InfluxDB.
    """
    vecs = [F.vector(m.partial(t, m.bucket_acc, e.now), m.counter_kinds) for m in e.machines]
    out = _points(e, "oee", vecs, {}, ns(e.bucket_start), with_automation=False)
    shift = e.status.shift
    if shift is not None:
        vecs = [F.vector(m.partial(t, m.shift_acc, e.now), m.counter_kinds)
                for m in e.machines]
        out += _points(e, "oee_shift", vecs, {"shift": shift.name, "shift_date": shift.date},
                       ns(shift.start), with_automation=False)
    return out


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

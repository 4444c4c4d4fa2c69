"""When the clock jumps: the engine's rule for a wall-clock step (docs/engine.md).

The runtime reports a step it detected (wall clock against monotonic clock) with
`Engine.clock_step(to_ts)`, which applies this rule; the engine is at `now` (the last
tick or sample).

- A step backwards that stays inside the open bucket (`to_ts` >= its start) is absorbed:
  the engine keeps its time, samples read meanwhile count as read at `now` (the
  existing late-sample rule), and it moves on when the wall clock passes `now` again.
- Any other step is a cut. The open bucket is closed at `now` with what it holds (its
  points are final), the open shift stays open if `to_ts` is still inside it (else it
  is closed too), and the engine resumes at `to_ts` in a fresh bucket. The time between
  `now` and `to_ts` did not happen: it is in no bucket, no duration and no `unknown`
  time (forward: buckets wholly inside the gap are not written at all). Every machine
  keeps its state; its own instants (state start, stale deadline, last good sample,
  open stop) move with the clock, so durations count observed time only.
- A closed bucket is never written again: the engine keeps the spans of bucket starts
  it has written (`Periods.written_spans`, in the snapshot; periods.py keeps them), and
  a bucket of the new timeline that falls in one is accounted (shift totals keep its
  time and counts) but not written (`EngineStats.buckets_not_rewritten`).
"""

from __future__ import annotations


def absorbed(now: float, to: float, bucket_start: float) -> bool:
    """No step at all, or a small step back inside the open bucket: the engine keeps
    its time (samples read meanwhile are late, taken as read at `now`)."""
    return to == now or bucket_start <= to < now

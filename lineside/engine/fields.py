"""Accumulator layout and the OEE fields computed from it.

A machine accumulates raw seconds and counter deltas in a flat list (`ACC_N` floats);
at a bucket or shift close the list is turned into a *vector* of additive quantities
(`VEC_FIELDS`), vectors are summed upwards (stage, line, site) and only then are the
ratios computed, so a ratio is never averaged (docs/design.md, OEE).
"""

from __future__ import annotations

from lineside.points import FieldValue

# -- per-machine accumulator (raw) -------------------------------------------------------
SCHED, PDOWN, RUN, FAULT_S, SETUP_S, STARVED_S, BLOCKED_S, IDLE_S, UNKNOWN_S = range(9)
AUTO_RUN, SMALL_N, SMALL_S = 9, 10, 11
CG, CR, CT = 12, 13, 14  # counter deltas: good, reject, total
IG, IR, IT = 15, 16, 17  # the same deltas times the ideal cycle time (s) at count time
RUN_W, AUTO_W = 18, 19  # ideal units while producing / while producing automatically
ACC_N = 20

# -- additive vector (what is summed over machines, buckets and shifts) -------------------
VEC_FIELDS = (
    "scheduled_s", "planned_down_s", "planned_busy_s", "run_s", "fault_s", "setup_s",
    "starved_s", "blocked_s", "idle_s", "unknown_s", "auto_run_s", "small_stops",
    "small_stop_s", "total_count", "good_count", "reject_count", "ideal_s", "ideal_good_s",
    "run_ideal_units", "auto_ideal_units", "counted_planned_busy_s", "counted_run_s",
)


class V:
    """Where each field sits in a vector: `vec[V.run_s]` (plain ints: as cheap as a literal)."""

    scheduled_s = 0
    planned_down_s = 1
    planned_busy_s = 2
    run_s = 3
    fault_s = 4
    setup_s = 5
    starved_s = 6
    blocked_s = 7
    idle_s = 8
    unknown_s = 9
    auto_run_s = 10
    small_stops = 11
    small_stop_s = 12
    total_count = 13
    good_count = 14
    reject_count = 15
    ideal_s = 16
    ideal_good_s = 17
    run_ideal_units = 18
    auto_ideal_units = 19
    counted_planned_busy_s = 20
    counted_run_s = 21


assert [getattr(V, n) for n in VEC_FIELDS] == list(range(len(VEC_FIELDS)))
VEC_N = len(VEC_FIELDS)
INT_FIELDS = frozenset(("small_stops", "total_count", "good_count", "reject_count"))
# The durations that partition scheduled time (property: they add up to scheduled_s).
PARTITION = ("planned_down_s", "run_s", "fault_s", "setup_s", "starved_s", "blocked_s",
             "idle_s", "unknown_s")
# The ratios every figure carries, computed from the vector (never averaged).
RATIOS = ("availability", "performance", "quality", "oee", "automation_rate")

# Counter combination a machine has: which of good / reject / total it exposes.
G, R, T = 1, 2, 4


def vector(acc: list[float], kinds: int) -> list[float]:
    """Raw accumulator -> additive vector. Linear in `acc`, so sums commute."""
    dg, dr, dt = acc[CG], acc[CR], acc[CT]
    ig, ir, it = acc[IG], acc[IR], acc[IT]
    if kinds & G and kinds & R:
        good, rej, igood, irej = dg, dr, ig, ir
    elif kinds & G and kinds & T:
        good, rej, igood, irej = dg, dt - dg, ig, it - ig
    elif kinds & T and kinds & R:
        good, rej, igood, irej = dt - dr, dr, it - ir, ir
    elif kinds & G:
        good, rej, igood, irej = dg, 0.0, ig, 0.0
    elif kinds & T:  # a total counter alone: no reject information, quality 1
        good, rej, igood, irej = dt, 0.0, it, 0.0
    elif kinds & R:
        good, rej, igood, irej = 0.0, dr, 0.0, ir
    else:
        good = rej = igood = irej = 0.0
    sched, pdown = acc[SCHED], acc[PDOWN]
    # Planned busy and run time of machines with a counter: the denominators of OEE
    # and performance, so an entity without counters never counts as zero output.
    counted = 1.0 if kinds & (G | T) else 0.0  # a reject counter alone counts no units
    return [
        sched, pdown, sched - pdown, acc[RUN], acc[FAULT_S], acc[SETUP_S], acc[STARVED_S],
        acc[BLOCKED_S], acc[IDLE_S], acc[UNKNOWN_S], acc[AUTO_RUN], acc[SMALL_N],
        acc[SMALL_S], good + rej, good, rej, igood + irej, igood, acc[RUN_W], acc[AUTO_W],
        counted * (sched - pdown), counted * acc[RUN],
    ]


def vsum(vecs: list[list[float]]) -> list[float]:
    if not vecs:
        return [0.0] * VEC_N
    if len(vecs) == 1:
        return list(vecs[0])
    return [sum(col) for col in zip(*vecs, strict=True)]


def machine_rate(vec: list[float]) -> float | None:
    """Automation rate of one machine or a stage of machines (ideal-rate weighted)."""
    w = vec[V.run_ideal_units]
    return vec[V.auto_ideal_units] / w if w > 0 else None


def to_fields(vec: list[float], automation_rate: float | None,
              counts: bool = True) -> dict[str, FieldValue]:
    """Vector -> point fields: additive values, losses, then ratios (absent when /0).

    OEE and performance divide by the planned busy / run time of the machines that
    have a counter (`counted_*`): a machine, stage, line or site without counters has
    them absent (not 0), and one without counters among others does not dilute them.
    `counts` False (no good or total counter below this entity) also drops quality and
    the loss fields.
    """
    f: dict[str, FieldValue] = {}
    for name, v in zip(VEC_FIELDS, vec, strict=True):
        f[name] = round(v) if name in INT_FIELDS else round(v, 6)
    pbt, run = vec[V.planned_busy_s], vec[V.run_s]
    ideal, ideal_good = vec[V.ideal_s], vec[V.ideal_good_s]
    total, good = vec[V.total_count], vec[V.good_count]
    cpbt, crun = vec[V.counted_planned_busy_s], vec[V.counted_run_s]
    # Loss seconds for a Pareto: planned_busy = run + stops; run = ideal_good + speed
    # loss + reject loss (speed loss is negative when the machine beats its ideal rate).
    f["speed_loss_s"] = round(run - ideal, 6)
    f["reject_loss_s"] = round(ideal - ideal_good, 6)
    if pbt > 0:
        f["availability"] = run / pbt
    if cpbt > 0:
        f["oee"] = ideal_good / cpbt
    if crun > 0:
        perf = ideal / crun
        f["performance"] = perf
        f["performance_over_1"] = perf > 1.0 + 1e-9
    if not counts:
        del f["speed_loss_s"], f["reject_loss_s"]
    if total and counts:
        f["quality"] = good / total
    if automation_rate is not None:
        f["automation_rate"] = automation_rate
    return f

"""What the engine holds per machine and per process value, and how a machine's time
is accounted into its accumulators (docs/engine.md).

A machine accounts its time in three accumulators of `fields.ACC_N` floats: the open
segment (`seg_acc`, a span where the calendar is constant), which is added at the
segment's end to the open bucket (`bucket_acc`) and, inside a shift, to the open shift
(`shift_acc`). Slotted records: the feed loop reads these attributes for every sample.
"""

from __future__ import annotations

from typing import Any

from lineside.config.plant import Machine
from lineside.engine import fields as F
from lineside.engine import plausible
from lineside.engine.counters import Counter
from lineside.engine.modes import ModeTable
from lineside.engine.plausible import CODE_RANGE, TEXT_MAX_CHARS, Bounds
from lineside.engine.roles import R_GOOD, ROLE_NAMES, STATE_ROLES
from lineside.engine.states import PRODUCING, UNKNOWN, StateMap

OFF, DOWN, ON = 0, 1, 2  # calendar mode of a machine's line during the open segment
NEVER = 1e18  # "no deadline" (finite, so snapshots stay strict JSON)

# Snapshot key -> attribute. The keys are those of snapshots already on disk.
_SNAPSHOT = {
    "acc": "seg_acc", "acc_since": "accounted_to", "auto": "auto", "bacc": "bucket_acc",
    "bad": "read_bad", "code": "state_code", "cycle": "cycle_s", "last_good": "last_good",
    "live": "live_in_bucket", "mauto": "mode_auto", "product": "product",
    "rate": "ideal_rate", "raw": "state_inputs", "reason": "reason", "sacc": "shift_acc",
    "sauto": "signal_auto", "since": "state_since", "stale_at": "stale_at",
    "state": "state", "stop_start": "stop_start",
}
_ACCUMULATORS = frozenset(("seg_acc", "bucket_acc", "shift_acc"))


class ProcessValue:
    """A process value reported as a `signal` point on change (with deadband)."""

    __slots__ = ("ccp", "deadband", "hi", "key", "last", "lo", "lot", "max_chars", "tags")

    def __init__(self, key: str, tags: dict[str, str], deadband: float,
                 bounds: Bounds) -> None:
        self.key, self.tags, self.deadband = key, tags, deadband
        self.lo, self.hi, self.max_chars = bounds  # plausible values (engine/plausible.py)
        self.ccp = False  # a CCP watches it: its readings go to the CCPs too
        self.lot: str | None = None  # the machine whose lot_signal it is (engine/lots.py)
        self.last: Any = None


class MachineState:
    """Runtime state of one machine."""

    __slots__ = (
        "accounted_to",  # seg_acc holds the machine's time up to this instant
        "auto",  # running in auto now: declared_auto and signal_auto and mode_auto
        "bounds",  # plausible values of each state, mode and product role (plausible.py)
        "bucket_acc",
        "calendar_mode",  # OFF, DOWN or ON for the open segment
        "ccp",  # a CCP watches one of its values: its state changes go to the CCPs
        "cfg",
        "counter_kinds",  # fields.G | R | T: the counters the machine has
        "counters",  # Counter of good, reject, total
        "counts_units",  # has a good or total counter: performance, quality, OEE
        "cycle_s",  # ideal seconds per unit of the current product
        "declared_auto",  # configured automation: automatic
        "default_cycle_s",
        "dirty",  # a state input changed at the engine's `now`: state not derived yet
        "fault_reasons",  # fault code -> reason text
        "has_auto_signal",
        "id",
        "ideal_rate",  # ideal units per minute of the current product
        "last_good",  # time of the last good read of a state signal
        "line_i",
        "live_in_bucket",  # had a known state during the open bucket (digitized)
        "mode_auto",  # the `mode` signal's table says automatic (True without one)
        "mode_table",
        "product",
        "product_cycles_s",  # product code -> ideal seconds per unit
        "read_bad",  # the last state read had BAD quality
        "reason",
        "seg_acc",
        "shift_acc",
        "signal_auto",  # the `auto_mode` signal says automatic (True without one)
        "stage_i",
        "stale_after_s",
        "stale_at",  # no good read by then: unknown
        "state",
        "state_code",
        "state_inputs",  # last values of the state-deciding roles, in role order
        "state_map",
        "state_since",
        "state_slot",  # state -> accumulator slot its time goes to
        "stop_start",  # start of a stop that may turn out small
        "subscribed",  # OPC UA subscription: silence is normal
        "tags",
    )

    def __init__(self, cfg: Machine, line_i: int, stage_i: int, tags: dict[str, str],
                 stale_after_s: float, planned: frozenset[int], start: float,
                 subscribed: bool = False) -> None:
        self.cfg = cfg
        self.id = cfg.id
        self.line_i, self.stage_i, self.tags = line_i, stage_i, tags
        self.mode_table = ModeTable(cfg)
        self.state_map = StateMap(cfg, self.mode_table)
        # A subscription only sends changes: silence is normal there, and the driver
        # reports a lost link itself with BAD samples. So silence makes a subscribed
        # machine unknown only when the machine sets its own stale_after_s.
        self.subscribed = subscribed and cfg.stale_after_s is None
        self.stale_after_s = NEVER if self.subscribed else float(
            cfg.stale_after_s or stale_after_s)
        self.default_cycle_s = float(cfg.ideal_cycle)
        self.product_cycles_s = {int(k): 60.0 / float(v) for k, v in cfg.products.items()}
        self.cycle_s = self.default_cycle_s
        self.ideal_rate = 60.0 / self.cycle_s
        self.product: Any = None
        self.fault_reasons = {int(k): v for k, v in cfg.reasons.items()}
        self.has_auto_signal = "auto_mode" in cfg.signals
        self.declared_auto = cfg.automation == "automatic"
        # Automatic when declared automatic and every mode source agrees: `auto_mode`
        # (where there is one) and a `mode` whose table names automatic/manual. Manual
        # and mechanized equipment never runs in auto (docs/design.md, automation rate).
        self.signal_auto = not self.has_auto_signal
        self.mode_auto = not ("mode" in cfg.signals and self.mode_table.decides)
        self.auto = self.declared_auto and self.signal_auto and self.mode_auto
        # Counters, each at its own width; the allowance uses the fastest product rate.
        fastest = max([self.ideal_rate, *(60.0 / c for c in self.product_cycles_s.values())])
        per_s = fastest * float(cfg.counters.rate_margin) / 60.0
        incr = cfg.counters.mode == "increment"
        self.counters = [Counter(cfg.counter_bits(name), per_s, incr,
                                 getattr(spec, "range", None),
                                 getattr(spec, "max_chars", None) or TEXT_MAX_CHARS)
                         for name in ("good", "reject", "total")
                         for spec in (cfg.signals.get(name),)]
        self.bounds = [plausible.bounds(cfg.signals.get(name), CODE_RANGE)
                       for name in ROLE_NAMES[:R_GOOD]] + [None] * 3 + [
                           plausible.bounds(cfg.signals.get("product"), CODE_RANGE)]
        self.ccp = False
        self.counter_kinds = ((F.G if "good" in cfg.signals else 0)
                              | (F.R if "reject" in cfg.signals else 0)
                              | (F.T if "total" in cfg.signals else 0))
        self.counts_units = cfg.counts_units  # else performance, quality, OEE absent
        # Where each state's time goes inside planned busy time.
        slot = [F.RUN, F.IDLE_S, F.STARVED_S, F.BLOCKED_S, F.FAULT_S, F.SETUP_S,
                F.SETUP_S,  # cleaning that is not planned: a changeover-like loss
                F.FAULT_S,  # maintenance that is not planned: unplanned repair
                F.UNKNOWN_S]
        for st in planned:
            slot[st] = F.PDOWN
        self.state_slot = slot
        self.state_inputs: list[Any] = [None] * STATE_ROLES
        self.state = UNKNOWN
        self.state_since = start
        self.state_code: int | None = None
        self.reason = "no data"
        self.accounted_to = start
        self.calendar_mode = OFF
        self.last_good: float | None = None
        self.stale_at = NEVER
        self.read_bad = False
        self.seg_acc = [0.0] * F.ACC_N
        self.bucket_acc = [0.0] * F.ACC_N
        self.shift_acc = [0.0] * F.ACC_N
        self.stop_start: float | None = None
        self.live_in_bucket = False
        self.dirty = False

    # -- time accounting -------------------------------------------------------------
    def account(self, t: float) -> None:
        """Account [accounted_to, t) in the current state, within the open segment."""
        d = t - self.accounted_to
        if d > 0 and self.calendar_mode != OFF:
            self._add_time(self.seg_acc, d, self.state)
        self.accounted_to = t

    def _add_time(self, acc: list[float], d: float, state: int) -> None:
        """d seconds of scheduled time in `state` (planned down while the line is DOWN)."""
        acc[F.SCHED] += d
        if self.calendar_mode == DOWN:
            acc[F.PDOWN] += d
            return
        acc[self.state_slot[state]] += d
        if state == PRODUCING:
            w = self.ideal_rate * d / 60.0
            acc[F.RUN_W] += w
            if self.auto:
                acc[F.AUTO_RUN] += d
                acc[F.AUTO_W] += w

    def partial(self, t: float, base: list[float], now: float,
                tail_state: int | None = None) -> list[float]:
        """base + open segment + [accounted_to, t), without changing the record.

        With `tail_state`, [now, t) is taken in that state (a change read at `now`
        that has not become an event yet).
        """
        acc = [a + b for a, b in zip(base, self.seg_acc, strict=True)]
        if self.calendar_mode == OFF:
            return acc
        spans = [(self.accounted_to, t, self.state)]
        if tail_state is not None and self.accounted_to <= now < t:
            spans = [(self.accounted_to, now, self.state), (now, t, tail_state)]
        for a, b, state in spans:
            if b > a:
                self._add_time(acc, b - a, state)
        return acc

    def shift_clock(self, delta: float, to: float) -> None:
        """A wall-clock step of `delta` to `to` (engine/timejump.py): the machine's own
        instants move with the clock, so durations count observed time only and the
        jump makes no machine stale."""
        self.state_since += delta
        if self.stale_at < NEVER:
            self.stale_at += delta
        if self.last_good is not None:
            self.last_good += delta
        if self.stop_start is not None:
            self.stop_start += delta
        self.accounted_to = to

    # -- snapshot ----------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        d = {key: getattr(self, attr) for key, attr in _SNAPSHOT.items()}
        d["cnt"] = [c.dump() for c in self.counters]
        return d

    def load(self, d: dict[str, Any], now: float) -> None:
        for key, attr in _SNAPSHOT.items():
            if key in d:
                v = d[key]
                if attr in _ACCUMULATORS:
                    v = (list(v) + [0.0] * F.ACC_N)[: F.ACC_N]
                elif attr == "state_inputs":
                    v = list(v)
                setattr(self, attr, v)
        for c, cd in zip(self.counters, d.get("cnt") or [], strict=False):
            c.load(cd, now)

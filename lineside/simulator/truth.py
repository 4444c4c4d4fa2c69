"""Ground truth of the simulated factory and the reference OEE computed from it.

Truth file format (CSV, one header line, one row per machine per whole second):

    ts,machine,state,auto,good,reject,product,fault_code
    1764374400,L1-wash1,producing,1,0,0,1,0

`ts` is the epoch second the row describes: the machine's state during [ts, ts+1) and
its cumulative true counts at the instant `ts` (counted from the start of the
simulation, never rolled over). `auto` is 1 when the machine produces automatically.

`truth_oee` applies docs/design.md's formulas to that truth, second by second, with the
config's calendar. It shares no code with the engine on purpose: it is the reference
the engine is tested against.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from lineside.config.models import LinesideConfig
from lineside.csvcell import cell, uncell, writer
from lineside.simulator.codes import STATES
from lineside.simulator.factory import TruthRow
from lineside.simulator.schedule import downtime_at, scheduled_at

HEADER = ("ts", "machine", "state", "auto", "good", "reject", "product", "fault_code")
_SIDX = {s: i for i, s in enumerate(STATES)}


class MachineTruth:
    """Per-second columns of one machine (compact: a simulated day of 20 machines ~40 MB)."""

    __slots__ = ("auto", "fault_code", "good", "product", "reject", "state")

    def __init__(self) -> None:
        self.state = bytearray()
        self.auto = bytearray()
        self.good = array("q")
        self.reject = array("q")
        self.product = array("q")
        self.fault_code = array("q")

    def append(self, r: TruthRow) -> None:
        _, state, auto, good, reject, product, fault_code = r
        self.state.append(_SIDX[state])
        self.auto.append(1 if auto else 0)
        self.good.append(good)
        self.reject.append(reject)
        self.product.append(product)
        self.fault_code.append(fault_code)

    def state_at(self, i: int) -> str:
        return STATES[self.state[i]]


class Truth:
    """In-memory recorder: `truth.machines[id]` columns indexed by `ts - truth.t0`."""

    def __init__(self) -> None:
        self.t0: int | None = None
        self.n = 0
        self.machines: dict[str, MachineTruth] = {}

    def on_second(self, ts: int, rows: Sequence[TruthRow]) -> None:
        if self.t0 is None:
            self.t0 = ts
        elif ts != self.t0 + self.n:
            raise ValueError(f"truth is per second without gaps: got {ts}, "
                             f"expected {self.t0 + self.n}")
        for r in rows:
            mt = self.machines.get(r.machine)
            if mt is None:
                mt = self.machines[r.machine] = MachineTruth()
            mt.append(r)
        self.n += 1

    @property
    def end(self) -> int | None:
        """Last recorded second (inclusive)."""
        return None if self.t0 is None else self.t0 + self.n - 1

    def row(self, machine: str, ts: int) -> TruthRow:
        mt, i = self.machines[machine], ts - (self.t0 or 0)
        return TruthRow(machine, mt.state_at(i), bool(mt.auto[i]), mt.good[i], mt.reject[i],
                        mt.product[i], mt.fault_code[i])


class TruthWriter:
    """Recorder writing the CSV truth file; flushes every `flush_every` seconds of truth."""

    def __init__(self, path: str | Path, flush_every: int = 10) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: IO[str] = self.path.open("w", newline="", encoding="utf-8")
        self._w = writer(self._f)
        self._w.writerow(HEADER)
        self._flush_every, self._k = flush_every, 0

    def on_second(self, ts: int, rows: Sequence[TruthRow]) -> None:
        self._w.writerows((ts, cell(r.machine), r.state, int(r.auto), r.good, r.reject,
                           r.product, r.fault_code) for r in rows)
        self._k += 1
        if self._k % self._flush_every == 0:
            self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


def load_truth(path: str | Path) -> Truth:
    """Read a truth CSV written by `TruthWriter` (a partial last second is dropped)."""
    truth = Truth()
    with Path(path).open(newline="", encoding="utf-8") as f:
        rd = csv.reader(f)
        head = next(rd, None)
        if head is None or tuple(head) != HEADER:
            raise ValueError(f"{path}: not a lineside truth file (header {head})")
        cur: int | None = None
        rows: list[TruthRow] = []
        per_second: int | None = None
        for ts_s, mach, state, auto, good, rej, prod, fc in rd:
            ts = int(ts_s)
            if cur is not None and ts != cur:
                truth.on_second(cur, rows)
                per_second = per_second or len(rows)
                rows = []
            cur = ts
            rows.append(TruthRow(uncell(mach), state, auto == "1", int(good), int(rej), int(prod),
                                 int(fc)))
        if cur is not None and rows and (per_second is None or len(rows) == per_second):
            truth.on_second(cur, rows)
    return truth


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def truth_oee(truth: Truth, cfg: LinesideConfig, start_ts: float,
              end_ts: float) -> dict[str, dict[str, Any]]:
    """Reference OEE per machine over [start_ts, end_ts), from the truth, docs/design.md's way.

    Second by second (whole seconds inside the range that the truth covers, with the
    next second present for the count delta):
    - not scheduled (outside shifts, in a break, holiday): ignored entirely;
    - planned down: planned downtime window of the line, or a state in
      `metrics.planned_states`; otherwise planned busy; run = planned busy and producing;
    - counts: good/reject made during scheduled seconds; ideal time per unit from the
      product running that second (`products` table) else the machine's ideal cycle;
    - auto run: producing while automatic (auto_mode or a PackML UnitMode where the
      machine has one, else all its producing time when declared automatic, none for
      manual/mechanized).
    Ratios with a zero denominator are None (absent).
    """
    tz = ZoneInfo(cfg.site.timezone)
    planned = set(cfg.metrics.planned_states)
    out: dict[str, dict[str, Any]] = {}
    if truth.t0 is None:
        return out
    lo = max(math.ceil(start_ts), truth.t0)
    hi = min(math.floor(end_ts), truth.t0 + truth.n - 1)  # exclusive: needs row hi
    sched_cache: dict[int, bool] = {}
    for line in cfg.lines:
        down = {s: downtime_at(cfg.calendar, tz, line.id, s) for s in range(lo, hi)} \
            if cfg.calendar.planned_downtime else {}
        for stage in line.stages:
            for m in stage.production:  # monitoring-only units have no OEE
                mt = truth.machines.get(m.id)
                if mt is None:
                    continue
                # auto_mode, or a PackML UnitMode that can show Manual (docs/engine.md, Modes)
                auto_signal = "auto_mode" in m.signals or (
                    "mode" in m.signals and m.state.map in ("packml", "signals"))
                run = pbt = auto_run = 0
                good = rej = 0
                ideal_s = ideal_good_s = 0.0
                for s in range(lo, hi):
                    sch = sched_cache.get(s)
                    if sch is None:
                        sch = sched_cache[s] = scheduled_at(cfg.calendar, tz, s)
                    if not sch:
                        continue
                    i = s - truth.t0
                    dg = mt.good[i + 1] - mt.good[i]
                    dr = mt.reject[i + 1] - mt.reject[i]
                    if dg or dr:
                        prod = mt.product[i]
                        cyc = (60.0 / m.products[prod]) if prod in m.products else m.ideal_cycle
                        good += dg
                        rej += dr
                        ideal_s += (dg + dr) * cyc
                        ideal_good_s += dg * cyc
                    state = STATES[mt.state[i]]
                    if down.get(s, False) or state in planned:
                        continue
                    pbt += 1
                    if state == "producing":
                        run += 1
                        if m.automation == "automatic" and (mt.auto[i] or not auto_signal):
                            auto_run += 1
                total = good + rej
                out[m.id] = {
                    "availability": _ratio(run, pbt),
                    "performance": _ratio(ideal_s, run),
                    "quality": _ratio(good, total),
                    "oee": _ratio(ideal_good_s, pbt),
                    "automation_rate": _ratio(auto_run, run),
                    "run_s": float(run),
                    "planned_busy_s": float(pbt),
                    "auto_run_s": float(auto_run),
                    "ideal_s": ideal_s,
                    "good": good,
                    "reject": rej,
                }
    return out


"""Engine throughput: samples per second on one core, and the cost of a bucket close.

A realistic mix for 200 machines polled every second: a state code (PackML for half
the machines, Weihenstephan for a quarter, boolean running/fault for the rest), an
auto/manual mode and good/reject counters. Counters move every second, states change
about once a minute. The baseline, measured in the same run on the same samples, is
the least any consumer must do: a plain `dict[signal] = value` update loop.

    python bench/engine_throughput.py [--machines 200] [--seconds 600] [--clock cpu]

`--clock cpu` times in CPU time (time.process_time) instead of wall time: steadier on a
machine shared with other jobs.

Goal (issue 5): >= 300,000 samples/s.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.samples import Quality, Sample

T0 = 1796018400.0  # 2026-11-30 06:00 UTC, a Monday


def make_config(n: int) -> LinesideConfig:
    machines: list[dict[str, Any]] = []
    for i in range(n):
        kind = "packml" if i % 2 == 0 else ("weihenstephan" if i % 4 == 1 else "signals")
        sig = ["state"] if kind != "signals" else ["running", "fault"]
        sig += ["auto_mode", "good", "reject"]
        machines.append({
            "id": f"m{i:03d}", "automation": "automatic", "ideal_rate": 60 + i % 7,
            "source": "plc", "state": {"map": kind},
            "signals": {s: {"address": j} for j, s in enumerate(sig)},
        })
    stages = [{"id": f"st{k}", "kind": "frying", "machines": machines[k * 10:(k + 1) * 10]}
              for k in range((n + 9) // 10)]
    lines = [{"id": f"L{j}", "stages": stages[j * 5:(j + 1) * 5]}
             for j in range((len(stages) + 4) // 5)]
    return LinesideConfig(**{
        "site": {"enterprise_id": "e1", "enterprise_name": "Bench Foods", "site_id": "s1",
                 "region": "510114"},
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1"}],
        "calendar": {"shifts": [{"name": "A", "start": "06:00", "end": "14:00",
                                 "breaks": [{"start": "10:00", "end": "10:30"}]}]},
        "lines": lines,
    })


def make_samples(cfg: LinesideConfig, seconds: int) -> list[list[Sample]]:
    """One list of samples per poll second (what a driver hands the engine)."""
    rng = random.Random(1)
    ms = [m for ln in cfg.lines for st in ln.stages for m in st.machines]
    state = {m.id: True for m in ms}
    good = {m.id: rng.randrange(0, 60000) for m in ms}
    rej = {m.id: 0 for m in ms}
    polls: list[list[Sample]] = []
    G = Quality.GOOD
    for sec in range(seconds):
        t = T0 + sec
        batch: list[Sample] = []
        for m in ms:
            if rng.random() < 1 / 60:
                state[m.id] = not state[m.id]
            run = state[m.id]
            if run:
                good[m.id] += 1
                if rng.random() < 0.02:
                    rej[m.id] += 1
            if m.state.map == "packml":
                batch.append(Sample(f"{m.id}.state", 6 if run else 11, G, t))
            elif m.state.map == "weihenstephan":
                batch.append(Sample(f"{m.id}.state", 128 if run else 1024, G, t))
            else:
                batch.append(Sample(f"{m.id}.running", run, G, t))
                batch.append(Sample(f"{m.id}.fault", not run, G, t))
            batch.append(Sample(f"{m.id}.auto_mode", True, G, t))
            batch.append(Sample(f"{m.id}.good", good[m.id] & 0xFFFFFFFF, G, t))
            batch.append(Sample(f"{m.id}.reject", rej[m.id], G, t))
        polls.append(batch)
    return polls


CLOCK = time.perf_counter  # --clock cpu: time.process_time


def bench_baseline(polls: list[list[Sample]]) -> float:
    d: dict[str, Any] = {}
    t0 = CLOCK()
    for batch in polls:
        for s in batch:
            d[s.signal] = s.value
    return CLOCK() - t0


def bench_engine(cfg: LinesideConfig, polls: list[list[Sample]]) -> tuple[float, int]:
    eng = Engine(cfg, T0)
    npts = 0
    t0 = CLOCK()
    for batch in polls:
        npts += len(eng.feed(batch))
    return CLOCK() - t0, npts


def bench_close(cfg: LinesideConfig, polls: list[list[Sample]], n: int) -> list[float]:
    """Seconds per bucket close (oee for every machine/stage/line/site + automation)."""
    eng = Engine(cfg, T0)
    costs: list[float] = []
    sec = 0
    for k in range(1, n + 1):
        boundary = T0 + 60 * k
        while sec < len(polls) and polls[sec][0].ts < boundary:
            eng.feed(polls[sec])
            sec += 1
        t0 = CLOCK()
        pts = eng.tick(boundary)
        costs.append(CLOCK() - t0)
        assert any(p.measurement == "oee" for p in pts)
    return costs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machines", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    cfg = make_config(a.machines)
    polls = make_samples(cfg, a.seconds)
    n = sum(len(b) for b in polls)
    gc.collect()
    base = min(bench_baseline(polls) for _ in range(a.repeat))
    runs = [bench_engine(cfg, polls) for _ in range(a.repeat)]
    eng_s = min(r[0] for r in runs)
    closes = bench_close(cfg, polls, min(10, a.seconds // 60))
    rate, base_rate = n / eng_s, n / base
    print(f"machines {a.machines}, samples {n:,} ({a.seconds} s of 1 s polls), "
          f"points out {runs[0][1]:,}")
    print(f"baseline dict update : {base_rate:12,.0f} samples/s")
    print(f"engine feed          : {rate:12,.0f} samples/s  (goal >= 300,000)")
    print(f"ratio engine/baseline: {rate / base_rate:.3f}  (baseline is {base_rate / rate:.1f}x "
          "faster)")
    print(f"bucket close         : median {statistics.median(closes) * 1e3:.2f} ms, "
          f"max {max(closes) * 1e3:.2f} ms for {a.machines} machines "
          f"({len(closes)} closes)")
    print(f"per-sample cost      : engine {eng_s / n * 1e9:.0f} ns, baseline "
          f"{base / n * 1e9:.0f} ns")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

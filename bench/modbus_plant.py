"""Benchmark: 20 simulated PLCs, 10,000 mixed Modbus signals polled every second.

Reports requests per cycle of the planned reads against the naive one-request-per-
signal baseline (both measured here, in the same run), the driver's CPU share of one
core and its peak RSS. The PLCs are pymodbus servers in a separate process (the
test peer, tests/fixtures/modbus_peers.py), so only the driver is measured.

    python bench/modbus_plant.py [--plcs 20] [--signals 10000] [--seconds 30]

Goals (issue 3): >= 50x fewer requests, <= 10% of one core, <= 150 MB peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lineside.drivers.base import SignalRef  # noqa: E402
from lineside.drivers.modbus.build import build_modbus_drivers  # noqa: E402
from lineside.drivers.modbus.codec import encode  # noqa: E402
from lineside.drivers.modbus.planner import Plan, ReadRequest  # noqa: E402
from lineside.drivers.modbus.poller import ModbusDriver  # noqa: E402
from lineside.drivers.modbus.settings import ModbusSignal, ModbusTcpDevice  # noqa: E402

# Type mix of a food-line PLC tag table: mostly words and floats, some 32-bit
# counters, a few 64-bit totals and strings, status bits.
REG_TYPES = [("uint16", 30), ("int16", 10), ("bits", 5), ("bool", 5), ("int32", 10),
             ("uint32", 15), ("float32", 20), ("float64", 2), ("uint64", 2), ("string", 1)]
ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sample_value(dtype: str, rng: random.Random) -> object:
    return {"uint16": rng.randrange(65536), "int16": rng.randrange(-32768, 32768),
            "bits": rng.randrange(65536), "bool": rng.randrange(2),
            "int32": rng.randrange(-2**31, 2**31), "uint32": rng.randrange(2**32),
            "float32": rng.uniform(-1000, 1000), "float64": rng.uniform(-1e6, 1e6),
            "uint64": rng.randrange(2**64), "string": "BATCH-" + str(rng.randrange(1000))}[dtype]


BREAK_RATE = 0.015


def gap(rng: random.Random, breaks: float) -> int:
    """Tag tables are dense with holes: mostly contiguous, some spare words, and with
    probability `breaks` a jump to a separate area (e.g. one per machine module)."""
    r = rng.random()
    return (rng.randint(30, 200) if r < breaks else rng.randint(1, 4) if r < 0.15 + breaks
            else 0)


def make_plc(n: int, rng: random.Random, breaks: float = BREAK_RATE
             ) -> tuple[dict, list[tuple[str, dict]]]:
    """Register image and signals of one PLC with n signals."""
    image: dict[str, dict[str, list]] = {"holding": {}, "input": {}, "coil": {}, "discrete": {}}
    signals: list[tuple[str, dict]] = []
    counts = {"holding": int(n * 0.6), "input": int(n * 0.2)}
    counts["coil"] = (n - counts["holding"] - counts["input"]) // 2
    counts["discrete"] = n - sum(counts.values())
    names, weights = zip(*REG_TYPES, strict=True)
    for table, k in counts.items():
        addr = 0
        status: list[int] = []  # [address, next free bit] of the current status word
        for i in range(k):
            if table in ("holding", "input"):
                addr += gap(rng, breaks)
            else:
                addr += rng.choice([0, 0, 0, 1, 2])
            if table in ("coil", "discrete"):
                image[table][str(addr)] = [bool(rng.randrange(2))]
                signals.append((f"{table}{i}", {"table": table, "address": addr, "type": "bool"}))
                addr += 1
                continue
            dtype = rng.choices(names, weights)[0]
            order = rng.choice(ORDERS)
            if dtype == "bool" and status and status[1] < 16:
                # flags are packed 16 to a status word, as PLC programs do
                signals.append((f"{table}{i}", {"table": table, "address": status[0],
                                                "type": "bool", "bit": status[1]}))
                status[1] += 1
                continue
            spec: dict = {"table": table, "address": addr, "type": dtype, "byte_order": order}
            length = 5 if dtype == "string" else None
            if dtype == "string":
                spec["length"] = length
            if dtype == "bool":
                spec["bit"] = 0
                status = [addr, 1]
            if dtype in ("int16", "uint16") and rng.random() < 0.3:
                spec["scale"] = 0.1
            regs = encode(sample_value(dtype, rng), "uint16" if dtype == "bool" else dtype,
                          order, length=length)
            image[table][str(addr)] = regs
            signals.append((f"{table}{i}", spec))
            addr += len(regs)
    size = max(int(a) + len(v) for t in image.values() for a, v in t.items()) + 8
    return {"size": size, **image}, signals


def naive_plan(d: ModbusDriver) -> Plan:
    """The baseline: one request per signal (what a tag-by-tag poller sends)."""
    return Plan(tuple(ReadRequest(it.table, it.unit, it.address, it.count, (it,))
                      for r in d.plan.requests for it in r.items), ())


async def run_cycles(drivers: list[ModbusDriver], seconds: float, interval: float
                     ) -> tuple[float, float, int, int, int]:
    """Poll every driver at a fixed rate; (wall, cpu, requests, good, bad)."""
    req0 = sum(d.stats.requests for d in drivers)
    good = bad = 0
    t0, c0 = time.monotonic(), time.process_time()
    end = t0 + seconds

    async def loop(d: ModbusDriver) -> None:
        nonlocal good, bad
        nxt = time.monotonic()
        while nxt < end:
            await asyncio.sleep(max(0.0, nxt - time.monotonic()))
            for s in await d.poll():
                good += s.good
                bad += not s.good
            nxt += interval

    await asyncio.gather(*(loop(d) for d in drivers))
    wall, cpu = time.monotonic() - t0, time.process_time() - c0
    return wall, cpu, sum(d.stats.requests for d in drivers) - req0, good, bad


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plcs", type=int, default=20)
    ap.add_argument("--signals", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--naive-seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--breaks", type=float, default=BREAK_RATE,
                    help="probability that a register signal starts a separate area")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    per = args.signals // args.plcs
    ports = [free_port() for _ in range(args.plcs)]
    plcs = [make_plc(per, rng, args.breaks) for _ in ports]
    spec = {"servers": [{"port": p, "units": {"1": img}} for p, (img, _) in zip(ports, plcs,
                                                                                strict=True)]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    peer = subprocess.Popen([sys.executable, "-m", "tests.fixtures.modbus_peers", f.name],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready"
        devices = [ModbusTcpDevice(type="modbus-tcp", id=f"plc{i:02d}", host="127.0.0.1",
                                   port=p, timeout_s=2.0) for i, p in enumerate(ports)]
        refs = {d.id: [SignalRef(f"{d.id}.{name}", ModbusSignal(**s)) for name, s in sigs]
                for d, (_, sigs) in zip(devices, plcs, strict=True)}
        drivers = build_modbus_drivers(devices, refs)
        n_signals = sum(len(r) for r in refs.values())
        planned = sum(len(d.plan.requests) for d in drivers)
        await run_cycles(drivers, 2.0, 1.0)  # warm-up: connect, first cycles
        cyc0 = drivers[0].stats.cycles
        wall, cpu, reqs, good, bad = await run_cycles(drivers, args.seconds, 1.0)
        cycles = drivers[0].stats.cycles - cyc0
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # the baseline, same servers, same process, afterwards
        for d in drivers:
            d.plan = naive_plan(d)
        cyc0 = drivers[0].stats.cycles
        nwall, ncpu, nreqs, ngood, nbad = await run_cycles(drivers, args.naive_seconds, 1.0)
        ncycles = drivers[0].stats.cycles - cyc0
        for d in drivers:
            await d.close()
    finally:
        peer.kill()
        peer.wait()
        os.unlink(f.name)
    naive_per_cycle = nreqs / max(1, ncycles)
    print(f"modbus plant bench: {args.plcs} PLCs, {n_signals} signals, 1 s interval, "
          f"{args.seconds:g} s measured")
    print(f"  requests per cycle: planned {reqs / max(1, cycles):.0f} (plan: {planned}), "
          f"naive {naive_per_cycle:.0f} -> {naive_per_cycle / max(1, planned):.0f}x fewer "
          "(goal >= 50x)")
    print(f"  samples: {good} good, {bad} bad (naive run: {ngood} good, {nbad} bad; a naive "
          f"cycle took {nwall / max(1, ncycles):.2f} s of its 1 s interval)")
    print(f"  driver CPU: {100 * cpu / wall:.1f}% of one core (goal <= 10%); "
          f"naive baseline {100 * ncpu / nwall:.1f}%")
    print(f"  peak RSS: {rss_mb:.0f} MB (goal <= 150 MB)")
    print("  plan sensitivity to the layout (requests per cycle, same seed, plan only):")
    for breaks in (0.0, 0.005, 0.015, 0.03):
        n = plan_only(args.plcs, per, args.seed, breaks)
        print(f"    area breaks {breaks:5.3f}: {n:4d} requests, {n_signals / n:5.1f}x fewer")


def plan_only(plcs: int, per: int, seed: int, breaks: float) -> int:
    from lineside.drivers.modbus.layout import limits_for, resolve_all
    from lineside.drivers.modbus.planner import plan

    rng = random.Random(seed)
    dev = ModbusTcpDevice(type="modbus-tcp", id="x", host="127.0.0.1")
    total = 0
    for _ in range(plcs):
        _, sigs = make_plc(per, rng, breaks)
        resolved, _ = resolve_all(dev, [(k, ModbusSignal(**s)) for k, s in sigs])
        total += len(plan([r.item() for r in resolved], limits_for(dev)).requests)
    return total


if __name__ == "__main__":
    asyncio.run(main())

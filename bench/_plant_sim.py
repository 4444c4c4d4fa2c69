"""One simulator process of the benchmark plant (Modbus PLCs or OPC UA PLCs), plus markers.

    python bench/_plant_sim.py CONFIG.json --kind modbus|opcua --port P --truth T.csv

Runs `SimulatedFactory` (PLC scan 1 s, like `lineside demo`) on the subset of the plant
served by one protocol, and flips the `marker` process value of the first machine of
every PLC every ~2.5 s at a random phase, to the wall-clock time of the flip: a reader
that sees the value knows when the PLC changed. Prints `ready` once serving; stops on
SIGTERM (truth CSV flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import random
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _plant_config import markers, subset  # noqa: E402

from lineside.config.models import LinesideConfig  # noqa: E402
from lineside.simulator.encode import encode_words  # noqa: E402
from lineside.simulator.server import SimulatedFactory  # noqa: E402


async def flip_markers(sim: SimulatedFactory, keys: list[str], current: dict[str, float],
                       period: float, rng: random.Random) -> None:
    from asyncua import ua

    placed = {p.key: p for p in sim.modbus.image.placed}
    due = {k: time.time() + rng.uniform(0, period) for k in keys}
    while True:
        k, t = min(due.items(), key=lambda kv: kv[1])
        await asyncio.sleep(max(0.0, t - time.time()))
        now = time.time()
        current[k] = now
        p = placed.get(k)
        if p is not None:  # patch the served registers now, not at the next scan
            regs = encode_words(p.spec, now, p.byte_order, p.string_byte_order)
            sim.modbus.image.words[(p.unit, p.table)][p.address:p.address + len(regs)] = regs
        node = sim.opcua._nodes.get(k)
        if node is not None and sim.opcua._server is not None:
            stamp = ua.DataValue(ua.Variant(now, node[1]),
                                 SourceTimestamp=dt.datetime.fromtimestamp(now, dt.UTC))
            sim.opcua._last[k] = now
            await sim.opcua._server.write_attribute_value(node[0], stamp)
        due[k] = now + period * rng.uniform(0.8, 1.2)


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config", type=Path)
    ap.add_argument("--kind", choices=("modbus", "opcua"), required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--truth", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--marker-period", type=float, default=2.5)
    a = ap.parse_args()
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    cfg = subset(LinesideConfig.model_validate_json(a.config.read_text()), a.kind)
    keys = markers(cfg)
    sim = SimulatedFactory(cfg, seed=a.seed, modbus_port=a.port if a.kind == "modbus" else 1,
                           opcua_port=a.port if a.kind == "opcua" else None,
                           truth_path=a.truth, keep_truth=False, scan_s=1.0)
    if a.kind == "opcua":  # no Modbus server in this process
        sim.modbus.units = []
    current: dict[str, float] = {}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    async with sim:
        assert sim.factory is not None
        model_values = sim.factory.values

        def values() -> dict[str, object]:  # the model's values, markers as last flipped
            v = model_values()
            for k in keys:
                v[k] = current.get(k, 0.0)
            return v

        sim.factory.values = values  # type: ignore[method-assign]
        task = asyncio.create_task(flip_markers(sim, keys, current, a.marker_period,
                                                random.Random(a.seed)))
        print("ready", flush=True)
        await stop.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


if __name__ == "__main__":
    asyncio.run(main())

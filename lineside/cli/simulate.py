"""`lineside simulate`: the simulated factory's PLCs on real ports until stopped.

    lineside simulate                          # demo plant, Modbus :5020, OPC UA :4840
    lineside simulate --seed 7 --truth truth.csv --duration 600
    lineside simulate --config plant.yaml --speed 60   # one simulated hour per minute

Devices of the config are served on --host/--modbus-port/--opcua-port whatever their
configured host and port; point the agent at them with the same rewrite
(`lineside demo` does it for you).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None,
                   help="plant configuration (default: the demo plant, config/demo.yaml)")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same plant)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--modbus-port", type=int, default=5020, help="Modbus TCP port")
    p.add_argument("--opcua-port", type=int, default=4840, help="OPC UA port")
    p.add_argument("--modbus-rtu-port", type=int, default=None,
                   help="serve modbus-rtu-over-tcp devices here (RTU frames over TCP); "
                        "not served without it")
    p.add_argument("--truth", type=Path, default=None, metavar="FILE",
                   help="record the ground truth (CSV, one row per machine per second)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                   help="stop after this many wall-clock seconds")
    p.add_argument("--speed", type=float, default=1.0,
                   help="time acceleration (1: real time; simulated time then equals the "
                        "wall clock)")
    p.add_argument("--ccp-origin", type=float, default=None, metavar="EPOCH",
                   help="start of the CCP script (excursions, drop-outs; docs/simulator.md); "
                        "default: the simulator's start")
    p.add_argument("--profiles", type=Path, default=None,
                   help="optional YAML of behaviour overrides per machine id or kind:<kind>")


async def _serve(args: argparse.Namespace) -> int:
    from lineside.config.loader import load_config
    from lineside.runtime.clock import ScaledClock, from_env
    from lineside.simulator.profiles import load_overrides
    from lineside.simulator.server import SimulatedFactory, demo_config_path

    cfg = load_config(args.config or demo_config_path())
    # LINESIDE_CLOCK: on an agent's simulated time (runtime/clock.py), its speed and
    # epoch, refreshed as often in simulated seconds as at speed 1
    clock = from_env()
    scaled = clock if isinstance(clock, ScaledClock) else None
    speed = scaled.speed if scaled else args.speed
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    sim = SimulatedFactory(cfg, seed=args.seed, host=args.host, modbus_port=args.modbus_port,
                           opcua_port=args.opcua_port, truth_path=args.truth,
                           modbus_rtu_port=args.modbus_rtu_port,
                           profiles=load_overrides(args.profiles),
                           keep_truth=False, ccp_origin=args.ccp_origin, speed=speed,
                           epoch=scaled.epoch if scaled else None,
                           update_s=max(0.02, 0.1 / speed) if scaled else 0.1)
    async with sim:
        assert sim.factory is not None
        n = len(sim.factory.machines)
        opc = (f"opc.tcp://{args.host}:{args.opcua_port}/{sim.opcua.path}"
               if sim.opcua.signals else "no OPC UA devices")
        print(f"simulated factory: {n} machines, seed {args.seed}, speed {sim.speed:g}x\n"
              f"  Modbus TCP {args.host}:{args.modbus_port} units {sim.modbus.units}\n"
              f"  OPC UA     {opc}\n"
              + (f"  RTU/TCP    {args.host}:{args.modbus_rtu_port} units "
                 f"{sim.modbus_rtu.units}\n" if sim.modbus_rtu is not None else "")
              + (f"  truth ->   {args.truth}\n" if args.truth else "")
              + "Ctrl-C to stop.", flush=True)
        t0 = time.monotonic()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=args.duration)
        states: dict[str, int] = {}
        for st in sim.factory.states().values():
            states[st] = states.get(st, 0) + 1
        print(f"stopped after {time.monotonic() - t0:.0f} s; machine states now: "
              + ", ".join(f"{k} {v}" for k, v in sorted(states.items())), flush=True)
    return 0


def run(args: argparse.Namespace) -> int:
    # asyncua warns about anonymous, unencrypted endpoints: that is what a simulator is.
    # (a busy port is reported by us, without asyncua's traceback)
    logging.getLogger("asyncua").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_serve(args))
    except OSError as e:  # port in use, address not available
        print(f"lineside simulate: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0

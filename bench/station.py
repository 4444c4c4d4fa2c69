"""Benchmark: the operator station's cost to polling — 20 tablets refreshing the live view
every 2 s while the agent polls 10,000 signals at 1 s (issue 26).

    python bench/station.py                   # ~3 min: 60 s windows, without then with
    python bench/station.py --seconds 30      # shorter windows
    python bench/station.py --rounds 2        # medians over rounds (order alternated)

The load of bench/gateway.py: 10,000 holding registers that all change every second
(bench/modbus_ticker.c, libmodbus), `lineside run` with 20 devices x 500 uint16 signals
and the local sink. Two runs of the agent, each in its own process against a fresh
server: without `station:`, and with it while 20 tablets (aiohttp clients in this
process, each logged in with its own session) GET the live view's fragment (`/live`,
what htmx fetches) every 2 s, spread over the 2 s.

Figures of the agent's process: CPU % of one core (median of 5 s slices, and the whole
window), peak RSS; polling jitter from what it stored: the phase of each device's sample
timestamps against the 1 s grid (one per device per second), p50 and p99, jitter =
p99 - p50; the tablets' answers (count, errors, latency p50/p99). Goals (issue 26):
jitter + <= 10 ms and CPU + <= 1 point of a core with the station.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import gateway as gw  # noqa: E402  (bench/gateway.py: the server, the plant, /proc)

TABLETS, REFRESH_S = 20, 2.0
PASSWORD = "bench-tablet-pw"


def station_section(port: int) -> dict[str, Any]:
    return {"listen": f"127.0.0.1:{port}", "categories": [
        {"id": "mech", "name": "设备故障", "reasons": [
            {"id": "motor", "name": "电机过载", "loss": "breakdown"}]}]}


class StationRun(gw.Run):
    """bench/gateway.py's `local` contender, with the station when `port` is given."""

    def __init__(self, args: argparse.Namespace, ticker_bin: Path, port: int | None) -> None:
        super().__init__("local", args, ticker_bin)
        self.station_port = port

    def start(self) -> Any:
        orig = gw.lineside_config

        def with_station(work: Path, port: int, sinks: list[dict[str, Any]]) -> Path:
            path = orig(work, port, sinks)
            if self.station_port is not None:
                cfg = json.loads(path.read_text())
                cfg["station"] = station_section(self.station_port)
                path.write_text(json.dumps(cfg))
                from lineside.station.users import UserStore

                store = UserStore(Path(cfg["state_dir"]))
                for i in range(TABLETS):
                    store.add(f"tablet{i:02d}", "operator", PASSWORD)
            return path

        gw.lineside_config = with_station
        try:
            return super().start()
        finally:
            gw.lineside_config = orig


async def tablets(port: int, stop: threading.Event, out: dict[str, Any]) -> None:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    lat: list[float] = []
    errors = 0

    async def tablet(i: int) -> None:
        nonlocal errors
        # unsafe: cookies of an IP-address host (127.0.0.1), which aiohttp refuses by default
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            page = await (await s.get(base + "/login")).text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            r = await s.post(base + "/login", data={"csrf": csrf.group(1),
                                                    "user": f"tablet{i:02d}",
                                                    "password": PASSWORD})
            assert "tablet" in await r.text(), "login failed"
            await asyncio.sleep(i * REFRESH_S / TABLETS)
            while not stop.is_set():
                t = time.perf_counter()
                r = await s.get(base + "/live")
                body = await r.text()
                if r.status != 200 or 'id="live"' not in body:
                    errors += 1
                if out.get("measuring"):
                    lat.append(time.perf_counter() - t)
                await asyncio.sleep(max(0.0, REFRESH_S - (time.perf_counter() - t)))

    await asyncio.gather(*(tablet(i) for i in range(TABLETS)))
    out.update(requests=len(lat), errors=errors,
               lat_p50_ms=1000 * statistics.median(lat) if lat else None,
               lat_p99_ms=1000 * sorted(lat)[int(0.99 * (len(lat) - 1))] if lat else None)


def jitter(run: gw.Run, t0: float, t1: float) -> dict[str, float]:
    """Phase of each device's poll against the 1 s grid, from the stored samples."""
    cycles: dict[tuple[str, int], int] = {}
    for mid, _sig, ts, _v in gw.stored_points(run, t0, t1):
        cycles.setdefault((mid, ts // 10**9), ts % 10**9)
    phases = sorted(p / 1e6 for p in cycles.values())
    p50 = phases[len(phases) // 2]
    p99 = phases[int(0.99 * (len(phases) - 1))]
    return {"cycles": len(phases), "phase_p50_ms": p50, "phase_p99_ms": p99,
            "jitter_ms": p99 - p50}


def wait_steady(run: gw.Run, p: Any) -> None:
    """Until the agent reads every block every second (as bench/gateway.py waits)."""
    per_cycle = gw.DEVICES * gw.SIGNALS_PER_DEVICE // gw.BLOCK
    deadline, last = time.time() + 120, (0, time.time())
    while True:
        if p.poll() is not None:
            raise SystemExit("agent exited:\n" + (run.work / "contender.log").read_text()[-3000:])
        if time.time() > deadline:
            raise SystemExit("no steady polling within 120 s")
        time.sleep(1.0)
        n, now = run.ticker.served()[0], time.time()
        if last[0] and n - last[0] >= per_cycle * 0.9 * (now - last[1]):
            return
        last = (n, now)


def one(args: argparse.Namespace, ticker_bin: Path, with_station: bool) -> dict[str, Any]:
    port = gw.free_port() if with_station else None
    run = StationRun(args, ticker_bin, port)
    stop, out = threading.Event(), {}
    th = None
    try:
        p = run.start()
        wait_steady(run, p)
        if port is not None:
            th = threading.Thread(target=lambda: asyncio.run(tablets(port, stop, out)),
                                  daemon=True)
            th.start()
        time.sleep(args.warmup)
        time.sleep((0.75 - time.time() % 1.0) % 1.0)  # half-way between poll and tick
        t0, la0 = time.time(), gw.load1()
        c0 = cpu = gw.proc_cpu_s(p.pid)
        out["measuring"] = True
        slices: list[float] = []
        end, ts = t0 + args.seconds, t0
        while time.time() < end - 0.01:
            time.sleep(min(5.0, end - time.time()))
            now, c = time.time(), gw.proc_cpu_s(p.pid)
            slices.append(100 * (c - cpu) / (now - ts))
            ts, cpu = now, c
        t1, c1 = time.time(), gw.proc_cpu_s(p.pid)
        out["measuring"] = False
        hwm, la1 = gw.proc_hwm_mb(p.pid), gw.load1()
        stop.set()
        if th is not None:
            th.join(30)
        p.send_signal(gw.signal.SIGTERM)  # flush and exit
        p.wait(120)
        res: dict[str, Any] = {
            "station": with_station, "seconds": t1 - t0,
            "cpu_pct": statistics.median(slices), "cpu_window_pct": 100 * (c1 - c0) / (t1 - t0),
            "peak_rss_mb": hwm, "load": (la0, la1),
            **gw.check_stored(run, t0, t1), **jitter(run, t0, t1),
            **{f"tablets_{k}": v for k, v in out.items() if k != "measuring"}}
        return res
    finally:
        stop.set()
        run.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--profile", default=None, help=argparse.SUPPRESS)  # gateway.Run reads it
    ap.add_argument("--json", type=Path, help="write every measurement to this file")
    args = ap.parse_args()
    ticker = gw.build_ticker()
    results = []
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        for with_station in order:
            res = one(args, ticker, with_station)
            results.append(res)
            print(json.dumps(res), flush=True)
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def report(results: list[dict[str, Any]]) -> None:
    def med(station: bool, key: str) -> float:
        return statistics.median(r[key] for r in results if r["station"] == station)

    print(f"\nbench/station.py: {len(results) // 2} round(s), load "
          f"{min(r['load'][0] for r in results):.1f}-{max(r['load'][1] for r in results):.1f}")
    print(f"{'':28} {'without':>10} {'with':>10} {'with - without':>15} {'ratio':>7}")
    for key, label in (("cpu_pct", "CPU, % of one core"), ("cpu_window_pct", "CPU whole window, %"),
                       ("jitter_ms", "jitter p99-p50, ms"), ("phase_p99_ms", "poll phase p99, ms"),
                       ("peak_rss_mb", "peak RSS, MB")):
        a, b = med(False, key), med(True, key)
        print(f"{label:28} {a:10.1f} {b:10.1f} {b - a:+15.1f} {b / a if a else float('nan'):7.2f}")
    w = [r for r in results if r["station"]]
    print(f"tablets: {sum(r['tablets_requests'] for r in w)} refreshes measured, "
          f"{sum(r['tablets_errors'] for r in w)} errors, latency p50 "
          f"{statistics.median(r['tablets_lat_p50_ms'] for r in w):.0f} ms, p99 "
          f"{statistics.median(r['tablets_lat_p99_ms'] for r in w):.0f} ms; changes missing: "
          + ", ".join(f"{'with' if r['station'] else 'without'} {r['missing']}" for r in results))
    print("goals (issue 26): jitter + <= 10 ms, CPU + <= 1 point of a core")


if __name__ == "__main__":
    main()

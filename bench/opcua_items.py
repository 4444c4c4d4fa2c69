"""Benchmark: 10,000 OPC UA monitored items changing at 1 Hz, subscription vs polling.

    python bench/opcua_items.py [--items 10000] [--duration 30] [--server node|asyncua]

The server (node-opcua by default; asyncua with --server asyncua) runs in its own
process and sets all N variables to the tick number once a second, stamping the source
timestamp at the change. Each agent mode then runs in a fresh child process, so CPU and
RSS are its own:

- subscribe: one subscription, N monitored items (created in batches), publishing
  interval --publish-ms, sampling interval --sampling-ms;
- poll: one Read per cycle for all N nodes (split only by the server's MaxNodesPerRead),
  every --poll-s seconds.

Figures per mode: agent CPU share (CPU seconds / wall seconds, 100% = one core), peak
RSS, samples per second, change-to-sample latency (sample arrival - source timestamp)
median and p99, and the server's CPU share over the phase (when the server saturates,
latency measures the server, not the agent). The last lines give subscribe/poll ratios
measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


async def agent(mode: str, endpoint: str, items: int, duration: float, warmup: float,
                publish_ms: float, sampling_ms: float, poll_s: float) -> dict:
    from lineside.drivers.base import SignalRef
    from lineside.drivers.opcua.driver import OpcuaDriver
    from lineside.drivers.opcua.settings import OpcuaDevice, OpcuaSignal

    uri = "urn:lineside:test:plant"
    signals = [SignalRef(f"b.v{i}", OpcuaSignal(node=f"nsu={uri};s=Bulk.V{i:05d}"))
               for i in range(items)]
    dev = OpcuaDevice(
        id="bench", type="opcua", endpoint=endpoint, mode=mode,
        interval_s=publish_ms / 1000 if mode == "subscribe" else poll_s,
        sampling_interval_ms=sampling_ms, timeout_s=20, max_nodes_per_read=items,
        keepalive_s=5,
    )
    state = Path(tempfile.mkdtemp(prefix="lineside-bench-"))
    driver = OpcuaDriver(dev, signals, state)
    latencies: list[float] = []
    count = 0
    measuring = False

    def take(batch) -> None:  # type: ignore[no-untyped-def]
        nonlocal count
        if not measuring:
            return
        now = time.time()
        count += len(batch)
        for s in batch:
            if s.quality == 0:
                latencies.append(now - s.ts)

    loop = asyncio.get_running_loop()
    if mode == "subscribe":
        await driver.start(take)
        await asyncio.sleep(warmup)  # items created, initial values delivered
    else:
        for _ in range(2):
            await driver.poll()
    measuring = True
    cpu0, t0 = time.process_time(), loop.time()
    if mode == "subscribe":
        await asyncio.sleep(duration)
    else:
        next_t = loop.time()
        while loop.time() - t0 < duration:
            take(await driver.poll())
            next_t += poll_s
            await asyncio.sleep(max(0.0, next_t - loop.time()))
    cpu, wall = time.process_time() - cpu0, loop.time() - t0
    measuring = False
    reads = driver.stats.requests
    await driver.close()
    return {
        "mode": mode, "cpu_pct": 100 * cpu / wall, "rss_mb": rss_mb(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "samples_per_s": count / wall, "lat_median_ms": 1000 * pct(latencies, 0.5),
        "lat_p99_ms": 1000 * pct(latencies, 0.99), "read_requests": reads,
        "good": len(latencies), "up": driver.stats.errors.total() == 0,
    }


def start_server(kind: str, items: int, port: int, ctl: int, work: Path) -> subprocess.Popen:
    peer = ROOT / "tests" / "peers" / "opcua"
    if kind == "node":
        cmd = ["node", str(peer / "server.js")]
    else:
        cmd = [sys.executable, str(peer / "asyncua_server.py")]
    cmd += ["--port", str(port), "--ctl-port", str(ctl), "--bulk", str(items), "--rate", "1",
            "--pki", str(work / "pki")]
    log = (work / "server.log").open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=peer)
    from tests.fixtures.common import port_open

    deadline = time.monotonic() + 120
    while not port_open(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not start: {(work / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return proc


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--warmup", type=float, default=8.0)
    ap.add_argument("--server", choices=("node", "asyncua"), default="node")
    ap.add_argument("--publish-ms", type=float, default=100.0)
    # 0 = "as fast as possible": node-opcua then reports on change instead of running
    # one sampling timer per item, which at 10,000 items saturates the server
    ap.add_argument("--sampling-ms", type=float, default=0.0)
    ap.add_argument("--poll-s", type=float, default=1.0)
    ap.add_argument("--child", choices=("subscribe", "poll"), help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        r = asyncio.run(agent(a.child, a.endpoint, a.items, a.duration, a.warmup,
                              a.publish_ms, a.sampling_ms, a.poll_s))
        print(json.dumps(r))
        return

    from tests.fixtures.common import free_port

    work = Path(tempfile.mkdtemp(prefix="lineside-bench-srv-"))
    port, ctl = free_port(), free_port()
    print(f"server: {a.server} in its own process, {a.items} variables changing at 1 Hz; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    server = start_server(a.server, a.items, port, ctl, work)
    results = {}
    try:
        for mode in ("subscribe", "poll"):
            cmd = [sys.executable, __file__, "--child", mode, "--endpoint",
                   f"opc.tcp://127.0.0.1:{port}/lineside", "--items", str(a.items),
                   "--duration", str(a.duration), "--warmup", str(a.warmup),
                   "--publish-ms", str(a.publish_ms), "--sampling-ms", str(a.sampling_ms),
                   "--poll-s", str(a.poll_s)]
            srv0, t0 = proc_cpu_s(server.pid), time.monotonic()
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{mode} agent failed:\n{out.stderr[-3000:]}")
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            results[mode]["server_cpu_pct"] = (
                100 * (proc_cpu_s(server.pid) - srv0) / (time.monotonic() - t0))
    finally:
        server.kill()
        server.wait()
    print(f"{'mode':<10} {'CPU %':>7} {'RSS MB':>7} {'samples/s':>10} {'lat p50 ms':>11} "
          f"{'lat p99 ms':>11} {'Reads':>6} {'server CPU %':>13}")
    for mode, r in results.items():
        print(f"{mode:<10} {r['cpu_pct']:7.1f} {r['peak_rss_mb']:7.0f} {r['samples_per_s']:10.0f} "
              f"{r['lat_median_ms']:11.0f} {r['lat_p99_ms']:11.0f} {r['read_requests']:6d} "
              f"{r['server_cpu_pct']:13.1f}")
    s, p = results["subscribe"], results["poll"]
    print(f"subscribe/poll: CPU x{s['cpu_pct'] / p['cpu_pct']:.2f}, "
          f"RSS x{s['peak_rss_mb'] / p['peak_rss_mb']:.2f}, "
          f"latency p50 x{s['lat_median_ms'] / p['lat_median_ms']:.2f}")
    print(f"settings: publish {a.publish_ms:.0f} ms, sampling {a.sampling_ms:.0f} ms, "
          f"poll every {a.poll_s:.1f} s, {a.duration:.0f} s measured per mode")


if __name__ == "__main__":
    main()

"""Benchmark of lineside.sinks: durable enqueue, backlog replay, outage drain time.

    python bench/sinks_throughput.py [--points 1000000] [--replay 1000000] [--quick]

Prints, each with a baseline measured in the same run and the ratio:
1. enqueue rate (points/s, durable per fsync policy) of SinkSet.enqueue — Point objects
   to committed SQLite rows — against a raw SQLite insert of the already-serialized lines
   (one row per line, one transaction, WAL + synchronous=NORMAL);
2. replay rate of a backlog to InfluxDB 1.6 (/write) and VictoriaMetrics (/api/v2/write
   via influxdb-client) against a raw HTTP POST loop of the same gzip bodies;
3. drain time of a 1-hour outage of a 10,000-signal plant, from the measured replay rate
   and a backlog estimated from the schema (assumptions printed).
Servers are started like the test fixtures (tests/fixtures/influxdb.py), on free ports.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lineside.points import Point
from lineside.sinks.lineproto import reference_line, to_lines
from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink, LocalSink, QueueConfig
from lineside.sinks.sinkset import SinkSet
from tests.fixtures.influxdb import InfluxDB1, VictoriaMetrics

SIGNALS = 10_000
SIGNALS_PER_MACHINE = 20


def signal_points(n: int, start: int = 0, base_ns: int | None = None,
                  measurement: str = "signal") -> list[Point]:
    """`signal` points of a 10,000-signal plant, as the engine emits them (one field)."""
    base = base_ns if base_ns is not None else (
        (time.time_ns() // 1_000_000 - 7_200_000) * 1_000_000)
    out = []
    for i in range(start, start + n):
        sig = i % SIGNALS
        mach = sig // SIGNALS_PER_MACHINE
        line = mach // 50
        stage = ("cleaning", "thawing", "cutting", "peeling", "dehairing", "mixing", "frying",
                 "heating", "packaging")[mach % 9]
        tags = {"enterprise": "e1", "site": "s1", "line": f"L{line}", "stage": stage,
                "machine": f"{stage}-{mach}", "level": "machine",
                "signal": f"{stage}-{mach}.s{sig % SIGNALS_PER_MACHINE}"}
        # one second per plant scan, unique ms timestamps per series
        ts = base + (i // SIGNALS) * 1_000_000_000 + (sig % 1000) * 1_000_000
        out.append(Point(measurement, tags, {"value": 20.0 + (i % 977) / 10}, ts))
    return out


def rate(n: int, dt: float) -> float:
    return n / dt if dt > 0 else float("inf")


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of fn()."""
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def bench_enqueue(tmp: Path, n: int, per_call: int, rounds: int) -> None:
    print(f"\n== 1. durable enqueue: {n:,} signal points, {per_call:,} per enqueue call,"
          f" median of {rounds} rounds (wall clock; CPU-time rate in brackets)")
    pts = signal_points(n)
    lines = to_lines(pts)
    avg = sum(map(len, lines)) / len(lines)
    print(f"   line protocol: {avg:.0f} bytes/point on average")
    res: dict[str, list[tuple[float, float]]] = {}

    def baseline(path: Path) -> None:
        # the obvious design: one row per line, one transaction per call
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE q(id INTEGER PRIMARY KEY, line TEXT)")
        for k in range(0, n, per_call):
            db.execute("BEGIN")
            db.executemany("INSERT INTO q(line) VALUES(?)",
                           ((x,) for x in lines[k:k + per_call]))
            db.execute("COMMIT")
        db.close()

    def ours(d: Path, fsync: str) -> None:
        sinks = SinkSet([LocalSink(type="local", id="local",
                                   queue=QueueConfig(fsync=fsync, max_bytes=1 << 33))], d)
        # as under run(): the per-second checkpoint (fsync) runs beside the enqueues
        stop = threading.Event()
        q = sinks.sinks["local"].queue

        def checkpointer() -> None:
            while not stop.wait(1.0):
                q.checkpoint()

        th = threading.Thread(target=checkpointer)
        th.start()
        try:
            for k in range(0, n, per_call):
                sinks.enqueue(pts[k:k + per_call])
        finally:
            stop.set()
            th.join()
        asyncio.run(sinks.close())

    def put_lines(d: Path) -> None:
        q = SinkSet([LocalSink(type="local", id="local")], d).sinks["local"].queue
        for k in range(0, n, per_call):
            q.put(lines[k:k + per_call])
        q.close()

    for r in range(rounds):
        res.setdefault("base", []).append(timed(lambda r=r: baseline(tmp / f"base{r}.db")))
        for fsync in ("batch", "always", "off"):
            res.setdefault(fsync, []).append(
                timed(lambda f=fsync, r=r: ours(tmp / f"enq-{f}-{r}", f)))
        res.setdefault("lines", []).append(timed(lambda r=r: put_lines(tmp / f"lines-{r}")))

    def med(key: str) -> tuple[float, float]:
        return (rate(n, statistics.median(w for w, _ in res[key])),
                rate(n, statistics.median(c for _, c in res[key])))

    base, base_c = med("base")
    print(f"   baseline raw SQLite insert, pre-serialized lines, row per point:"
          f" {base:10,.0f} points/s [{base_c:10,.0f}]")
    w, _ = timed(lambda: [reference_line(p) for p in pts[:20_000]])
    print(f"   (reference: reference_line() alone, influxdb-client:"
          f"             {rate(20_000, w):10,.0f} points/s)")
    for fsync in ("batch", "always", "off"):
        r, rc = med(fsync)
        goal = "meets" if r >= 200_000 else "MISSES"
        print(f"   SinkSet.enqueue fsync={fsync:<6} (Points -> committed):"
              f"           {r:10,.0f} points/s [{rc:10,.0f}]  ratio {r / base:4.2f}x"
              f"  [{goal} goal 200,000]")
    r, rc = med("lines")
    print(f"   DiskQueue.put of pre-serialized lines (fsync=batch):"
          f"            {r:10,.0f} points/s [{rc:10,.0f}]  ratio {r / base:4.2f}x")


async def _replay(sinks: SinkSet) -> float:
    t = time.perf_counter()
    ok = await sinks.flush(3600)
    dt = time.perf_counter() - t
    assert ok, sinks.stats()
    return dt


def bench_replay(tmp: Path, n: int, batch: int, rounds: int) -> dict[str, float]:
    print(f"\n== 2. replay of a {n:,}-point backlog (batch {batch:,}, gzip),"
          f" median of {rounds} rounds")
    results: dict[str, float] = {}
    http = urllib3.PoolManager(retries=False, timeout=60, maxsize=4)

    def post(b: bytes, url: str) -> None:
        r = http.request("POST", url, body=gzip.compress(b, 1),
                         headers={"Content-Encoding": "gzip"})
        assert r.status == 204, (r.status, r.data[:200])

    for name in ("influxdb1", "victoria"):
        srv = InfluxDB1(tmp / name) if name == "influxdb1" else VictoriaMetrics(tmp / name)
        srv.start()
        runs: dict[str, list[float]] = {"seq": [], "conc": [], "ours": []}
        try:
            if isinstance(srv, InfluxDB1):
                srv.create_db("bench")
                url = f"{srv.url}/write?db=bench&precision=ns"
            else:
                url = f"{srv.url}/api/v2/write?org=o&bucket=bench&precision=ns"
            for r in range(rounds):
                # Every run writes a fresh measurement, so no run overwrites another's
                # series and every run pays the same series-creation cost.
                def bodies(tag: str, r: int = r) -> list[bytes]:
                    ls = to_lines(signal_points(n, measurement=f"sig_{tag}{r}"))
                    return [("\n".join(ls[k:k + batch])).encode() for k in range(0, n, batch)]

                order = ["seq", "conc", "ours"]
                for variant in order[r % 3:] + order[:r % 3]:  # rotate: no fixed position
                    if variant == "seq":
                        bs = bodies("s")
                        w, _ = timed(lambda bs=bs, u=url: [post(b, u) for b in bs])
                    elif variant == "conc":
                        bs = bodies("c")
                        with ThreadPoolExecutor(2) as ex:
                            w, _ = timed(lambda bs=bs, ex=ex, u=url: list(
                                ex.map(post, bs, [u] * len(bs))))
                    else:
                        if isinstance(srv, InfluxDB1):
                            cfg = InfluxV1Sink(type="influxdb-v1", id="b", url=srv.url,
                                               database="bench", batch_size=batch,
                                               queue=QueueConfig(max_bytes=1 << 33))
                        else:
                            cfg = InfluxV2Sink(type="influxdb-v2", id="b", url=srv.url,
                                               bucket="bench", org="o", batch_size=batch,
                                               queue=QueueConfig(max_bytes=1 << 33))
                        sinks = SinkSet([cfg], tmp / f"{name}-state-{r}")
                        sinks.enqueue(signal_points(n, measurement=f"sig_o{r}"))  # backlog
                        w = asyncio.run(_replay(sinks))
                        asyncio.run(sinks.close())
                    runs[variant].append(rate(n, w))
            seq, conc, ours = (statistics.median(runs[k]) for k in ("seq", "conc", "ours"))
            results[name] = ours
            goal = "meets" if ours >= 100_000 else "MISSES"
            print(f"   {name:<10} baselines raw HTTP POST of the same gzip bodies: sequential"
                  f" {seq:10,.0f} points/s, 2 concurrent {conc:10,.0f} points/s")
            print(f"   {name:<10} lineside replay (max_in_flight=2):"
                  f"                     {ours:10,.0f} points/s  ratio {ours / seq:4.2f}x"
                  f" sequential, {ours / conc:4.2f}x concurrent  [{goal} goal 100,000]")
            print(f"   {name:<10} runs: " + "; ".join(
                f"{k} " + ", ".join(f"{v:,.0f}" for v in runs[k]) for k in runs))
        finally:
            srv.stop()
    return results


def bench_drain(replay: dict[str, float], avg_bytes: float) -> None:
    print("\n== 3. drain time of a 1-hour outage, 10,000-signal plant")
    machines = SIGNALS // SIGNALS_PER_MACHINE
    stages, lines_ = machines // 10, machines // 50
    oee_per_s = (machines + stages + lines_ + 1) / 60  # 60 s buckets
    state_per_s = machines / 60  # assume one state change per machine per minute
    print(f"   schema: {machines} machines ({SIGNALS_PER_MACHINE} signals each), {stages} "
          f"stages, {lines_} lines; oee {oee_per_s:.1f} points/s, machine_state "
          f"{state_per_s:.1f} points/s")
    for label, share in (("worst case: every signal changes every 1 s poll", 1.0),
                         ("typical: 20% of signals leave the deadband per poll", 0.2)):
        prod = SIGNALS * share + oee_per_s + state_per_s
        backlog = prod * 3600
        print(f"   {label}: {prod:,.0f} points/s -> backlog {backlog / 1e6:.1f} M points, "
              f"~{backlog * (avg_bytes + 9) / 2**30:.2f} GiB queued")
        for name, r in replay.items():
            net = r - prod  # production continues while the backlog drains
            if net <= 0:
                print(f"      {name:<10}: replay {r:,.0f}/s does not exceed production: never")
                continue
            s = backlog / net
            goal = "meets" if s <= 300 else "MISSES"
            print(f"      {name:<10}: {s / 60:5.1f} min ({backlog:,.0f} / ({r:,.0f} - {prod:,.0f}))"
                  f"  [{goal} goal 5 min]")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000, help="points for the enqueue bench")
    ap.add_argument("--per-call", type=int, default=10_000, help="points per enqueue call")
    ap.add_argument("--replay", type=int, default=500_000, help="backlog size for replay")
    ap.add_argument("--batch", type=int, default=5000, help="sink batch_size for replay")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per measurement (median)")
    ap.add_argument("--only", choices=["enqueue", "replay"], help="run one part only")
    ap.add_argument("--quick", action="store_true", help="100k points, 1 round (smoke run)")
    a = ap.parse_args()
    if a.quick:
        a.points = a.replay = 100_000
        a.rounds = 1
    print(f"lineside sinks benchmark, {os.cpu_count()} CPUs, Python {sys.version.split()[0]},"
          f" SQLite {sqlite3.sqlite_version}")
    with tempfile.TemporaryDirectory(prefix="lineside-bench-") as d:
        tmp = Path(d)
        if a.only != "replay":
            bench_enqueue(tmp, a.points, a.per_call, a.rounds)
        if a.only != "enqueue":
            lines = to_lines(signal_points(10_000))
            avg = sum(map(len, lines)) / len(lines)
            replay = bench_replay(tmp, a.replay, a.batch, a.rounds)
            bench_drain(replay, avg)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: a gateway's footprint, side by side — 10,000 holding registers that all
change every second, polled at 1 Hz (80 reads of 125) from one libmodbus server.

    python bench/gateway.py                    # ~5 min: every contender once, 60 s each
    python bench/gateway.py --seconds 30       # shorter windows
    python bench/gateway.py --rounds 3         # medians over rounds (order rotated)
    python bench/gateway.py --only floor,local # a subset
    python bench/gateway.py --profile DIR      # py-spy the lineside contenders

Contenders, each in its own process, one after the other, each against a fresh server
(bench/modbus_ticker.c, libmodbus, built here with cc):
- floor: a bare pymodbus asyncio client: per device (20 TCP connections, unit ids 1-20,
  as lineside's devices) 4 reads of 125 registers on the 1 s grid, each block
  struct-decoded; nothing stored;
- local: `lineside run`, 20 machines x 500 uint16 signals (one device each), the local
  sink (the durable queue on disk);
- influx: the same with an InfluxDB 1.6 sink (Debian's influxd, its own process);
- nodered: Node-RED 4.1.15 + node-red-contrib-modbus 5.23.3 (installed here from npm
  into bench/.nodered/, git-ignored): 20 client nodes, 80 Modbus-Read nodes of 125
  registers at 1 s, outputs unconnected (reads only, nothing decoded or written).

Figures per contender (its process only, /proc): CPU % of one core (median of the 5 s
slices of the window, and over the whole window), peak RSS (VmHWM, start-up included),
reads per second served by the server; the load average beside each. Ratios against the
floor measured in the same run. For lineside, every change is checked in what it stored:
register i holds (i + t) mod 65536 at tick t, so each stored `signal` point names the
tick it saw; every signal must have one point for every tick of the window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH = ROOT / "bench"
BUILD = BENCH / ".build"
NODERED = BENCH / ".nodered"
NODERED_PINS = {"node-red": "4.1.15", "node-red-contrib-modbus": "5.23.3"}
DEVICES, SIGNALS_PER_DEVICE, BLOCK = 20, 500, 125
TICK = os.sysconf("SC_CLK_TCK")
CONTENDERS = ("floor", "local", "influx", "nodered")


# --------------------------------------------------------------------------- /proc
def proc_cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def proc_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load1() -> float:
    return os.getloadavg()[0]


# --------------------------------------------------------------------------- set-up
def build_ticker() -> Path:
    out = BUILD / "modbus-ticker"
    src = BENCH / "modbus_ticker.c"
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    BUILD.mkdir(exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libmodbus"],
                           capture_output=True, text=True, check=False).stdout.split()
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(out), str(src),
                    *(flags or ["-I/usr/include/modbus", "-lmodbus"]), "-lm"], check=True)
    return out


def install_nodered() -> Path:
    """Node-RED and node-red-contrib-modbus at the pinned versions, from npm."""
    red = NODERED / "node_modules" / "node-red" / "red.js"

    def version(pkg: str) -> str | None:
        p = NODERED / "node_modules" / pkg / "package.json"
        return json.loads(p.read_text())["version"] if p.exists() else None

    if all(version(p) == v for p, v in NODERED_PINS.items()):
        return red
    NODERED.mkdir(exist_ok=True)
    (NODERED / "package.json").write_text(json.dumps(
        {"name": "lineside-bench-nodered", "private": True, "dependencies": NODERED_PINS},
        indent=2))
    print("installing Node-RED from npm into bench/.nodered ...", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=NODERED, check=True, timeout=900)
    return red


def free_port() -> int:
    from tests.fixtures.common import free_port as fp

    return fp()


# --------------------------------------------------------------------------- the server
class Ticker:
    """The libmodbus server; `served()` = (requests, registers) answered so far."""

    def __init__(self, binary: Path, nregs: int) -> None:
        self.port = free_port()
        self.p = subprocess.Popen([str(binary), str(self.port), str(nregs)],
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout is not None
        if self.p.stdout.readline().strip() != "ready":
            raise SystemExit("modbus-ticker did not start")
        self._lines: list[str] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            with self._cv:
                self._lines.append(line)
                self._cv.notify_all()

    def served(self) -> tuple[int, int]:
        with self._cv:
            n = len(self._lines)
            self.p.send_signal(signal.SIGUSR1)
            if not self._cv.wait_for(lambda: len(self._lines) > n, timeout=5):
                raise SystemExit("modbus-ticker does not answer")
            f = self._lines[-1].split()
        return int(f[1]), int(f[3])

    def close(self) -> None:
        self.p.kill()
        self.p.wait()


# --------------------------------------------------------------------------- contenders
async def floor_child(port: int) -> None:
    """The floor: bare pymodbus reads of the same blocks, struct-decoded, on the grid."""
    from pymodbus.client import AsyncModbusTcpClient

    u16 = AsyncModbusTcpClient.DATATYPE.UINT16
    clients = [AsyncModbusTcpClient("127.0.0.1", port=port) for _ in range(DEVICES)]
    for c in clients:
        await c.connect()
    decoded = 0

    async def device(d: int, c: Any) -> None:
        nonlocal decoded
        base = d * SIGNALS_PER_DEVICE
        while True:
            await asyncio.sleep(1.0 - time.time() % 1.0)
            for k in range(0, SIGNALS_PER_DEVICE, BLOCK):
                rr = await c.read_holding_registers(base + k, count=BLOCK, device_id=d + 1)
                # pymodbus' own struct-based conversion of the whole block
                decoded += len(c.convert_from_registers(rr.registers, u16))

    await asyncio.gather(*(device(d, c) for d, c in enumerate(clients)))


def lineside_config(work: Path, port: int, sinks: list[dict[str, Any]]) -> Path:
    devices, machines = [], []
    for d in range(DEVICES):
        dev = f"plc{d:02d}"
        devices.append({"id": dev, "type": "modbus-tcp", "host": "127.0.0.1", "port": port,
                        "unit_id": d + 1, "addressing": "zero", "interval_s": 1})
        base = d * SIGNALS_PER_DEVICE
        machines.append({"id": f"m{d:02d}", "automation": "automatic", "ideal_rate": 60,
                         "source": dev,
                         "signals": {
                             # the state from the top bit of the first register (steady
                             # for hours), read by the same request as r000
                             "running": {"address": base, "type": "bool", "bit": 15},
                             **{f"r{k:03d}": {"address": base + k, "type": "uint16"}
                                for k in range(SIGNALS_PER_DEVICE)}}})
    cfg = {
        "site": {"enterprise_id": "bench-001", "enterprise_name": "Bench Foods",
                 "site_id": "bench", "region": "510116", "timezone": "UTC"},
        "state_dir": str(work / "state"),
        "calendar": {"shifts": [{"name": "day", "start": "00:00", "end": "23:59"}]},
        "devices": devices,
        "lines": [{"id": "L1", "stages": [{"id": "S1", "kind": "packaging",
                                           "machines": machines}]}],
        "sinks": sinks,
        "http": {"listen": f"127.0.0.1:{free_port()}"},
        "logging": {"level": "warning"},
    }
    path = work / "gateway.yaml"  # JSON is YAML
    path.write_text(json.dumps(cfg))
    return path


def nodered_files(work: Path, port: int) -> tuple[Path, Path]:
    user = work / "nodered"
    user.mkdir()
    flows: list[dict[str, Any]] = [{"id": "tab1", "type": "tab", "label": "bench"}]
    for d in range(DEVICES):
        cid = f"client{d:02d}"
        # (a name equal to a node id would read as a reference to it: "circular")
        flows.append({"id": cid, "type": "modbus-client", "name": f"plc{d:02d}",
                      "clienttype": "tcp",
                      "bufferCommands": True, "stateLogEnabled": False,
                      "queueLogEnabled": False, "failureLogEnabled": True,
                      "tcpHost": "127.0.0.1", "tcpPort": str(port), "tcpType": "DEFAULT",
                      "unit_id": str(d + 1), "commandDelay": "1", "clientTimeout": "1000",
                      "reconnectOnTimeout": True, "reconnectTimeout": "2000",
                      "parallelUnitIdsAllowed": True})
        for k in range(0, SIGNALS_PER_DEVICE, BLOCK):
            flows.append({"id": f"read{d:02d}{k:03d}", "type": "modbus-read", "z": "tab1",
                          "name": "", "topic": "", "showStatusActivities": False,
                          "logIOActivities": False, "showErrors": False,
                          "unitid": str(d + 1), "dataType": "HoldingRegister",
                          "adr": str(d * SIGNALS_PER_DEVICE + k), "quantity": str(BLOCK),
                          "rate": "1", "rateUnit": "s", "delayOnStart": False,
                          "startDelayTime": "", "server": cid, "useIOFile": False,
                          "ioFile": "", "useIOForPayload": False, "emptyMsgOnFail": False,
                          "x": 100, "y": 40, "wires": [[], []]})
    (user / "flows.json").write_text(json.dumps(flows))
    settings = user / "settings.js"
    settings.write_text(f"module.exports = {{uiHost: '127.0.0.1', uiPort: {free_port()}, "
                        "flowFile: 'flows.json', credentialSecret: false, "
                        "logging: {console: {level: 'warn'}}};\n")
    return user, settings


class Run:
    """One contender against a fresh server; stops everything it started."""

    def __init__(self, name: str, args: argparse.Namespace, ticker_bin: Path) -> None:
        self.name, self.args = name, args
        self.work = Path(tempfile.mkdtemp(prefix=f"lineside-gw-{name}-"))
        self.ticker = Ticker(ticker_bin, DEVICES * SIGNALS_PER_DEVICE)
        self.influx: Any = None
        self.proc: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        port, env = self.ticker.port, {**os.environ, "PYTHONPATH": str(ROOT)}
        log = (self.work / "contender.log").open("wb")
        if self.name == "floor":
            cmd = [sys.executable, __file__, "--child-floor", str(port)]
        elif self.name in ("local", "influx"):
            sinks: list[dict[str, Any]] = []
            if self.name == "influx":
                from tests.fixtures.influxdb import InfluxDB1

                self.influx = InfluxDB1(self.work / "influxdb")
                self.influx.start()
                self.influx.create_db("lineside")
                sinks = [{"id": "influx", "type": "influxdb-v1", "url": self.influx.url,
                          "database": "lineside", "flush_interval_s": 1}]
            cfg = lineside_config(self.work, port, sinks)
            cmd = [sys.executable, "-m", "lineside.cli", "run", str(cfg),
                   "--flush-timeout", "60"]
        else:
            user, settings = nodered_files(self.work, port)
            cmd = ["node", str(install_nodered()), "--userDir", str(user), "--settings",
                   str(settings)]
        self.proc = subprocess.Popen(cmd, cwd=self.work, env=env, stdout=log,
                                     stderr=subprocess.STDOUT)
        return self.proc

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.ticker.close()
        if self.influx is not None:
            self.influx.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def measure(run: Run) -> dict[str, Any]:
    args = run.args
    p = run.start()
    reads_per_cycle = DEVICES * SIGNALS_PER_DEVICE // BLOCK
    # warm-up: until the contender reads every block every second, then args.warmup
    deadline = time.time() + 120
    last = (0, time.time())
    while True:
        if p.poll() is not None:
            raise SystemExit(f"{run.name} exited:\n"
                             + (run.work / "contender.log").read_text()[-3000:])
        if time.time() > deadline:
            raise SystemExit(f"{run.name}: no steady polling within 120 s")
        time.sleep(1.0)
        n, now = run.ticker.served()[0], time.time()
        if n - last[0] >= reads_per_cycle * 0.9 * (now - last[1]) and last[0]:
            break
        last = (n, now)
    time.sleep(args.warmup)
    # the window starts and ends half-way between grid seconds (polls at x.0, ticks at x.5)
    time.sleep((0.75 - time.time() % 1.0) % 1.0)
    t0 = time.time()
    la0 = load1()
    req0 = run.ticker.served()[0]
    c0 = cpu = proc_cpu_s(p.pid)
    spy = None
    if args.profile and run.name in ("local", "influx"):
        args.profile.mkdir(parents=True, exist_ok=True)
        spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        spy = subprocess.Popen([spy_bin, "record", "--nonblocking", "-p", str(p.pid),
                                "-r", "200", "-d", str(int(args.seconds)), "-f", "raw", "-o",
                                str(args.profile / f"{run.name}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    slices: list[float] = []
    end = t0 + args.seconds
    ts = t0
    while time.time() < end - 0.01:
        time.sleep(min(5.0, end - time.time()))
        now, c = time.time(), proc_cpu_s(p.pid)
        slices.append(100 * (c - cpu) / (now - ts))
        ts, cpu = now, c
    t1 = time.time()
    c1 = proc_cpu_s(p.pid)
    req1 = run.ticker.served()[0]
    hwm = proc_hwm_mb(p.pid)
    la1 = load1()
    if spy is not None:
        spy.wait(60)
    res: dict[str, Any] = {
        "contender": run.name, "seconds": t1 - t0,
        "cpu_pct": statistics.median(slices), "cpu_window_pct": 100 * (c1 - c0) / (t1 - t0),
        "peak_rss_mb": hwm, "reads_per_s": (req1 - req0) / (t1 - t0),
        "load": (la0, la1),
    }
    if run.name in ("local", "influx"):
        p.send_signal(signal.SIGTERM)  # flush and exit
        p.wait(120)
        res["check"] = check_stored(run, t0, t1)
    return res


# --------------------------------------------------------------------------- every change
def expected_ticks(t0: float, t1: float) -> range:
    """Ticks seen by the polls of the grid seconds k in (t0, t1): k - 1 (ticks at k - 0.5)."""
    return range(int(t0), int(t1))


def tick_of(value: float, reg: int, near: int) -> int:
    """The tick a value of register `reg` was read at, the one closest to `near`."""
    delta = (int(value) - reg - near) % 65536
    return near + (delta - 65536 if delta >= 32768 else delta)


def stored_points(run: Run, t0: float, t1: float) -> list[tuple[str, str, int, float]]:
    """(machine, signal, ts_ns, value) of every `signal` point with ts in [t0, t1)."""
    lo, hi = int(t0 * 1e9), int(t1 * 1e9)
    out: list[tuple[str, str, int, float]] = []
    if run.influx is not None:
        for d in range(DEVICES):
            q = (f"SELECT value FROM signal WHERE machine='m{d:02d}' AND time >= {lo} AND "
                 f"time < {hi} GROUP BY \"signal\"")
            enc = urllib.parse.urlencode({"q": q, "db": "lineside", "epoch": "ns"})
            body = json.loads(urllib.request.urlopen(f"{run.influx.url}/query?{enc}",
                                                     timeout=60).read())
            for s in body["results"][0].get("series", []):
                out += [(f"m{d:02d}", s["tags"]["signal"], int(t), v) for t, v in s["values"]]
        return out
    from lineside.sinks.lineproto import split_unescaped
    from lineside.sinks.queue import DiskQueue

    q = DiskQueue(run.work / "state" / "queue-local.db")
    try:
        for chunk in q.iter_chunks():
            for line in chunk.decode().split("\n"):
                if not line.startswith("signal,"):
                    continue
                series, fields, ts = split_unescaped(line, " ")
                t = int(ts)
                if not lo <= t < hi:
                    continue
                tags = dict(kv.split("=", 1) for kv in series.split(",")[1:])
                out.append((tags["machine"], tags["signal"], t,
                            float(fields.partition("=")[2])))
    finally:
        q.close()
    return out


def check_stored(run: Run, t0: float, t1: float) -> dict[str, Any]:
    want = expected_ticks(t0, t1)
    seen: dict[tuple[str, str], list[int]] = {}
    for mid, sig, _ts, v in stored_points(run, t0, t1):
        reg = int(mid[1:]) * SIGNALS_PER_DEVICE + int(sig[1:])
        seen.setdefault((mid, sig), []).append(tick_of(v, reg, want.start))
    expected = DEVICES * SIGNALS_PER_DEVICE * len(want)
    missing = dup = 0
    for d in range(DEVICES):
        for k in range(SIGNALS_PER_DEVICE):
            ticks = seen.get((f"m{d:02d}", f"r{k:03d}"), [])
            got = set(ticks)
            missing += sum(1 for t in want if t not in got)
            dup += len(ticks) - len(got)
    return {"expected": expected, "missing": missing, "duplicates": dup,
            "stored": expected - missing}


# --------------------------------------------------------------------------- report
def report(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    by: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        by.setdefault(r["contender"], []).append(r)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in by[name])

    floor_cpu = med("floor", "cpu_pct") if "floor" in by else None
    floor_rss = med("floor", "peak_rss_mb") if "floor" in by else None
    print(f"\ngateway bench: {DEVICES * SIGNALS_PER_DEVICE} holding registers changing every "
          f"second, {DEVICES} devices x {SIGNALS_PER_DEVICE // BLOCK} reads of {BLOCK}, 1 Hz; "
          f"{args.seconds:g} s windows, {args.rounds} round(s), {os.cpu_count()} CPUs")
    print(f"{'contender':<10} {'CPU %':>7} {'(window)':>9} {'x floor':>8} {'peak RSS':>9} "
          f"{'x floor':>8} {'reads/s':>8} {'load 1m':>12}  goal")
    goals = {"local": (3.0, 80.0), "influx": (4.0, None)}
    for name in CONTENDERS:
        if name not in by:
            continue
        cpu, rss = med(name, "cpu_pct"), med(name, "peak_rss_mb")
        xc = f"x{cpu / floor_cpu:.1f}" if floor_cpu else ""
        xr = f"x{rss / floor_rss:.1f}" if floor_rss else ""
        loads = ", ".join(f"{r['load'][0]:.1f}-{r['load'][1]:.1f}" for r in by[name])
        goal = ""
        if name in goals and floor_cpu:
            gx, gm = goals[name]
            ok = cpu / floor_cpu <= gx and (gm is None or rss <= gm)
            goal = f"<= x{gx:g} CPU" + (f", <= {gm:g} MB" if gm else "") + \
                (" ok" if ok else " MISSED")
        print(f"{name:<10} {cpu:>7.2f} {med(name, 'cpu_window_pct'):>9.2f} {xc:>8} "
              f"{rss:>7.0f} MB {xr:>8} {med(name, 'reads_per_s'):>8.1f} {loads:>12}  {goal}")
    for name in ("local", "influx"):
        for r in by.get(name, []):
            c = r["check"]
            print(f"  {name}: stored {c['stored']:,} of {c['expected']:,} changes "
                  f"({c['missing']} missing, {c['duplicates']} duplicated)"
                  + ("" if c["missing"] == 0 else "  <-- CHANGES LOST"))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window")
    ap.add_argument("--warmup", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", default=",".join(CONTENDERS))
    ap.add_argument("--profile", type=Path, metavar="DIR",
                    help="py-spy the lineside contenders (raw collapsed stacks in DIR)")
    ap.add_argument("--json", type=Path, help="write every measurement to this file")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--child-floor", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_floor:
        asyncio.run(floor_child(args.child_floor))
        return
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - set(CONTENDERS)
    if unknown:
        raise SystemExit(f"unknown contender(s) {sorted(unknown)}; known: {CONTENDERS}")
    ticker = build_ticker()
    if "nodered" in names:
        install_nodered()
    results = []
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            run = Run(name, args, ticker)
            try:
                res = measure(run)
            finally:
                run.close()
            print(f"  round {r + 1} {name}: CPU {res['cpu_pct']:.2f}% (window "
                  f"{res['cpu_window_pct']:.2f}%), peak RSS {res['peak_rss_mb']:.0f} MB, "
                  f"{res['reads_per_s']:.1f} reads/s, load {res['load'][0]:.1f}", flush=True)
            results.append(res)
    report(results, args)


if __name__ == "__main__":
    main()

"""Benchmark: what a plant's configuration costs in memory, loaded as the agent loads it.

    python bench/config_memory.py                 # the plant of bench/plant.py: 10,000 signals
    python bench/config_memory.py --plcs 40       # 20,000 signals

The configuration is bench/plant.py's (bench/_plant_config.py: 20 PLCs, 500 machines, 20
signals each), written as a file and read by `load_config` in a fresh process for each
figure, after the imports `lineside run` needs and the load of a two-PLC plant (what the
load imports on first use), so that only the configuration is counted:
- RSS after the load (VmRSS, after a collection) and its peak (VmHWM) minus the RSS
  before it;
- the Python heap the loaded configuration keeps, and the peak while loading
  (tracemalloc, in a separate process: tracing itself costs memory);
- per signal: kept heap / signals.
Baseline in the same run: `json.loads` of the same file (the data as plain dicts, lists
and strings, nothing validated) measured the same way; the ratio is what the validated
models cost against the bare data.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

CHILD = r"""
import gc, json, sys, tracemalloc
from pathlib import Path
import lineside.cli.run  # noqa: F401  (what `lineside run` imports before the load)
from lineside.config.loader import load_config

def status():
    d = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(d["VmRSS"].split()[0]) / 1024, int(d["VmHWM"].split()[0]) / 1024

path, how, trace = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
load_config(sys.argv[4])  # a two-PLC plant first: what the load imports on first use
gc.collect()
rss0, _ = status()
if trace:
    tracemalloc.start()
kept = load_config(path) if how == "lineside" else json.loads(path.read_text())
gc.collect()
rss1, hwm = status()
heap, peak = tracemalloc.get_traced_memory() if trace else (0, 0)
print(json.dumps({"rss": rss1 - rss0, "hwm": hwm - rss0, "heap": heap, "peak": peak}))
"""


def measure(path: Path, small: Path, how: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for trace in ("0", "1"):
        r = subprocess.run([sys.executable, "-c", CHILD, str(path), how, trace, str(small)],
                           cwd=ROOT,
                           capture_output=True, text=True, check=True)
        got = json.loads(r.stdout)
        if trace == "1":
            out["heap"], out["peak"] = got["heap"] / 2**20, got["peak"] / 2**20
        else:
            out["rss"], out["hwm"] = got["rss"], got["hwm"]
    return out


def main() -> int:
    from _plant_config import SIGNALS_PER_MACHINE, plant_config

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plcs", type=int, default=20, help="PLCs (25 machines each)")
    a = ap.parse_args()
    modbus = a.plcs * 3 // 4
    with tempfile.TemporaryDirectory(prefix="lineside-cfgmem-") as tmp:
        cfg = plant_config(Path(tmp) / "state", modbus_plcs=modbus, opcua_plcs=a.plcs - modbus)
        path = Path(tmp) / "plant.yaml"  # JSON is YAML
        path.write_text(cfg.model_dump_json(exclude_none=True))
        small = Path(tmp) / "small.yaml"
        small.write_text(plant_config(Path(tmp) / "state", modbus_plcs=1, opcua_plcs=1,
                                      machines_per_plc=1).model_dump_json(exclude_none=True))
        signals = sum(len(m.signals) for li in cfg.lines for st in li.stages
                      for m in st.machines)
        assert signals == a.plcs * 25 * SIGNALS_PER_MACHINE
        base = measure(path, small, "json")
        ours = measure(path, small, "lineside")
        size = path.stat().st_size
    print(f"configuration: {a.plcs} PLCs ({modbus} Modbus, {a.plcs - modbus} OPC UA), "
          f"{signals:,} signals, file {size / 2**20:.2f} MiB")
    print(f"{'figure':34s} {'load_config':>12s} {'json.loads':>12s} {'ratio':>7s}")
    for key, label in (("rss", "RSS added, MiB"), ("hwm", "peak RSS added, MiB"),
                       ("heap", "heap kept, MiB"), ("peak", "heap peak while loading, MiB")):
        print(f"{label:34s} {ours[key]:12.1f} {base[key]:12.1f} "
              f"{ours[key] / base[key] if base[key] else float('nan'):6.2f}x")
    print(f"{'heap kept per signal, bytes':34s} {ours['heap'] * 2**20 / signals:12.0f} "
          f"{base['heap'] * 2**20 / signals:12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

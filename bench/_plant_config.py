"""The benchmark plant as a LinesideConfig: one line per PLC, 25 machines per line.

20 PLCs by default: the first 15 are Modbus TCP devices (unit ids 1..15 on the
simulator's one Modbus port, each its own TCP connection), the last 5 OPC UA devices on
the simulator's OPC UA endpoint. Every machine has 20 signals: a PackML state code, a
unit mode, an auto-mode bit, a fault code, good/reject counters and 14 process values
(temperatures, speeds, a pressure, a level). The first machine of every PLC carries a
`marker` process value instead of its last temperature: the benchmark's simulator flips
it to the wall-clock time of the flip, which is how end-to-end latency is measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineside.config.models import LinesideConfig

SIGNALS_PER_MACHINE = 20
STAGES = [("cleaning", 3), ("thawing", 3), ("cutting", 3), ("peeling", 3), ("mixing", 3),
          ("frying", 3), ("heating", 3), ("packaging", 4)]  # 25 machines per line
PVS = ([f"temp{i}" for i in range(1, 8)] + [f"speed{i}" for i in range(1, 6)]
       + ["pressure", "level"])
MARKER = "marker"
REGS_PER_MACHINE = 40  # 8 role registers + 14 float32 PVs (marker: float64) = 36, spare 4


def machine_ids(line: str) -> list[tuple[str, str]]:
    out = []
    for kind, n in STAGES:
        out += [(kind, f"{line}-{kind[:3]}{j + 1}") for j in range(n)]
    return out


def modbus_signals(i: int, marker: bool) -> dict[str, Any]:
    b = i * REGS_PER_MACHINE
    sig: dict[str, Any] = {
        "state": {"address": b, "type": "int16"},
        "mode": {"address": b + 1, "type": "uint16"},
        "auto_mode": {"address": b + 2, "type": "bool", "bit": 0},
        "fault_code": {"address": b + 3, "type": "uint16"},
        "good": {"address": b + 4, "type": "uint32"},
        "reject": {"address": b + 6, "type": "uint32"},
    }
    for k, pv in enumerate(PVS):
        sig[pv] = {"address": b + 8 + 2 * k, "type": "float32"}
    if marker:
        del sig["temp7"]
        sig[MARKER] = {"address": b + 36, "type": "float64"}
    return sig


def opcua_signals(mid: str, marker: bool) -> dict[str, Any]:
    names = ["state", "mode", "auto_mode", "fault_code", "good", "reject", *PVS]
    if marker:
        names = [n for n in names if n != "temp7"] + [MARKER]
    return {n: {"node": f"ns=2;s={mid}.{n}"} for n in names}


def plant_config(state_dir: Path, *, modbus_plcs: int = 15, opcua_plcs: int = 5,
                 machines_per_plc: int = 25, interval_s: float = 1.0,
                 modbus_port: int = 5020, opcua_port: int = 4840, http_port: int = 9108,
                 sinks: list[dict[str, Any]] | None = None, opcua_mode: str = "poll",
                 bucket_s: int = 60, flush_interval_s: float = 1.0) -> LinesideConfig:
    assert machines_per_plc <= 25, "the line layout has 25 machines"
    devices: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for p in range(modbus_plcs + opcua_plcs):
        line = f"L{p:02d}"
        is_modbus = p < modbus_plcs
        dev = f"plc{p:02d}"
        if is_modbus:
            devices.append({"id": dev, "type": "modbus-tcp", "host": "127.0.0.1",
                            "port": modbus_port, "unit_id": p + 1, "addressing": "zero",
                            "byte_order": "ABCD", "interval_s": interval_s})
        else:
            devices.append({"id": dev, "type": "opcua", "mode": opcua_mode,
                            "endpoint": f"opc.tcp://127.0.0.1:{opcua_port}/lineside/sim",
                            "interval_s": interval_s, "sampling_interval_ms": 0})
        stages: dict[str, list[dict[str, Any]]] = {}
        for i, (kind, mid) in enumerate(machine_ids(line)[:machines_per_plc]):
            marker = i == 0
            stages.setdefault(kind, []).append({
                "id": mid, "automation": "automatic", "ideal_rate": 30 + (i % 5) * 5,
                "source": dev, "state": {"map": "packml"}, "counters": {"bits": 32},
                "signals": modbus_signals(i, marker) if is_modbus else opcua_signals(mid, marker),
            })
        lines.append({"id": line, "stages": [{"id": f"{line}-{k}", "kind": k, "machines": ms}
                                             for k, ms in stages.items()]})
    raw = {
        "site": {"enterprise_id": "bench-001", "enterprise_name": "Bench Foods",
                 "site_id": "bench", "region": "510116", "timezone": "UTC"},
        "state_dir": str(state_dir),
        "calendar": {"shifts": [
            {"name": "morning", "start": "06:00", "end": "14:00"},
            {"name": "afternoon", "start": "14:00", "end": "22:00"},
            {"name": "night", "start": "22:00", "end": "06:00", "overnight": True}]},
        "metrics": {"bucket_s": bucket_s},
        "devices": devices,
        "lines": lines,
        "sinks": [{**s, "flush_interval_s": flush_interval_s} for s in (sinks or [])],
        "http": {"listen": f"127.0.0.1:{http_port}"},
        "logging": {"level": "warning"},
    }
    return LinesideConfig.model_validate(raw)


def subset(cfg: LinesideConfig, kind: str) -> LinesideConfig:
    """Only the Modbus (kind='modbus') or the OPC UA (kind='opcua') PLCs and their lines."""
    devs = [d for d in cfg.devices if (d.type == "opcua") == (kind == "opcua")]
    ids = {d.id for d in devs}
    lines = [ln for ln in cfg.lines if ln.stages[0].machines[0].source in ids]
    return cfg.model_copy(update={"devices": devs, "lines": lines})


def markers(cfg: LinesideConfig) -> list[str]:
    return [f"{ln.stages[0].machines[0].id}.{MARKER}" for ln in cfg.lines]


def n_signals(cfg: LinesideConfig) -> int:
    return sum(len(m.signals) for ln in cfg.lines for st in ln.stages for m in st.machines)

"""The real servers: what a client reads is what the model says.

Registers are decoded here with a third, deliberately plain implementation of the
layout rules (not the simulator's encoder, not the driver's decoder).
"""

from __future__ import annotations

import asyncio
import logging
import struct
import subprocess
import sys
import time

import pytest
import pytest_asyncio
from asyncua import Client
from pymodbus.client import AsyncModbusTcpClient

from lineside.config.models import LinesideConfig
from lineside.simulator.server import SimulatedFactory, place_modbus
from lineside.simulator.truth import load_truth
from tests.fixtures.common import free_port

logging.getLogger("asyncua").setLevel(logging.ERROR)

FMT = {"int16": "h", "uint16": "H", "bits": "H", "int32": "i", "uint32": "I", "int64": "q",
       "uint64": "Q", "float32": "f", "float64": "d"}
# Position of each big-endian byte (A=0, B=1, ...) in the wire order, per byte order name.
WIRE = {
    2: {"ABCD": "AB", "CDAB": "AB", "DCBA": "BA", "BADC": "BA"},
    4: {"ABCD": "ABCD", "CDAB": "CDAB", "DCBA": "DCBA", "BADC": "BADC"},
    8: {"ABCD": "ABCDEFGH", "CDAB": "GHEFCDAB", "DCBA": "HGFEDCBA", "BADC": "BADCFEHG"},
}


def decode(spec, dev, regs: list[int]) -> object:
    if spec.type == "string":
        raw = b"".join(r.to_bytes(2, "big") for r in regs)
        return raw.rstrip(b"\0").decode()
    wire = b"".join(r.to_bytes(2, "big") for r in regs)
    order = WIRE[len(wire)][spec.byte_order or dev.byte_order]
    big = bytes(wire[order.index(chr(ord("A") + i))] for i in range(len(wire)))
    if spec.type == "bool":  # a bit of the 16-bit value, itself in the byte order
        word = int.from_bytes(big, "big")
        return bool(word >> spec.bit & 1) if spec.bit is not None else bool(word)
    (raw,) = struct.unpack(">" + FMT[spec.type], big)
    return raw * spec.scale + spec.offset


def table(spec, dev) -> str:
    """As written; else in PLC notation the address's first digit says it; else holding."""
    if spec.table is not None:
        return spec.table
    if dev.addressing == "plc":
        return {"4": "holding", "3": "input", "1": "discrete"}.get(str(spec.address)[0], "coil")
    return "holding"


def proto_address(spec, dev) -> int:
    a = spec.address
    if dev.addressing == "one":
        return a - 1
    if dev.addressing == "plc":
        return a - {"holding": 40001, "input": 30001, "discrete": 10001, "coil": 1}[
            table(spec, dev)]
    return a


async def _read(client, spec, dev, unit: int):
    addr = proto_address(spec, dev)
    t = table(spec, dev)
    if t == "coil":
        return (await client.read_coils(addr, count=1, device_id=unit)).bits[0]
    if t == "discrete":
        return (await client.read_discrete_inputs(addr, count=1, device_id=unit)).bits[0]
    fn = client.read_holding_registers if t == "holding" else client.read_input_registers
    rr = await fn(addr, count=spec.words, device_id=unit)
    assert not rr.isError(), (spec, rr)
    return decode(spec, dev, rr.registers)


def _close(a: object, b: object, spec) -> bool:
    if isinstance(b, (bool, str)):
        return a == b
    if getattr(spec, "type", "") in ("float32",):
        return abs(float(a) - float(b)) <= 1e-4 * max(1.0, abs(float(b)))
    return abs(float(a) - float(b)) <= spec.scale / 2 + 1e-9


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def frozen_sim(demo_cfg: LinesideConfig):
    """The demo plant served, with the model updated once (values stay put)."""
    sim = SimulatedFactory(demo_cfg, seed=9, modbus_port=free_port(), opcua_port=free_port(),
                           update_s=3600.0)
    async with sim:
        await asyncio.sleep(0.05)
        yield sim


@pytest.mark.asyncio(loop_scope="module")
async def test_every_modbus_signal_decodes_to_the_model_value(frozen_sim) -> None:
    sim = frozen_sim
    values = sim.factory.values()
    devs = {d.id: d for d in sim.config.devices}
    client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=3)
    await client.connect()
    n = 0
    try:
        for line in sim.config.lines:
            for stage in line.stages:
                for m in stage.machines:
                    dev = devs[m.source]
                    if dev.type != "modbus-tcp":
                        continue
                    for name, spec in m.signals.items():
                        got = await _read(client, spec, dev, dev.unit_id)
                        want = values[f"{m.id}.{name}"]
                        assert _close(got, want, spec), (m.id, name, got, want)
                        n += 1
    finally:
        client.close()
    assert n == len(place_modbus(sim.config)) >= 140


@pytest.mark.asyncio(loop_scope="module")
async def test_modbus_is_read_only_and_ranges_are_bounded(frozen_sim) -> None:
    client = AsyncModbusTcpClient("127.0.0.1", port=frozen_sim.modbus_port, timeout=3)
    await client.connect()
    try:
        rr = await client.write_register(100, 1, device_id=1)
        assert rr.isError() and rr.exception_code == 1
        rr = await client.write_coil(0, True, device_id=2)
        assert rr.isError() and rr.exception_code == 1
        rr = await client.read_holding_registers(60000, count=2, device_id=1)
        assert rr.isError() and rr.exception_code == 2
        # A long read across gaps works (readers merge neighbours).
        rr = await client.read_holding_registers(0, count=125, device_id=1)
        assert not rr.isError() and len(rr.registers) == 125
    finally:
        client.close()


@pytest.mark.asyncio(loop_scope="module")
async def test_opcua_nodes_readable_with_model_values(frozen_sim) -> None:
    sim = frozen_sim
    values = sim.factory.values()
    nodes = [(f"{m.id}.{n}", s.node) for ln in sim.config.lines for st in ln.stages
             for m in st.machines for n, s in m.signals.items() if getattr(s, "node", None)]
    assert len(nodes) >= 15
    async with Client(sim.config.devices[-1].endpoint, timeout=5) as c:
        got = await c.read_values([c.get_node(nid) for _, nid in nodes])
    for (key, _), v in zip(nodes, got, strict=True):
        assert v == values[key] or (isinstance(v, float) and abs(v - values[key]) < 1e-9), key


async def test_values_move_with_the_clock(demo_cfg, tmp_path) -> None:
    truth_file = tmp_path / "t.csv"
    async with SimulatedFactory(demo_cfg, seed=2, modbus_port=free_port(),
                                opcua_port=None, truth_path=truth_file,
                                speed=60.0) as sim:
        dev = sim.config.devices[0]
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=3)
        await client.connect()
        spec = sim.config.lines[0].stages[1].machines[0].signals["good"]
        try:
            first = await _read(client, spec, dev, 1)
            await asyncio.sleep(1.5)  # 90 simulated seconds at 60x
            second = await _read(client, spec, dev, 1)
        finally:
            client.close()
        assert sim.updates >= 8
    truth = load_truth(truth_file)
    assert truth.n >= 80 and len(truth.machines) == 26
    made = sum(mt.good[-1] - mt.good[0] for mt in truth.machines.values())
    assert made > 100
    assert first != second or truth.machines["L1-cut1"].good[-1] == truth.machines[
        "L1-cut1"].good[0]


def test_simulate_command_runs_and_records(tmp_path) -> None:
    truth_file = tmp_path / "truth.csv"
    t0 = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "lineside.cli", "simulate", "--seed", "3",
         "--modbus-port", str(free_port()), "--opcua-port", str(free_port()),
         "--truth", str(truth_file), "--duration", "1.5"],
        capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "26 machines" in p.stdout and "stopped after" in p.stdout
    assert time.monotonic() - t0 < 30
    assert load_truth(truth_file).n >= 2


def test_ports_are_rewritten_and_unit_clashes_refused(demo_cfg: LinesideConfig) -> None:
    from lineside.simulator.server import with_ports

    cfg = with_ports(demo_cfg, "127.0.0.2", 1502, 4841)
    assert {(d.host, d.port) for d in cfg.devices if d.type == "modbus-tcp"} == {
        ("127.0.0.2", 1502)}
    assert [d.endpoint for d in cfg.devices if d.type == "opcua"] == [
        "opc.tcp://127.0.0.2:4841/lineside/sim"]
    clash = cfg.model_copy(update={"devices": [
        d.model_copy(update={"unit_id": 1}) if d.type == "modbus-tcp" else d
        for d in cfg.devices]})
    with pytest.raises(ValueError, match="distinct unit ids"):
        place_modbus(clash)


async def test_scan_mode_serves_the_truth_instants(demo_cfg: LinesideConfig) -> None:
    """With scan_s the served image is the model at whole scan instants, as the truth."""
    async with SimulatedFactory(demo_cfg, seed=4, modbus_port=free_port(),
                                opcua_port=None, scan_s=1.0) as sim:
        assert not sim.opcua.signals
        dev = sim.config.devices[0]
        spec = sim.config.lines[0].stages[1].machines[0].signals["good"]
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=3)
        await client.connect()
        try:
            seen = set()
            for _ in range(2):
                # Mid-scan: the image is the one published at the last whole second.
                await asyncio.sleep(1.5 - time.time() % 1.0)
                k = sim.published_ts
                assert k is not None and k == int(k)
                assert int(time.time()) - k in (0, 1)  # 1: only on a very loaded machine
                got = await _read(client, spec, dev, 1)
                row = sim.truth.row("L1-cut1", int(k))
                mach = sim.factory.by_id["L1-cut1"]
                assert got == (mach.counter_base["good"] + row.good) % (1 << 32)
                assert row.state == mach.state
                seen.add(k)
            assert len(seen) == 2
        finally:
            client.close()


async def test_rtu_over_tcp_devices_are_served_with_rtu_frames(demo_cfg) -> None:
    """A serial gateway device (modbus-rtu-over-tcp) gets RTU framing on its own port."""
    from pymodbus import FramerType

    from lineside.drivers.modbus.settings import ModbusRtuOverTcpDevice

    # plc-l4 re-declared behind a serial gateway
    gw = ModbusRtuOverTcpDevice(**{**demo_cfg.devices[3].model_dump(),
                                   "type": "modbus-rtu-over-tcp", "port": 4001})
    cfg = demo_cfg.model_copy(update={"devices": [
        gw if d.id == "plc-l4" else d for d in demo_cfg.devices]})
    async with SimulatedFactory(cfg, seed=6, modbus_port=free_port(), opcua_port=None,
                                modbus_rtu_port=free_port(), update_s=3600.0) as sim:
        assert sim.modbus.units == [1, 2, 3] and sim.modbus_rtu.units == [4]
        dev = next(d for d in sim.config.devices if d.id == "plc-l4")
        assert dev.port == sim.modbus_rtu_port
        spec = next(m for ln in cfg.lines for st in ln.stages for m in st.machines
                    if m.id == "L4-slice1").signals["good"]
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_rtu_port,
                                      framer=FramerType.RTU, timeout=3)
        await client.connect()
        try:
            got = await _read(client, spec, dev, 4)
        finally:
            client.close()
        assert got == sim.factory.values()["L4-slice1.good"]


async def test_forbidden_ranges_answer_illegal_address(demo_cfg) -> None:
    from lineside.drivers.modbus.settings import ForbiddenRange

    plc = demo_cfg.devices[0].model_copy(update={"forbidden": [
        ForbiddenRange(table="holding", start=150, end=159)]})
    cfg = demo_cfg.model_copy(update={"devices": [plc, *demo_cfg.devices[1:]]})
    async with SimulatedFactory(cfg, seed=1, modbus_port=free_port(), opcua_port=None,
                                update_s=3600.0) as sim:
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.modbus_port, timeout=3)
        await client.connect()
        try:
            for start, count, ok in ((100, 8, True), (150, 1, False), (145, 10, False),
                                     (160, 10, True), (159, 1, False)):
                rr = await client.read_holding_registers(start, count=count, device_id=1)
                assert rr.isError() != ok, (start, count)
                if not ok:
                    assert rr.exception_code == 2
        finally:
            client.close()

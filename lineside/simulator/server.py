"""The simulated factory's PLCs: one Modbus TCP server and one OPC UA server.

    async with SimulatedFactory(cfg, seed=1, modbus_port=5020, opcua_port=4840) as sim:
        agent_cfg = sim.config        # cfg with device hosts/ports pointing here
        ...                           # poll it; sim.truth holds the ground truth

Every `modbus-tcp` device of the config answers on the one Modbus port under its unit
id (signal `unit_id` overrides too); `modbus-rtu-over-tcp` devices likewise on a second
port speaking RTU frames over TCP when `modbus_rtu_port` is given. Two devices on one
port may share a unit id only if their registers do not overlap. The OPC
UA server exposes every node named by an OPC UA device's signals (NodeId strings or
browse paths). Every `update_s` the model is advanced to the wall clock (times
`speed`), the registers are re-encoded and changed OPC UA values written. Writes from
clients are refused (Modbus exception 1): a PLC view, not a PLC.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import math
import time
from pathlib import Path
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.drivers.modbus.settings import (
    ModbusRtuDevice,
    ModbusRtuOverTcpDevice,
    ModbusSignal,
    ModbusTcpDevice,
)
from lineside.simulator.aspace import init_server
from lineside.simulator.encode import Placed, RegisterImage, protocol_address, table_of
from lineside.simulator.factory import Factory
from lineside.simulator.truth import Truth, TruthWriter

log = logging.getLogger("lineside.simulator")

SIM_NAMESPACE = "urn:lineside:simulator"
_FC_TABLE = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}
_MODBUS = (ModbusTcpDevice, ModbusRtuOverTcpDevice, ModbusRtuDevice)
_SPARE = 16  # registers served past the last configured one (readers merge across gaps)


def demo_config_path() -> Path:
    """config/demo.yaml of a source checkout, else the copy packaged in the wheel."""
    here = Path(__file__).resolve()
    for cand in (here.parents[2] / "config" / "demo.yaml",
                 here.parents[1] / "_data" / "config" / "demo.yaml"):
        if cand.exists():
            return cand
    raise FileNotFoundError("demo.yaml not found (neither in the checkout nor the package)")


def with_ports(cfg: LinesideConfig, host: str = "127.0.0.1", modbus_port: int = 5020,
               opcua_port: int | None = 4840,
               modbus_rtu_port: int | None = None) -> LinesideConfig:
    """The config with every served device pointing at the simulator (a None port
    leaves that kind of device as configured)."""
    devices = []
    for d in cfg.devices:
        if d.type == "modbus-tcp":
            d = d.model_copy(update={"host": host, "port": modbus_port})
        elif d.type == "modbus-rtu-over-tcp" and modbus_rtu_port is not None:
            d = d.model_copy(update={"host": host, "port": modbus_rtu_port})
        elif d.type == "opcua" and opcua_port is not None:
            path = d.endpoint.split("://", 1)[1].partition("/")[2]
            d = d.model_copy(update={"endpoint": f"opc.tcp://{host}:{opcua_port}/{path}"})
        devices.append(d)
    return cfg.model_copy(update={"devices": devices})


def place_modbus(cfg: LinesideConfig, types: tuple[str, ...] = ("modbus-tcp",)
                 ) -> list[Placed]:
    """Every signal of the devices of `types` (served on one port) at its unit, table
    and protocol address; overlaps refused."""
    devs = {d.id: d for d in cfg.devices if d.type in types and isinstance(d, _MODBUS)}
    placed: list[Placed] = []
    used: dict[tuple[int, str, int], tuple[str, int | None]] = {}
    for _, _, m, _ in iter_machines(cfg.lines):
        dev = devs.get(m.source)
        if dev is None:
            continue
        for name, spec in m.signals.items():
            if not isinstance(spec, ModbusSignal):
                continue
            table = table_of(spec, dev.addressing)
            p = Placed(key=f"{m.id}.{name}",
                       unit=spec.unit_id if spec.unit_id is not None else dev.unit_id,
                       table=table,
                       address=protocol_address(table, spec.address, dev.addressing),
                       spec=spec, byte_order=spec.byte_order or dev.byte_order,
                       string_byte_order=dev.string_byte_order)
            if not 0 <= p.address <= 65535 - p.words + 1:
                raise ValueError(f"{p.key}: address {spec.address} ({dev.addressing}) "
                                 "is outside the Modbus range")
            for a in range(p.address, p.address + p.words):
                k = (p.unit, p.table, a)
                bit = spec.bit if spec.type == "bool" else None
                other = used.get(k)
                if other and not (bit is not None and other[1] is not None
                                  and bit != other[1]):
                    raise ValueError(
                        f"{p.key} overlaps {other[0]} at unit {p.unit} "
                        f"{p.table} {a}: the simulator serves all devices on one "
                        "port, so give them distinct unit ids")
                used[k] = (p.key, bit)
            placed.append(p)
    return placed


class ServeRefused(OSError):
    """A simulated PLC's server could not listen on `port` (taken, or not this host's)."""

    def __init__(self, message: str, port: int) -> None:
        super().__init__(message)
        self.port = port


class ModbusSim:
    """pymodbus server whose register blocks are refreshed from a `RegisterImage`."""

    def __init__(self, cfg: LinesideConfig, host: str, port: int,
                 types: tuple[str, ...] = ("modbus-tcp",), rtu: bool = False) -> None:
        self.host, self.port, self.rtu = host, port, rtu
        self.image = RegisterImage(place_modbus(cfg, types))
        self.forbidden: dict[int, list[tuple[str, int, int]]] = {}
        for d in cfg.devices:
            if d.type in types and isinstance(d, _MODBUS):
                for f in d.forbidden:
                    self.forbidden.setdefault(d.unit_id, []).append((f.table, f.start, f.end))
        self.units = sorted({u for u, _ in self.image.size})
        self.requests = 0
        self._server: Any = None
        # called before each request is answered (scan mode: serve the current scan)
        self.refresh: Any = None

    def _blocks(self, unit: int, table: str) -> list[Any]:
        from pymodbus.simulator import DataType, SimData

        n = self.image.size.get((unit, table), 0) + _SPARE
        bits = table in ("coil", "discrete")
        if bits:
            n = (n + 15) // 16 * 16
        holes = sorted((s, e) for t, s, e in self.forbidden.get(unit, []) if t == table)
        spans, a = [], 0
        for s, e in holes:
            if s > a:
                spans.append((a, min(s, n) - a))
            a = max(a, e + 1)
        if a < n:
            spans.append((a, n - a))
        dt_ = DataType.BITS if bits else DataType.REGISTERS
        out = [SimData(s, count=c, values=False if bits else 0, datatype=dt_)
               for s, c in spans if c > 0]
        return out or [SimData(0, count=16 if bits else 1, values=False if bits else 0,
                               datatype=dt_)]

    async def _action(self, unit: int, func_code: int, start_address: int, address: int,
                      count: int, registers: list[int], set_values: Any) -> Any:
        from pymodbus.constants import ExcCodes

        self.requests += 1
        if self.refresh is not None:
            self.refresh()
        table = _FC_TABLE.get(func_code)
        if set_values is not None or table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        key = (unit, table)
        if table in ("coil", "discrete"):
            bits = self.image.bits.get(key, [])
            # Bit blocks are packed 16 bits per register, bit 0 first, from start_address.
            for i in range(len(registers) - 1):
                word, base = 0, (start_address + i) * 16
                for b in range(16):
                    if base + b < len(bits) and bits[base + b]:
                        word |= 1 << b
                registers[i] = word
        else:
            words = self.image.words.get(key, [])
            lo = max(address - start_address, 0)
            hi = min(address - start_address + count, len(registers) - 1)
            for i in range(lo, hi):
                a = start_address + i
                registers[i] = words[a] if a < len(words) else 0
        return None

    async def start(self) -> None:
        from pymodbus import FramerType
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import SimDevice

        devices = [
            SimDevice(id=u, simdata=(self._blocks(u, "coil"), self._blocks(u, "discrete"),
                                     self._blocks(u, "holding"), self._blocks(u, "input")),
                      action=functools.partial(self._action, u))
            for u in self.units
        ]
        if not devices:
            return
        self._server = ModbusTcpServer(
            devices, address=(self.host, self.port),
            framer=FramerType.RTU if self.rtu else FramerType.SOCKET)
        try:
            await self._server.serve_forever(background=True)
        except (RuntimeError, OSError) as e:
            self._server = None
            what = "Modbus RTU over TCP" if self.rtu else "Modbus TCP"
            opt = "--modbus-rtu-port" if self.rtu else "--modbus-port"
            raise ServeRefused(f"cannot serve {what} on {self.host}:{self.port} "
                               f"(port in use? try {opt}): {e}", self.port) from None

    async def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()
            self._server = None


class OpcuaSim:
    """asyncua server exposing the configured OPC UA nodes of the simulated machines."""

    def __init__(self, cfg: LinesideConfig, host: str, port: int) -> None:
        self.cfg, self.host, self.port = cfg, host, port
        self.signals: list[tuple[str, Any, str]] = []  # key, OpcuaSignal, role
        devs = {d.id: d for d in cfg.devices if d.type == "opcua"}
        self.path = "lineside/sim"
        for d in devs.values():
            self.path = d.endpoint.split("://", 1)[1].partition("/")[2] or self.path
            break
        for _, _, m, _ in iter_machines(cfg.lines):
            if m.source in devs:
                for name, spec in m.signals.items():
                    if hasattr(spec, "node"):
                        self.signals.append((f"{m.id}.{name}", spec, m.id))
        self._server: Any = None
        self._nodes: dict[str, tuple[Any, Any]] = {}  # key -> (NodeId, VariantType)
        self._last: dict[str, Any] = {}

    async def _ns(self, server: Any, index: int | None, uri: str | None) -> int:
        if uri is not None:
            return int(await server.register_namespace(uri))
        assert index is not None
        arr = await server.get_namespace_array()
        while len(arr) <= index:
            await server.register_namespace(
                SIM_NAMESPACE if len(arr) == 2 else f"{SIM_NAMESPACE}:{len(arr)}")
            arr = await server.get_namespace_array()
        return index

    @staticmethod
    def _vtype(ua: Any, value: Any, bits: int, role: str) -> Any:
        if isinstance(value, bool):
            return ua.VariantType.Boolean
        if isinstance(value, int):
            if role in ("good", "reject", "total"):
                return {16: ua.VariantType.UInt16, 32: ua.VariantType.UInt32}.get(
                    bits, ua.VariantType.UInt64)
            return ua.VariantType.Int32
        if isinstance(value, float):
            return ua.VariantType.Double
        return ua.VariantType.String

    async def start(self, values: dict[str, Any], machines: dict[str, Any]) -> None:
        if not self.signals:
            return
        from asyncua import Server, ua

        server = Server()
        await init_server(server)  # the standard address space from the user's cache
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/{self.path}")
        server.set_server_name("lineside simulated factory")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        sim_idx = await self._ns(server, 2, None)
        objects = server.nodes.objects
        folders: dict[str, Any] = {}
        for key, spec, mid in self.signals:
            role = key.split(".", 1)[1]
            v = values[key]
            vt = self._vtype(ua, v, machines[mid].cfg.counter_bits(role), role)
            if spec.node is not None:
                text = spec.node.strip()
                if text.startswith("nsu="):  # nsu=<uri>;s=... : register the URI first
                    uri, _, rest = text[4:].partition(";")
                    idx = await self._ns(server, None, uri)
                    nid = ua.NodeId.from_string(f"ns={idx};{rest}")
                else:
                    nid = ua.NodeId.from_string(text)
                    await self._ns(server, nid.NamespaceIndex, None)
                parent = folders.get(mid)
                if parent is None:
                    parent = folders[mid] = await objects.add_folder(
                        ua.NodeId(ua.String(f"Machines.{mid}"), ua.Int16(sim_idx)),
                        ua.QualifiedName(mid, sim_idx))
                await parent.add_variable(
                    nid, ua.QualifiedName(role, nid.NamespaceIndex), ua.Variant(v, vt))
            else:
                parts = [p.split(":", 1) for p in spec.path.strip("/").split("/")]
                node = objects
                for i, (ns_s, name) in enumerate(parts):
                    ns = await self._ns(server, int(ns_s), None)
                    pkey = "/".join(f"{a}:{b}" for a, b in parts[: i + 1])
                    if i == len(parts) - 1:
                        var = await node.add_variable(
                            ua.NodeId(ua.String(pkey), ua.Int16(ns)), ua.QualifiedName(name, ns),
                            ua.Variant(v, vt))
                        nid = var.nodeid
                    else:
                        nxt = folders.get(pkey)
                        if nxt is None:
                            nxt = folders[pkey] = await node.add_folder(
                                ua.NodeId(ua.String(pkey), ua.Int16(ns)),
                                ua.QualifiedName(name, ns))
                        node = nxt
            self._nodes[key] = (nid, vt)
            self._last[key] = v
        # asyncua warns that an anonymous, unencrypted endpoint cannot verify users:
        # that is the point of a simulator, so those start-up warnings are muted.
        srv_log = logging.getLogger("asyncua.server.server")
        level = srv_log.level
        srv_log.setLevel(logging.ERROR)
        try:
            await server.start()
        except OSError as e:
            raise ServeRefused(f"cannot serve OPC UA on {self.host}:{self.port} (port in "
                               f"use? try --opcua-port): {e.strerror or e}", self.port) from None
        finally:
            srv_log.setLevel(level)
        self._server = server

    async def update(self, values: dict[str, Any], ts: float | None = None) -> None:
        """Serve `values`, stamped `ts` (simulated time; default: now)."""
        if self._server is None:
            return
        from asyncua import ua

        now = dt.datetime.now(dt.UTC) if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)
        for key, (nid, vt) in self._nodes.items():
            v = values.get(key)
            if v is None or v == self._last.get(key):
                continue
            self._last[key] = v
            # asyncua annotates timestamps as its ua.DateTime, a datetime subclass that
            # nothing constructs: it takes and returns plain datetimes
            await self._server.write_attribute_value(nid, ua.DataValue(
                ua.Variant(v, vt),
                SourceTimestamp=now,  # type: ignore[arg-type]  # ua.DateTime, see above
                ServerTimestamp=now))  # type: ignore[arg-type]  # ua.DateTime, see above

    async def stop(self) -> None:
        if self._server is not None:
            # asyncua's stop waits for its ServerStatus clock loop to wake from its 1 s
            # sleep (0.5 s a stop on average): that loop is ended here instead
            iserver = self._server.iserver
            tick, iserver.time_task = iserver.time_task, None
            if tick is not None:
                tick.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await tick
            with contextlib.suppress(Exception):
                await self._server.stop()
            self._server = None


class SimulatedFactory:
    """The model plus its servers, advanced by the wall clock (× `speed`)."""

    def __init__(self, cfg: LinesideConfig, seed: int = 0, host: str = "127.0.0.1",
                 modbus_port: int = 5020, opcua_port: int | None = 4840,
                 truth_path: str | Path | None = None, speed: float = 1.0,
                 start_ts: float | None = None, update_s: float = 0.1,
                 profiles: dict[str, Any] | None = None, keep_truth: bool = True,
                 scan_s: float | None = None, modbus_rtu_port: int | None = None,
                 ccp_origin: float | None = None, epoch: float | None = None) -> None:
        self.source_config = cfg
        self.ccp_origin = ccp_origin
        self.config = with_ports(cfg, host, modbus_port, opcua_port, modbus_rtu_port)
        self.seed, self.host, self.speed, self.update_s = seed, host, speed, update_s
        # PLC scan period: when set, the served image shows the model as of the last
        # multiple of scan_s of simulated time (a PLC publishes its process image once
        # per scan; these are the instants the truth rows describe), refreshed right
        # at each multiple. None: refreshed every update_s with the values of the moment.
        if scan_s is not None and scan_s <= 0:
            raise ValueError("scan_s must be positive")
        self.scan_s = scan_s
        self.published_ts: float | None = None  # simulated instant of the served image
        self.modbus_port, self.opcua_port = modbus_port, opcua_port
        self.truth_path = Path(truth_path) if truth_path else None
        self.truth: Truth | None = Truth() if keep_truth else None
        self._start_ts, self._profiles = start_ts, profiles
        self.factory: Factory | None = None
        self.modbus = ModbusSim(self.config, host, modbus_port)
        if scan_s:
            # A loaded event loop may run the update loop late; answering each request
            # from the scan it arrives in keeps the PLC image exact.
            self.modbus.refresh = self._refresh
        self.modbus_rtu_port = modbus_rtu_port
        self.modbus_rtu = (ModbusSim(self.config, host, modbus_rtu_port,
                                     ("modbus-rtu-over-tcp",), rtu=True)
                           if modbus_rtu_port is not None else None)
        # opcua_port=None: no OPC UA server (starts faster; OPC UA devices stay as
        # configured and are not served).
        self.opcua = OpcuaSim(self.config if opcua_port is not None else
                              self.config.model_copy(update={"devices": []}),
                              host, opcua_port or 0)
        self._writer: TruthWriter | None = None
        self._task: asyncio.Task[None] | None = None
        # epoch: simulated time is epoch + (wall - epoch) * speed, the time base of a
        # ScaledClock(speed, epoch) (runtime/clock.py) that an agent shares
        self._epoch = epoch
        self._wall0 = 0.0
        self.sim_t0 = 0.0
        self.updates = 0

    def follow(self, speed: float, epoch: float) -> None:
        """From now on run on a ScaledClock(speed, epoch)'s time (runtime/clock.py): for a
        simulator started at speed 1 whose servers took their time to start, with `epoch`
        now, so that simulated time goes on without a jump. The CCP script, unless given
        its origin, plays from here (not from the servers' start)."""
        self.sim_t0 = self.sim_time(epoch)
        self._wall0, self.speed = epoch, speed
        if self.ccp_origin is None and self.factory is not None and self.factory.ccp:
            self.factory.ccp.origin = math.floor(self.sim_t0)

    def sim_time(self, wall: float | None = None) -> float:
        """Simulated time for a wall-clock instant (equal to it when speed is 1)."""
        w = time.time() if wall is None else wall
        return self.sim_t0 + (w - self._wall0) * self.speed

    async def start(self) -> SimulatedFactory:
        self._wall0 = time.time() if self._epoch is None else self._epoch
        self.sim_t0 = self._start_ts if self._start_ts is not None else self._wall0
        recorders: list[Any] = []
        if self.truth is not None:
            recorders.append(self.truth)
        if self.truth_path is not None:
            self._writer = TruthWriter(self.truth_path)
            recorders.append(self._writer)
        self.factory = Factory.from_config(self.source_config, self.seed, self.sim_t0,
                                           profiles=self._profiles, recorders=recorders,
                                           ccp_origin=self.ccp_origin)
        self.factory.advance(self.sim_t0)
        values = self.factory.values()
        self.modbus.image.update(values)
        if self.modbus_rtu is not None:
            self.modbus_rtu.image.update(values)
        try:
            await self.modbus.start()
            if self.modbus_rtu is not None:
                await self.modbus_rtu.start()
            await self.opcua.start(values, self.factory.by_id)
        except BaseException:
            await self.stop()
            raise
        self._task = asyncio.create_task(self._run(), name="lineside-simulator")
        log.info("simulated factory: %d machines, Modbus %s:%d (units %s), OPC UA %s",
                 len(self.factory.machines), self.host, self.modbus_port, self.modbus.units,
                 f"opc.tcp://{self.host}:{self.opcua_port}/{self.opcua.path}"
                 if self.opcua.signals else "none")
        return self

    def step(self) -> dict[str, Any]:
        """Advance the model to now (to the last scan instant with `scan_s`) and refresh
        the Modbus image; returns the values served."""
        assert self.factory is not None
        t = self.sim_time()
        if self.scan_s:
            t = math.floor(t / self.scan_s + 1e-9) * self.scan_s
        t = max(t, self.factory.now)
        self.factory.advance(t)
        values = self.factory.values()
        self.modbus.image.update(values)
        if self.modbus_rtu is not None:
            self.modbus_rtu.image.update(values)
        self.published_ts = t
        self.updates += 1
        return values

    def _refresh(self) -> None:
        """Before answering a request: step only when a new scan has begun (rebuilding the
        whole image per request saturates the server at a few hundred requests/s)."""
        assert self.scan_s
        if self.published_ts is not None and self.factory is not None:
            t = math.floor(self.sim_time() / self.scan_s + 1e-9) * self.scan_s
            if max(t, self.factory.now) <= self.published_ts:
                return
        self.step()

    def _next_wake(self) -> float:
        """Wall-clock time of the next refresh: update_s from now, or the next scan."""
        if not self.scan_s or self.published_ts is None:
            return time.time() + self.update_s
        nxt = (math.floor(self.published_ts / self.scan_s + 1e-9) + 1) * self.scan_s
        return self._wall0 + (nxt - self.sim_t0) / self.speed + 0.001

    async def _run(self) -> None:
        while True:
            values = self.step()
            await self.opcua.update(values, self.sim_time() if self.speed != 1 else None)
            # After falling behind (slow machine, huge --speed) this carries on from
            # now instead of spiralling.
            await asyncio.sleep(max(0.0, self._next_wake() - time.time()))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.modbus.stop()
        if self.modbus_rtu is not None:
            await self.modbus_rtu.stop()
        await self.opcua.stop()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    async def __aenter__(self) -> SimulatedFactory:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


__all__ = ["SimulatedFactory", "demo_config_path", "place_modbus", "with_ports"]

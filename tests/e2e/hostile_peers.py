"""PLCs on a bad day, for end-to-end tests: a pymodbus server and an asyncua server whose
values the test sets at will (1e308, NaN, 2^64-1, a 10 MB string, a counter jumping).

The Modbus PLC runs in the test's event loop; the OPC UA PLC in a child process
(`OpcuaPlcProcess`: serving a 10 MB string blocks its loop for a second, which must not
silence the test's other PLCs), told what to send over its stdin. Values are plain
Python values with the type the wire carries (Modbus: a codec type and byte order; OPC
UA: a VariantType), so a test states exactly what a PLC sends.

    python -m tests.e2e.hostile_peers PORT VARIABLES_JSON   # stdin: one command a line
        {"set": NAME, "value": V, "vtype": TYPE?} | {"repeat": NAME, "char": C, "n": N,
        "vtype": TYPE?}  (a string of N times C, not sent through the pipe)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import subprocess
import sys
import threading
from typing import Any

from lineside.drivers.modbus.codec import encode

TABLE_FC = {1: "coil", 2: "discrete", 3: "holding", 4: "input"}


class ModbusPlc:
    """One Modbus TCP unit (id 1) serving what `set` last wrote, for every table."""

    def __init__(self, port: int, size: int = 64) -> None:
        self.port, self.size = port, size
        self.words: dict[str, list[int]] = {"holding": [0] * size, "input": [0] * size}
        self.bits: dict[str, list[bool]] = {"coil": [False] * size,
                                            "discrete": [False] * size}
        self._server: Any = None

    def set(self, table: str, address: int, value: Any, dtype: str = "uint16",
            order: str = "ABCD") -> None:
        if table in self.bits:
            self.bits[table][address] = bool(value)
            return
        words = encode(value, dtype, order)
        self.words[table][address:address + len(words)] = words

    async def _action(self, fc: int, start: int, address: int, count: int,
                      registers: list[int], set_values: Any) -> Any:
        from pymodbus.constants import ExcCodes

        table = TABLE_FC.get(fc)
        if set_values is not None or table is None:
            return ExcCodes.ILLEGAL_FUNCTION  # a read-only PLC
        if table in self.bits:  # packed 16 bits per register, bit 0 first, from `start`
            bits = self.bits[table]
            for i in range(len(registers) - 1):
                registers[i] = sum(1 << b for b in range(16)
                                   if (start + i) * 16 + b < len(bits)
                                   and bits[(start + i) * 16 + b])
        else:
            words = self.words[table]
            for i in range(max(address - start, 0),
                           min(address - start + count, len(registers) - 1)):
                registers[i] = words[start + i] if start + i < len(words) else 0
        return None

    async def start(self) -> ModbusPlc:
        from pymodbus import FramerType
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        n_bits = (self.size + 15) // 16 * 16

        def block(bits: bool) -> list[Any]:
            return [SimData(0, count=n_bits if bits else self.size,
                            values=False if bits else 0,
                            datatype=DataType.BITS if bits else DataType.REGISTERS)]

        device = SimDevice(id=1, simdata=(block(True), block(True), block(False),
                                          block(False)), action=self._action)
        self._server = ModbusTcpServer([device], address=("127.0.0.1", self.port),
                                       framer=FramerType.SOCKET)
        await self._server.serve_forever(background=True)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()
            self._server = None


class JunkModbus:
    """A Modbus TCP port that never answers properly: in turns of `turn` requests, bytes
    that are no Modbus frame, then the answer to another transaction."""

    def __init__(self, port: int, turn: int = 3) -> None:
        self.port, self.turn, self.n = port, turn, 0
        self._server: asyncio.Server | None = None

    async def start(self) -> JunkModbus:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def _handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await r.readexactly(6)
                await r.readexactly(int.from_bytes(head[4:6], "big"))
                garbage = (self.n // self.turn) % 2 == 0
                self.n += 1
                if garbage:
                    w.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                else:  # one register of 0, for another transaction (never 0: pymodbus
                    # takes an answer to transaction 0 for any request's)
                    tid = (int.from_bytes(head[0:2], "big") + 1000) % 65535 + 1
                    w.write(tid.to_bytes(2, "big") + b"\x00\x00\x00\x05\x01\x01\x02\x00\x00")
                await w.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


class OpcuaPlc:
    """An asyncua server with variables under Objects/Plc, namespace `urn:hostile`,
    addressed as `nsu=urn:hostile;s=<name>`."""

    NS = "urn:hostile"

    def __init__(self, port: int, variables: dict[str, tuple[Any, str]]) -> None:
        self.port = port
        self.initial = variables  # name -> (value, VariantType name)
        self.nodes: dict[str, Any] = {}
        self.types: dict[str, Any] = {}
        self._server: Any = None

    @classmethod
    def node(cls, name: str) -> str:
        return f"nsu={cls.NS};s={name}"

    async def start(self) -> OpcuaPlc:
        from asyncua import Server, ua

        for noisy in ("asyncua.server", "asyncua.common", "asyncua.uaprotocol"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}/")
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace(self.NS)
        plc = await server.nodes.objects.add_object(ua.NodeId("Plc", ns), "Plc")
        for name, (value, vtype) in self.initial.items():
            t = getattr(ua.VariantType, vtype)
            self.types[name] = t
            self.nodes[name] = await plc.add_variable(ua.NodeId(name, ns), name,
                                                      ua.Variant(value, t))
        await server.start()
        self._server = server
        return self

    async def set(self, name: str, value: Any, vtype: str | None = None) -> None:
        """Write `value`; with `vtype`, as that VariantType from now on (a PLC program
        that puts a string where a number was)."""
        from asyncua import ua

        if vtype is not None:
            self.types[name] = getattr(ua.VariantType, vtype)
            # past asyncua's type check on writes, as a PLC's own program would
            node = self._server.iserver.aspace._nodes[self.nodes[name].nodeid]
            node.attributes[ua.AttributeIds.Value].value = ua.DataValue(
                ua.Variant(value, self.types[name]))
            return
        await self.nodes[name].write_value(ua.Variant(value, self.types[name]))

    async def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.stop()
            self._server = None


class OpcuaPlcProcess:
    """An `OpcuaPlc` in a child process; `set` sends it a command."""

    def __init__(self, port: int, variables: dict[str, tuple[Any, str]]) -> None:
        self.port, self.variables = port, variables
        self.proc: subprocess.Popen[str] | None = None
        # the counter mover and the test's timeline call `set` from two threads: one
        # command and its reply at a time, or the replies interleave ("okok")
        self._lock = threading.Lock()

    def start(self) -> OpcuaPlcProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.hostile_peers", str(self.port),
             json.dumps(self.variables)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready" once it listens
        assert line.strip() == "ready", line
        return self

    def send(self, command: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        assert self.proc.stdout is not None
        with self._lock:
            self.proc.stdin.write(json.dumps(command) + "\n")
            self.proc.stdin.flush()
            reply = self.proc.stdout.readline().strip()
        assert reply == "ok", reply

    def set(self, name: str, value: Any, vtype: str | None = None) -> None:
        self.send({"set": name, "value": value, "vtype": vtype})

    def set_repeated(self, name: str, char: str, n: int, vtype: str | None = None) -> None:
        self.send({"repeat": name, "char": char, "n": n, "vtype": vtype})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


async def _serve(port: int, variables: dict[str, list[Any]]) -> None:
    plc = await OpcuaPlc(port, {k: (v[0], v[1]) for k, v in variables.items()}).start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        while line := await reader.readline():
            cmd = json.loads(line)
            if "repeat" in cmd:
                await plc.set(cmd["repeat"], cmd["char"] * cmd["n"], cmd.get("vtype"))
            else:
                value = cmd["value"]
                if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                    value = float(value)
                await plc.set(cmd["set"], value, cmd.get("vtype"))
            print("ok", flush=True)
    finally:
        await plc.stop()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1]), json.loads(sys.argv[2])))

"""One Modbus connection and the rule that only read requests ever leave it.

A `Link` wraps one pymodbus client: a TCP connection, a serial port, or a TCP
connection to a serial gateway (RTU framing). Devices on one serial bus or one
gateway share a link, and its lock lets one request at a time on the wire, with an
optional pause after each (slow RS-485 slaves need the silence).

Safety: `read()` maps the four tables to function codes 1-4 and nothing else; a
`trace_pdu` hook refuses, before framing, any PDU whose function code is not a read,
so not even a bug elsewhere can put a write on the wire.

Errors: a link keeps the bytes that arrived while a request waited, so that a request
without a valid answer is told apart (`frames.classify`: timeout, another transaction
id, another unit, truncated, bad CRC, garbage) where pymodbus only says "no response".
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.framer import FramerType

from lineside.drivers.logctx import naming
from lineside.drivers.modbus.frames import KEEP_BYTES, NO_VALID_ANSWER, classify
from lineside.drivers.modbus.planner import ReadRequest

READ_FUNCTION_CODES = frozenset({1, 2, 3, 4})

EXCEPTION_KINDS = {
    1: "illegal_function", 2: "illegal_address", 3: "illegal_value", 4: "device_failure",
    5: "busy", 6: "busy", 10: "gateway_path", 11: "gateway_no_response",
}
BUSY_CODES = frozenset({5, 6})  # acknowledge (still working), server busy


class WriteRefused(RuntimeError):
    """Something tried to send a function code that is not a read."""


class ReadError(Exception):
    """A request that produced no data. `kind` is a small, fixed vocabulary (metrics)."""

    def __init__(self, kind: str, cause: str, exception_code: int | None = None):
        super().__init__(cause)
        self.kind, self.cause, self.exception_code = kind, cause, exception_code

    @property
    def unreachable(self) -> bool:
        """No valid answer within the timeout: further requests to the same slave would
        only wait as long."""
        return self.kind in NO_VALID_ANSWER or self.kind in ("connect", "connection")


def exception_kind(code: int) -> str:
    """The error kind of an exception response: its name, or `exception_<code>` for a
    code Modbus does not name (a bounded set: codes are one byte)."""
    return EXCEPTION_KINDS.get(code, f"exception_{code}")


class Link:
    def __init__(self, name: str, make_client: Callable[[Callable, Callable], Any], *,
                 pause_s: float = 0.0, serial: bool = False, rtu: bool = False):
        self.name = name
        self.pause_s = pause_s
        self.serial = serial  # one slave timing out does not end the serial connection
        self.rtu = rtu  # RTU framing: no transaction id, a CRC
        self.lock = asyncio.Lock()
        self.sent: Counter[int] = Counter()  # function codes that went on the wire
        self.users = 0
        self.active: str | None = None  # the device whose request is on the wire
        self._rx = bytearray()  # what arrived for the request on the wire
        self._client = make_client(self._guard, self._on_connect)
        ctx = self._client.ctx  # one protocol object for every connection of a client
        self._data_received = ctx.data_received
        ctx.data_received = self._on_data

    def _who(self) -> str | None:
        return self.active or self.name

    def _on_data(self, data: bytes) -> None:
        """Keep what the wire brings (pymodbus discards what it cannot use) and hand it
        on; an answer pymodbus cannot decode fails the request instead of the
        connection's reader (which asyncio would log as a fatal protocol error)."""
        if len(self._rx) < KEEP_BYTES:
            self._rx += data[:KEEP_BYTES - len(self._rx)]
        try:
            self._data_received(data)
        except Exception as e:  # any decoder failure is a bad answer, not a dead reader
            ctx = self._client.ctx
            ctx.recv_buffer = b""
            fut = getattr(ctx, "response_future", None)
            if fut is not None and not fut.done():
                fut.set_exception(ModbusIOException(f"undecodable answer: {e}"))

    def _guard(self, sending: bool, pdu: Any) -> Any:
        if sending:
            fc = int(pdu.function_code)
            if fc not in READ_FUNCTION_CODES:
                raise WriteRefused(f"{self.name}: function code {fc} is not a read; refused")
            self.sent[fc] += 1
        return pdu

    def _on_connect(self, connected: bool) -> None:
        """A connection closed under a waiting request fails it now, not at its timeout
        (pymodbus would otherwise wait the full timeout for an answer that cannot come)."""
        if not connected:
            fut = getattr(self._client.ctx, "response_future", None)
            if fut is not None and not fut.done():
                fut.set_exception(ConnectionException("connection closed by the device"))

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    async def _connect(self, timeout: float) -> None:
        if self._client.connected:
            return
        try:
            ok = await asyncio.wait_for(self._client.connect(), timeout)
        except (TimeoutError, OSError, ModbusException) as e:
            self._client.close()
            raise ReadError("connect", f"cannot connect to {self.name}: "
                            f"{type(e).__name__} {e}".rstrip()) from None
        if not ok:
            self._client.close()
            raise ReadError("connect", f"cannot connect to {self.name} (refused or unreachable)")

    async def read(self, req: ReadRequest, timeout: float,
                   device: str | None = None) -> list[int] | list[bool]:
        """Registers (or bits) of one request; raises ReadError, never anything else.
        `device` names the requester in pymodbus's log lines (logctx)."""
        async with self.lock:
            self.active = device
            try:
                with naming(self._who):
                    await self._connect(timeout)
                    return await self._read(req, timeout)
            finally:
                self.active = None
                if self.pause_s:
                    await asyncio.sleep(self.pause_s)

    def _no_valid_answer(self, req: ReadRequest, timeout: float, tid: int | None,
                         msg: str) -> ReadError:
        v = classify(bytes(self._rx), rtu=self.rtu, unit=req.unit,
                     function_code=req.function_code, transaction_id=tid)
        if v.kind == "timeout" and msg and "No response" not in msg:
            return ReadError("garbage", f"no valid answer within {timeout:g} s: {msg}")
        return ReadError(v.kind, f"no valid answer within {timeout:g} s: {v.detail}")

    async def _read(self, req: ReadRequest, timeout: float) -> list[int] | list[bool]:
        fn = {1: self._client.read_coils, 2: self._client.read_discrete_inputs,
              3: self._client.read_holding_registers,
              4: self._client.read_input_registers}[req.function_code]
        # Devices sharing a bus may have different timeouts; pymodbus keeps its own copy.
        ctx = self._client.ctx
        ctx.comm_params.timeout_connect = timeout
        self._rx.clear()
        # the id pymodbus gives this request (RTU frames carry none)
        tid = None if self.rtu else (1 if ctx.next_tid >= 65000 else ctx.next_tid + 1)
        try:
            # pymodbus enforces `timeout` itself; the outer bound is a safety net.
            resp = await asyncio.wait_for(fn(req.start, count=req.count, device_id=req.unit),
                                          timeout + 0.5)
        except (TimeoutError, ModbusIOException) as e:
            if not self.serial:
                # A late answer would otherwise be taken for the next request's.
                self._client.close()
            msg = str(e) if isinstance(e, ModbusIOException) else ""
            raise self._no_valid_answer(req, timeout, tid, msg) from None
        except ConnectionException as e:
            self._client.close()
            if self._rx:  # it sent something before it went: say what
                v = classify(bytes(self._rx), rtu=self.rtu, unit=req.unit,
                             function_code=req.function_code, transaction_id=tid)
                if v.kind in ("garbage", "bad_crc"):
                    raise ReadError(v.kind, f"{v.detail}, then the connection closed") \
                        from None
            raise ReadError("connection", f"connection lost: {e}") from None
        except (OSError, ModbusException) as e:
            self._client.close()
            raise ReadError("connection", f"{type(e).__name__}: {e}") from None
        if resp.isError():
            code = int(getattr(resp, "exception_code", 0) or 0)
            kind = exception_kind(code)
            raise ReadError(kind, f"exception response code {code} ({kind})", code)
        if req.function_code in (1, 2):
            bits = list(resp.bits)
            if len(bits) < req.count:
                raise ReadError("wrong_length", f"short answer: {len(bits)} of {req.count} bits")
            return bits[:req.count]
        regs = list(resp.registers)
        if len(regs) != req.count:
            raise ReadError("wrong_length", f"wrong length: {len(regs)} of {req.count} registers")
        return regs

    def close(self) -> None:
        self._client.close()


def tcp_link(host: str, port: int, timeout: float, *, rtu: bool = False,
             pause_s: float = 0.0) -> Link:
    framer = FramerType.RTU if rtu else FramerType.SOCKET

    def make(guard: Callable, on_connect: Callable) -> AsyncModbusTcpClient:
        return AsyncModbusTcpClient(host, port=port, framer=framer, timeout=timeout, retries=0,
                                    reconnect_delay=0, trace_pdu=guard,
                                    trace_connect=on_connect)

    return Link(f"{'rtu-over-tcp ' if rtu else ''}{host}:{port}", make, pause_s=pause_s,
                serial=rtu, rtu=rtu)


def serial_link(port: str, *, baudrate: int, parity: str, stopbits: int, bytesize: int,
                timeout: float, pause_s: float = 0.0) -> Link:
    def make(guard: Callable, on_connect: Callable) -> AsyncModbusSerialClient:
        return AsyncModbusSerialClient(port, framer=FramerType.RTU, baudrate=baudrate,
                                       parity=parity, stopbits=stopbits, bytesize=bytesize,
                                       timeout=timeout, retries=0, reconnect_delay=0,
                                       trace_pdu=guard, trace_connect=on_connect)

    return Link(f"serial {port}", make, pause_s=pause_s, serial=True, rtu=True)

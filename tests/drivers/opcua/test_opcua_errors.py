"""OPC UA failures by kind: BadTimeout, BadCommunicationError, BadSecureChannelClosed and
other status codes, a refused or closed connection — counted under their own kind, and
logged as an operator reads them: one WARNING at each change of kind, one INFO at
recovery, every line naming the device."""

from __future__ import annotations

import asyncio
import errno
import logging
import struct
from pathlib import Path

import pytest
from asyncua import ua
from asyncua.common.utils import ServiceError

from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.errors import MalformedMessage, error_kind
from lineside.drivers.opcua.security import UserRejected
from lineside.drivers.opcua.settings import OpcuaDevice
from tests.fixtures.common import free_port
from tests.fixtures.opcua_peers import line_signals, opcua_device


def status(name: str) -> ua.UaStatusCodeError:
    return ua.UaStatusCodeError(getattr(ua.StatusCodes, name))


# (id, exception, raised while connecting, kind)
EXCEPTIONS = [
    ("timeout", TimeoutError(), False, "timeout"),
    ("bad_timeout", status("BadTimeout"), False, "timeout"),
    ("bad_communication", status("BadCommunicationError"), False, "connection"),
    ("secure_channel_closed", status("BadSecureChannelClosed"), False, "connection"),
    ("connection_closed", status("BadConnectionClosed"), False, "connection"),
    ("session_gone", status("BadSessionIdInvalid"), False, "session"),
    ("shutdown", status("BadShutdown"), False, "shutdown"),
    ("too_many_sessions", status("BadTooManySessions"), True, "BadTooManySessions"),
    ("service_error", ServiceError(ua.StatusCodes.BadUserAccessDenied), False,
     "BadUserAccessDenied"),
    ("unknown_code", ua.UaStatusCodeError(0x81230000), False, "bad_status"),
    ("refused", ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True, "connect"),
    ("unreachable", OSError(errno.EHOSTUNREACH, "no route"), True, "connect"),
    ("reset", ConnectionResetError(errno.ECONNRESET, "reset"), False, "connection"),
    ("closed", ConnectionError("Connection is closed"), False, "connection"),
    ("socket_error_later", OSError(errno.EPIPE, "broken pipe"), False, "connection"),
    ("user_rejected", UserRejected("the server rejected user 'x'"), True, "setup"),
    ("unparsable", struct.error("unpack requires a buffer of 4 bytes"), False, "malformed"),
    ("not_opc_ua", MalformedMessage("not an OPC UA TCP message"), True, "malformed"),
    ("anything_else", ValueError("?"), False, "error"),
]


@pytest.mark.parametrize(("exc", "connecting", "kind"), [e[1:] for e in EXCEPTIONS],
                         ids=[e[0] for e in EXCEPTIONS])
def test_error_kind(exc: BaseException, connecting: bool, kind: str) -> None:
    assert error_kind(exc, connecting=connecting) == kind


class RawUaServer:
    """An OPC UA TCP endpoint that answers the client's Hello its own way: an ERR
    message with a status code, garbage, nothing, or a closed socket."""

    def __init__(self, reply: str, code: int = 0):
        self.reply, self.code = reply, code

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            head = await r.readexactly(8)  # "HELF" + size
            await r.readexactly(struct.unpack("<I", head[4:8])[0] - 8)
            if self.reply == "err":
                reason = b"scripted"
                body = struct.pack("<Ii", self.code, len(reason)) + reason
                w.write(b"ERRF" + struct.pack("<I", 8 + len(body)) + body)
            elif self.reply == "garbage":
                w.write(b"\xde\xad\xbe\xef" * 16)
            elif self.reply == "silent":
                await asyncio.sleep(10)
            await w.drain()
            if self.reply != "close":
                await asyncio.sleep(0.5)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            w.close()


# (id, how the endpoint answers the Hello, status code in an ERR, kind)
HELLOS = [
    ("err_bad_communication", "err", ua.StatusCodes.BadCommunicationError, "connection"),
    ("err_secure_channel_closed", "err", ua.StatusCodes.BadSecureChannelClosed,
     "connection"),
    ("err_bad_timeout", "err", ua.StatusCodes.BadTimeout, "timeout"),
    ("err_server_halted", "err", ua.StatusCodes.BadServerHalted, "shutdown"),
    ("err_too_busy", "err", ua.StatusCodes.BadTcpServerTooBusy, "BadTcpServerTooBusy"),
    ("silent", "silent", 0, "timeout"),
    ("closed", "close", 0, "connection"),
    ("garbage", "garbage", 0, "malformed"),  # refused at once, not waited for
]


def _device(port: int, **kw) -> OpcuaDevice:
    return OpcuaDevice(id="raw", type="opcua", endpoint=f"opc.tcp://127.0.0.1:{port}",
                       mode="poll", timeout_s=0.5, reconnect_min_s=0.01,
                       reconnect_max_s=0.02, **kw)


@pytest.mark.server
@pytest.mark.parametrize(("reply", "code", "kind"), [h[1:] for h in HELLOS],
                         ids=[h[0] for h in HELLOS])
async def test_endpoint_failure_is_counted_as_its_kind(tmp_path: Path, reply: str, code: int,
                                                       kind: str) -> None:
    server = RawUaServer(reply, code)
    port = await server.start()
    driver = OpcuaDriver(_device(port), [], tmp_path / "state")
    try:
        await driver.poll()
        assert dict(driver.stats.errors) == {kind: 1}, driver.stats.last_error
        assert not driver.stats.up
    finally:
        await driver.close()
        server.server.close()


@pytest.mark.server
async def test_nothing_listening_is_connect(tmp_path: Path) -> None:
    driver = OpcuaDriver(_device(free_port()), [], tmp_path / "state")
    try:
        await driver.poll()
        assert dict(driver.stats.errors) == {"connect": 1}
    finally:
        await driver.close()


@pytest.mark.server
async def test_a_frozen_then_thawed_server_is_one_warning_and_one_info(
        opcua_peer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """asyncua peer, poll mode: frozen (SIGSTOP) it times out cycle after cycle — one
    WARNING of kind timeout, the rest DEBUG —, thawed it answers again: one INFO."""
    from lineside.drivers.logctx import DeviceOnRecord

    peer = opcua_peer("asyncua", rate=10)
    driver = OpcuaDriver(opcua_device(peer, mode="poll", timeout_s=0.5, reconnect_min_s=0.05,
                                      reconnect_max_s=0.1),
                         line_signals(peer)[:1], tmp_path / "state")
    caplog.handler.addFilter(DeviceOnRecord())
    caplog.set_level(logging.INFO)
    try:
        assert (await driver.poll())[0].good
        peer.freeze()
        for _ in range(4):
            assert not (await driver.poll())[0].good
            await asyncio.sleep(0.1)
        peer.thaw()
        for _ in range(40):
            await asyncio.sleep(0.1)
            if (await driver.poll())[0].good:
                break
        assert driver.stats.up
    finally:
        peer.thaw()
        await driver.close()
    ours = [r for r in caplog.records if r.levelno >= logging.INFO
            and r.name.startswith("lineside") and getattr(r, "kind", None)]
    assert [(r.levelname, r.kind) for r in ours] == [("WARNING", "timeout"),
                                                     ("INFO", "recovered")], caplog.text
    assert driver.stats.errors["timeout"] >= 1
    named = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(getattr(r, "device", None) == driver.device_id for r in named), caplog.text

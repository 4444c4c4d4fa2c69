"""An OPC UA failure as an error kind (the metric's label, the log line's `kind`).

The same vocabulary as the Modbus driver's where the cause is the same — `timeout`,
`connect` (refused, unreachable), `connection` (lost, reset, closed) — plus what only
OPC UA says: `session` (the server forgot the session), `shutdown` (the server is
stopping), `setup` (certificate, user or endpoint: fix the configuration), `malformed`
(a message asyncua could not parse), and any other Bad status code under its own name
(`BadTooManySessions`, `BadUserAccessDenied`: a fixed set from the specification; a
code outside it is `bad_status`). Pure: exceptions in, (kind, text) out.
"""

from __future__ import annotations

import struct

from asyncua import ua
from asyncua.common.utils import NotEnoughData
from asyncua.ua.uaerrors import UaStringParsingError, UaStructParsingError

from lineside.drivers.opcua.quality import status_name
from lineside.drivers.opcua.security import OpcuaSetupError

TIMEOUT = frozenset({"BadTimeout", "BadRequestTimeout"})
CONNECTION = frozenset({
    "BadCommunicationError", "BadConnectionClosed", "BadSecureChannelClosed",
    "BadSecureChannelIdInvalid", "BadTcpSecureChannelUnknown", "BadNoCommunication",
    "BadServerNotConnected", "BadNotConnected", "BadDisconnect",
})
SESSION = frozenset({"BadSessionIdInvalid", "BadSessionClosed", "BadSessionNotActivated"})
SHUTDOWN = frozenset({"BadServerHalted", "BadShutdown"})


class MalformedMessage(ConnectionError):
    """Bytes that are not OPC UA TCP (framing.py closed the connection on them)."""


def status_kind(name: str) -> str:
    """The kind of a Bad status code, by its symbolic name."""
    if name in TIMEOUT:
        return "timeout"
    if name in CONNECTION:
        return "connection"
    if name in SESSION:
        return "session"
    if name in SHUTDOWN:
        return "shutdown"
    return name if name.startswith("Bad") else "bad_status"


def error_kind(exc: BaseException, *, connecting: bool) -> str:
    """The kind of an exception a connect (`connecting`) or a service call raised."""
    if isinstance(exc, OpcuaSetupError):
        return "setup"
    code = getattr(exc, "code", None)
    if isinstance(exc, ua.UaError) and isinstance(code, int):  # status and service errors
        return status_kind(status_name(code))
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, MalformedMessage | UaStringParsingError | UaStructParsingError
                  | NotEnoughData | struct.error | UnicodeDecodeError):
        return "malformed"
    if isinstance(exc, ConnectionRefusedError):
        return "connect"
    if isinstance(exc, ConnectionError):  # reset, aborted, "connection lost/closed"
        return "connection"
    if isinstance(exc, OSError):  # unreachable host, unknown name
        return "connect" if connecting else "connection"
    return "error"

"""Refuse what is not OPC UA TCP at once, instead of waiting for it.

asyncua reads any 8 bytes as a message header: garbage ("\\xde\\xad\\xbe\\xef...") is a
message of an unknown type announcing a 4 GB body, and the client waits for that body
until its timeout, so a device speaking another protocol on the port (a web server, a
Modbus gateway) was counted as `timeout`. The guard looks at the header at the start
of each received message: an unknown message or chunk type, or a size no server sends,
fails the waiting requests with `MalformedMessage` and closes the connection
(errors.py counts it as `malformed`).
"""

from __future__ import annotations

import struct
from typing import Any

from asyncua import Client

from lineside.drivers.opcua.errors import MalformedMessage

MESSAGE_TYPES = frozenset({b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"CLO", b"MSG"})
CHUNK_TYPES = frozenset(b"FCA")
MAX_CHUNK = 1 << 26  # far above any negotiated buffer size (64 KiB - a few MiB)


def problem(head: bytes) -> str | None:
    """What is wrong with the first 8 bytes of a message, or None."""
    if len(head) < 8:
        return None  # not enough to judge yet: asyncua waits for the rest
    kind, chunk, size = struct.unpack("<3scI", head[:8])
    if kind not in MESSAGE_TYPES or chunk[0] not in CHUNK_TYPES:
        return f"not an OPC UA TCP message: {head[:16].hex(' ')}"
    if not 8 <= size <= MAX_CHUNK:
        return f"impossible message size {size} ({kind.decode()})"
    return None


def guard_framing(client: Client) -> None:
    """Check every message start the client receives (see the module's docstring)."""
    uaclient = client.uaclient
    make = uaclient._make_protocol

    def make_guarded() -> Any:
        protocol = make()
        received = protocol.data_received

        def data_received(data: bytes) -> None:
            if not protocol.receive_buffer:  # a new message starts here
                why = problem(data)
                if why is not None:
                    protocol._fail_all_pending(MalformedMessage(why))
                    protocol.disconnect_socket()
                    return
            received(data)

        protocol.data_received = data_received  # type: ignore[method-assign]  # the guard wraps it
        return protocol

    uaclient._make_protocol = make_guarded  # type: ignore[method-assign]  # the guard wraps it

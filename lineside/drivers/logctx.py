"""Which device a library's log line is about.

pymodbus and asyncua log without saying which device they talk to ("No response
received after 0 retries"); on a gateway with twenty PLCs such a line is useless. A
driver names itself in a context variable around its work (`naming`): asyncio copies
the context into every task and callback started under it (asyncua's keep-alive and
publish tasks, the socket's reader callback of a pymodbus connection), so
`DeviceOnRecord`, a logging filter, can put the device on any record logged there.

The value is a callable, not the name: the devices of one serial bus share one pymodbus
connection, whose callbacks run in the context of the device that opened it; the
link answers with the device whose request is on the wire.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar

Who = Callable[[], str | None]

_current: ContextVar[Who | None] = ContextVar("lineside_device", default=None)


@contextlib.contextmanager
def naming(who: Who) -> Iterator[None]:
    """Records logged by libraries inside this block (and by tasks it starts) name the
    device `who()` returns."""
    token = _current.set(who)
    try:
        yield
    finally:
        _current.reset(token)


def current_device() -> str | None:
    who = _current.get()
    return who() if who is not None else None


class DeviceOnRecord(logging.Filter):
    """Put `device` on library records logged in a driver's context.

    `quiet` names loggers whose lines the driver replaces with its own (pymodbus: the
    driver logs every failed request with device, request, kind and cause): their
    records become DEBUG and pass only when `debug` is on.
    """

    def __init__(self, quiet: tuple[str, ...] = ("pymodbus",), debug: bool = False):
        super().__init__()
        self.quiet = quiet
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "device", None) is not None:
            return True
        device = current_device()
        if device is None:
            return True
        record.device = device
        if record.levelno > logging.DEBUG and record.name.startswith(self.quiet):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self.debug
        return True

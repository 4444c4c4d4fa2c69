"""The systemd service protocol (sd_notify(3)): readiness, stopping, watchdog pings.

systemd passes `NOTIFY_SOCKET` (a datagram socket path, `@` for the abstract namespace)
to a `Type=notify` service and `WATCHDOG_USEC` (and `WATCHDOG_PID`) when the unit sets
`WatchdogSec=`. Without them every call here does nothing, so `lineside run` behaves the
same outside systemd.

The watchdog is pinged by a task of the agent's event loop, not by a thread: a loop that
hangs (a blocking call, a busy coroutine) stops the pings and systemd restarts the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("lineside.systemd")

# Only for drills and tests (docs/deploy.md): SIGUSR2 then blocks the event loop this long.
STALL_ENV = "LINESIDE_DEBUG_STALL_S"


class Notifier:
    """Sends sd_notify messages; a no-op without NOTIFY_SOCKET."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        addr = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if addr.startswith("@"):
            self.address = "\0" + addr[1:]  # abstract namespace
        elif addr.startswith("/"):
            self.address = addr
        elif addr:
            log.warning("NOTIFY_SOCKET=%r is neither a path nor @abstract: not notifying", addr)
        self.watchdog_s = _watchdog_seconds(env)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *fields: str) -> bool:
        """Send `KEY=value` lines as one datagram; False when not sent."""
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
                s.sendto("\n".join(fields).encode(), self.address)
            return True
        except OSError as e:  # systemd gone or socket not writable: never fatal
            log.warning("sd_notify to %s failed: %s", self.address.lstrip("\0"), e)
            return False

    def ready(self, status: str) -> None:
        self.notify("READY=1", f"STATUS={status}")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd >= 253 match the reload to this notification
        self.notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self) -> None:
        self.notify("STOPPING=1", "STATUS=stopping: flushing the queues")

    async def watchdog(self, healthy: Callable[[], bool] | None = None) -> None:
        """Ping at half the watchdog interval (sd_watchdog_enabled(3)) until cancelled;
        no ping while `healthy()` says no (polling stalled): systemd restarts us."""
        if self.watchdog_s is None or self.address is None:
            return
        period = self.watchdog_s / 2
        while True:
            if healthy is None or healthy():
                self.notify("WATCHDOG=1")
            await asyncio.sleep(period)


def _watchdog_seconds(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (e.g. a wrapper that exec'd us)
    try:
        value = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not an integer: no watchdog pings", usec)
        return None
    return value / 1e6 if value > 0 else None


def install_stall_drill(loop: asyncio.AbstractEventLoop,
                        env: Mapping[str, str] | None = None) -> bool:
    """With LINESIDE_DEBUG_STALL_S set, SIGUSR2 blocks the event loop that many seconds.

    A drill for the watchdog (`systemctl kill -s USR2 lineside` must end in a restart)
    and the test of it; without the variable SIGUSR2 keeps its default action.
    """
    env = os.environ if env is None else env
    raw = env.get(STALL_ENV)
    if not raw:
        return False
    try:
        seconds = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number: no stall drill", STALL_ENV, raw)
        return False

    def stall() -> None:
        log.warning("SIGUSR2: blocking the event loop for %gs (%s drill)", seconds, STALL_ENV)
        time.sleep(seconds)  # deliberately blocking: that is the drill

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGUSR2, stall)
        return True
    return False

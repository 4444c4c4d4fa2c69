"""`lineside run` under systemd's service protocol, with the real process and a real
NOTIFY_SOCKET (the datagram socket systemd would own):

- READY=1 only once the agent is up: its metrics endpoint answers and it polls the PLCs;
- WATCHDOG=1 every WATCHDOG_USEC/2 from the event loop, and none while the loop is
  blocked (the documented SIGUSR2 stall drill, LINESIDE_DEBUG_STALL_S);
- STOPPING=1 on SIGTERM, then exit 0.
"""

from __future__ import annotations

import signal
import socket
import time
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest

from tests.e2e.agent_proc import agent_config, http_get, start_agent, start_simulator

pytestmark = [pytest.mark.server, pytest.mark.slow]  # real time: waits for buckets

WATCHDOG_S = 0.6  # pings every 0.3 s
STALL_S = 1.0  # longer than WatchdogSec: systemd would kill the agent; 3 pings missed


class NotifySocket:
    """The receiving end of sd_notify: every datagram with its arrival time."""

    def __init__(self) -> None:
        self.name = f"@lineside-test-{uuid.uuid4().hex}"  # abstract: no path length limit
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.messages: list[tuple[float, str]] = []

    def _recv(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096).decode()
        except TimeoutError:
            return None
        self.messages.append((time.monotonic(), data))
        return data

    def wait_for(self, field: str, timeout: float) -> tuple[float, str]:
        """The first message carrying `field` (e.g. READY=1) within the timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            data = self._recv(left)
            if data is not None and field in data.split("\n"):
                return self.messages[-1]
        raise AssertionError(f"no {field} in {timeout}s; got {self.messages[-5:]}")

    def collect(self, seconds: float, until: Callable[[], bool] = lambda: False) -> None:
        """Every message for `seconds`, or until `until()` holds."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not until():
            self._recv(left)

    def pings(self, since: float = 0.0) -> list[float]:
        return [t for t, m in self.messages if "WATCHDOG=1" in m.split("\n") and t >= since]

    def close(self) -> None:
        self.sock.close()


def test_ready_watchdog_stall_and_stopping(tmp_path: Path) -> None:
    sim, mb, ua = start_simulator(tmp_path)
    notify = NotifySocket()
    agent = None
    try:
        cfg, data = agent_config(tmp_path, mb, ua, [])
        agent = start_agent(tmp_path, cfg, env={
            "NOTIFY_SOCKET": notify.name, "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6)),
            "LINESIDE_DEBUG_STALL_S": str(STALL_S)})
        ready_at, ready = notify.wait_for("READY=1", timeout=40)
        assert "STATUS=running: 5 devices" in ready
        # ready means up: the endpoint opened in the same start-up answers at once
        status, _ = http_get(f"http://{data['http']['listen']}/healthz")
        assert status == 200

        # periodic pings: over 2 s at one per 0.3 s about 6, never a gap of WatchdogSec
        notify.collect(2.0)
        pings = notify.pings(since=ready_at)
        assert len(pings) >= 5, notify.messages
        assert max(b - a for a, b in pairwise(pings)) < WATCHDOG_S

        # block the loop for 1 s: silence inside the stall, pings again after it (two
        # within 1.5 s)
        t_block = time.monotonic()
        agent.signal(signal.SIGUSR2)
        notify.collect(STALL_S + 1.5, until=lambda: len(notify.pings(t_block + STALL_S)) >= 2)
        during = [t for t in notify.pings(since=t_block) if t < t_block + STALL_S - 0.2]
        after = notify.pings(since=t_block + STALL_S)
        # at most one ping sent before the handler ran; none after it for the whole stall
        assert all(t < t_block + 0.2 for t in during), (t_block, during)
        assert len(after) >= 2, "pings did not resume after the stall"

        agent.signal(signal.SIGTERM)
        notify.wait_for("STOPPING=1", timeout=20)
        assert agent.wait(timeout=30) == 0, agent.output()[-2000:]
        assert f"SIGUSR2: blocking the event loop for {STALL_S:g}s" in agent.output()
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()
        notify.close()

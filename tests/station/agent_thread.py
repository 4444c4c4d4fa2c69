"""The real agent (lineside.runtime.hub.Agent) in a thread of the test, serving the
station and delivering to a real InfluxDB; the test plays the PLC by handing it samples
through `Agent.on_samples`, the path every driver's samples take."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.runtime.clock import REAL, Clock
from lineside.runtime.hub import Agent, AgentOptions
from lineside.samples import Quality, Sample
from lineside.station.users import UserStore
from tests.fixtures.common import free_port, wait_for
from tests.station.tree import station


def plant_config(state_dir: Path, influx_url: str, db: str, locale: str = "zh-CN"
                 ) -> LinesideConfig:
    """M1 and M2 on line L1; their device is polled once a day (the test is the PLC),
    and they never go stale between the test's samples."""
    ms = [{"id": m, "name": f"炸锅{m[-1]}", "automation": "automatic", "ideal_rate": 60,
           "source": "plc", "stale_after_s": 86400,
           "signals": {"running": {"address": 0, "type": "bool", "bit": 0},
                       "fault": {"address": 1, "type": "bool", "bit": 0},
                       "fault_code": {"address": 2, "type": "uint16"}}} for m in ("M1", "M2")]
    return LinesideConfig(**{
        "site": {"enterprise_id": "e1", "enterprise_name": "卤味食品", "site_id": "s1",
                 "region": "510114", "timezone": "Asia/Shanghai", "locale": locale},
        "state_dir": str(state_dir),
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1",
                     "port": free_port(), "interval_s": 86400, "timeout_s": 0.2}],
        "lines": [{"id": "L1", "name": "卤牛肉线", "stages": [
            {"id": "S1", "kind": "frying", "machines": ms}]}],
        "sinks": [{"id": "plant", "type": "influxdb-v1", "url": influx_url, "database": db,
                   "flush_interval_s": 0.2}],
        "http": {"enabled": False},
        "station": {**station(min_stop_s=1), "listen": f"127.0.0.1:{free_port()}"},
    })


class AgentThread:
    def __init__(self, cfg: LinesideConfig, clock: Clock = REAL) -> None:
        self.agent = Agent(cfg, options=AgentOptions(http=False, flush_timeout_s=5),
                           clock=clock)
        self.loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="agent")
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as e:  # reported by stop()
            self.error = e

    async def _main(self) -> None:
        await self.agent.start()
        try:
            await self._stop.wait()
        finally:
            await self.agent.stop()

    def start(self) -> AgentThread:
        self._thread.start()
        wait_for(lambda: (self.agent.station is not None and self.agent.station.port != 0)
                 or self.error is not None, timeout=30, what="agent and station up")
        assert self.error is None, self.error
        return self

    @property
    def url(self) -> str:
        return str(self.agent.station.url).rstrip("/")

    def call(self, fn: Any, *args: Any) -> Any:
        """Run fn(*args) in the agent's loop and return its result."""
        async def wrap() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(10)

    def plc(self, machine: str, running: bool, fault: bool = False, code: int = 0) -> float:
        """The PLC shows a state now: its samples through the agent; returns their time
        (the agent's clock: simulated time with a ScaledClock)."""
        t = self.agent.clock()
        samples: Sequence[Sample] = [
            Sample(f"{machine}.running", running, Quality.GOOD, t),
            Sample(f"{machine}.fault", fault, Quality.GOOD, t),
            Sample(f"{machine}.fault_code", code, Quality.GOOD, t)]
        self.call(self.agent.on_samples, samples)
        return t

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert self.error is None, self.error


def add_users(state_dir: Path, users: dict[str, tuple[str, str]]) -> None:
    """The station's users (name -> (role, password)) in `state_dir`."""
    store = UserStore(state_dir)
    for name, (role, pw) in users.items():
        store.add(name, role, pw)


@contextlib.contextmanager
def running(cfg: LinesideConfig, db: str,
            users: dict[str, tuple[str, str]]) -> Iterator[AgentThread]:
    """The agent on `cfg` with the station's `users`, stopped at the end; `.db`: the
    InfluxDB database it writes to."""
    add_users(cfg.state_dir, users)
    a = AgentThread(cfg).start()
    a.db = db  # type: ignore[attr-defined]
    try:
        yield a
    finally:
        a.stop()

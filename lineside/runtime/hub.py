"""The agent: drivers -> engine -> delivery, scheduled by `Timers`, stopped cleanly.

The hub wires and schedules; each other job lives where its name says:
- the way of a point after the engine (HACCP chain, every queue, refusals, delivery
  health): `sinks/pipeline.Delivery`, the only path to the queues;
- clock jobs (bucket and shift closes on the engine's calendar, housekeeping):
  runtime/schedule.py; waits on the monotonic clock: runtime/timers.py;
- `/healthz`, `/readyz`, the watchdog: runtime/probes.py; metrics: runtime/metrics.py;
- what a reload changes: runtime/reload.py; the engine state at start:
  runtime/restore.py; systemd: runtime/systemd.py; GC tuning: runtime/heap.py.

Here: one poll job per polled device (a run still going skips that boundary: a slow
PLC skips its own cycles, never delays another's); subscription devices (OPC UA
`mode: subscribe`) deliver through `emit` on their own. A wall-clock step (Timers'
detector) is handed to the engine (`Engine.clock_step`, docs/engine.md), counted in
`lineside_clock_steps_total` and logged once. Samples stamped later than the wall clock
(a poll that started before a backward step, a PLC whose clock is ahead) are taken as
read now: no point is ever stamped in the future.

Shutdown (SIGTERM/SIGINT): stop jobs and drivers, close the open bucket, snapshot,
flush the queues within a deadline, exit 0. SIGHUP: reload (see `reload`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import operator
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.drivers.base import Driver
from lineside.points import Point
from lineside.runtime import probes
from lineside.runtime.clock import REAL, Clock, WallClock, wait_for
from lineside.runtime.heap import freeze_heap, thaw_heap
from lineside.runtime.reload import changed_devices
from lineside.runtime.restore import load_snapshot
from lineside.runtime.schedule import CLOCK_JOBS, schedule_clock_jobs
from lineside.runtime.systemd import Notifier
from lineside.runtime.timers import Timers
from lineside.runtime.wiring import build_drivers
from lineside.samples import Quality, Sample

if TYPE_CHECKING:  # imported by start() when the agent runs
    from lineside.config.models import Device
    from lineside.engine.core import Engine
    from lineside.runtime.http import MetricsServer
    from lineside.runtime.metrics import AgentMetrics
    from lineside.samplelog import SampleLog
    from lineside.sinks.pipeline import Delivery
    from lineside.sinks.sinkset import SinkSet

log = logging.getLogger("lineside.agent")

_TS = operator.attrgetter("ts")
FUTURE_TOLERANCE_S = 1.0  # a sample stamped later than this ahead of the wall clock


@dataclass
class AgentOptions:
    bucket_grace_s: float = 2.0  # wait this long after a boundary for in-flight polls
    flush_timeout_s: float = 10.0  # shutdown deadline for draining queues
    http: bool = True
    restore_snapshot: bool = True
    # Phase of poll cycles within their interval grid (Telegraf's collection_offset).
    collection_offset_s: float = 0.0


class Agent:
    def __init__(self, cfg: LinesideConfig, config_path: Path | None = None,
                 options: AgentOptions | None = None,
                 clock: Clock | Callable[[], float] = REAL) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.options = options or AgentOptions()
        # the agent's time (runtime/clock.py); a bare function is a fixed or faked wall
        # clock with real waits (tests of the data path)
        self.time: Clock = clock if not callable(clock) else WallClock(clock)
        self.clock: Callable[[], float] = self.time.wall
        # Built by start() (imported there: `lineside check` and the tests construct an
        # Agent without loading the engine, the sinks or prometheus_client).
        self.engine: Engine | None = None
        self.sinks: SinkSet | None = None
        self.delivery: Delivery | None = None
        self.drivers: list[Driver] = []
        self._subscribed: list[Driver] = []  # drivers delivering by subscription
        self.metrics: AgentMetrics | None = None
        self.scheduler: Timers | None = None
        self._http: MetricsServer | None = None
        self._sink_task: asyncio.Task[None] | None = None
        self._sample_log: SampleLog | None = None
        self._stop = asyncio.Event()
        self.station: Any = None  # the operator station's server, with `station:` only
        self._listeners: list[Callable[[Sequence[Point]], None]] = []
        self.started_ts: float | None = None
        # device id -> timestamp of its last completed poll cycle (samples delivered)
        self.cycle_done: dict[str, float] = {}
        self._widths: dict[str, int] = {}  # signal key -> integer width drivers learned
        self._widths_seen: dict[str, dict[str, int]] = {}  # device id -> its last widths
        self.future_samples = 0  # samples restamped to now (see FUTURE_TOLERANCE_S)
        # polled device id -> monotonic time its last cycle completed (or was scheduled)
        self._cycle_mono: dict[str, float] = {}

    # -- data path ---------------------------------------------------------------------
    def wire(self, sinks: SinkSet, engine: Engine) -> Delivery:
        """The data path: engine -> `Delivery` -> `sinks` (start() calls it; tests that
        drive the data path without drivers, timers or HTTP too)."""
        from lineside.sinks.pipeline import Delivery

        self.sinks, self.engine = sinks, engine
        self.delivery = Delivery(
            sinks, Path(self.cfg.state_dir), snapshot=self._engine_state,
            device_of={m.id: m.source for _, _, m, _ in iter_machines(self.cfg.lines)})
        for fn in self._listeners:
            self.delivery.add_listener(fn)
        return self.delivery

    def _engine_state(self) -> bytes:
        assert self.engine is not None
        return json.dumps(self.engine.snapshot()).encode()

    def on_samples(self, samples: Sequence[Sample], drv: Driver | None = None) -> None:
        """Samples from any driver: through the engine, points into the durable queues."""
        if drv is not None:
            self._learn_widths(drv)
        if not samples:
            return
        limit = self.clock() + FUTURE_TOLERANCE_S
        if max(map(_TS, samples)) > limit:  # (map: no Python-level loop per sample)
            now = limit - FUTURE_TOLERANCE_S
            samples = [s if s.ts <= limit else replace(s, ts=now) for s in samples]
            self.future_samples += sum(1 for s in samples if s.ts == now)
        if self._sample_log is not None:
            self._sample_log.write(samples)
        assert self.engine is not None  # built by start()
        self._deliver(self.engine.feed(samples))
        for r in self.engine.take_refusals():  # each signal and reason once (docs/engine.md)
            log.warning("device %s: %s value %s of %s refused (%s) and taken as BAD quality; "
                        "later ones are counted in lineside_engine_samples_refused_total",
                        r.device, r.kind, r.value, r.signal, r.reason,
                        # once per signal and reason already: the limiter, which keys
                        # on device and template, would keep only a device's first
                        extra={"device": r.device, "every": True})

    def _deliver(self, points: Sequence[Point]) -> None:
        assert self.delivery is not None
        self.delivery.deliver(points)

    def _learn_widths(self, drv: Driver) -> None:
        """Integer widths a driver learned at connect (OPC UA DataType) -> the engine.

        The engine is sans-I/O: the widths reach it as data, before the samples read
        with them; kept here so that a reloaded engine gets them too.
        """
        bits = getattr(drv, "integer_bits", None)
        if bits and bits is not self._widths_seen.get(drv.device_id):
            self._widths_seen[drv.device_id] = bits
            self._widths.update(bits)
            assert self.engine is not None
            self.engine.learn_counter_bits(bits)
            if self._sample_log is not None:  # so that a replay counts the same way
                self._sample_log.write_widths(bits)

    def tick(self, now: float | None = None) -> None:
        assert self.engine is not None
        self._deliver(self.engine.tick(self.clock() if now is None else now))

    def add_listener(self, fn: Callable[[Sequence[Point]], None]) -> None:
        """`fn(points)` after every delivery, with the points as queued."""
        self._listeners.append(fn)
        if self.delivery is not None:
            self.delivery.add_listener(fn)

    @property
    def metrics_url(self) -> str | None:
        """`http://host:port/metrics` of the running endpoint (port 0 resolved), or None."""
        if self._http is None:
            return None
        host = self._http.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self._http.port}/metrics"

    # -- life cycle --------------------------------------------------------------------
    async def start(self) -> None:
        from lineside.engine.core import Engine
        from lineside.runtime.metrics import AgentMetrics
        from lineside.sinks.sinkset import SinkSet

        cfg = self.cfg
        state_dir = Path(cfg.state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        now = self.clock()
        self.started_ts = now
        # identity: the bureau uplink stamps enterprise id and region on what it carries
        sinks = SinkSet(cfg.sinks, state_dir,
                        identity=(cfg.site.enterprise_id, cfg.site.region))
        snap = (load_snapshot(sinks.load_state(), state_dir, now)
                if self.options.restore_snapshot else None)
        delivery = self.wire(sinks, Engine(cfg, now, snapshot=snap))
        self._sink_task = asyncio.create_task(sinks.run(), name="sinks")
        if cfg.ccps or delivery.chain_exists:
            delivery.start_chain()  # re-queues records a kill left linked but not queued
        if cfg.record_samples is not None:
            from lineside.samplelog import SampleLog

            self._sample_log = SampleLog(Path(cfg.record_samples))
        self.metrics = AgentMetrics(clock=self.clock)
        self.metrics.register(cfg)
        if self.options.http and cfg.http.enabled:
            from lineside.runtime.http import MetricsServer

            self._http = MetricsServer(self.metrics.registry, cfg.http.listen,
                                       ready=self._readiness, alive=self._liveness)
            await self._http.start()
        self.scheduler = Timers(on_step=self._on_clock_step, clock=self.time)
        assert self.engine is not None  # wire() set it
        if self.engine.now > now + FUTURE_TOLERANCE_S:
            # stopped while the clock was ahead, started after it was set back: the same
            # rule as a step while running (never rewrite, never stamp the future)
            log.warning("engine snapshot is %.0f s ahead of the wall clock: taken as a "
                        "clock step", self.engine.now - now)
            self._deliver(self.engine.clock_step(now))
        self._schedule_clock_jobs()
        await self._start_drivers(build_drivers(cfg, clock=self.time.wall))
        freeze_heap()
        self.scheduler.start()
        if cfg.station is not None:  # imported only then: aiohttp, Jinja2, argon2
            try:
                from lineside.station.server import StationServer
            except ImportError as e:
                raise RuntimeError(f"station: needs the station extra (pip install "
                                   f"'lineside[station]'): {e}") from e

            self.station = StationServer(self)
            await self.station.start()
        log.info("agent started: %d devices, %d lines, sinks %s", len(self.drivers),
                 len(cfg.lines), [s.id for s in cfg.sinks] or ["local"])

    def _schedule_clock_jobs(self) -> None:
        assert self.scheduler is not None
        schedule_clock_jobs(self.scheduler, self.cfg, grace_s=self.options.bucket_grace_s,
                            collection_offset_s=self.options.collection_offset_s,
                            tick=self._job_tick, housekeeping=self._job_housekeeping)

    async def _start_drivers(self, drivers: list[Driver]) -> None:
        assert self.scheduler is not None
        devices = {d.id: d for d in self.cfg.devices}
        for drv in drivers:
            self.drivers.append(drv)
            dev = devices[drv.device_id]
            if getattr(dev, "mode", "poll") == "subscribe":
                def emit(samples: Sequence[Sample], d: Driver = drv) -> None:
                    self.on_samples(samples, d)

                await drv.start(emit)
                self._subscribed.append(drv)
                continue
            # Cycles aligned to multiples of the interval (Telegraf's round_interval): every
            # device samples on the same wall-clock grid, so buckets see whole cycles.
            self.scheduler.every(f"poll-{drv.device_id}", dev.interval_s, self._job_poll,
                                 drv, dev, offset_s=self.options.collection_offset_s)
            self._cycle_mono[drv.device_id] = self.time.monotonic()
            # (no immediate first run: it would set the phase of every later cycle)

    async def _job_poll(self, drv: Driver, dev: Device) -> None:
        try:
            await self._poll(drv, dev)
        finally:  # a cycle that failed still completed: scheduling is alive
            self._cycle_mono[drv.device_id] = self.time.monotonic()

    async def _poll(self, drv: Driver, dev: Device) -> None:
        t0 = time.perf_counter()
        guard = max(dev.interval_s, dev.timeout_s) * 5 + 5
        try:
            samples = await asyncio.wait_for(drv.poll(), timeout=guard)
        except TimeoutError:
            log.error("poll of %s exceeded %.0fs; the driver did not time out by itself",
                      drv.device_id, guard, extra={"device": drv.device_id})
            return
        except Exception:
            log.exception("poll of %s failed", drv.device_id, extra={"device": drv.device_id})
            return
        self.on_samples(samples, drv)
        if samples:
            self.cycle_done[drv.device_id] = samples[0].ts
        assert self.metrics is not None
        self.metrics.observe_poll(drv.device_id, time.perf_counter() - t0, drv.stats)

    async def _job_tick(self) -> None:
        self.tick()

    async def _job_housekeeping(self) -> None:
        assert self.delivery is not None and self.metrics is not None
        assert self.sinks is not None and self.engine is not None
        self.metrics.update_sinks(self.sinks.stats())
        self.metrics.update_engine(self.engine.stats)
        self.metrics.update_ccps(self.engine.ccp_view())
        self._take_lot_commands()
        self.delivery.housekeeping()  # held records, chain marks, the engine state
        self.metrics.update_refusals(self.delivery.refusals.counts)
        chain = self.delivery.chain
        if chain is not None:
            self.metrics.update_chain(chain.held, chain.disk_error, chain.dropped)
        for drv in self._subscribed:  # subscription drivers report their health here
            self.metrics.observe_poll(drv.device_id, None, drv.stats)

    def _take_lot_commands(self) -> None:
        """`lineside lot start|end` commands and HACCP entries waiting in the state
        folder (lotinbox.py): each an `@lot` / `@haccp.entry` sample through on_samples,
        so the sample log has it."""
        from lineside.engine.actions import EVENT_SIGNAL as ENTRY_SIGNAL
        from lineside.engine.lots import EVENT_SIGNAL
        from lineside.runtime.lotinbox import HACCP_INBOX, take

        engine = self.engine
        assert engine is not None

        def apply(value: str) -> None:
            self.on_samples([Sample(EVENT_SIGNAL, value, Quality.GOOD, self.clock())])

        try:
            _, refused = take(self.cfg.state_dir, engine.lots.refusal, apply)
        except OSError as e:
            log.warning("lot commands in %s/lot-inbox cannot be taken: %s",
                        self.cfg.state_dir, e)
            return
        for name, why in refused:
            log.warning("lot command %s refused: %s", name, why)
        if engine.actions is None:
            return

        def apply_entry(value: str) -> None:
            self.on_samples([Sample(ENTRY_SIGNAL, value, Quality.GOOD, self.clock())])

        try:
            _, refused = take(self.cfg.state_dir, engine.actions.refusal, apply_entry,
                              HACCP_INBOX)
        except OSError as e:
            log.warning("HACCP entries in %s/%s cannot be taken: %s", self.cfg.state_dir,
                        HACCP_INBOX, e)
            return
        for name, why in refused:
            log.warning("HACCP entry %s refused: %s", name, why)

    # -- time and health -----------------------------------------------------------------
    def _on_clock_step(self, expected: float, actual: float) -> None:
        """The wall clock stepped (Timers' detector): the engine follows by its rule."""
        if self.metrics is not None:
            self.metrics.clock_steps.inc()
        if self.engine is not None:
            self._deliver(self.engine.clock_step(actual))

    def stall_s(self, dev: Device) -> float:
        """A polled device with no completed cycle for this long means scheduling stalled
        (a hung poll is cut after 5 x max(interval, timeout) + 5 s, so a dead PLC never
        gets here)."""
        return 6 * max(dev.interval_s, dev.timeout_s) + 10

    def _liveness(self) -> dict[str, Any]:
        return probes.liveness(self._cycle_mono, {d.id: d for d in self.cfg.devices},
                               self.stall_s, self.time.monotonic(),
                               self.delivery.health if self.delivery else None,
                               self._sink_task)

    def _readiness(self) -> dict[str, Any]:
        assert self.metrics is not None
        stale = max([3 * d.interval_s + 10 for d in self.cfg.devices] or [60])
        return probes.readiness(self.metrics, stale,
                                self.delivery.health if self.delivery else None)

    async def stop(self) -> None:
        """Stop polling, close the open bucket, snapshot, flush within the deadline."""
        if self.station is not None:  # no classification after the engine's last points
            await self.station.stop()
            self.station = None
        if self.scheduler is not None and self.scheduler.running:
            await self.scheduler.stop()
        for drv in self.drivers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(drv.close(), timeout=5)
        if self.engine is not None and self.delivery is not None:
            self._deliver(self.engine.close_open(self.clock()))
            self.delivery.deliver([], force_chain=True)  # a last try for held records
            self.delivery.save_state()
        if self._sample_log is not None:
            self._sample_log.close()
        if self.sinks is not None:
            drained = await self.sinks.flush(self.options.flush_timeout_s)
            if not drained:
                log.warning("shutdown: queue not drained within %.0fs; points stay queued on "
                            "disk and are sent at the next start", self.options.flush_timeout_s)
            if self._sink_task is not None:
                self._sink_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._sink_task
            await self.sinks.close()  # (writes what the queues held, if the disk takes it)
        if self.delivery is not None:
            self.delivery.close()  # an ERROR with the count of records still held (lost)
        if self._http is not None:
            await self._http.stop()
        thaw_heap()

    # -- reload ------------------------------------------------------------------------
    async def reload(self) -> bool:
        """Re-read the config; apply it, or keep the running one with a clear error."""
        if self.config_path is None:
            return False
        assert self.metrics is not None and self.engine is not None  # started
        try:
            new = load_config(self.config_path)
        except ConfigError as e:
            log.error("reload rejected, still running the previous configuration:\n%s",
                      e.render())
            self.metrics.record_reload(False)
            return False
        changed = changed_devices(self.cfg, new)
        # engine: carry the state of every machine over (snapshot), rebuilt on the new model
        now = self.clock()
        self._deliver(self.engine.tick(now))
        snap = self.engine.snapshot()
        from lineside.engine.core import Engine

        self.engine = Engine(new, now, snapshot=snap)
        self.engine.learn_counter_bits(self._widths)
        assert self.scheduler is not None and self.delivery is not None
        self.delivery.refusals.device_of = {
            m.id: m.source for _, _, m, _ in iter_machines(new.lines)}
        for drv in [d for d in self.drivers if d.device_id in changed]:
            with contextlib.suppress(Exception):
                self.scheduler.remove(f"poll-{drv.device_id}")
            with contextlib.suppress(Exception):
                await drv.close()
            self.drivers.remove(drv)
            self._cycle_mono.pop(drv.device_id, None)
            if drv in self._subscribed:
                self._subscribed.remove(drv)
        self.cfg = new
        for name in list(self.scheduler.jobs):
            if name.startswith(CLOCK_JOBS):
                self.scheduler.remove(name)
        self._schedule_clock_jobs()
        if changed & {d.id for d in new.devices}:
            await self._start_drivers(build_drivers(new, only=changed,
                                                    clock=self.time.wall))
        self.metrics.register(new)
        freeze_heap()
        self.metrics.record_reload(True)
        log.info("reloaded %s: devices restarted: %s", self.config_path, sorted(changed) or "none")
        return True

    # -- run until a signal ------------------------------------------------------------
    async def run_forever(self, duration_s: float | None = None,
                          notifier: Notifier | None = None) -> None:
        """Run until a signal or `duration_s`; tell systemd (sd_notify) where we are."""
        notifier = notifier or Notifier({})
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self._stop.set)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP,
                                    lambda: asyncio.ensure_future(self._notified_reload(notifier)))
        # pinging from the start: a start-up that hangs is caught too
        watchdog = asyncio.create_task(
            notifier.watchdog(lambda: self._liveness()["status"] == "ok"), name="watchdog")
        try:
            await self.start()  # config loaded, sinks open, drivers started
            notifier.ready(f"running: {len(self.drivers)} devices, "
                           f"{len(self.cfg.lines)} lines")
            if duration_s is None:
                await self._stop.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await wait_for(self._stop.wait(), duration_s, self.time)
        finally:
            notifier.stopping()
            try:
                await self.stop()
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog

    async def _notified_reload(self, notifier: Notifier) -> None:
        notifier.reloading()
        try:
            await self.reload()
        finally:  # a rejected file leaves the previous config running: still ready
            notifier.ready(f"running: {len(self.drivers)} devices, "
                           f"{len(self.cfg.lines)} lines")


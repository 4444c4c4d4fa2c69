"""The agent: drivers -> engine -> sinks, scheduled by `Timers`, stopped cleanly.

Jobs (runtime/timers.py: wall-clock boundaries, monotonic waits, clock-step proof):
- one poll job per polled device: a run still going skips that boundary (a slow PLC
  skips its own cycles, never delays another's);
- a bucket-close job on every wall-clock bucket boundary (plus a grace for in-flight
  polls) and a shift-close job at every shift end of the calendar: both `engine.tick()`;
- a housekeeping job: metrics from sinks/engine, engine snapshot to the state dir.

A wall-clock step (Timers' detector) is handed to the engine (`Engine.clock_step`, the
rule in docs/engine.md), counted in `lineside_clock_steps_total` and logged once.
Samples stamped later than the wall clock (a poll that started before a backward step,
a PLC whose clock is ahead) are taken as read now: no point is ever stamped in the
future. `/healthz` fails when a polled device completed no cycle for `stall_s` (the
scheduling stopped), so the systemd watchdog and orchestrators see a stall.

Subscription devices (OPC UA `mode: subscribe`) deliver through `emit` on their own.
Shutdown (SIGTERM/SIGINT): stop jobs and drivers, close the open bucket, snapshot,
flush the queues within a deadline, exit 0. SIGHUP: reload (see `reload`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import operator
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.drivers.base import Driver
from lineside.haccp.chain import RECORD_MEASUREMENTS
from lineside.points import Point, Refusal
from lineside.runtime.systemd import Notifier
from lineside.runtime.timers import Timers
from lineside.runtime.wiring import build_drivers
from lineside.samples import Sample
from lineside.sinks.refusals import Refusals

if TYPE_CHECKING:  # imported by start() when the agent runs
    from lineside.config.models import Device
    from lineside.engine.core import Engine
    from lineside.runtime.http import MetricsServer
    from lineside.runtime.metrics import AgentMetrics
    from lineside.samplelog import SampleLog
    from lineside.sinks.chainstore import ChainStore
    from lineside.sinks.sinkset import SinkSet

log = logging.getLogger("lineside.agent")

SNAPSHOT_FILE = "engine-state.json"  # before issue 14: read once, never written
_CLOSES = frozenset(("oee", "oee_shift"))
_TS = operator.attrgetter("ts")
_MEASUREMENT = operator.attrgetter("measurement")
CHAIN_FILE = "haccp-chain.db"
FUTURE_TOLERANCE_S = 1.0  # a sample stamped later than this ahead of the wall clock
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.config_path = config_path
        self.options = options or AgentOptions()
        self.clock = clock
        # Built by start() (imported there: `lineside check` and the tests construct an
        # Agent without loading the engine, the sinks or prometheus_client).
        self.engine: Engine | None = None
        self.sinks: SinkSet | None = None
        self.drivers: list[Driver] = []
        self._subscribed: list[Driver] = []  # drivers delivering by subscription
        self.metrics: AgentMetrics | None = None
        self.scheduler: Timers | None = None
        self._http: MetricsServer | None = None
        self._sink_task: asyncio.Task[None] | None = None
        self._sample_log: SampleLog | None = None
        self._chain: ChainStore | None = None  # HACCP chain store, opened with the first record
        self._chain_unmarked = False  # records queued but not yet marked so in the chain file
        self.refusals = Refusals({m.id: m.source for _, _, m, _ in iter_machines(cfg.lines)})
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
        self._deliver(self.engine.feed(samples))
        for r in self.engine.take_refusals():  # each signal and reason once (docs/engine.md)
            log.warning("device %s: %s value %s of %s refused (%s) and taken as BAD quality; "
                        "later ones are counted in lineside_engine_samples_refused_total",
                        r.device, r.kind, r.value, r.signal, r.reason,
                        extra={"device": r.device})

    def _learn_widths(self, drv: Driver) -> None:
        """Integer widths a driver learned at connect (OPC UA DataType) -> the engine.

        The engine is sans-I/O: the widths reach it as data, before the samples read
        with them; kept here so that a reloaded engine gets them too.
        """
        bits = getattr(drv, "integer_bits", None)
        if bits and bits is not self._widths_seen.get(drv.device_id):
            self._widths_seen[drv.device_id] = bits
            self._widths.update(bits)
            self.engine.learn_counter_bits(bits)
            if self._sample_log is not None:  # so that a replay counts the same way
                self._sample_log.write_widths(bits)

    def tick(self, now: float | None = None) -> None:
        self._deliver(self.engine.tick(self.clock() if now is None else now))

    def _deliver(self, points: Sequence[Point], force_chain: bool = False) -> None:
        chain = self._chain
        held = chain is not None and chain.held > 0
        if not points and not held:
            return
        kinds = set(map(_MEASUREMENT, points))  # one C-level pass, not one per test
        refused: list[Refusal] = []
        if held or not kinds.isdisjoint(RECORD_MEASUREMENTS):
            # HACCP records: linked (durably) before they are queued. While the disk
            # refuses the chain's writes the store holds them and returns the rest, and
            # returns the held ones first once it takes writes (docs/haccp.md).
            points = self._chain_store().link(points, force=force_chain, refused=refused)
            if refused:  # (the store logs each record it refuses)
                self.refusals.add("chain", refused, log_each=False)
                refused = []
            if not points:
                return
            kinds = set(map(_MEASUREMENT, points))
        chained = not kinds.isdisjoint(RECORD_MEASUREMENTS)
        # The engine state goes in the same transaction as points that close a bucket
        # or shift (or chain records): a kill never leaves queued points newer than the
        # state a restart resumes from (docs/delivery.md).
        state = None
        if chained or not kinds.isdisjoint(_CLOSES):
            state = json.dumps(self.engine.snapshot()).encode()
        self.sinks.enqueue(points, state=state, refused=refused)
        if refused:
            self.refusals.add("lineproto", refused)
        if chained:
            self._chain_unmarked = True
            self._mark_chain()
        for listener in self._listeners:
            listener(points)

    def _mark_chain(self) -> None:
        """Mark the linked records queued once every queue has them in its file: records
        a queue holds in memory (its disk refuses) are not durable, and a kill before they
        are written must leave them unmarked, so that the next start queues them again
        from the chain file."""
        if self._chain_unmarked and self._chain is not None and not self.sinks.holding:
            self._chain_unmarked = not self._chain.mark_enqueued()

    def _chain_store(self) -> ChainStore:
        if self._chain is None:
            from lineside.sinks.chainstore import ChainStore

            self._chain = ChainStore(Path(self.cfg.state_dir) / CHAIN_FILE)
            again = self._chain.unqueued()  # linked, then killed before it was queued
            if again:
                self.sinks.enqueue(again)
                self._chain_unmarked = True
                self._mark_chain()
        return self._chain

    def add_listener(self, fn: Callable[[Sequence[Point]], None]) -> None:
        self._listeners.append(fn)

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
        Path(cfg.state_dir).mkdir(parents=True, exist_ok=True)
        now = self.clock()
        self.started_ts = now
        # identity: the bureau uplink stamps enterprise id and region on what it carries
        self.sinks = SinkSet(cfg.sinks, Path(cfg.state_dir),
                             identity=(cfg.site.enterprise_id, cfg.site.region))
        self.engine = Engine(cfg, now, snapshot=self._load_snapshot())
        self._sink_task = asyncio.create_task(self.sinks.run(), name="sinks")
        if cfg.ccps or (Path(cfg.state_dir) / CHAIN_FILE).exists():
            self._chain_store()  # re-queues records a kill left linked but not queued
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
        self.scheduler = Timers(wall=self.clock, on_step=self._on_clock_step)
        if self.engine.now > now + FUTURE_TOLERANCE_S:
            # stopped while the clock was ahead, started after it was set back: the same
            # rule as a step while running (never rewrite, never stamp the future)
            log.warning("engine snapshot is %.0f s ahead of the wall clock: taken as a "
                        "clock step", self.engine.now - now)
            self._deliver(self.engine.clock_step(now))
        self._schedule_clock_jobs()
        await self._start_drivers(build_drivers(cfg))
        _freeze_heap()
        self.scheduler.start()
        if cfg.station is not None:  # imported only then: aiohttp, Jinja2, argon2
            from lineside.station.server import StationServer

            self.station = StationServer(self)
            await self.station.start()
        log.info("agent started: %d devices, %d lines, sinks %s", len(self.drivers),
                 len(cfg.lines), [s.id for s in cfg.sinks] or ["local"])

    def _schedule_clock_jobs(self) -> None:
        assert self.scheduler is not None
        cfg = self.cfg
        b = cfg.metrics.bucket_s
        self.scheduler.every("bucket-close", b, self._job_tick,
                             offset_s=self.options.bucket_grace_s)
        for shift in cfg.calendar.shifts:
            days = [_DAYS[(_DAYS.index(d) + (1 if shift.overnight else 0)) % 7]
                    for d in shift.weekdays]
            end = (datetime.combine(datetime(2000, 1, 1), shift.end)
                   + timedelta(seconds=self.options.bucket_grace_s))
            self.scheduler.at(f"shift-close-{shift.name}", _cron(CronTrigger(
                day_of_week=",".join(days), hour=end.hour, minute=end.minute, second=end.second,
                timezone=cfg.site.timezone)), self._job_tick)
        # Between two poll boundaries, never on one: its synchronous stretch (the engine
        # snapshot) would delay every poll's start, i.e. its sample timestamps, and the
        # engine counters it publishes would count some of that boundary's polls.
        # (APScheduler ran it at the start-up's phase of the second.)
        fastest = min([d.interval_s for d in cfg.devices] + [5.0])
        self.scheduler.every("housekeeping", 5, self._job_housekeeping,
                             offset_s=self.options.collection_offset_s + fastest / 2)

    async def _start_drivers(self, drivers: list[Driver]) -> None:
        assert self.scheduler is not None
        devices = {d.id: d for d in self.cfg.devices}
        for drv in drivers:
            self.drivers.append(drv)
            dev = devices[drv.device_id]
            if getattr(dev, "mode", "poll") == "subscribe":
                await drv.start(lambda samples, d=drv: self.on_samples(samples, d))
                self._subscribed.append(drv)
                continue
            # Cycles aligned to multiples of the interval (Telegraf's round_interval): every
            # device samples on the same wall-clock grid, so buckets see whole cycles.
            self.scheduler.every(f"poll-{drv.device_id}", dev.interval_s, self._job_poll,
                                 drv, dev, offset_s=self.options.collection_offset_s)
            self._cycle_mono[drv.device_id] = time.monotonic()
            # (no immediate first run: it would set the phase of every later cycle)

    async def _job_poll(self, drv: Driver, dev: Device) -> None:
        try:
            await self._poll(drv, dev)
        finally:  # a cycle that failed still completed: scheduling is alive
            self._cycle_mono[drv.device_id] = time.monotonic()

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
        self.metrics.observe_poll(drv.device_id, time.perf_counter() - t0, drv.stats)

    async def _job_tick(self) -> None:
        self.tick()

    async def _job_housekeeping(self) -> None:
        self.metrics.update_sinks(self.sinks.stats())
        self.metrics.update_engine(self.engine.stats)
        self.metrics.update_refusals(self.refusals.counts)
        self.metrics.update_ccps(self.engine.ccp_view())
        self._deliver([])  # HACCP records held while the disk refused: linked once it takes them
        self._mark_chain()  # ... and marked queued once the queues wrote what they held
        if self._chain is not None:
            self.metrics.update_chain(self._chain.held, self._chain.disk_error,
                                      self._chain.dropped)
        for drv in self._subscribed:  # subscription drivers report their health here
            self.metrics.observe_poll(drv.device_id, None, drv.stats)
        self._save_snapshot()

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
        """`/healthz`: ok while every polled device completes cycles (monotonic time)."""
        mono = time.monotonic()
        devices = {d.id: d for d in self.cfg.devices}
        stalled = {}
        for dev_id, since in self._cycle_mono.items():
            dev = devices.get(dev_id)
            if dev is not None and mono - since > self.stall_s(dev):
                stalled[dev_id] = round(mono - since, 1)
        if stalled:
            return {"status": "stalled", "no_cycle_completed_for_s": stalled}
        return {"status": "ok"}

    def _readiness(self) -> dict[str, Any]:
        stale = max([3 * d.interval_s + 10 for d in self.cfg.devices] or [60])
        return self.metrics.readiness(poll_stale_s=stale)

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
        if self.engine is not None:
            self._deliver(self.engine.close_open(self.clock()))
            self._deliver([], force_chain=True)  # a last try for held HACCP records
            self._save_snapshot()
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
            self._mark_chain()
        if self._chain is not None:
            self._chain.close()  # an ERROR with the count of records still held (lost)
        if self._http is not None:
            await self._http.stop()
        _thaw_heap()

    # -- reload ------------------------------------------------------------------------
    async def reload(self) -> bool:
        """Re-read the config; apply it, or keep the running one with a clear error."""
        if self.config_path is None:
            return False
        try:
            new = load_config(self.config_path)
        except ConfigError as e:
            log.error("reload rejected, still running the previous configuration:\n%s",
                      e.render())
            self.metrics.record_reload(False)
            return False
        old = self.cfg
        changed = {d.id for d in new.devices} ^ {d.id for d in old.devices}
        olddev = {d.id: d for d in old.devices}
        changed |= {d.id for d in new.devices if olddev.get(d.id) != d}
        old_sig = _signals(old)
        new_sig = _signals(new)
        changed |= {dev for dev in set(old_sig) | set(new_sig)
                    if old_sig.get(dev) != new_sig.get(dev)}
        # engine: carry the state of every machine over (snapshot), rebuilt on the new model
        now = self.clock()
        self._deliver(self.engine.tick(now))
        snap = self.engine.snapshot()
        from lineside.engine.core import Engine

        self.engine = Engine(new, now, snapshot=snap)
        self.engine.learn_counter_bits(self._widths)
        assert self.scheduler is not None
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
            if name == "bucket-close" or name.startswith(("shift-close-", "housekeeping")):
                self.scheduler.remove(name)
        self._schedule_clock_jobs()
        if changed & {d.id for d in new.devices}:
            await self._start_drivers(build_drivers(new, only=changed))
        self.metrics.register(new)
        _freeze_heap()
        self.metrics.record_reload(True)
        log.info("reloaded %s: devices restarted: %s", self.config_path, sorted(changed) or "none")
        return True

    # -- snapshot ----------------------------------------------------------------------
    def _snapshot_path(self) -> Path:
        return Path(self.cfg.state_dir) / SNAPSHOT_FILE

    def _load_snapshot(self) -> dict[str, Any] | None:
        """The engine state committed with the queued points (the queues' newest); the
        file of older versions only when no queue holds one."""
        if not self.options.restore_snapshot:
            return None
        data = self.sinks.load_state()
        if data is not None:
            try:
                return json.loads(data)
            except ValueError as e:
                log.error("engine snapshot in the queue unreadable (%s); starting fresh", e)
                return None
        p = self._snapshot_path()
        if not p.exists():
            return None
        try:
            return json.loads(p.read_text())
        except (OSError, ValueError) as e:
            bad = p.with_suffix(f".corrupt-{int(self.clock())}")
            with contextlib.suppress(OSError):
                p.rename(bad)
            log.error("engine snapshot %s unreadable (%s); moved to %s, starting fresh",
                      p, e, bad)
            return None

    def _save_snapshot(self) -> None:
        """The engine state alone (housekeeping, shutdown), committed in every queue."""
        try:
            self.sinks.enqueue([], state=json.dumps(self.engine.snapshot()).encode())
        except Exception as e:  # the queue logs its disk trouble; the state follows later
            log.error("cannot save the engine snapshot: %s", e)

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
                    await asyncio.wait_for(self._stop.wait(), timeout=duration_s)
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


def _cron(trigger: CronTrigger) -> Callable[[float], float]:
    """A calendar trigger as Timers' next_after(wall) (APScheduler's date arithmetic)."""
    def next_after(wall: float) -> float:
        after = datetime.fromtimestamp(wall + 1, UTC)
        nxt = trigger.get_next_fire_time(None, after)
        return nxt.timestamp() if nxt is not None else wall + 86400 * 366
    return next_after


GC_YOUNG_THRESHOLD = 10_000


def _freeze_heap() -> None:
    """Move everything built so far (configuration, engine, drivers: long-lived) out of
    the garbage collector's sight, and let it wait for 10,000 net new objects instead
    of 700 before a young collection. A poll cycle makes thousands of short-lived
    samples and points: the default collected ~40 times a 10,000-signal cycle and
    scanned the whole configuration each time, a fifth of the agent's CPU (see
    bench/README.md). Unfrozen first: what a reload replaced can then be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, g1, g2)


def _thaw_heap() -> None:
    """Undo _freeze_heap (an agent stopped inside a longer-lived process, e.g. tests)."""
    gc.unfreeze()
    _, g1, g2 = gc.get_threshold()
    gc.set_threshold(700, g1, g2)  # CPython's default


def _signals(cfg: LinesideConfig) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for _, _, m, _ in iter_machines(cfg.lines):
        out.setdefault(m.source, []).extend(
            (f"{m.id}.{n}", s) for n, s in sorted(m.signals.items()))
    return out

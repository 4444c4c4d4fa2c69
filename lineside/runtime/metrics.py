"""The agent's own health as Prometheus metrics (prometheus-client, own registry).

The runtime owns one `AgentMetrics` and feeds it what the components already count:
`observe_poll()` after each device cycle (a `DriverStats`), `update_sinks()` with each
sink's `SinkStats`, `update_engine()` with the engine's counters. Components keep
*cumulative* counters; this module turns them into Prometheus counters by taking the
difference to the previous snapshot, so a driver or sink re-created by a config reload
(its counters back at 0) never makes a Prometheus counter go backwards.

Every metric name starts with `lineside_`, except the standard `process_*` family of
prometheus_client's process collector (RSS, CPU, open fds: the names node_exporter users
already chart and alert on); docs/metrics.md lists them with their labels and
deploy/prometheus/lineside-rules.yml alerts on them. No `_created` series are exported:
they would double every counter and histogram for a value (the process start) that
`lineside_start_time_seconds` already gives once.
"""

from __future__ import annotations

import contextlib
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)

import lineside
from lineside.engine.plausible import REASONS
from lineside.sinks.settings import LocalSink

if TYPE_CHECKING:  # types only: the runtime hands these objects in
    from lineside.config.models import LinesideConfig
    from lineside.drivers.base import DriverStats
    from lineside.engine.ccp import CcpView
    from lineside.engine.core import EngineStats
    from lineside.sinks.sink import SinkStats

# prometheus_client's switch is process-wide; the process serves one registry, the agent's.
disable_created_metrics()

# Poll cycles range from a few ms (one Modbus request on a LAN) to the driver timeout.
POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A queue this full (share of its byte bound) makes the agent not ready: it is about to
# drop the oldest points.
QUEUE_READY_SHARE = 0.9


@dataclass
class _DeviceSeen:
    last_poll: float | None = None  # agent clock when the runtime last reported a cycle
    last_good_ts: float | None = None
    up: bool = False


class _Deltas:
    """Cumulative component counters -> increments of monotonic Prometheus counters."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], float] = {}

    def step(self, key: tuple[str, ...], value: float) -> float:
        prev = self._last.get(key)
        self._last[key] = value
        if prev is None or value < prev:  # first sight, or the component was re-created
            return value
        return value - prev

    def forget(self, prefix: tuple[str, ...]) -> None:
        for k in [k for k in self._last if k[: len(prefix)] == prefix]:
            del self._last[k]


class AgentMetrics:
    """Every `lineside_*` metric, in a dedicated `CollectorRegistry`."""

    def __init__(self, registry: CollectorRegistry | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        self._started = clock()
        self._deltas = _Deltas()
        self._devices: dict[str, _DeviceSeen] = {}
        self._sinks: dict[str, dict[str, Any]] = {}
        self._sink_bounds: dict[str, int] = {}
        self._dropped_labels: dict[str, set[str]] = {}
        self._error_kinds: dict[str, set[str]] = {}
        self._chain: dict[str, Any] = {}  # the HACCP chain file's disk trouble, if any
        self.config_loaded = False
        r = self.registry

        self.build_info = Info("lineside_build", "Version of the running agent", registry=r)
        self.build_info.info({"version": lineside.__version__,
                              "python": platform.python_version()})
        self.start_time = Gauge("lineside_start_time_seconds",
                                "Unix time the agent started", registry=r)
        self.start_time.set(self._started)
        # process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds, ...
        # (read from /proc at scrape time; nothing on platforms without it)
        ProcessCollector(registry=r)

        # devices
        self.device_up = Gauge(
            "lineside_device_up",
            "1 when the device's last cycle read its signals, 0 when it failed",
            ["device"], registry=r)
        self.poll_duration = Histogram(
            "lineside_device_poll_duration_seconds", "Duration of one poll cycle",
            ["device"], buckets=POLL_BUCKETS, registry=r)
        self.polls = Counter("lineside_device_polls", "Poll cycles run",
                             ["device"], registry=r)
        self.requests = Counter("lineside_device_requests",
                                "Protocol requests issued (Modbus reads, OPC UA reads)",
                                ["device"], registry=r)
        self.errors = Counter("lineside_device_errors", "Device errors by kind",
                              ["device", "kind"], registry=r)
        self.last_good_ts = Gauge(
            "lineside_device_last_good_sample_timestamp_seconds",
            "Unix time of the device's last GOOD sample (absent until there is one)",
            ["device"], registry=r)
        self.last_good_age = Gauge(
            "lineside_device_last_good_sample_age_seconds",
            "Seconds since the device's last GOOD sample (since agent start if none yet)",
            ["device"], registry=r)

        # sinks
        self.sink_up = Gauge("lineside_sink_up",
                             "1 when the sink's last write succeeded", ["sink"], registry=r)
        self.queue_points = Gauge("lineside_sink_queue_points",
                                  "Points waiting in the sink's disk queue", ["sink"], registry=r)
        self.queue_bytes = Gauge("lineside_sink_queue_bytes",
                                 "Bytes used by the sink's disk queue", ["sink"], registry=r)
        self.queue_max_bytes = Gauge(
            "lineside_sink_queue_max_bytes",
            "The queue's size bound; above it the oldest points are dropped", ["sink"],
            registry=r)
        self.written = Counter("lineside_sink_points_written",
                               "Points acknowledged by the sink's server", ["sink"], registry=r)
        self.retried = Counter("lineside_sink_write_retries",
                               "Failed write attempts that will be repeated (with backoff)",
                               ["sink"], registry=r)
        self.dropped = Counter(
            "lineside_sink_points_dropped",
            "Points dropped because the queue reached its bound (oldest first)",
            ["sink", "measurement"], registry=r)
        self.dead_lettered = Counter(
            "lineside_sink_points_dead_lettered",
            "Points the server rejected (400/422), set aside in the dead-letter file",
            ["sink"], registry=r)
        self.set_aside = Counter(
            "lineside_sink_points_set_aside",
            "Points the sink's queue failed to take (not a disk refusing writes), kept in "
            "the dead-letter file", ["sink"], registry=r)

        # what a stage after the drivers refused (docs/delivery.md, "Hostile values")
        self.refused = Counter(
            "lineside_points_refused",
            "Points refused whole or in part by a stage after the drivers (chain: a HACCP "
            "record kept in the dead-letter file; lineproto: a value left out of its line)",
            ["stage", "reason"], registry=r)

        # engine
        self.buckets_closed = Counter("lineside_engine_buckets_closed",
                                      "Metric buckets closed by the engine", registry=r)
        self.late_samples = Counter(
            "lineside_engine_late_samples",
            "Samples older than the last closed bucket (counted, not applied)", registry=r)
        self.samples_in = Counter("lineside_engine_samples",
                                  "Samples fed to the engine", registry=r)
        self.counter_dips = Counter(
            "lineside_engine_counter_dips",
            "Counter decreases that are neither rollover nor reset (nothing added)", registry=r)
        self.counter_excess_units = Counter(
            "lineside_engine_counter_excess_units",
            "Counter units beyond ideal rate x elapsed x margin (flagged, not added)",
            registry=r)
        self.samples_refused = Counter(
            "lineside_engine_samples_refused",
            "Samples taken as BAD because their value is not plausible, by reason "
            "(docs/engine.md, Plausible values)", ["reason"], registry=r)

        # critical control points (docs/haccp.md)
        self.ccp_deviation_open = Gauge(
            "lineside_ccp_deviation_open",
            "1 while a CCP is in a limit deviation (beyond a critical limit long enough)",
            ["ccp", "ccp_kind", "machine"], registry=r)
        self.ccp_monitoring_lost = Gauge(
            "lineside_ccp_monitoring_lost",
            "1 while a CCP has had no good sample for longer than its monitoring interval",
            ["ccp", "ccp_kind", "machine"], registry=r)
        self.ccp_deviations = Counter(
            "lineside_ccp_deviations", "CCP deviations started, by kind (limit, monitoring)",
            ["ccp", "ccp_kind", "machine", "kind"], registry=r)
        self._ccps: set[tuple[str, str, str]] = set()

        # runtime
        self.memory_points = Gauge(
            "lineside_sink_memory_points", "Points held in memory because the disk refuses "
            "writes (full, read-only); written to the queue when it takes them again",
            ["sink"], registry=r)
        self.disk_ok = Gauge("lineside_sink_disk_writable",
                             "1 while the sink's queue file takes writes", ["sink"], registry=r)
        # the HACCP chain file (state_dir/haccp-chain.db, docs/haccp.md)
        self.chain_writable = Gauge(
            "lineside_haccp_chain_writable", "1 while the HACCP chain file takes writes, "
            "0 while the disk refuses them (records held in memory)", registry=r)
        self.chain_writable.set(1)
        self.chain_held = Gauge(
            "lineside_haccp_chain_held_records", "HACCP records held in memory because the "
            "disk refuses the chain file's writes; linked and queued when it takes them",
            registry=r)
        self.chain_dropped = Counter(
            "lineside_haccp_chain_records_dropped", "HACCP records dropped (never linked) "
            "because more than the memory bound were held while the disk refused writes",
            registry=r)
        self.clock_steps = Counter(
            "lineside_clock_steps", "Wall-clock steps seen (NTP or manual), each one "
            "handed to the engine's time-jump rule", registry=r)
        self.config_loaded_gauge = Gauge("lineside_config_loaded",
                                         "1 once a valid configuration is running",
                                         registry=r)
        self.reloads = Counter("lineside_config_reloads", "Configuration reloads by result",
                               ["result"], registry=r)
        self.last_reload_ok = Gauge("lineside_config_last_reload_successful",
                                    "1 if the last reload applied, 0 if it was rejected",
                                    registry=r)
        self.last_reload_ok.set(1)  # nothing rejected yet
        for result in ("applied", "rejected"):
            self.reloads.labels(result)  # both series exist from the start

    # -- set-up ----------------------------------------------------------------------
    def register(self, config: LinesideConfig) -> None:
        """Pre-create series for the configured devices and sinks.

        A device that never answers still shows `lineside_device_up 0`, so alerts see it.
        Devices and sinks no longer configured (after a reload) lose their series.
        """
        devices = [d.id for d in config.devices]
        # No sink configured: the SinkSet runs one implicit local sink (default bound).
        sinks = list(config.sinks) or [LocalSink(type="local", id="local")]
        for dev in set(self._devices) - set(devices):
            self.forget_device(dev)
        for dev in devices:
            self._ensure_device(dev)
        keep = {s.id for s in sinks}
        for sink in set(self._sinks) - keep:
            self.forget_sink(sink)
        for s in sinks:
            self._ensure_sink(s.id)
            self._sink_bounds[s.id] = s.queue.max_bytes
            self.queue_max_bytes.labels(s.id).set(s.queue.max_bytes)
        self.set_config_loaded(True)

    def set_config_loaded(self, loaded: bool) -> None:
        self.config_loaded = loaded
        self.config_loaded_gauge.set(1 if loaded else 0)

    def record_reload(self, applied: bool) -> None:
        self.reloads.labels("applied" if applied else "rejected").inc()
        self.last_reload_ok.set(1 if applied else 0)

    def _ensure_device(self, device_id: str) -> _DeviceSeen:
        seen = self._devices.get(device_id)
        if seen is None:
            seen = self._devices[device_id] = _DeviceSeen()
            self.device_up.labels(device_id).set(0)
            self.poll_duration.labels(device_id)
            self.polls.labels(device_id)
            self.requests.labels(device_id)
            def age(s: _DeviceSeen = seen) -> float:
                return self._clock() - (s.last_good_ts or self._started)

            self.last_good_age.labels(device_id).set_function(age)
        return seen

    def _ensure_sink(self, sink_id: str) -> dict[str, Any]:
        known = self._sinks.get(sink_id)
        if known is None:
            known = self._sinks[sink_id] = {}
            self._dropped_labels.setdefault(sink_id, set())
            for m in (self.sink_up, self.queue_points, self.queue_bytes, self.memory_points):
                m.labels(sink_id).set(0)
            self.disk_ok.labels(sink_id).set(1)
            for c in (self.written, self.retried, self.dead_lettered, self.set_aside):
                c.labels(sink_id)
        return known

    def forget_device(self, device_id: str) -> None:
        self._devices.pop(device_id, None)
        self._deltas.forget(("dev", device_id))
        for m in (self.device_up, self.poll_duration, self.polls, self.requests,
                  self.last_good_ts, self.last_good_age):
            _remove(m, device_id)
        for kind in self._error_kinds.pop(device_id, set()):
            _remove(self.errors, device_id, kind)

    def forget_sink(self, sink_id: str) -> None:
        self._sinks.pop(sink_id, None)
        self._sink_bounds.pop(sink_id, None)
        self._deltas.forget(("sink", sink_id))
        for m in (self.sink_up, self.queue_points, self.queue_bytes, self.queue_max_bytes,
                  self.written, self.retried, self.dead_lettered, self.set_aside,
                  self.memory_points,
                  self.disk_ok):
            _remove(m, sink_id)
        for meas in self._dropped_labels.pop(sink_id, set()):
            _remove(self.dropped, sink_id, meas)

    # -- updates from the runtime ----------------------------------------------------
    def observe_poll(self, device_id: str, duration_s: float | None,
                     stats: DriverStats) -> None:
        """After one cycle of a device.

        `duration_s` None for subscription drivers that report without a poll cycle.
        """
        seen = self._ensure_device(device_id)
        seen.last_poll = self._clock()
        seen.up = stats.up
        self.device_up.labels(device_id).set(1 if stats.up else 0)
        if duration_s is not None:
            self.poll_duration.labels(device_id).observe(max(0.0, float(duration_s)))
        for name, counter, v in (("cycles", self.polls, stats.cycles),
                                 ("requests", self.requests, stats.requests)):
            counter.labels(device_id).inc(self._deltas.step(("dev", device_id, name), v))
        kinds = self._error_kinds.setdefault(device_id, set())
        for kind, count in stats.errors.items():
            kinds.add(kind)
            self.errors.labels(device_id, kind).inc(
                self._deltas.step(("dev", device_id, "err", kind), count))
        if stats.last_good_ts is not None:
            seen.last_good_ts = stats.last_good_ts
            self.last_good_ts.labels(device_id).set(stats.last_good_ts)

    def update_sinks(self, stats: Mapping[str, SinkStats]) -> None:
        """Each sink's stats by sink id (the byte bound comes from `register`)."""
        for sink_id, s in stats.items():
            known = self._ensure_sink(sink_id)
            known["up"] = s.up
            known["last_error"] = s.last_error
            self.sink_up.labels(sink_id).set(1 if s.up else 0)
            known["disk_error"] = s.disk_error
            self.disk_ok.labels(sink_id).set(0 if s.disk_error else 1)
            for name, gauge, v in (("queue_points", self.queue_points, s.queue_points),
                                   ("queue_bytes", self.queue_bytes, s.queue_bytes),
                                   ("memory_points", self.memory_points, s.memory_points)):
                known[name] = v
                gauge.labels(sink_id).set(v)
            for name, counter, v in (("written", self.written, s.written),
                                     ("retried", self.retried, s.retried),
                                     ("dead_lettered", self.dead_lettered, s.dead_lettered),
                                     ("set_aside", self.set_aside, s.set_aside)):
                counter.labels(sink_id).inc(self._deltas.step(("sink", sink_id, name), v))
            for meas, count in s.dropped.items():
                self._dropped_labels[sink_id].add(meas)
                self.dropped.labels(sink_id, meas).inc(
                    self._deltas.step(("sink", sink_id, "dropped", meas), count))

    def update_chain(self, held: int, disk_error: str | None, dropped: int) -> None:
        """The HACCP chain store's hold (ChainStore.held, .disk_error, .dropped)."""
        self._chain = {"disk_error": disk_error, "held_records": int(held)}
        self.chain_writable.set(0 if disk_error else 1)
        self.chain_held.set(held)
        self.chain_dropped.inc(self._deltas.step(("chain", "dropped"), dropped))

    def update_refusals(self, counts: Mapping[tuple[str, str], int]) -> None:
        """Refusals.counts: cumulative points refused by (stage, reason)."""
        for (stage, reason), n in counts.items():
            self.refused.labels(stage, reason).inc(
                self._deltas.step(("refused", stage, reason), n))

    def update_engine(self, stats: EngineStats) -> None:
        """The engine's cumulative counters."""
        for name, counter, v in (
                ("buckets_closed", self.buckets_closed, stats.buckets_closed),
                ("late_samples", self.late_samples, stats.late_samples),
                ("samples_in", self.samples_in, stats.samples_in),
                ("counter_dips", self.counter_dips, stats.counter_dips),
                ("counter_excess_units", self.counter_excess_units,
                 stats.counter_excess_units)):
            counter.inc(self._deltas.step(("engine", name), v))
        for reason in REASONS:
            self.samples_refused.labels(reason).inc(self._deltas.step(
                ("engine", "refused", reason), getattr(stats, f"refused_{reason}")))

    def update_ccps(self, views: Sequence[CcpView]) -> None:
        """Each CCP's status (engine.ccp_view()); CCPs no longer configured are removed."""
        seen: set[tuple[str, str, str]] = set()
        for v in views:
            key = (v.id, v.kind, v.machine)
            seen.add(key)
            self.ccp_deviation_open.labels(*key).set(1 if v.status == "deviation" else 0)
            self.ccp_monitoring_lost.labels(*key).set(1 if v.status == "lost" else 0)
            for kind, n in (("limit", v.deviations), ("monitoring", v.losses)):
                self.ccp_deviations.labels(*key, kind).inc(
                    self._deltas.step(("ccp", *key, kind), n))
        for key in self._ccps - seen:
            _remove(self.ccp_deviation_open, *key)
            _remove(self.ccp_monitoring_lost, *key)
            for kind in ("limit", "monitoring"):
                _remove(self.ccp_deviations, *key, kind)
        self._ccps = seen

    # -- readiness -------------------------------------------------------------------
    def readiness(self, poll_stale_s: float = 60.0) -> dict[str, Any]:
        """JSON-able body of `/readyz`: ready when every check passes.

        - config: a valid configuration is running;
        - devices: every device reported a cycle within `poll_stale_s` (polled recently;
          a device that is *down* but polled is still fine: it is the PLC's problem, and
          `lineside_device_up` tells);
        - queues: every sink's queue is below `QUEUE_READY_SHARE` of its byte bound;
        - disk: every queue file and the HACCP chain file take writes (nothing held).
        """
        now = self._clock()
        stale = {}
        for dev, seen in sorted(self._devices.items()):
            age = now - seen.last_poll if seen.last_poll is not None else None
            if age is None or age > poll_stale_s:
                stale[dev] = None if age is None else round(age, 1)
        full = {}
        for sid, known in sorted(self._sinks.items()):
            bound = self._sink_bounds.get(sid)
            used = known.get("queue_bytes")
            if bound and used is not None and used >= QUEUE_READY_SHARE * bound:
                full[sid] = {"queue_bytes": int(used), "max_bytes": bound}
        refused = {sid: {"disk_error": known["disk_error"],
                         "memory_points": int(known.get("memory_points") or 0)}
                   for sid, known in sorted(self._sinks.items())
                   if known.get("disk_error") or known.get("memory_points")}
        chain = (self._chain if self._chain.get("disk_error") or self._chain.get("held_records")
                 else {})
        checks: dict[str, dict[str, Any]] = {
            "config": {"ok": self.config_loaded},
            "disk": {"ok": not refused and not chain, "refusing_writes": refused,
                     "haccp_chain": chain},
            "devices": {"ok": not stale, "total": len(self._devices),
                        "not_polled_recently": stale, "poll_stale_s": poll_stale_s},
            "queues": {"ok": not full, "total": len(self._sinks), "near_bound": full},
        }
        return {"ready": all(c["ok"] for c in checks.values()), "checks": checks}


def _remove(metric: Any, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)

"""OpcuaDriver: the runtime's face of the OPC UA driver (lineside.drivers.base.Driver).

- mode ``poll``: the runtime calls `poll()` every `interval_s`; each call is one Read
  service (split only by the server's MaxNodesPerRead) on the device's one session.
- mode ``subscribe``: `start(emit)` runs a task that keeps one session with one
  subscription alive, re-creating both from scratch after any loss.

Recovery: loss is detected by the socket closing, by a Publish keep-alive that does not
arrive in time (server hung, subscription expired, half-open TCP), by a subscription
status change or by a failed Read. The driver then emits a BAD sample for every signal
(the engine shows "unknown", never a stale value), closes what is left of the session,
and reconnects with exponential backoff and jitter, resolving namespace URIs and browse
paths again and re-creating every monitored item. At no time does it hold more than one
session to an endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from asyncua import ua
from asyncua.ua import UaStatusCodeError

from lineside.backoff import Backoff
from lineside.drivers.base import DriverStats, Emit, SignalRef
from lineside.drivers.kindlog import KindAlarm
from lineside.drivers.logctx import naming
from lineside.drivers.opcua.addressing import AddressError, parse_address, resolve_all
from lineside.drivers.opcua.connection import Connection
from lineside.drivers.opcua.errors import error_kind, status_kind
from lineside.drivers.opcua.reader import chunk_size, read_integer_bits, read_values
from lineside.drivers.opcua.settings import OpcuaDevice, OpcuaSignal
from lineside.drivers.opcua.subscription import Item, SubscriptionSet
from lineside.drivers.opcua.values import bad, sample_from
from lineside.redact import mask_url_passwords
from lineside.samples import Sample

log = logging.getLogger(__name__)

# service results after which the session is unusable and must be re-created
_SESSION_GONE = {
    "BadSessionIdInvalid", "BadSessionClosed", "BadSessionNotActivated",
    "BadSecureChannelIdInvalid", "BadSecureChannelClosed", "BadConnectionClosed",
    "BadServerHalted", "BadShutdown", "BadCommunicationError", "BadTimeout",
    "BadNoCommunication", "BadServerNotConnected", "BadTcpSecureChannelUnknown",
}


class OpcuaDriver:
    def __init__(self, device: OpcuaDevice, signals: list[SignalRef], state_dir: Path,
                 clock: Callable[[], float] = time.time) -> None:
        self.device = device
        self._clock = clock  # the wall clock samples are stamped with (the agent's)
        self.device_id = device.id
        self.signals = list(signals)
        self.stats = DriverStats()
        self.conn = Connection(device, Path(state_dir))
        self.specs: list[OpcuaSignal] = []
        for s in self.signals:
            if not isinstance(s.spec, OpcuaSignal):
                raise TypeError(f"{s.key}: not an OPC UA signal spec: {s.spec!r}")
            self.specs.append(s.spec)
        self.addresses = [parse_address(s.node, s.path) for s in self.specs]
        self.nodeids: list[ua.NodeId | AddressError] = []
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._lost_kind = "connection"
        # one WARNING per change of error kind, an INFO at recovery (kindlog.py)
        self.alarm = KindAlarm(device.id, log, f"opcua device {device.id}",
                               error_kinds=frozenset({"setup"}))
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._backoff = Backoff(device.reconnect_min_s, device.reconnect_max_s)
        self._next_attempt = 0.0
        self._emit: Emit | None = None
        self._subs: SubscriptionSet | None = None
        self._reported: set[str] = set()  # per-signal problems told this session
        # per-signal problems of the current session (unresolved address, refused item)
        self.signal_errors: dict[str, str] = {}
        # Signal key -> width of its node's integer DataType, read at every connect (a
        # new dict each time); the runtime hands it to the engine for counter widths.
        self.integer_bits: dict[str, int] = {}

    # ---- shared -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.conn.client is not None and not self._lost.is_set()

    def _bad_all(self, ts: float | None = None) -> list[Sample]:
        t = self._clock() if ts is None else ts
        return [bad(s.key, t) for s in self.signals]

    def _who(self) -> str:
        return self.device_id

    async def _on_lost(self, exc: Exception | None) -> None:
        kind = "connection" if exc is None else error_kind(exc, connecting=False)
        self._mark_lost(f"connection lost: {exc!r}", kind)

    def _mark_lost(self, reason: str, kind: str = "connection") -> None:
        if not self._lost.is_set():
            self._lost_reason, self._lost_kind = reason, kind
            self._lost.set()

    def _fail(self, kind: str, message: str) -> None:
        """The device failed: counted by kind, logged at each change of kind."""
        message = mask_url_passwords(message)  # the endpoint may carry user:password@
        self.stats.errors[kind] += 1
        self.stats.last_error = message
        self.alarm.fail(kind, message, time.monotonic())

    def _problem(self, kind: str, message: str) -> None:
        """One signal's problem (an address, a DataType): counted, told once a session."""
        message = mask_url_passwords(message)
        self.stats.errors[kind] += 1
        self.stats.last_error = message
        if message not in self._reported:
            self._reported.add(message)
            log.warning("opcua device %s: %s", self.device_id, message,
                        extra={"device": self.device_id, "kind": kind})

    def _record_failure(self, exc: BaseException, *, connecting: bool) -> None:
        kind = error_kind(exc, connecting=connecting)
        if kind == "setup":
            text = str(exc)
        elif kind == "timeout" and not str(exc):
            text = f"{self.device.endpoint}: no answer within the timeout"
        elif isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
            text = f"{self.device.endpoint}: {exc}"
        else:
            text = f"{self.device.endpoint}: {exc!r}"
        self._fail(kind, text)

    async def _open(self) -> None:
        """Open the one session and bind every address for it."""
        if self.conn.client is not None:
            await self._drop()
        self._lost.clear()
        await self.conn.open(self._on_lost)
        assert self.conn.client is not None
        paths = self.conn.limits.max_paths_per_call or self.device.max_nodes_per_read
        self.nodeids = await asyncio.wait_for(
            resolve_all(self.conn.client.uaclient.session, self.addresses,
                        self.conn.namespaces, paths),
            self.device.timeout_s,
        )
        self._backoff.reset()
        self.stats.up = True
        self._reported.clear()
        self.signal_errors.clear()
        for sig, nid in zip(self.signals, self.nodeids, strict=True):
            if isinstance(nid, AddressError):
                self.signal_errors[sig.key] = str(nid)
                self._problem("address", f"{sig.key}: {nid}")
        keyed = [(sig.key, nid) for sig, nid in zip(self.signals, self.nodeids, strict=True)
                 if isinstance(nid, ua.NodeId)]
        size = chunk_size(self.conn.limits.max_nodes_per_read, self.device.max_nodes_per_read)
        try:
            self.integer_bits = await asyncio.wait_for(
                read_integer_bits(self.conn.client.uaclient.session, keyed, size),
                self.device.timeout_s)
        except (TimeoutError, Exception) as exc:  # values still flow; widths default
            self.integer_bits = {}
            self._problem("datatype", f"cannot read the DataType of its nodes ({exc!r}): "
                                    "counters wrap at 32 bits unless the config says")
        log.info("opcua device %s: connected to %s (%s/%s)", self.device_id,
                 self.device.endpoint, self.device.security_policy, self.device.security_mode,
                 extra={"device": self.device_id})

    async def _drop(self) -> None:
        self.stats.up = False
        self._subs = None
        await self.conn.close()

    def _schedule_retry(self) -> float:
        delay = self._backoff.next_delay()
        self._next_attempt = time.monotonic() + delay
        return delay

    # ---- poll mode ----------------------------------------------------------------

    async def poll(self) -> list[Sample]:
        """One cycle: one Read for every node; BAD samples while the device is down."""
        t0 = time.monotonic()
        async with self._lock:
            with naming(self._who):  # asyncua's lines (and its tasks') name the device
                samples = await self._poll_locked()
        self.stats.cycles += 1
        self.stats.last_cycle_s = time.monotonic() - t0
        return samples

    async def _poll_locked(self) -> list[Sample]:
        now = self._clock()
        if self._closing:
            return self._bad_all(now)
        if not self.connected:
            if self.conn.client is not None:
                await self._drop()
            if time.monotonic() < self._next_attempt:
                return self._bad_all(now)
            try:
                await self._open()
            except (TimeoutError, Exception) as exc:
                self._record_failure(exc, connecting=True)
                await self._drop()
                self._schedule_retry()
                return self._bad_all(now)
        assert self.conn.client is not None
        index = [i for i, n in enumerate(self.nodeids) if isinstance(n, ua.NodeId)]
        nodes = [self.nodeids[i] for i in index]
        size = chunk_size(self.conn.limits.max_nodes_per_read, self.device.max_nodes_per_read)
        try:
            dvs, n, worked = await asyncio.wait_for(
                read_values(self.conn.client.uaclient.session, nodes, size),  # type: ignore[arg-type]  # set while connected
                self.device.timeout_s,
            )
            self.stats.requests += n
            if worked < size:
                log.warning("opcua device %s: server refused Reads of %d nodes "
                            "(BadTooManyOperations); reading %d per request from now on",
                            self.device_id, size, worked, extra={"device": self.device_id})
                self.conn.limits.max_nodes_per_read = worked
        except UaStatusCodeError as exc:
            name = ua.StatusCode(exc.code).name
            self._fail(status_kind(name), f"Read failed: {name}")
            if name in _SESSION_GONE:
                await self._drop()
                self._schedule_retry()
            return self._bad_all(now)
        except (TimeoutError, Exception) as exc:
            self._record_failure(exc, connecting=False)
            await self._drop()
            self._schedule_retry()
            return self._bad_all(now)
        out = self._bad_all(now)
        stamp = self.device.timestamp or "gather"
        use_source = stamp == "source"
        for i, dv in zip(index, dvs, strict=True):
            smp = sample_from(self.signals[i].key, dv, use_source, now)
            # gather: the value as read in this cycle (like every Modbus sample), so an
            # unchanged value is not mistaken for an old, late one
            out[i] = smp if stamp != "gather" else Sample(smp.signal, smp.value,
                                                           smp.quality, now)
        self.stats.up = True
        self.stats.last_good_ts = now
        self.alarm.ok(time.monotonic())
        return out

    # ---- subscribe mode -----------------------------------------------------------

    async def start(self, emit: Emit) -> None:
        if self._task is not None:
            raise RuntimeError("already started")
        self._emit = emit
        with naming(self._who):  # the task, and asyncua's tasks it starts, name the device
            self._task = asyncio.create_task(self._run(), name=f"opcua-{self.device_id}")

    def _deliver(self, samples: Sequence[Sample]) -> None:
        self.stats.last_good_ts = self._clock()
        assert self._emit is not None
        self._emit(samples)

    async def _run(self) -> None:
        emit = self._emit
        assert emit is not None
        while not self._closing:
            connecting = True
            try:
                async with self._lock:
                    await self._open()
                    connecting = False
                    subs = SubscriptionSet(self.device, self._deliver, self._mark_lost,
                                           self._clock)
                    self._subs = subs
                    items = [Item(s.key, spec, nid)
                             for s, spec, nid in zip(self.signals, self.specs, self.nodeids,
                                                     strict=True)
                             if isinstance(nid, ua.NodeId)]
                    batch = min(self.device.items_per_request,
                                self.conn.limits.max_items_per_call or 10**9)
                    assert self.conn.client is not None
                    refused = await asyncio.wait_for(
                        subs.create(self.conn.client.uaclient.session, items, batch),
                        self.device.timeout_s + len(items) / 2000,
                    )
                for key, why in subs.refused.items():
                    self.signal_errors[key] = f"monitored item refused: {why}"
                now = self._clock()
                unresolved = [bad(s.key, now) for s, n in zip(self.signals, self.nodeids,
                                                             strict=True)
                              if not isinstance(n, ua.NodeId)]
                if unresolved or refused:
                    emit(unresolved + refused)
                self.stats.cycles += 1
                self.alarm.ok(time.monotonic())
                await self._watch(subs)
                self._fail(self._lost_kind, self._lost_reason)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, Exception) as exc:
                self._record_failure(exc, connecting=connecting)
            self.stats.up = False
            if self._closing:
                break
            emit(self._bad_all())  # the outage starts now: unknown, never stale
            async with self._lock:
                await self._drop()
            await asyncio.sleep(self._schedule_retry())

    async def _watch(self, subs: SubscriptionSet) -> None:
        """Return when the session is lost or the keep-alive stops arriving."""
        limit = subs.keepalive_s * 2 + self.device.timeout_s
        while not self._closing:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._lost.wait(), 0.5)
            if self._lost.is_set():
                return
            if subs.silent_for() > limit:
                self._mark_lost(f"no Publish response or keep-alive for {limit:.1f}s",
                                "timeout")
                return

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        async with self._lock:
            await self._drop()

"""The Modbus driver: one poll cycle of one device, faults turned into BAD samples.

The runtime runs one `poll()` per device at a time (its own timer job or task),
so a dead device only ever waits for itself: its requests are bounded by its own
timeout, a request that gets no answer ends the cycle for that slave (the rest
would only wait too), and after a failed cycle the device is not tried again until
an exponential, jittered backoff has passed. Serial buses and gateways are the one
shared resource: their `Link` lets one request at a time through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from lineside.backoff import Backoff
from lineside.drivers.base import DriverStats, SignalRef
from lineside.drivers.kindlog import KindAlarm
from lineside.drivers.modbus.addressing import BIT_TABLES
from lineside.drivers.modbus.block import BlockDecoder
from lineside.drivers.modbus.block import Value as BlockValue
from lineside.drivers.modbus.codec import Decoder, compile_decoder, direct_code
from lineside.drivers.modbus.layout import limits_for, resolve_all
from lineside.drivers.modbus.link import BUSY_CODES, Link, ReadError
from lineside.drivers.modbus.planner import Plan, ReadRequest, plan
from lineside.drivers.modbus.settings import ModbusSignal
from lineside.drivers.modbus.values import Transform, compile_transform, is_identity
from lineside.samples import Quality, Sample

log = logging.getLogger("lineside.drivers.modbus")


@dataclass(frozen=True, slots=True)
class _Field:
    key: str
    decode: Decoder
    transform: Transform | None  # None: the identity
    code: str | None  # struct code when readable straight from the block's bytes


class ModbusDriver:
    """Reads one device's signals; `poll()` never raises for device trouble."""

    def __init__(self, device: Any, signals: Sequence[SignalRef], link: Link, *,
                 clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] | None = None):
        self.device = device
        self.device_id: str = device.id
        self.interval_s: float = device.interval_s
        self.stats = DriverStats()
        self.link = link
        link.users += 1
        self._clock = clock
        self._keys = [ref.key for ref in signals]
        # where each key's sample goes in poll()'s list (a key given twice: copied)
        self._slot: dict[str, int] = {}
        self._same_key: list[tuple[int, int]] = []
        for i, k in enumerate(self._keys):
            if k in self._slot:
                self._same_key.append((self._slot[k], i))
            else:
                self._slot[k] = i
        # SignalRef.spec serves both protocols; wiring hands a Modbus device Modbus signals
        resolved, bad = resolve_all(device, [(ref.key, cast(ModbusSignal, ref.spec))
                                             for ref in signals])
        self.plan = plan([r.item() for r in resolved], limits_for(device))
        self._fields: dict[str, _Field] = {}
        for r in resolved:
            s = r.sig
            order = s.byte_order or device.byte_order
            bits_table = r.address.table in BIT_TABLES
            self._fields[r.key] = _Field(
                r.key,
                compile_decoder(s.type, order, bit=s.bit,
                                string_byte_order=device.string_byte_order,
                                bits_table=bits_table),
                None if is_identity(s) else compile_transform(s),
                direct_code(s.type, order, bit=s.bit, bits_table=bits_table))
        self._blocks: list[BlockDecoder] = []  # per request of _blocks_plan (block.py)
        self._blocks_plan: Plan | None = None
        self.never_read = [(k, why) for k, why in bad] + [
            (str(i.key), why) for i, why in self.plan.unreadable]
        for key, why in self.never_read:
            log.warning("modbus %s: signal %s is never read: %s", self.device_id, key, why,
                        extra={"device": self.device_id})
        kw = {"rng": rng} if rng else {}
        self._backoff = Backoff(device.reconnect_min_s,
                                max(device.reconnect_max_s, device.reconnect_min_s), **kw)
        self._retry_at = 0.0  # monotonic time before which the device is not tried
        # one WARNING per change of error kind, an INFO at recovery (kindlog.py)
        self.alarm = KindAlarm(self.device_id, log, f"modbus {self.device_id}")

    # -- one cycle ------------------------------------------------------------------
    async def poll(self) -> list[Sample]:
        ts = self._clock()
        t0 = time.monotonic()
        self.stats.cycles += 1
        out: list[Sample | None] = [None] * len(self._keys)  # in self._keys' order
        if t0 >= self._retry_at:
            ok, unreachable = await self._cycle(ts, out)
            # Back off only from silence: a device that answers, even with exceptions
            # or "busy", is up and is asked again next cycle.
            if ok or not unreachable:
                self._backoff.reset()
                self._retry_at = 0.0
                self.stats.up = True
                if ok:
                    self.stats.last_good_ts = ts
            else:
                delay = self._backoff.next_delay()
                self._retry_at = time.monotonic() + delay
                self.stats.up = False
                log.debug("modbus %s: nothing answered, next attempt in %.2f s",
                          self.device_id, delay, extra={"device": self.device_id})
        self.stats.last_cycle_s = time.monotonic() - t0
        for i, j in self._same_key:
            out[j] = out[i]
        if None in out:  # not read: BAD
            keys = self._keys
            out = [s or Sample(keys[i], None, Quality.BAD, ts) for i, s in enumerate(out)]
        return out  # type: ignore[return-value]  # every None replaced above

    async def _cycle(self, ts: float, out: list[Sample | None]) -> tuple[int, int]:
        ok = failed = 0
        failures: list[tuple[ReadRequest, ReadError]] = []
        dead_units: set[int] = set()
        all_dead = False
        timeout = self.device.timeout_s
        if self._blocks_plan is not self.plan:  # compiled once per plan
            self._blocks = [self._block(req) for req in self.plan.requests]
            self._blocks_plan = self.plan
        for n, req in enumerate(self.plan.requests):
            if all_dead or req.unit in dead_units:
                continue
            try:
                data = await self._read(req, timeout)
            except ReadError as e:
                failed += e.unreachable
                failures.append((req, e))
                self.stats.errors[e.kind] += 1
                self.stats.last_error = f"{req.describe()}: {e.cause}"
                if e.kind in ("connect", "connection") or (e.unreachable and not self.link.serial):
                    all_dead = True
                elif e.unreachable:
                    dead_units.add(req.unit)
                continue
            ok += 1
            self._decode(n, data, ts, out)
        self.alarm.cycle([(e.kind, f"{req.describe()} failed: {e.cause}")
                          for req, e in failures], time.monotonic())
        return ok, failed

    async def _read(self, req: ReadRequest, timeout: float) -> list[int] | list[bool]:
        """One request with its bounded retries: `busy_retries` for busy answers, and
        one retry on a fresh connection when a connection that was up breaks (PLCs and
        firewalls drop idle connections; the first request after it must not cost a
        cycle of BAD samples)."""
        delay = self.device.busy_retry_delay_s
        busy = 0
        reconnected = False
        while True:
            was_up = self.link.connected
            self.stats.requests += 1
            try:
                return await self.link.read(req, timeout, self.device_id)
            except ReadError as e:
                if e.kind == "connection" and was_up and not reconnected:
                    reconnected = True
                    self.stats.errors["connection_retried"] += 1
                    continue
                if e.exception_code not in BUSY_CODES or busy >= self.device.busy_retries:
                    raise
                self.stats.errors["busy_retried"] += 1
                await asyncio.sleep(delay * (2 ** busy))
                busy += 1

    def _block(self, req: ReadRequest) -> BlockDecoder:
        values = []
        for it in req.items:
            f = self._fields[str(it.key)]
            values.append(BlockValue(f.key, self._slot[f.key], it.address - req.start,
                                     it.count, f.decode, f.transform, f.code))
        return BlockDecoder(values, req.count)

    def _decode(self, n: int, data: list, ts: float, out: list[Sample | None]) -> None:
        self._blocks[n].decode(data, ts, out, self._decode_failed)

    def _decode_failed(self, v: BlockValue, e: Exception) -> None:
        self.stats.errors["decode"] += 1
        log.warning("modbus %s: cannot decode %s: %s", self.device_id, v.key, e,
                    extra={"device": self.device_id, "kind": "decode"})

    async def close(self) -> None:
        self.link.users -= 1
        if self.link.users <= 0:
            self.link.close()

    async def start(self, emit: Any) -> None:
        """Nothing to start: a polling driver; the runtime schedules `poll()` every
        `interval_s`, one cycle at a time."""

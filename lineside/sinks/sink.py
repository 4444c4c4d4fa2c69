"""One sink = one durable queue + one delivery loop with its own cursor.

Delivery of a batch (peeked, not removed) is a list of pieces sent in order; after each
piece the server accepted, the queue cursor moves past it (and past any line set aside).
What each answer does (docs/delivery.md has the table):

- 2xx: acknowledged, removed from the queue;
- 413: the piece is split in halves and the batch size for this sink is halved;
- 400/422: the lines the server blamed (or, if it did not say, found by bisection) go to
  the dead-letter file, the rest is sent again;
- 401/403: nothing is removed; the auth problem is logged and kept as `last_error`,
  the write is retried with backoff (capped) so delivery resumes once the token is fixed;
- 429/503/other/network: retried with exponential backoff and jitter; a `Retry-After`
  header sets the delay instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from lineside.backoff import Backoff
from lineside.redact import mask_url_passwords
from lineside.sinks.health import DeliveryHealth
from lineside.sinks.queue import Batch, DiskQueue, Position
from lineside.sinks.rejects import field_conflicts, offending_lines
from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink, LocalSink, SinkConfig
from lineside.sinks.writers import Transport, V1Transport, V2Transport, WriteError

log = logging.getLogger(__name__)

RETRY_AFTER_CAP_S = 3600.0
POLL_S = 0.05
CHECKPOINT_S = 1.0
_UNSENT = WriteError(None, "not sent yet")  # sentinel: send this piece now


@dataclass
class SinkStats:
    queue_points: int = 0
    queue_bytes: int = 0
    written: int = 0
    retried: int = 0  # failed write attempts that will be repeated
    dropped: dict[str, int] = field(default_factory=dict)  # per measurement, queue full
    dead_lettered: int = 0
    last_error: str | None = None
    up: bool = True
    memory_points: int = 0  # held in memory while the disk refuses writes
    memory_bytes: int = 0
    disk_error: str | None = None  # why the disk refuses writes, None when it takes them
    set_aside: int = 0  # points the queue failed to take, kept in the dead-letter file


async def _outcome(task: asyncio.Task[None]) -> WriteError | None:
    """None if the request was accepted, else its WriteError (others propagate)."""
    try:
        await task
    except WriteError as e:
        return e
    return None


def make_transport(cfg: SinkConfig) -> Transport | None:
    if isinstance(cfg, InfluxV1Sink):
        return V1Transport(cfg)
    if isinstance(cfg, InfluxV2Sink):
        return V2Transport(cfg)
    return None


@dataclass(slots=True)
class _Piece:
    idx: list[int]  # batch line indices still to send
    end: int  # exclusive end of the batch range this piece covers


class Sink:
    def __init__(self, cfg: SinkConfig, state_dir: Path, transport: Transport | None = None,
                 health: DeliveryHealth | None = None):
        self.cfg = cfg
        self.health = health if health is not None else DeliveryHealth()
        self.id = cfg.id
        self.local = isinstance(cfg, LocalSink)
        qpath = cfg.queue.path or Path(state_dir) / f"queue-{cfg.id}.db"
        self.queue = DiskQueue(qpath, cfg.queue.max_bytes, cfg.queue.fsync, name=cfg.id,
                               memory_max_bytes=cfg.queue.memory_max_bytes)
        self.dead_path = cfg.dead_letter or Path(state_dir) / f"dead-{cfg.id}.lp"
        self.transport = transport if transport is not None else make_transport(cfg)
        self.batch_limit = cfg.batch_size
        self.written = 0
        self.retried = 0
        self.dead_lettered = 0
        self.set_aside_points = 0  # lines the queue failed to take, in the dead-letter file
        self.last_error: str | None = None
        self.up = True
        self._backoff = Backoff(cfg.min_retry_delay_s, cfg.max_retry_delay_s)
        self._lock = asyncio.Lock()
        self._last_send = 0.0
        self._last_auth_log = -1e9
        self._last_fail_log = -1e9

    # -- stats ----------------------------------------------------------------------
    def stats(self) -> SinkStats:
        return SinkStats(self.queue.queue_points, self.queue.queue_bytes, self.written,
                         self.retried, dict(self.queue.dropped), self.dead_lettered,
                         self.last_error, self.up, self.queue.memory_points,
                         self.queue.memory_bytes, self.queue.disk_error,
                         self.set_aside_points)

    # -- loops ----------------------------------------------------------------------
    async def _checkpointer(self) -> None:
        """Every second, even while a backlog streams: with fsync=batch this bounds what
        a power cut can take (runs on its own connection, never blocks enqueue)."""
        while True:
            await asyncio.sleep(CHECKPOINT_S)
            try:  # points held while the disk refused them go in as soon as it takes them
                self.queue.retry_held()
            except Exception:
                log.exception("sink %s: writing held points failed", self.id,
                              extra={"sink": self.id})
            await asyncio.to_thread(self.queue.checkpoint)

    async def run(self) -> None:
        """Deliver forever (cancel to stop); a local sink only checkpoints its file."""
        ckpt = asyncio.create_task(self._checkpointer(), name=f"sink-{self.id}-checkpoint")
        try:
            await self._deliver_forever()
        finally:
            ckpt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ckpt

    async def _deliver_forever(self) -> None:
        while True:
            if self.local or self.transport is None:
                await asyncio.sleep(3600)
                continue
            pending = self.queue.queue_points
            due = time.monotonic() - self._last_send >= self.cfg.flush_interval_s
            if pending and (pending >= self.batch_limit or due):
                stage = f"send {self.id}"
                try:
                    async with self._lock:
                        await self._deliver_batch(None)
                except Exception as e:  # a bug or a disk error must not end delivery
                    self.last_error = f"{type(e).__name__}: {e}"
                    self.up = False
                    self.health.failed(stage, e)
                    log.exception("sink %s: delivery failed unexpectedly; retrying", self.id,
                                  extra={"sink": self.id})
                    await asyncio.sleep(self._backoff.next_delay())
                else:
                    self.health.ok(stage)
                self._last_send = time.monotonic()
            else:
                await asyncio.sleep(POLL_S)

    async def drain(self, deadline: float) -> bool:
        """Send until the queue is empty or the monotonic deadline passes."""
        if self.local or self.transport is None:
            return True
        while self.queue.queue_points and time.monotonic() < deadline:
            try:  # the run loop may hold the lock through a long backoff
                await asyncio.wait_for(self._lock.acquire(), deadline - time.monotonic())
            except TimeoutError:
                break
            try:
                if not await self._deliver_batch(deadline):
                    break
            finally:
                self._lock.release()
        return self.queue.queue_points == 0

    # -- one batch ------------------------------------------------------------------
    async def _deliver_batch(self, deadline: float | None) -> bool:
        """Stream full batches with up to `max_in_flight` requests outstanding.

        Requests overlap (InfluxDB ingests two at a time faster than one after the other,
        and our SQLite reads/acks overlap the server's work) but acknowledgements follow
        queue order: a batch is acked only after every batch before it was. On the first
        error the pipeline drains: the failed batch goes through the error handling
        (split, dead-letter, backoff), batches that succeeded behind it are acked without
        being sent again, those that failed too are re-sent in turn.
        Returns False if it gave up at the deadline.
        """
        assert self.transport is not None
        write = self.transport.write
        inflight: deque[tuple[Batch, asyncio.Task[None]]] = deque()
        after: Position | None = None
        more = True
        try:
            while True:
                while (more and len(inflight) < self.cfg.max_in_flight
                       and (deadline is None or time.monotonic() < deadline)):
                    b = self.queue.peek(self.batch_limit, after=after)
                    if not b:
                        more = False
                        break
                    inflight.append((b, asyncio.create_task(asyncio.to_thread(write, b.body()))))
                    after = b.position_after(len(b))
                    more = len(b) == self.batch_limit  # a partial batch ends the stream
                if not inflight:
                    return True
                b, task = inflight.popleft()
                err: WriteError | None = None
                try:
                    await task
                except WriteError as e:
                    err = e
                if err is None:
                    self._accepted(b, len(b))
                    self.queue.ack(b.position_after(len(b)), b.gen)
                    continue
                # Error: let the rest finish, then resolve everything in order.
                rest = [(rb, await _outcome(rt)) for rb, rt in inflight]
                inflight.clear()
                if not await self._deliver_one(b, err, deadline):
                    return False
                for rb, outcome in rest:
                    if not await self._deliver_one(rb, outcome if outcome is None else _UNSENT,
                                                   deadline):
                        return False
                return True
        finally:
            for _, t in inflight:
                t.cancel()
            self.queue.release()

    def _accepted(self, batch: Batch, n: int) -> None:
        self.written += n
        if not self.up:
            log.warning("sink %s: server accepts writes again; %d points queued",
                        self.id, self.queue.queue_points, extra={"sink": self.id})
            self._last_fail_log = self._last_auth_log = -1e9
        self.up = True
        self._backoff.reset()

    async def _deliver_one(self, batch: Batch, pre: BaseException | None,
                           deadline: float | None) -> bool:
        """Send one batch piece by piece (`pre`: outcome of a first concurrent send)."""
        work = [_Piece(list(range(len(batch))), len(batch))]
        while work:
            piece = work[0]
            if not piece.idx:
                self.queue.ack(batch.position_after(piece.end), batch.gen)
                work.pop(0)
                continue
            try:
                if pre is _UNSENT:
                    if len(piece.idx) == len(batch):  # whole batch: stored bytes as they are
                        body = batch.body()
                    else:
                        lines = batch.lines
                        body = "\n".join(lines[i] for i in piece.idx).encode()
                    assert self.transport is not None
                    await asyncio.to_thread(self.transport.write, body)
                elif pre is not None:
                    raise pre
            except WriteError as e:
                delay = self._on_error(e, batch, piece, work)
                if delay is None:
                    continue  # piece was split or trimmed: go on at once
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                await asyncio.sleep(delay)
                continue
            finally:
                pre = _UNSENT
            self._accepted(batch, len(piece.idx))
            self.queue.ack(batch.position_after(piece.end), batch.gen)
            work.pop(0)
        return True

    def _on_error(self, e: WriteError, batch: Batch, piece: _Piece,
                  work: list[_Piece]) -> float | None:
        st = e.status
        if st == 413:
            if len(piece.idx) > 1:
                h = len(piece.idx) // 2
                self.batch_limit = max(1, min(self.batch_limit, h))
                log.warning("sink %s: 413 request too large for %d points; splitting, batch"
                            " size now %d", self.id, len(piece.idx), self.batch_limit,
                            extra={"sink": self.id})
                work[0:1] = [_Piece(piece.idx[:h], piece.idx[h - 1] + 1),
                             _Piece(piece.idx[h:], piece.end)]
                return None
            self._dead_letter(batch, piece.idx, st, "single line larger than the server accepts")
            piece.idx = []
            return None
        if st in (400, 422):
            lines = [batch.lines[i] for i in piece.idx]
            bad, why = offending_lines(lines, e.message)
            for c in field_conflicts(e.message):
                log.error("sink %s: %s", self.id, c, extra={"sink": self.id})
            self.last_error = f"{st}: {why}"
            if bad:
                bad_idx = [piece.idx[j] for j in bad]
                self._dead_letter(batch, bad_idx, st, why)
                drop = set(bad_idx)
                piece.idx = [i for i in piece.idx if i not in drop]
                return None
            if len(piece.idx) > 1:  # the server did not say which: bisect
                h = len(piece.idx) // 2
                work[0:1] = [_Piece(piece.idx[:h], piece.idx[h - 1] + 1),
                             _Piece(piece.idx[h:], piece.end)]
                return None
            self._dead_letter(batch, piece.idx, st, e.message)
            piece.idx = []
            return None
        self.retried += 1
        self.up = False
        if st in (401, 403):
            self.last_error = (
                f"authentication failed ({st}) at "
                f"{mask_url_passwords(getattr(self.cfg, 'url', '?'))}: "
                f"{e.message or 'no message'} — check the token/credentials of sink "
                f"{self.id}; {self.queue.queue_points} points are kept in the queue")
            now = time.monotonic()
            if now - self._last_auth_log > 60:
                log.error("sink %s: %s", self.id, self.last_error,
                          extra={"sink": self.id, "kind": str(st)})
                self._last_auth_log = now
            return self._backoff.next_delay()
        self.last_error = f"{st or 'network'}: {e.message}"
        if e.retry_after is not None and st in (429, 503):
            delay = min(e.retry_after, RETRY_AFTER_CAP_S)
            log.warning("sink %s: %s; server asks to retry after %.1fs", self.id,
                        self.last_error, delay, extra={"sink": self.id})
            return delay
        delay = self._backoff.next_delay()
        # One WARNING when an outage starts, then one a minute: a day-long outage must
        # not flood the journal. Every attempt is logged at DEBUG.
        now = time.monotonic()
        lvl = logging.WARNING if now - self._last_fail_log > 60 else logging.DEBUG
        if lvl == logging.WARNING:
            self._last_fail_log = now
        log.log(lvl, "sink %s: write failed (%s); %d points queued, retry in %.1fs",
                self.id, self.last_error, self.queue.queue_points, delay,
                extra={"sink": self.id})
        return delay

    def _dead_letter(self, batch: Batch, idx: list[int], status: int | None,
                     why: str) -> None:
        """Append lines to the dead-letter file (commented header, replayable LP)."""
        reason = why.replace("\n", " ")[:500]
        self._append_dead([batch.lines[i] for i in idx], f"status={status}", reason)
        self.dead_lettered += len(idx)
        log.error("sink %s: server rejected %d point(s) (%s: %s); set aside in %s",
                  self.id, len(idx), status, reason, self.dead_path, extra={"sink": self.id})

    def _append_dead(self, lines: list[str], what: str, reason: str) -> None:
        self.dead_path.parent.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(self.dead_path, "a", encoding="utf-8") as f:
            f.write(f"# {stamp} sink={self.id} {what} {len(lines)} line(s): {reason}\n")
            for ln in lines:
                f.write(ln + "\n")
            f.flush()
            if self.cfg.queue.fsync != "off":
                os.fsync(f.fileno())

    def set_aside(self, lines: list[str], error: BaseException,
                  log_traceback: bool = True) -> None:
        """The queue refused a batch for another reason than a disk that refuses writes
        (which it holds): keep its lines in the dead-letter file (`status=queue`), where
        they can be loaded once the cause is fixed, instead of losing them."""
        why = f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
        try:
            if lines:
                self._append_dead(lines, "status=queue", why)
        except OSError as e:
            log.error("sink %s: the queue failed (%s) and the dead-letter file too (%s): "
                      "%d point(s) lost", self.id, why, e, len(lines), extra={"sink": self.id})
            return
        self.set_aside_points += len(lines)
        log.error("sink %s: the queue failed (%s); %d point(s) set aside in %s",
                  self.id, why, len(lines), self.dead_path, extra={"sink": self.id},
                  exc_info=error if log_traceback else None)

    async def close(self) -> None:
        if self.transport is not None:
            with contextlib.suppress(Exception):
                self.transport.close()
        self.queue.close()


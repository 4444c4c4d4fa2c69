"""One direction for a point: engine -> HACCP chain -> every sink's queue.

`Delivery` is the only way from the engine to the queues; the runtime hands it points
and schedules its housekeeping, nothing more:

    delivery = Delivery(sinks, state_dir, snapshot=engine_state_bytes, device_of=...)
    delivery.open_chain()        # at start with CCPs: re-queues what a kill left unqueued
    delivery.deliver(points)     # records linked, then every queue (state when due)
    delivery.housekeeping()      # held records retried, marks, the state alone
    delivery.close()             # a last try for held records (sinks closed by the caller)

Stages, in order (docs/delivery.md):
1. **chain** (`ChainStore.link`): HACCP records linked and committed before they are
   queued; held in memory while the disk refuses; a record the chain cannot hold goes
   to its dead-letter file; a chain file SQLite cannot use (damaged) sets the records
   aside there too, and the other points go on.
2. **lineproto** and **queue** (`SinkSet.enqueue`): serialized once, appended to every
   sink's queue with the engine state when the points close a bucket or shift or carry
   records (a kill never leaves queued points newer than the state a restart resumes
   from). A value the line protocol cannot take is left out; a queue that fails with
   something other than a full or read-only disk sets that batch aside in its sink's
   dead-letter file and says so in `health`.
3. the chain marks its records queued once no queue holds any in memory.

Records a kill left linked but not queued are queued when the chain opens; if reading
them fails (a busy or damaged file), the chain still links, nothing is marked queued
meanwhile, and every delivery and housekeeping tries again (stage `chain unqueued`).

What a stage refuses is counted and logged by `refusals`; how each stage fares is in
`health` (`/readyz`, `/healthz`, the watchdog).
"""

from __future__ import annotations

import logging
import operator
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lineside.haccp.chain import RECORD_MEASUREMENTS, is_record
from lineside.points import Point, Refusal
from lineside.sinks.chainstore import REFUSED_FILE, ChainStore, set_aside
from lineside.sinks.refusals import Refusals
from lineside.sinks.sinkset import SinkSet

log = logging.getLogger(__name__)

CHAIN_FILE = "haccp-chain.db"
_CLOSES = frozenset(("oee", "oee_shift"))  # points that close a bucket or a shift
_MEASUREMENT = operator.attrgetter("measurement")

Listener = Callable[[Sequence[Point]], None]


class Delivery:
    def __init__(self, sinks: SinkSet, state_dir: Path | str, snapshot: Callable[[], bytes],
                 device_of: Mapping[str, str] | None = None) -> None:
        """`snapshot()`: the engine state as bytes, committed with the points it goes
        with; `device_of`: machine id -> device, for the refusals' log lines."""
        self.sinks = sinks
        self.state_dir = Path(state_dir)
        self.snapshot = snapshot
        self.refusals = Refusals(device_of)
        self.health = sinks.health
        self.chain: ChainStore | None = None  # opened with the first record
        self._unmarked = False  # records queued but not yet marked so in the chain file
        self._requeue = False  # the chain file's unqueued records not read yet
        self._listeners: list[Listener] = []

    def add_listener(self, fn: Listener) -> None:
        """`fn(points)` after every delivery, with the points as queued (records linked)."""
        self._listeners.append(fn)

    # -- the one path ------------------------------------------------------------------
    def deliver(self, points: Sequence[Point], force_chain: bool = False) -> None:
        chain = self.chain
        held = chain is not None and chain.pending  # (or its file not open yet)
        if not points and not held:
            return
        kinds = set(map(_MEASUREMENT, points))  # one C-level pass, not one per test
        refused: list[Refusal] = []
        if held or not kinds.isdisjoint(RECORD_MEASUREMENTS):
            points = self._link(points, force_chain)
            if not points:
                return
            kinds = set(map(_MEASUREMENT, points))
        chained = not kinds.isdisjoint(RECORD_MEASUREMENTS)
        state = self.snapshot() if chained or not kinds.isdisjoint(_CLOSES) else None
        self.sinks.enqueue(points, state=state, refused=refused)
        if refused:
            self.refusals.add("lineproto", refused)
        if chained:
            self._unmarked = True
            self.mark_chain()
        for listener in self._listeners:
            listener(points)

    def _link(self, points: Sequence[Point], force: bool) -> list[Point]:
        """Stage 1: records linked (or held, or refused); the other points returned."""
        refused: list[Refusal] = []
        try:
            out = self.open_chain().link(points, force=force, refused=refused)
        except Exception as e:  # not a refusing disk (held): a chain file SQLite cannot use
            stuck = self.chain.take_held() if self.chain is not None else []
            mine = {id(p) for p in stuck}
            stuck += [p for p in points if is_record(p) and id(p) not in mine]
            self._chain_failed(stuck, e)
            return [p for p in points if not is_record(p)]
        self.health.ok("chain")
        if refused:  # (the store logs each record it refuses)
            self.refusals.add("chain", refused, log_each=False)
        return out

    def _chain_failed(self, records: list[Point], e: BaseException) -> None:
        """The chain failed otherwise than by a refusing disk: the records are set aside
        in its dead-letter file (named by `haccp verify`), the failure goes to `health`,
        the other points go on."""
        first = "chain" not in self.health.failing
        self.health.failed("chain", e)
        bad = [Refusal(p, None, "error") for p in records]
        error = f"{type(e).__name__}: {e}"
        log.error("HACCP chain %s: %s; %d record(s) set aside, the other points go on",
                  self.state_dir / CHAIN_FILE, error, len(bad), exc_info=e if first else None)
        try:
            if bad:
                set_aside(self.state_dir / REFUSED_FILE, bad, error)
        except OSError as e2:
            log.error("HACCP chain: cannot write %s either (%s): %d record(s) lost",
                      REFUSED_FILE, e2, len(bad))
            return
        self.refusals.add("chain", bad, log_each=False)

    def start_chain(self) -> None:
        """At start with CCPs: open the chain (re-queuing what a kill left unqueued); a
        chain file SQLite cannot use is a failing stage, not a failed start."""
        try:
            self.open_chain()
        except Exception as e:
            self._chain_failed([], e)

    def open_chain(self) -> ChainStore:
        """The chain store, opened on first use; what a kill left linked but not queued
        is queued at once (or, if it cannot be read, at a later delivery)."""
        if self.chain is None:
            self.chain = ChainStore(self.state_dir / CHAIN_FILE)
            self._requeue = True
        if self._requeue:
            self._requeue_unqueued(self.chain)
        return self.chain

    def _requeue_unqueued(self, chain: ChainStore) -> None:
        stage = "chain unqueued"
        try:
            again = chain.unqueued()
        except Exception as e:  # linking goes on; marks wait, so that none is forgotten
            if stage not in self.health.failing:
                log.error("HACCP chain %s: cannot read the records linked but not queued "
                          "(%s: %s); trying again at every delivery", self.state_dir /
                          CHAIN_FILE, type(e).__name__, e)
            self.health.failed(stage, e)
            return
        self._requeue = False
        self.health.ok(stage)
        if again:
            self.sinks.enqueue(again)
            self._unmarked = True
            self.mark_chain()

    @property
    def chain_exists(self) -> bool:
        return (self.state_dir / CHAIN_FILE).exists()

    def mark_chain(self) -> None:
        """Mark the linked records queued once every queue has them in its file: records
        a queue holds in memory (its disk refuses) are not durable, and a kill before they
        are written must leave them unmarked, so that the next start queues them again
        from the chain file."""
        if (self._unmarked and self.chain is not None and not self._requeue
                and not self.sinks.holding):
            try:
                self._unmarked = not self.chain.mark_enqueued()
            except sqlite3.Error as e:  # unmarked: the next start queues them again
                self.health.failed("chain", e)

    # -- housekeeping and stop -----------------------------------------------------------
    def save_state(self) -> None:
        """The engine state alone (housekeeping, shutdown), committed in every queue."""
        self.sinks.enqueue([], state=self.snapshot())

    def housekeeping(self) -> None:
        """Records held while the disk refused: linked once it takes them, then marked
        queued once the queues wrote what they held; unqueued records read again if that
        failed; the engine state saved."""
        if self._requeue and self.chain is not None:
            self._requeue_unqueued(self.chain)
        self.deliver([])
        self.mark_chain()
        self.save_state()

    def close(self) -> None:
        """A last try for held records, then the chain file closed (an ERROR with the
        count of records still held: lost). Call after the sinks' close()."""
        self.mark_chain()
        if self.chain is not None:
            self.chain.close()

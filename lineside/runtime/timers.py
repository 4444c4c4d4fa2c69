"""Jobs on wall-clock boundaries that a wall-clock step cannot stop.

Each job fires on a wall-clock grid (every `period_s` from the epoch plus an offset, or
at the instants a `next_after(wall)` function names, e.g. shift ends), but every wait is
measured on the monotonic clock and is at most one period long (`MAX_WAIT_S` for
calendar jobs, after which the target is computed again). So:

- a backward step (NTP correcting a gateway that booted with the clock ahead) delays
  nothing: when the wait ends the job runs, and the next target is computed from the
  new wall clock, at most one period away; APScheduler computed the wait from the old
  target and slept for the hour the clock went back;
- a forward step runs each job once (never once per missed boundary) and re-aligns it;
- calendar jobs (shift ends) wait at most `MAX_WAIT_S` at a time and are woken by a
  step, so a shift end is met on the new wall clock.

A step detector compares how far the wall clock and the monotonic clock moved since
the last look (every `STEP_CHECK_S`, and before every job runs): a difference beyond
`STEP_THRESHOLD_S` is a step. It is counted, logged once as a WARNING, handed to
`on_step(expected_wall, actual_wall)` (the agent tells the engine, docs/engine.md "When
the clock jumps") before any job sees the new time, and every waiting job re-computes
its target. NTP slews (at most 0.5 ms/s) never reach the threshold.

A job whose previous run has not finished is skipped for that boundary (counted), as
APScheduler's `max_instances=1, coalesce=True` did.

Wall, monotonic time and the waits come from one `Clock` (runtime/clock.py): a scaled
(simulated) clock moves its wall and monotonic time together, so it is no step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from lineside.runtime.clock import REAL, Clock, wait_for

log = logging.getLogger("lineside.agent.timers")

STEP_CHECK_S = 1.0
STEP_THRESHOLD_S = 2.0
MAX_WAIT_S = 30.0  # calendar jobs look at the wall clock again at least this often
STOP_GRACE_S = 5.0  # runs in progress at stop: a poll's own timeout is usually shorter

NextAfter = Callable[[float], float]
StepHook = Callable[[float, float], None]


def grid(period_s: float, offset_s: float = 0.0) -> NextAfter:
    """Next instant k * period_s + offset_s after `wall` + a small margin.

    The margin (a tenth of the period, at most 50 ms) keeps a wake-up a little early
    (timer resolution, clock slew) from running the same boundary twice.
    """
    off = offset_s % period_s
    margin = min(0.05, period_s / 10)

    def next_after(wall: float) -> float:
        return (math.floor((wall + margin - off) / period_s) + 1) * period_s + off

    return next_after


@dataclass
class _Job:
    name: str
    next_after: NextAfter
    fn: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    capped: bool  # waits are cut at MAX_WAIT_S (calendar jobs: days between boundaries)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    loop_task: asyncio.Task[None] | None = None
    run_task: asyncio.Task[Any] | None = None
    runs: int = 0
    skipped: int = 0
    last_done_mono: float | None = None  # monotonic time the last run finished


class Timers:
    """The agent's jobs on `clock` (real by default); `wall` or `mono` given replace the
    clock's own (a test fakes a step of the wall clock that way)."""

    def __init__(self, wall: Callable[[], float] | None = None,
                 mono: Callable[[], float] | None = None,
                 on_step: StepHook | None = None, clock: Clock = REAL) -> None:
        self.clock = clock
        self.wall = wall or clock.wall
        self.mono = mono or clock.monotonic
        self.on_step = on_step
        self.jobs: dict[str, _Job] = {}
        self.steps = 0
        self.last_step_s = 0.0
        self._base = (self.wall(), self.mono())
        self._detector: asyncio.Task[None] | None = None
        self._woken: list[_Job] = []  # woken this turn of the event loop, to start in order
        self._boundaries: dict[float, asyncio.Future[None]] = {}  # one wait per boundary
        self._rings: set[asyncio.Task[None]] = set()
        self.running = False

    # -- jobs ----------------------------------------------------------------------
    def every(self, name: str, period_s: float, fn: Callable[..., Awaitable[Any]],
              *args: Any, offset_s: float = 0.0) -> None:
        self._add(_Job(name, grid(period_s, offset_s), fn, args, capped=False))

    def at(self, name: str, next_after: NextAfter, fn: Callable[..., Awaitable[Any]],
           *args: Any) -> None:
        self._add(_Job(name, next_after, fn, args, capped=True))

    def _add(self, job: _Job) -> None:
        self.remove(job.name)
        self.jobs[job.name] = job
        if self.running:
            job.loop_task = asyncio.create_task(self._loop(job), name=f"timer-{job.name}")

    def remove(self, name: str) -> None:
        job = self.jobs.pop(name, None)
        if job is not None and job.loop_task is not None:
            job.loop_task.cancel()

    def start(self) -> None:
        self.running = True
        self._base = (self.wall(), self.mono())
        for job in self.jobs.values():
            if job.loop_task is None:
                job.loop_task = asyncio.create_task(self._loop(job), name=f"timer-{job.name}")
        self._detector = asyncio.create_task(self._watch(), name="timer-step-detector")

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Stop every job loop; runs in progress get `grace_s` (real seconds) to finish.

        A poll that has read its PLC then hands its samples over before the caller
        closes the sinks (left running, it delivered after the queues had closed); a run
        still going after the grace (a PLC that never answers) is cancelled.
        """
        self.running = False
        tasks = [j.loop_task for j in self.jobs.values() if j.loop_task is not None]
        tasks += self._rings
        if self._detector is not None:
            tasks.append(self._detector)
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        runs = [j.run_task for j in self.jobs.values()
                if j.run_task is not None and not j.run_task.done()]
        if not runs:
            return
        _, late = await asyncio.wait(runs, timeout=grace_s)
        for t in late:
            log.warning("stop: %s still running after %.0f s, cancelled", t.get_name(), grace_s)
            t.cancel()
        for t in late:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    # -- step detection ------------------------------------------------------------
    def check_step(self) -> float:
        """Look for a wall-clock step since the last look; returns its size (0: none)."""
        wall, mono = self.wall(), self.mono()
        w0, m0 = self._base
        self._base = (wall, mono)
        expected = w0 + (mono - m0)
        step = wall - expected
        if abs(step) < STEP_THRESHOLD_S:
            return 0.0
        self.steps += 1
        self.last_step_s = step
        log.warning("wall clock stepped %+.1f s (from %s to %s UTC, NTP or a manual change): "
                    "jobs re-aligned to the new time", step, _iso(expected), _iso(wall),
                    extra={"every": True})
        if self.on_step is not None:
            try:
                self.on_step(expected, wall)
            except Exception:  # the engine's trouble must not stop the timers
                log.exception("handling the clock step failed")
        for job in self.jobs.values():
            job.wake.set()
        return step

    async def _watch(self) -> None:
        while True:
            await self.clock.sleep(STEP_CHECK_S)
            self.check_step()

    # -- one job -------------------------------------------------------------------
    async def _loop(self, job: _Job) -> None:
        while True:
            wall = self.wall()
            target = job.next_after(wall)
            delay = max(0.0, target - wall)
            cut = job.capped and delay > MAX_WAIT_S
            if job.capped:  # calendar job: a step makes its (long) wait wrong, wake it
                job.wake.clear()
                try:
                    await wait_for(job.wake.wait(), MAX_WAIT_S if cut else delay, self.clock)
                    continue  # a step: compute the target on the new time
                except TimeoutError:
                    pass
                if cut:
                    continue
            else:  # grid job: the wait is at most a period; run when it ends, then re-align
                await asyncio.shield(self._boundary(target, delay))
            self.check_step()  # the engine hears of a step before the job sees the time
            self._due(job)

    def _boundary(self, target: float, delay: float) -> asyncio.Future[None]:
        """The one wait of every grid job whose next boundary is `target`: they all wake
        in one turn of the event loop (see `_due`)."""
        fut = self._boundaries.get(target)
        if fut is None:
            fut = self._boundaries[target] = asyncio.get_running_loop().create_future()
            ring = asyncio.create_task(self._ring(target, delay, fut), name="timer-boundary")
            self._rings.add(ring)
            ring.add_done_callback(self._rings.discard)
        return fut

    async def _ring(self, target: float, delay: float, fut: asyncio.Future[None]) -> None:
        try:
            await self.clock.sleep(delay)
            fut.set_result(None)
        finally:
            self._boundaries.pop(target, None)
            if not fut.done():  # (stopped)
                fut.cancel()

    def _due(self, job: _Job) -> None:
        """Queue `job` to start; the jobs woken together start in the order they were added.

        Grid jobs sharing a boundary share one wait (`_boundary`), so they wake in one
        turn of the event loop; with a wait each, deadlines microseconds apart woke them
        in no set order and, under load, in two turns (two batches). Started so, a
        device whose poll begins with a long synchronous stretch (an OPC UA Read of
        2,500 nodes is encoded before the first await) delayed, in some cycles, the
        polls that stamp their samples when they start, and housekeeping published the
        counters before some of that boundary's polls and after others.
        """
        if not self._woken:
            asyncio.get_running_loop().call_soon(self._start_due)
        self._woken.append(job)

    def _start_due(self) -> None:
        woken, self._woken = self._woken, []
        if not self.running:
            return  # stopped meanwhile
        order = {name: i for i, name in enumerate(self.jobs)}
        for job in sorted(woken, key=lambda j: order.get(j.name, len(order))):
            if self.jobs.get(job.name) is not job:
                continue  # removed while it waited for its turn
            if job.run_task is not None and not job.run_task.done():
                job.skipped += 1  # the previous run is still going: this boundary passes
                continue
            job.runs += 1
            job.run_task = asyncio.create_task(self._run(job), name=f"job-{job.name}")

    async def _run(self, job: _Job) -> None:
        try:
            await job.fn(*job.args)
        except Exception:
            log.exception("job %s failed", job.name)
        finally:
            job.last_done_mono = self.mono()


def _iso(ts: float) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return repr(ts)

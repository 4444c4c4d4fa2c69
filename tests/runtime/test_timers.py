"""Timers (runtime/timers.py): jobs on wall-clock boundaries that a clock step cannot stop.

The wall clock is the Timers' clock plus an offset the test steps. Where a test checks
Timers' logic (steps, skipped runs, order) the clock is simulated time at `SPEED`; the
figures are in its seconds, and the tightest bound there, a run late by 3/4 of a period
in the step test, is 75 ms of real time (a wake-up on this 2-core box at load 7 is up to
~35 ms late). The grid test's bound, a run's phase within a quarter period, stays 50 ms
of real time on the real clock.
"""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from lineside.runtime.clock import REAL, Clock, ScaledClock
from lineside.runtime.timers import STEP_THRESHOLD_S, Timers, grid

PERIOD = 0.2  # seconds of the test's clock (real: a loaded box's jitter stays well inside)
SPEED = 2.0  # the tests of Timers' logic: a PERIOD is 0.1 s of real time (module text)


class Wall:
    """The clock's wall time plus an offset the test changes (a step)."""

    def __init__(self, clock: Clock = REAL) -> None:
        self.clock = clock
        self.offset = 0.0

    def __call__(self) -> float:
        return self.clock.wall() + self.offset


def soon(wall: Wall, period_s: float) -> float:
    """The offset that puts the next boundary of a `period_s` grid half a PERIOD from now:
    a test of stop() needs one run, not a wait of up to `period_s` for the first."""
    return (wall() + PERIOD / 2) % period_s


@pytest.mark.parametrize("step_s", [-3600.0, 3600.0, -86400.0 * 30])
async def test_a_step_neither_pauses_nor_bursts_a_job(step_s: float) -> None:
    clock = ScaledClock(SPEED)
    wall = Wall(clock)
    steps: list[tuple[float, float]] = []
    runs: list[float] = []  # monotonic instants of the runs (simulated)

    async def job() -> None:
        runs.append(clock.monotonic())

    timers = Timers(wall=wall, on_step=lambda a, b: steps.append((a, b)), clock=clock)
    timers.every("poll", PERIOD, job)
    timers.start()
    try:
        await clock.sleep(5.5 * PERIOD)
        wall.offset += step_s
        await clock.sleep(6 * PERIOD)
    finally:
        await timers.stop()
    gaps = [b - a for a, b in itertools.pairwise(runs)]
    assert 9 <= len(runs) <= 13, runs  # ~11 boundaries in 11.5 periods: none lost, no burst
    assert max(gaps) < 2 * PERIOD, gaps  # polling never paused two intervals
    assert min(gaps) > PERIOD / 4, gaps  # nor ran a boundary twice
    assert timers.steps == 1 and len(steps) == 1
    expected, actual = steps[0]
    assert actual - expected == pytest.approx(step_s, abs=0.2)


async def test_runs_land_on_the_wall_clock_grid_again_after_a_step() -> None:
    wall = Wall()
    seen: list[float] = []

    async def job() -> None:
        seen.append(wall())

    timers = Timers(wall=wall)
    timers.every("poll", PERIOD, job, offset_s=0.03)
    timers.start()
    try:
        await asyncio.sleep(3.5 * PERIOD)
        before = len(seen)
        wall.offset -= 3600.0 + 0.47 * PERIOD  # off the grid on purpose
        await asyncio.sleep(5 * PERIOD)
    finally:
        await timers.stop()
    assert before >= 2, seen  # the job ran before the step...
    after = seen[before:]
    assert len(after) >= 4, after  # ...and after it (~5 boundaries): phases of real runs
    phases = [round((w - 0.03) % PERIOD, 3) for w in after[-3:]]
    assert all(p < PERIOD / 4 or p > PERIOD - 0.001 for p in phases), phases


async def test_a_run_still_going_skips_its_boundary() -> None:
    clock = ScaledClock(SPEED)
    started: list[float] = []

    async def slow() -> None:
        started.append(clock.monotonic())
        await clock.sleep(2.5 * PERIOD)

    timers = Timers(wall=Wall(clock), clock=clock)
    timers.every("slow", PERIOD, slow)
    timers.start()
    try:
        await clock.sleep(10 * PERIOD)
    finally:
        await timers.stop()
    job = timers.jobs["slow"]
    assert 3 <= len(started) <= 4 and job.skipped >= 5


async def test_stop_lets_a_run_in_progress_finish_before_it_returns() -> None:
    """A poll that has read its PLC hands its samples over before the sinks close."""
    delivered: list[int] = []
    started = asyncio.Event()

    async def poll() -> None:
        started.set()
        await asyncio.sleep(PERIOD)  # the PLC's answer on its way
        delivered.append(1)

    wall = Wall()
    timers = Timers(wall=wall)
    timers.every("poll", 10 * PERIOD, poll, offset_s=soon(wall, 10 * PERIOD))
    timers.start()
    await asyncio.wait_for(started.wait(), 20 * PERIOD)
    await timers.stop()
    assert delivered == [1]  # finished before stop returned, not after


async def test_stop_cancels_a_run_that_outlasts_the_grace() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def hung() -> None:  # a PLC that never answers
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    wall = Wall()
    timers = Timers(wall=wall)
    timers.every("hung", 10 * PERIOD, hung, offset_s=soon(wall, 10 * PERIOD))
    timers.start()
    await asyncio.wait_for(started.wait(), 20 * PERIOD)
    t0 = time.monotonic()
    await timers.stop(grace_s=PERIOD)
    assert cancelled.is_set()
    assert time.monotonic() - t0 < 10 * PERIOD


async def test_jobs_sharing_a_boundary_start_in_the_order_they_were_added() -> None:
    # The waits end in one turn of the event loop in no set order; a poll that stamps
    # its samples when it starts must not wait behind another's synchronous stretch
    # one cycle and not the next (bench/plant.py: cycle-phase jitter of 70-176 ms).
    order: list[list[str]] = []

    async def job(name: str) -> None:
        if name == "a":
            order.append([])
        order[-1].append(name)

    clock = ScaledClock(SPEED)
    timers = Timers(wall=Wall(clock), clock=clock)
    names = ["a", *(f"j{i:02d}" for i in range(20))]
    for name in names:
        timers.every(name, PERIOD, job, name)
    timers.start()
    try:
        await clock.sleep(6.5 * PERIOD)
    finally:
        await timers.stop()
    whole = [o for o in order if len(o) == len(names)]
    assert len(whole) >= 4, order
    assert all(o == names for o in whole), order


async def test_slew_below_the_threshold_is_no_step() -> None:
    wall = Wall()
    timers = Timers(wall=wall)
    timers.check_step()
    wall.offset += STEP_THRESHOLD_S / 2
    assert timers.check_step() == 0.0 and timers.steps == 0
    wall.offset += STEP_THRESHOLD_S * 2
    assert timers.check_step() == pytest.approx(STEP_THRESHOLD_S * 2, abs=0.05)


@pytest.mark.parametrize(("wall", "period", "offset", "expected"), [
    (100.00, 1.0, 0.0, 101.0),    # the next boundary
    (100.97, 1.0, 0.0, 102.0),    # 30 ms before a boundary: a wake-up a little early
    (100.50, 1.0, 0.25, 101.25),  # with an offset
    (119.0, 60.0, 2.0, 122.0),    # bucket close: boundary + grace
])
def test_grid(wall: float, period: float, offset: float, expected: float) -> None:
    assert grid(period, offset)(wall) == pytest.approx(expected)

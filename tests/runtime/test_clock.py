"""runtime/clock.py: simulated time that Timers and two processes agree on."""

from __future__ import annotations

import asyncio
import time

import pytest

from lineside.runtime.clock import ENV, REAL, ScaledClock, from_env
from lineside.runtime.timers import Timers

SPEED = 20.0


async def test_a_scaled_clock_runs_speed_times_faster_and_sleeps_less() -> None:
    clock = ScaledClock(SPEED)
    w0, m0, r0 = clock.wall(), clock.monotonic(), time.monotonic()
    await clock.sleep(4.0)  # 0.2 s of real time
    real = time.monotonic() - r0
    assert 0.19 <= real < 1.0, real
    assert clock.monotonic() - m0 == pytest.approx(real * SPEED, rel=0.05)
    assert clock.wall() - w0 == pytest.approx(real * SPEED, rel=0.05)


def test_two_clocks_of_one_epoch_agree_like_two_processes() -> None:
    a = ScaledClock(SPEED, epoch=time.time() - 10)
    time.sleep(0.05)
    b = from_env({ENV: a.env()})  # what `lineside simulate` builds from LINESIDE_CLOCK
    assert isinstance(b, ScaledClock) and b.speed == SPEED and b.epoch == a.epoch
    assert b.wall() - a.wall() == pytest.approx(0.0, abs=0.01 * SPEED)
    assert a.real_at(a.wall()) == pytest.approx(time.time(), abs=0.01)


def test_the_environment_names_the_clock_or_none() -> None:
    assert from_env({}) is REAL
    assert from_env({ENV: " "}) is REAL
    with pytest.raises(ValueError, match="SPEED@EPOCH"):
        from_env({ENV: "fast"})
    with pytest.raises(ValueError, match="SPEED@EPOCH"):
        from_env({ENV: "0@1765000000"})


async def test_timers_on_a_scaled_clock_keep_the_simulated_grid_and_see_no_step() -> None:
    clock = ScaledClock(SPEED)
    runs: list[float] = []  # simulated instants of the runs

    async def job() -> None:
        runs.append(clock.wall())

    timers = Timers(clock=clock)
    timers.every("poll", 1.0, job)  # a simulated second: 50 ms of real time
    timers.start()
    try:
        await asyncio.sleep(1.0)  # 20 simulated seconds, 20 step checks
    finally:
        await timers.stop()
    assert timers.steps == 0  # wall and monotonic time move together
    assert 15 <= len(runs) <= 21, runs
    # each run on its simulated whole second (the late start of a loaded box aside)
    assert sorted(round(t) for t in runs) == sorted(set(round(t) for t in runs))
    assert max(abs(t - round(t)) for t in runs) < 0.5, runs

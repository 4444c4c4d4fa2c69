"""Monitored item options reach the server: deadband filter, batching, per-signal rates."""

from __future__ import annotations

import itertools

import pytest

from lineside.drivers.base import SignalRef
from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.settings import OpcuaSignal
from lineside.samples import Quality
from tests.fixtures.opcua_peers import KINDS, NS_URI, Collector, line_signals, opcua_device

pytestmark = pytest.mark.server


@pytest.mark.parametrize("kind", KINDS)
async def test_absolute_deadband_and_batched_creation(opcua_shared, kind: str) -> None:
    peer, state = opcua_shared(kind)  # counter +1 every 100 ms
    counter = f"nsu={NS_URI};s=Line1.Counter"
    signals = [
        SignalRef("m1.every", OpcuaSignal(node=counter)),
        SignalRef("m1.deadband", OpcuaSignal(node=counter, deadband=2.5,
                                             deadband_type="absolute")),
        *line_signals(peer)[2:8],
    ]
    dev = opcua_device(peer, mode="subscribe", items_per_request=3)
    driver = OpcuaDriver(dev, signals, state)
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.every")) >= 12, what="12 counter changes")
    finally:
        await driver.close()
    every = [s.value for s in got.of("m1.every")]
    damped = [s.value for s in got.of("m1.deadband") if s.quality is Quality.GOOD]
    assert damped, "the initial value is always reported"
    assert "m1.deadband" not in driver.signal_errors  # filter accepted by the server
    if kind == "node":
        # node-opcua compares with the last *reported* value (Part 4 §7.22.2) and so
        # reports every 3rd step; asyncua's server compares with the previous sample, so
        # +1 steps never pass a 2.5 deadband there and only the initial value comes
        assert len(damped) >= 2
    # the server filtered: consecutive reported values differ by more than the deadband
    assert all(b - a > 2.5 for a, b in itertools.pairwise(damped)), damped
    assert len(damped) < len(every) / 2
    # 8 items, 3 per CreateMonitoredItems call
    assert driver.conn.requests["CreateMonitoredItemsRequest"] == 3

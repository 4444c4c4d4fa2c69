"""Read and subscribe against two independent stacks, without and with SignAndEncrypt."""

from __future__ import annotations

import asyncio
import time

import pytest

from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.samples import Quality
from tests.fixtures.opcua_peers import KINDS, Collector, line_signals, opcua_device

pytestmark = pytest.mark.server

SECURITY = [("None", "None"), ("Basic256Sha256", "SignAndEncrypt")]


def check_line(by_key: dict, now: float) -> None:  # type: ignore[type-arg]
    assert by_key["m1.counter"].quality is Quality.GOOD
    assert isinstance(by_key["m1.counter"].value, int) and by_key["m1.counter"].value > 0
    assert by_key["m1.temperature"].quality is Quality.GOOD  # browse path resolved
    assert 14.0 <= by_key["m1.temperature"].value <= 26.0
    assert (by_key["m1.running"].value, by_key["m1.state"].value) == (True, "Execute")
    assert (by_key["m1.bad"].quality, by_key["m1.bad"].value) == (Quality.BAD, None)
    assert (by_key["m1.uncertain"].quality, by_key["m1.uncertain"].value) == (
        Quality.UNCERTAIN, 1.5)
    assert by_key["m1.server_state"].value == 0  # ServerState Running, ns 0 numeric id
    # source timestamps from the server, not the local clock of the cycle
    assert abs(by_key["m1.counter"].ts - now) < 5


@pytest.mark.parametrize(("policy", "mode"), SECURITY, ids=["none", "b256sha256-encrypt"])
@pytest.mark.parametrize("kind", KINDS)
async def test_poll_and_subscribe(opcua_shared, kind: str, policy: str, mode: str) -> None:
    peer, opcua_pki = opcua_shared(kind)
    signals = line_signals(peer)

    # --- poll: one Read per cycle, every signal every cycle
    dev = opcua_device(peer, mode="poll", security_policy=policy, security_mode=mode)
    driver = OpcuaDriver(dev, signals, opcua_pki)
    try:
        first = await driver.poll()
        assert driver.stats.up, driver.stats.last_error
        await asyncio.sleep(0.3)
        second = await driver.poll()
    finally:
        await driver.close()
    assert [s.signal for s in first] == [s.key for s in signals]
    check_line({s.signal: s for s in second}, time.time())
    assert second[0].value > first[0].value  # the counter moves
    assert driver.stats.requests == 2  # exactly one Read service per cycle
    # + NamespaceArray, OperationLimits and the nodes' DataType, read once at connect
    assert driver.conn.requests.get("ReadRequest") == 2 + 3
    # integer DataTypes learned at connect (counter widths for the engine); Double,
    # Boolean, String and the ServerState enumeration are not integers
    assert driver.integer_bits == {"m1.counter": 32, "m1.removable": 32}

    # --- subscribe: values arrive as they change
    dev = opcua_device(peer, mode="subscribe", security_policy=policy, security_mode=mode)
    driver = OpcuaDriver(dev, signals, opcua_pki)
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.counter")) >= 3, what="3 counter changes")
        by_key = {k: got.latest(k) for k in (s.key for s in signals)}
        check_line(by_key, time.time())
        counts = [s.value for s in got.of("m1.counter")]
        assert counts == sorted(counts)
        assert peer.stats()["sessions"] == 1
    finally:
        await driver.close()
    assert driver.conn.requests.get("CreateMonitoredItemsRequest") == 1
    # close() ends the session (and with it the subscription) on the server
    await asyncio.sleep(0.2)
    assert peer.stats()["sessions"] == 0
    assert not (opcua_pki / "pki" / "rejected").exists()


@pytest.mark.parametrize(("stamp", "unchanged_ts_moves"), [
    (None, True),  # default for polling: gather, the time of the read
    ("gather", True),
    ("source", False),  # when the value last changed at the source
])
async def test_poll_timestamps(opcua_shared, stamp: str | None, unchanged_ts_moves: bool
                               ) -> None:
    """A poll observes a value now: by default its sample carries the cycle's time, so an
    unchanged value (a machine state held for an hour) is never taken for an old one."""
    peer, opcua_pki = opcua_shared("asyncua")
    extra = {} if stamp is None else {"timestamp": stamp}
    driver = OpcuaDriver(opcua_device(peer, mode="poll", **extra), line_signals(peer),
                         opcua_pki)
    try:
        t0 = time.time()
        first = {s.signal: s for s in await driver.poll()}
        # 0.3 s apart: a gathered stamp moves by that much, a source stamp of a value
        # that never changes by exactly nothing, so 0.25 s tells them apart
        await asyncio.sleep(0.3)
        second = {s.signal: s for s in await driver.poll()}
    finally:
        await driver.close()
    held = first["m1.running"]  # constant on the peer
    assert second["m1.running"].value == held.value
    moved = second["m1.running"].ts - held.ts >= 0.25
    assert moved is unchanged_ts_moves
    if unchanged_ts_moves:
        assert all(s.ts == first["m1.counter"].ts for s in first.values())  # one cycle time
        assert first["m1.counter"].ts >= t0

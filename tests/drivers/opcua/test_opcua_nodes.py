"""A node removed at run time, bad status codes, a server with a small MaxNodesPerRead."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from lineside.drivers.base import SignalRef
from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.settings import OpcuaSignal
from lineside.samples import Quality
from tests.fixtures.opcua_peers import KINDS, NS_URI, Collector, line_signals, opcua_device

pytestmark = pytest.mark.server


@pytest.mark.parametrize("kind", KINDS)
async def test_removed_node_is_bad_and_the_others_stay_good(
    opcua_peer, tmp_path: Path, kind: str
) -> None:
    peer = opcua_peer(kind, rate=10)
    signals = line_signals(peer)
    driver = OpcuaDriver(opcua_device(peer, mode="poll"), signals, tmp_path / "state")
    try:
        before = {s.signal: s for s in await driver.poll()}
        assert (before["m1.removable"].quality, before["m1.removable"].value) == (
            Quality.GOOD, 7)
        peer.ctl(f"remove {peer.nodeid('Line1.Removable')}")
        after = {s.signal: s for s in await driver.poll()}
        assert (after["m1.removable"].quality, after["m1.removable"].value) == (Quality.BAD, None)
        assert after["m1.counter"].quality is Quality.GOOD
        assert after["m1.state"].value == "Execute"
        assert driver.stats.up  # a bad node is not a bad device: same session, no reconnect
        assert driver.conn.requests["CreateSessionRequest"] == 1
        # a status code set on a node at run time reaches the sample
        peer.ctl(f"status {peer.nodeid('Line1.Running')} 0x808D0000")  # BadOutOfService
        running = {s.signal: s for s in await driver.poll()}["m1.running"]
        assert running.quality is Quality.BAD
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_subscription_with_unknown_and_removed_nodes(
    opcua_peer, tmp_path: Path, kind: str
) -> None:
    peer = opcua_peer(kind, rate=10)
    signals = [*line_signals(peer),
               SignalRef("m1.nowhere", OpcuaSignal(node=f"nsu={NS_URI};s=Line1.Nowhere")),
               SignalRef("m1.nopath", OpcuaSignal(path=f"{peer.ns_index}:Line1/0:Nothing")),
               SignalRef("m1.nons", OpcuaSignal(node="nsu=urn:unknown;s=X"))]
    driver = OpcuaDriver(opcua_device(peer, mode="subscribe"), signals, tmp_path / "state")
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.counter")) >= 2, what="counter changes")
        for key in ("m1.nowhere", "m1.nopath", "m1.nons"):
            assert got.latest(key).quality is Quality.BAD, key
        errors = driver.stats.errors
        assert errors["address"] == 2  # the path and the unknown namespace
        assert "urn:unknown" in driver.signal_errors["m1.nons"]
        assert "not found" in driver.signal_errors["m1.nopath"]
        assert "BadNodeIdUnknown" in driver.signal_errors["m1.nowhere"]
        # a node removed while subscribed: after the next reconnect it is refused,
        # reported BAD, and everything else resumes
        peer.ctl(f"remove {peer.nodeid('Line1.Removable')}")
        driver._mark_lost("test: force a re-creation")
        await got.wait(lambda: len([s for s in got.of("m1.removable")
                                    if s.quality is Quality.BAD]) >= 2,
                       what="removable BAD after re-creation")
        n = len(got.of("m1.counter"))
        await got.wait(lambda: len(got.of("m1.counter")) > n + 2, what="counter resumes")
        assert got.latest("m1.counter").quality is Quality.GOOD
        assert got.latest("m1.removable").quality is Quality.BAD
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_small_max_nodes_per_read_splits_the_read(
    opcua_peer, tmp_path: Path, kind: str
) -> None:
    limit, bulk = 7, 40
    peer = opcua_peer(kind, bulk=bulk, max_nodes_per_read=limit, rate=5)
    signals = [SignalRef(f"bulk.v{i}", OpcuaSignal(node=f"nsu={NS_URI};s=Bulk.V{i:05d}"))
               for i in range(bulk)]
    # configured chunk is larger: the server's declared limit must win
    dev = opcua_device(peer, mode="poll", max_nodes_per_read=500)
    driver = OpcuaDriver(dev, signals, tmp_path / "state")
    try:
        await driver.poll()
        reads_before = peer.stats()["requests"]["ReadRequest"]
        await asyncio.sleep(0.25)
        samples = await driver.poll()
        assert driver.conn.limits.max_nodes_per_read == limit
        assert len(samples) == bulk
        assert all(s.quality is Quality.GOOD for s in samples), driver.stats.last_error
        assert len({s.value for s in samples}) <= 2  # one tick, maybe straddling a change
        stats = peer.stats()
        assert stats["max_read_size"] <= limit
        assert stats["requests"]["ReadRequest"] - reads_before == math.ceil(bulk / limit)
    finally:
        await driver.close()


async def test_undeclared_read_limit_is_learned(opcua_peer, tmp_path: Path) -> None:
    """A server that refuses big Reads (BadTooManyOperations) without declaring
    MaxNodesPerRead: the driver halves the request until it passes and keeps that size."""
    limit, bulk = 7, 40
    peer = opcua_peer("asyncua", bulk=bulk, max_nodes_per_read=limit, hide_limits=True)
    signals = [SignalRef(f"bulk.v{i}", OpcuaSignal(node=f"nsu={NS_URI};s=Bulk.V{i:05d}"))
               for i in range(bulk)]
    driver = OpcuaDriver(opcua_device(peer, mode="poll", max_nodes_per_read=bulk), signals,
                         tmp_path / "state")
    try:
        first = await driver.poll()
        assert len(first) == bulk
        assert all(s.quality is Quality.GOOD for s in first), driver.stats.last_error
        learned = driver.conn.limits.max_nodes_per_read
        assert learned is not None and learned <= limit
        before = driver.stats.requests
        second = await driver.poll()
        assert len(second) == bulk
        assert all(s.quality is Quality.GOOD for s in second)
        assert driver.stats.requests - before == math.ceil(bulk / learned)  # no more probing
        assert driver.conn.requests["CreateSessionRequest"] == 1
    finally:
        await driver.close()

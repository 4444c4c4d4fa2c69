"""Recovery: server restart, a frozen server (keep-alive timeout), one session at a time.

The tests that stop, restart or freeze a server share one unsecured peer per kind for
the module (`recovery_peer`): a peer start costs 2-3 s (node-opcua more). Each test
closes its sessions; the fixture thaws the peer after it and starts it again if it was
left stopped. The keep-alive is 0.2 s (node-opcua: 0.4 s), so a frozen server or a
dropped session is seen within ~1.5 s (the driver checks twice a second).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.samples import Quality
from tests.fixtures.opcua_peers import (
    KINDS,
    Collector,
    OpcuaPeer,
    line_signals,
    node_peer_available,
    opcua_device,
)

pytestmark = pytest.mark.server

# the smallest the peers grant: asyncua keeps 1 publishing interval of 0.2 s, node-opcua
# revises the count to 2 (0.4 s); a lost keep-alive is seen after 2 x that + timeout_s
KEEPALIVE_S = 0.2


@pytest.fixture(scope="module")
def _module_peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, OpcuaPeer]]:
    peers: dict[str, OpcuaPeer] = {}
    yield peers
    for p in peers.values():
        p.stop()


@pytest.fixture
def recovery_peer(_module_peers: dict[str, OpcuaPeer],
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], OpcuaPeer]]:
    """`recovery_peer(kind)`: the module's running peer of that kind (rate 10/s)."""
    used: list[OpcuaPeer] = []

    def get(kind: str) -> OpcuaPeer:
        if kind not in _module_peers:
            if kind == "node":
                node_peer_available()
            _module_peers[kind] = OpcuaPeer(kind=kind, rate=10,
                                            workdir=tmp_path_factory.mktemp("recovery"))
        peer = _module_peers[kind]
        if peer.proc is None:
            peer.start()
        used.append(peer)
        return peer

    yield get
    for peer in used:  # a failed test must not leave the next one a frozen or dead peer
        if peer.proc is not None and peer.proc.poll() is None:
            peer.thaw()
        else:
            peer.proc = None


def nsu_signals(peer):  # type: ignore[no-untyped-def]
    # signals addressed by namespace URI survive a server that renumbers its namespaces
    return [s for s in line_signals(peer) if s.spec.node and s.spec.node.startswith("nsu=")]


def good_after_bad(got: Collector, key: str) -> bool:
    seq = got.of(key)
    bad_at = next((i for i, s in enumerate(seq) if s.quality is Quality.BAD), None)
    return bad_at is not None and any(s.quality is Quality.GOOD for s in seq[bad_at:])


@pytest.mark.parametrize("kind", KINDS)
async def test_server_restart_resumes_subscription_with_one_session(
    recovery_peer, tmp_path: Path, kind: str
) -> None:
    peer = recovery_peer(kind)
    signals = nsu_signals(peer)
    driver = OpcuaDriver(opcua_device(peer, mode="subscribe"), signals, tmp_path / "state")
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.counter")) >= 3, what="counter changes")
        assert peer.stats()["sessions"] == 1
        # restart with the namespace moved to another index: nsu= must be re-resolved
        peer.stop()
        await got.wait(lambda: got.latest("m1.counter").quality is Quality.BAD,
                       what="BAD samples during the outage")
        outage = {s.signal for s in got.samples if s.quality is Quality.BAD}
        assert outage >= {s.key for s in signals}  # every signal marked, none left stale
        assert not driver.stats.up
        # the driver retries against a closed port meanwhile: one failed attempt at least
        failed = sum(driver.stats.errors.values())
        await got.wait(lambda: sum(driver.stats.errors.values()) > failed,
                       what="a reconnect refused by the closed port")
        peer.restart(ns_padding=peer.ns_padding + 2)
        await got.wait(lambda: good_after_bad(got, "m1.counter"), timeout=20,
                       what="counter GOOD again after the restart")
        n = len(got.of("m1.counter"))
        await got.wait(lambda: len(got.of("m1.counter")) >= n + 3, what="values flowing")
        assert driver.stats.up
        stats = peer.stats()
        assert stats["sessions"] == 1
        assert stats["max_sessions"] == 1
        assert stats["created_sessions"] == 1  # no session flood on the restarted server
        state = got.latest("m1.state")
        assert (state.quality, state.value) == (Quality.GOOD, "Execute")
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_frozen_server_is_detected_by_keepalive_and_session_not_duplicated(
    recovery_peer, tmp_path: Path, kind: str
) -> None:
    """A hung server (SIGSTOP: TCP stays up, nothing answers) is only seen by the missing
    keep-alive. After it thaws the driver must not leave its old session behind."""
    peer = recovery_peer(kind)
    driver = OpcuaDriver(opcua_device(peer, mode="subscribe", timeout_s=1.0,
                                      keepalive_s=KEEPALIVE_S),
                         nsu_signals(peer), tmp_path / "state")
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.counter")) >= 3, what="counter changes")
        peer.freeze()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await got.wait(lambda: got.latest("m1.counter").quality is Quality.BAD, timeout=10,
                       what="BAD after the keep-alive timeout")
        # the driver gives up after 2 x keep-alive (0.2 s asyncua, 0.4 s node revised)
        # + timeout (1 s): 1.4-1.8 s
        assert loop.time() - t0 < 4.5
        assert "keep-alive" in (driver.stats.last_error or "")
        await asyncio.sleep(0.5)
        peer.thaw()
        await got.wait(lambda: good_after_bad(got, "m1.counter"), timeout=25,
                       what="counter GOOD after the thaw")
        await asyncio.sleep(0.5)
        assert peer.stats()["sessions"] == 1  # the abandoned session was closed, not leaked
    finally:
        await driver.close()


async def test_poll_mode_outage_gives_bad_then_recovers(recovery_peer, tmp_path: Path) -> None:
    peer = recovery_peer("asyncua")
    signals = nsu_signals(peer)
    driver = OpcuaDriver(opcua_device(peer, mode="poll"), signals, tmp_path / "state")
    try:
        assert all(s.quality is not Quality.BAD for s in await driver.poll()
                   if s.signal != "m1.bad")
        peer.stop()
        down = await driver.poll()
        assert [s.quality for s in down] == [Quality.BAD] * len(signals)
        assert not driver.stats.up
        t0 = asyncio.get_running_loop().time()
        again = await driver.poll()  # inside the backoff: no connect attempt, instant BAD
        assert asyncio.get_running_loop().time() - t0 < 0.1
        assert len(again) == len(signals)
        assert all(s.quality is Quality.BAD for s in again)
        peer.start()
        for _ in range(50):
            samples = await driver.poll()
            if driver.stats.up:
                break
            await asyncio.sleep(0.1)
        by_key = {s.signal: s for s in samples}
        assert by_key["m1.counter"].quality is Quality.GOOD
        assert peer.stats()["max_sessions"] == 1
    finally:
        await driver.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_session_left_by_a_killed_agent_is_closed_by_the_next_one(
    opcua_shared, tmp_path: Path, kind: str
) -> None:
    """kill -9 of the agent leaves its session (with a subscription) on the server; the
    next start re-activates it by its persisted token and closes it: still one session."""
    from lineside.drivers.opcua.connection import _abandon

    peer, _ = opcua_shared(kind)
    state = tmp_path / "state"
    created = peer.stats()["created_sessions"]
    first = OpcuaDriver(opcua_device(peer, mode="subscribe"), nsu_signals(peer), state)
    got = Collector()
    await first.start(got)
    await got.wait(lambda: len(got.of("m1.counter")) >= 2)
    # the crash: tasks gone, socket dropped, no CloseSession
    assert first._task is not None
    first._task.cancel()
    client, first.conn.client = first.conn.client, None
    assert client is not None
    await _abandon(client, graceful=False)
    await asyncio.sleep(0.5)
    assert peer.stats()["sessions"] == 1  # the orphan, kept for its subscription
    assert (state / "opcua" / f"{kind}-peer.session.json").is_file()

    second = OpcuaDriver(opcua_device(peer, mode="subscribe"), nsu_signals(peer), state)
    got2 = Collector()
    await second.start(got2)
    try:
        await got2.wait(lambda: len(got2.of("m1.counter")) >= 2)
        stats = peer.stats()
        assert stats["sessions"] == 1
        assert stats["created_sessions"] == created + 2
    finally:
        await second.close()
    assert not (state / "opcua" / f"{kind}-peer.session.json").exists()  # closed cleanly


@pytest.mark.parametrize("kind", KINDS)
async def test_session_expired_on_the_server_is_recreated(opcua_shared, tmp_path: Path,
                                                          kind: str) -> None:
    """The server drops the session (timeout, admin, reboot of its stack) while TCP stays
    up: the publish keep-alive stops, the driver re-creates session and subscription."""
    peer, _ = opcua_shared(kind)
    # seen by the keep-alive watchdog: 2 x 0.2-0.4 s + the 1 s timeout
    driver = OpcuaDriver(opcua_device(peer, mode="subscribe", keepalive_s=KEEPALIVE_S,
                                      timeout_s=1.0),
                         nsu_signals(peer), tmp_path / "state")
    got = Collector()
    await driver.start(got)
    try:
        await got.wait(lambda: len(got.of("m1.counter")) >= 2)
        peer.ctl("drop-sessions")
        await got.wait(lambda: good_after_bad(got, "m1.counter"), timeout=20,
                       what="GOOD again after the server dropped the session")
        assert peer.stats()["sessions"] == 1
    finally:
        await driver.close()

"""Safety (no Write, no Call, ever) and the `trust` command."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import re
from pathlib import Path

import pytest
from asyncua import ua

from lineside.cli import trust
from lineside.drivers.opcua.connection import FORBIDDEN_REQUESTS, ForbiddenService
from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.security import thumbprint
from lineside.samples import Quality
from tests.fixtures.opcua_peers import Collector, line_signals, opcua_device

SOURCE = Path(inspect.getfile(OpcuaDriver)).parent  # lineside/drivers/opcua

# services a read-only agent may use: discovery, session, Read, Browse, subscriptions
ALLOWED = {
    "GetEndpointsRequest", "CreateSessionRequest", "ActivateSessionRequest",
    "CloseSessionRequest", "ReadRequest", "TranslateBrowsePathsToNodeIdsRequest",
    "CreateSubscriptionRequest", "CreateMonitoredItemsRequest", "PublishRequest",
    "DeleteSubscriptionsRequest", "OpenSecureChannelRequest", "CloseSecureChannelRequest",
}


@pytest.mark.server
async def test_server_sees_no_write_or_call_and_the_client_refuses_them(
    opcua_shared, tmp_path: Path
) -> None:
    peer, _ = opcua_shared("asyncua")  # instrumented: counts every service request
    signals = line_signals(peer)
    poller = OpcuaDriver(opcua_device(peer, mode="poll"), signals, tmp_path / "a")
    subscriber = OpcuaDriver(opcua_device(peer, mode="subscribe"), signals, tmp_path / "b")
    got = Collector()
    try:
        for _ in range(3):
            await poller.poll()
        await subscriber.start(got)
        await got.wait(lambda: len(got.of("m1.counter")) >= 2)
        subscriber._mark_lost("test: re-create everything once")
        n = len(got.of("m1.counter"))
        await got.wait(lambda: len(got.of("m1.counter")) > n + 1)
        # even a deliberate attempt through the driver's own client is stopped at the
        # transport, before a byte leaves the agent
        client = poller.conn.client
        assert client is not None
        node = client.get_node(peer.nodeid("Line1.Counter"))
        with pytest.raises(ForbiddenService):
            await node.write_value(ua.Variant(1, ua.VariantType.Int32))
        with pytest.raises(ForbiddenService):
            await client.get_node("i=2253").call_method(ua.NodeId(11492), 1)
        assert (await poller.poll())[0].quality is Quality.GOOD  # session unharmed
    finally:
        await poller.close()
        await subscriber.close()
    seen = set(peer.stats()["requests"])
    assert seen <= ALLOWED, seen - ALLOWED
    assert not seen & FORBIDDEN_REQUESTS
    assert {"ReadRequest", "PublishRequest", "CreateMonitoredItemsRequest"} <= seen


def test_driver_source_has_no_write_or_call_service() -> None:
    forbidden = re.compile(
        r"\.(write_value|write_attribute|write_attributes|write_values|call_method|call|"
        r"add_nodes|delete_nodes|add_references|delete_references|history_update|"
        r"set_value|set_attribute|write)\("
    )
    hits = []
    for f in sorted(SOURCE.glob("*.py")):
        for no, line in enumerate(f.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if forbidden.search(code) and "f.write(" not in code:
                hits.append(f"{f.name}:{no}: {line.strip()}")
    assert not hits, hits


@pytest.mark.server
async def test_trust_command(opcua_shared, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    peer, opcua_pki = opcua_shared("asyncua")
    trust_dir = tmp = tmp_path / "site-trust"
    parser = argparse.ArgumentParser()
    trust.add_arguments(parser)

    def run(*extra: str) -> int:
        args = parser.parse_args(["--endpoint", peer.endpoint, "--trust-dir", str(tmp), *extra])
        return trust.run(args)

    der = peer.server_certificate()
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, run, "--show") == 0
    assert thumbprint(der) in capsys.readouterr().out
    assert not trust_dir.exists()
    assert await loop.run_in_executor(None, run, "--thumbprint", "00" * 20) == 1
    assert not trust_dir.exists()
    assert await loop.run_in_executor(None, run) == 1  # not a tty and no --yes: refuse
    assert await loop.run_in_executor(None, run, "--thumbprint", thumbprint(der)) == 0
    files = list(trust_dir.iterdir())
    assert [f.read_bytes() for f in files] == [der]
    assert await loop.run_in_executor(None, run, "--yes") == 0
    assert "already trusted" in capsys.readouterr().out
    # the driver now trusts the server through that directory
    dev = opcua_device(peer, mode="poll", security_policy="Basic256Sha256", trust_dir=trust_dir)
    driver = OpcuaDriver(dev, line_signals(peer)[:1], opcua_pki)
    try:
        assert (await driver.poll())[0].quality is Quality.GOOD, driver.stats.last_error
    finally:
        await driver.close()


def test_trust_command_unreachable_endpoint(capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.fixtures.common import free_port

    parser = argparse.ArgumentParser()
    trust.add_arguments(parser)
    args = parser.parse_args(["--endpoint", f"opc.tcp://127.0.0.1:{free_port()}",
                              "--trust-dir", "/nonexistent", "--timeout", "1"])
    assert trust.run(args) == 1
    assert "cannot fetch the certificate" in capsys.readouterr().err


async def test_an_endpoints_password_never_reaches_an_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # asyncua takes user:password@ in an endpoint as credentials; nothing listens on
    # the port, and the driver's error, which names the endpoint, masks the password
    from lineside.drivers.base import SignalRef
    from lineside.drivers.opcua.settings import OpcuaDevice, OpcuaSignal
    from tests.fixtures.common import free_port

    device = OpcuaDevice(id="plc", type="opcua", timeout_s=2.0,
                         endpoint=f"opc.tcp://op:hunter2@127.0.0.1:{free_port()}")
    driver = OpcuaDriver(device, [SignalRef("m1.running", OpcuaSignal(node="ns=2;s=R"))],
                         tmp_path / "state")
    try:
        samples = await asyncio.wait_for(driver.poll(), 10)
    finally:
        await driver.close()
    assert [s.quality for s in samples] == [Quality.BAD]
    assert "opc.tcp://op:***@127.0.0.1" in (driver.stats.last_error or "")
    assert "hunter2" not in (driver.stats.last_error or "") + caplog.text

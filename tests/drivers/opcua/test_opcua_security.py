"""Trust in both directions, credentials, and the messages an integrator reads."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from cryptography import x509

from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.security import POLICIES
from lineside.samples import Quality
from tests.fixtures.opcua_peers import KINDS, line_signals, opcua_device

pytestmark = pytest.mark.server


async def poll_until(driver: OpcuaDriver, cond, timeout: float = 15.0):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        samples = await driver.poll()
        if cond(samples):
            return samples
        if loop.time() > deadline:
            raise TimeoutError(f"last error: {driver.stats.last_error}")
        await asyncio.sleep(0.1)


@pytest.mark.parametrize("kind", KINDS)
async def test_trust_and_credentials_walkthrough(
    opcua_peer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """What an integrator lives through on a first secured connection, step by step."""
    peer = opcua_peer(kind, secure=True, users=("op:s3cret",), rate=10)
    state = tmp_path / "state"
    monkeypatch.setenv("LINESIDE_TEST_OPCUA_PW", "wrong")
    dev = opcua_device(peer, mode="poll", security_policy="Basic256Sha256",
                       username="op", password_env="LINESIDE_TEST_OPCUA_PW")
    signals = line_signals(peer)[:2]
    driver = OpcuaDriver(dev, signals, state)
    try:
        # 1. the server's certificate is not in our trust list
        samples = await driver.poll()
        assert len(samples) == len(signals)
        assert all(s.quality is Quality.BAD for s in samples)
        msg = driver.stats.last_error or ""
        rejected = list((state / "pki" / "rejected").iterdir())
        assert len(rejected) == 1
        assert "is not trusted" in msg and str(rejected[0]) in msg
        assert str(state / "pki" / "trusted") in msg and "lineside trust" in msg
        assert driver.stats.errors["setup"] == 1
        # our own certificate was created on this first start, for our application URI
        cert_path = state / "pki" / "own" / "cert.der"
        cert = x509.load_der_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert dev.application_uri in san.get_values_for_type(x509.UniformResourceIdentifier)
        first_cert = cert_path.read_bytes()

        # 2. integrator trusts it (as `lineside trust` does): now the server refuses us
        (state / "pki" / "trusted").mkdir(parents=True, exist_ok=True)
        shutil.move(rejected[0], state / "pki" / "trusted" / rejected[0].name)
        await poll_until(driver, lambda _: "client certificate" in (driver.stats.last_error
                                                                      or ""))
        msg = driver.stats.last_error or ""
        assert str(cert_path) in msg and "trusted" in msg

        # 3. the server trusts our certificate: the wrong password is named as such
        peer.trust_client(cert_path)
        shutil.rmtree(peer.pki / "rejected", ignore_errors=True)
        await poll_until(driver, lambda _: "rejected user 'op'" in (driver.stats.last_error
                                                                   or ""))
        msg = driver.stats.last_error or ""
        assert "environment variable LINESIDE_TEST_OPCUA_PW" in msg
        assert "wrong" not in msg  # a secret is never printed
    finally:
        await driver.close()

    # 4. right password, from a file this time: data flows, same certificate reused
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    dev = opcua_device(peer, mode="poll", security_policy="Basic256Sha256",
                       username="op", password_file=pw)
    driver = OpcuaDriver(dev, signals, state)
    try:
        samples = await poll_until(driver, lambda ss: ss[0].quality is Quality.GOOD)
        assert samples[1].quality is Quality.GOOD
    finally:
        await driver.close()
    assert cert_path.read_bytes() == first_cert  # created once, reused


@pytest.mark.parametrize("policy", [p for p in POLICIES if p != "Basic256Sha256"])
@pytest.mark.parametrize("kind", KINDS)
async def test_newer_policies_and_sign_only(opcua_shared, kind: str, policy: str) -> None:
    peer, opcua_pki = opcua_shared(kind)
    for p, mode in ((policy, "SignAndEncrypt"), ("Basic256Sha256", "Sign")):
        dev = opcua_device(peer, mode="poll", security_policy=p, security_mode=mode)
        driver = OpcuaDriver(dev, line_signals(peer)[:1], opcua_pki)
        try:
            samples = await driver.poll()
        finally:
            await driver.close()
        assert samples[0].quality is Quality.GOOD, (p, mode, driver.stats.last_error)


async def test_missing_endpoint_lists_what_the_server_offers(opcua_peer, tmp_path: Path) -> None:
    peer = opcua_peer("asyncua", secure=False)
    dev = opcua_device(peer, mode="poll", security_policy="Basic256Sha256")
    driver = OpcuaDriver(dev, line_signals(peer)[:1], tmp_path / "state")
    try:
        await driver.poll()
    finally:
        await driver.close()
    msg = driver.stats.last_error or ""
    assert "offers no endpoint with security Basic256Sha256/SignAndEncrypt" in msg
    assert "it offers: None/None" in msg


@pytest.mark.parametrize("suffix", [".der", ".pem"])
def test_client_certificate_created_once_and_kept(tmp_path: Path, suffix: str) -> None:
    from lineside.drivers.opcua.security import Pki, ensure_client_certificate, load_cert

    pki = Pki(root=tmp_path, cert=tmp_path / f"own/cert{suffix}", key=tmp_path / "private/k.pem",
              trusted=tmp_path / "trusted", rejected=tmp_path / "rejected")
    ensure_client_certificate(pki, "urn:plant:gw1")
    first, key = pki.cert.read_bytes(), pki.key.read_bytes()
    assert first.startswith(b"-----BEGIN") == (suffix == ".pem")
    assert pki.key.stat().st_mode & 0o077 == 0  # the private key is private
    ensure_client_certificate(pki, "urn:plant:gw1")
    assert pki.cert.read_bytes() == first  # reused, not regenerated
    # another application URI: servers would refuse the old one, so a new cert (same key)
    ensure_client_certificate(pki, "urn:plant:gw2")
    cert = load_cert(pki.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["urn:plant:gw2"]
    assert pki.key.read_bytes() == key

"""Server certificate validation: dates, chains to the trust list, CRLs (servercert.py).

The table runs `check_server_certificate` on generated certificates; the last tests run
the driver and `lineside trust` against node-opcua serving an expired certificate and a
certificate issued by an intermediate CA, sent with its chain.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import pytest

from lineside.cli import trust
from lineside.drivers.opcua.driver import OpcuaDriver
from lineside.drivers.opcua.security import Pki, UntrustedServerCertificate
from lineside.drivers.opcua.servercert import (
    ServerCertificateRevoked,
    ServerCertificateTimeInvalid,
    check_server_certificate,
    split_chain,
)
from lineside.samples import Quality
from tests.fixtures import certs
from tests.fixtures.certs import DAY, NOW
from tests.fixtures.opcua_peers import line_signals, opcua_device

ENDPOINT = "opc.tcp://plc.example:4840"

# One set of certificates for the table (RSA keys take a while to make):
#   root ─ inter ─ leaf              (two levels of CA)
#   root ─ inter ─ inter2 ─ deep     (three)
#   other: an unrelated root; forged: named "inter" but another key
ROOT = certs.ca("root")
INTER = certs.ca("inter", ROOT)
INTER2 = certs.ca("inter2", INTER)
LEAF = certs.application(issuer=INTER)
DEEP = certs.application(issuer=INTER2, cn="deep")
OTHER = certs.ca("other root")
FORGED_INTER = certs.ca("inter", OTHER)
SELF = certs.application()
EXPIRED = certs.application(not_before=NOW - 400 * DAY, not_after=NOW - 3 * DAY)
FUTURE = certs.application(not_before=NOW + 2 * DAY, not_after=NOW + 400 * DAY)
OLD_INTER = certs.ca("old inter", ROOT, not_before=NOW - 400 * DAY, not_after=NOW - 5 * DAY)
UNDER_OLD = certs.application(issuer=OLD_INTER, cn="under old")


def pki_at(root: Path) -> Pki:
    return Pki(root=root, cert=root / "own" / "cert.der", key=root / "private" / "key.pem",
               trusted=root / "trusted", rejected=root / "rejected")


def put(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


# (case, server sends [leaf, *its chain], trusted/, issuers/, CRL files, outcome, words)
CASES = [
    ("self-signed, trusted", [SELF], [SELF], [], {}, "ok", ""),
    ("self-signed, not trusted", [SELF], [], [], {}, UntrustedServerCertificate,
     "is not trusted"),
    ("self-signed, another one trusted", [SELF], [EXPIRED], [], {},
     UntrustedServerCertificate, "saved to"),
    ("expired, even though trusted", [EXPIRED], [EXPIRED], [], {},
     ServerCertificateTimeInvalid, "expired on"),
    ("not valid yet", [FUTURE], [FUTURE], [], {}, ServerCertificateTimeInvalid,
     "is not valid before"),
    ("two CA levels: root trusted, server sends its intermediate", [LEAF, INTER], [ROOT], [],
     {}, "ok", ""),
    ("two CA levels: intermediate from issuers/", [LEAF], [ROOT], [INTER], {}, "ok", ""),
    ("two CA levels: intermediate nowhere", [LEAF], [ROOT], [], {},
     UntrustedServerCertificate, "is not trusted"),
    ("intermediate trusted directly", [LEAF], [INTER], [], {}, "ok", ""),
    ("three CA levels", [DEEP, INTER2, INTER], [ROOT], [], {}, "ok", ""),
    ("chain to a root nobody trusts", [LEAF, INTER], [OTHER], [], {},
     UntrustedServerCertificate, "issued by CN=inter, which is not trusted either"),
    ("intermediate of the same name, another key", [LEAF, FORGED_INTER], [OTHER], [], {},
     UntrustedServerCertificate, "is not trusted"),
    ("expired intermediate", [UNDER_OLD, OLD_INTER], [ROOT], [], {},
     ServerCertificateTimeInvalid, "CA certificate CN=old inter that issued"),
    ("leaf revoked by its issuer's CRL", [LEAF, INTER], [ROOT], [],
     {"trusted/crl/inter.crl": certs.crl(INTER, [LEAF])}, ServerCertificateRevoked,
     "the server certificate was revoked"),
    ("intermediate revoked by the root's CRL", [LEAF, INTER], [ROOT], [],
     {"issuers/crl/root.crl": certs.crl(ROOT, [INTER])}, ServerCertificateRevoked,
     "its CA certificate CN=inter was revoked"),
    ("CRL beside the certificates, .crl name", [LEAF, INTER], [ROOT], [],
     {"trusted/inter.crl": certs.crl(INTER, [LEAF])}, ServerCertificateRevoked,
     "was revoked"),
    ("a CRL not signed by the issuer it names counts for nothing", [LEAF, INTER], [ROOT],
     [], {"trusted/crl/forged.crl": certs.crl(INTER, [LEAF], signer=OTHER)}, "ok", ""),
    ("another issuer's CRL counts for nothing", [LEAF, INTER], [ROOT], [],
     {"trusted/crl/other.crl": certs.crl(OTHER, [LEAF])}, "ok", ""),
    ("a CRL that revokes something else", [LEAF, INTER], [ROOT], [],
     {"trusted/crl/inter.crl": certs.crl(INTER, [DEEP])}, "ok", ""),
]


@pytest.mark.parametrize(("case", "sent", "trusted", "issuers", "crls", "outcome", "words"),
                         CASES, ids=[c[0] for c in CASES])
def test_server_certificate_rules(tmp_path: Path, case, sent, trusted, issuers, crls,
                                  outcome, words) -> None:
    pki = pki_at(tmp_path / "pki")
    for i, c in enumerate(trusted):
        put(pki.trusted, f"t{i}.der", c.der)
    for i, c in enumerate(issuers):
        put(pki.issuers, f"i{i}.der", c.der)
    for rel, data in crls.items():
        put(pki.root / Path(rel).parent, Path(rel).name, data)
    chain = b"".join(c.der for c in sent)
    if outcome == "ok":
        assert check_server_certificate(chain, pki, ENDPOINT) == sent[0].der
        assert not pki.rejected.exists()
        return
    with pytest.raises(outcome) as exc:
        check_server_certificate(chain, pki, ENDPOINT)
    msg = str(exc.value)
    assert ENDPOINT in msg and words in msg, msg
    saved = list(pki.rejected.iterdir()) if pki.rejected.exists() else []
    if outcome is UntrustedServerCertificate:  # the `rejected/` + `lineside trust` flow
        assert [f.read_bytes() for f in saved] == [sent[0].der]
        assert str(saved[0]) in msg and "lineside trust" in msg
    else:  # trusting would not help: nothing offered for it
        assert saved == []


def test_time_messages_name_dates_clock_and_remedy(tmp_path: Path) -> None:
    pki = pki_at(tmp_path / "pki")
    put(pki.trusted, "e.der", EXPIRED.der)
    with pytest.raises(ServerCertificateTimeInvalid) as exc:
        check_server_certificate(EXPIRED.der, pki, ENDPOINT)
    msg = str(exc.value)
    after = EXPIRED.cert.not_valid_after_utc
    assert f"expired on {after:%Y-%m-%d %H:%M} UTC (3 days ago)" in msg
    assert "this gateway's clock says" in msg and "renew it on the server" in msg
    assert "(EXPIRED)" in msg  # the certificate's description says so too
    with pytest.raises(ServerCertificateTimeInvalid) as exc:
        check_server_certificate(FUTURE.der, pki, ENDPOINT)
    before = FUTURE.cert.not_valid_before_utc
    assert f"not valid before {before:%Y-%m-%d %H:%M} UTC" in str(exc.value)
    assert "check NTP" in str(exc.value)
    # the same certificate is accepted at a time inside its dates (the rule is the dates)
    put(pki.trusted, "f.der", FUTURE.der)
    assert check_server_certificate(FUTURE.der, pki, ENDPOINT, now=NOW + 3 * DAY)


def test_forged_crl_is_reported_in_the_log(tmp_path: Path, caplog) -> None:
    pki = pki_at(tmp_path / "pki")
    put(pki.trusted, "root.der", ROOT.der)
    put(pki.trusted / "crl", "forged.crl", certs.crl(INTER, [LEAF], signer=OTHER))
    with caplog.at_level(logging.WARNING):
        check_server_certificate(LEAF.der + INTER.der, pki, ENDPOINT)
    assert "forged.crl" in caplog.text and "not signed by it" in caplog.text


def test_split_chain() -> None:
    assert split_chain(LEAF.der + INTER.der + ROOT.der) == [LEAF.der, INTER.der, ROOT.der]
    for bad in (b"", b"\x04\x01x", LEAF.der[:-10]):
        with pytest.raises(ValueError):
            split_chain(bad)


# --- against node-opcua --------------------------------------------------------------

async def first_error(driver: OpcuaDriver, timeout: float = 20.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        samples = await driver.poll()
        assert samples
        assert all(s.quality is Quality.BAD for s in samples)
        if driver.stats.last_error:
            return driver.stats.last_error
        if loop.time() > deadline:
            raise TimeoutError("no error reported")
        await asyncio.sleep(0.1)


@pytest.mark.server
async def test_node_opcua_serving_an_expired_certificate(opcua_peer, opcua_pki: Path,
                                                         tmp_path: Path, capsys) -> None:
    expired = certs.application(not_before=NOW - 400 * DAY, not_after=NOW - 2 * DAY)
    cert, key = certs.write_server_files(tmp_path / "server", expired)
    peer = opcua_peer("node", secure=True, cert_file=cert, key_file=key)
    peer.trust_client(opcua_pki / "pki" / "own" / "cert.der")
    # trusted by the client, so only its dates stand in the way
    put(opcua_pki / "pki" / "trusted", "peer.der", expired.der)
    driver = OpcuaDriver(opcua_device(peer, mode="poll", security_policy="Basic256Sha256"),
                         line_signals(peer)[:1], opcua_pki)
    try:
        msg = await first_error(driver)
    finally:
        await driver.close()
    after = expired.cert.not_valid_after_utc
    assert f"the server certificate of {peer.endpoint} expired on {after:%Y-%m-%d %H:%M}" in msg
    assert "renew it on the server" in msg
    assert driver.stats.errors["setup"] >= 1
    assert not (opcua_pki / "pki" / "rejected").exists()
    assert peer.stats()["created_sessions"] == 0  # refused before any session

    # `lineside trust` shows it as expired and says that trusting it will not help
    parser = argparse.ArgumentParser()
    trust.add_arguments(parser)
    args = parser.parse_args(["--endpoint", peer.endpoint, "--trust-dir",
                              str(tmp_path / "t"), "--show"])
    assert await asyncio.to_thread(trust.run, args) == 0
    out = capsys.readouterr()
    assert "(EXPIRED)" in out.out and "the driver refuses it even when trusted" in out.err


@pytest.mark.server
async def test_node_opcua_certificate_from_an_intermediate_ca(opcua_peer, opcua_pki: Path,
                                                              tmp_path: Path) -> None:
    """The server sends its certificate and the intermediate; only the root is trusted."""
    root = certs.ca("plant root")
    inter = certs.ca("plant line CA", root)
    leaf = certs.application(issuer=inter)
    cert, key = certs.write_server_files(tmp_path / "server", leaf, inter)
    peer = opcua_peer("node", secure=True, cert_file=cert, key_file=key)
    peer.trust_client(opcua_pki / "pki" / "own" / "cert.der")
    device = opcua_device(peer, mode="poll", security_policy="Basic256Sha256")
    signals = line_signals(peer)[:1]

    driver = OpcuaDriver(device, signals, opcua_pki)
    try:
        msg = await first_error(driver)  # nothing trusted yet
    finally:
        await driver.close()
    assert "is not trusted" in msg and "issued by CN=plant line CA" in msg

    put(opcua_pki / "pki" / "trusted", "root.der", root.der)
    driver = OpcuaDriver(device, signals, opcua_pki)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while (await driver.poll())[0].quality is not Quality.GOOD:
            assert loop.time() < deadline, driver.stats.last_error
            await asyncio.sleep(0.1)
    finally:
        await driver.close()

    # the root's CRL revokes the intermediate: refused, and said so
    put(opcua_pki / "pki" / "trusted" / "crl", "root.crl", certs.crl(root, [inter]))
    driver = OpcuaDriver(device, signals, opcua_pki)
    try:
        msg = await first_error(driver)
    finally:
        await driver.close()
    assert "its CA certificate CN=plant line CA was revoked" in msg

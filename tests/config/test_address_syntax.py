"""`check` validates OPC UA addresses without asyncua; the driver parses them with it.

The two must agree: every address the check accepts, asyncua parses (else `check` would
pass what the driver then refuses at connect). The check is stricter only where a
server could not take the value (indexes beyond UInt16, identifiers beyond UInt32).
"""

from __future__ import annotations

import random

import pytest

from lineside.drivers.opcua.addressing import AddressError, parse_address
from lineside.drivers.opcua.syntax import check_address

BOTH_ACCEPT = [
    (n, None) for n in (
        "ns=2;s=Packer1.Good", "i=2258", "ns=0;i=2258", " ns=3;i=17 ",
        "ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a", "ns=3;b=AQID", "ns=3;b=0x0102",
        "ns=2;s=with;semicolon=and spaces", "nsu=urn:acme:plc;s=Packer1.Good",
        "nsu=urn:acme:plc;i=5", "nsu=http://x.org/a;b/;s=X", "ns=65535;i=4294967295",
        "i=5;srv=1", "s=日本語", "ns=2;s=a\nb",
    )] + [(None, p) for p in ("2:Line1/2:Fryer/2:State", "/3:Line1/Server/", "Objects")]

BOTH_REFUSE = [
    (n, None) for n in (
        "ns=2,s=x", "s", "x=1", "ns=a;s=x", "ns=2;i=notanumber", "ns=1;g=not-a-guid", "",
        "nsu=;s=x", "i=5;garbage", "i=5;ns=x", "ns=2;b=0xZZ",
    )] + [(None, p) for p in ("", "/", "x:Line1", "2:")] + [(None, None)]

# asyncua takes these; a server cannot (UInt16 namespace index, UInt32 identifier), and
# a signal gives one address, not two
ONLY_CHECK_REFUSES = [(n, None) for n in ("ns=65536;s=x", "i=4294967296", "ns=2;i=-1",
                                           "nsu=urn:x;i=99999999999", "ns=2;b=\u00e9")
                      ] + [("i=1", "2:a")]


def _asyncua_accepts(node: str | None, path: str | None) -> bool:
    try:
        parse_address(node, path)
    except (AddressError, ValueError, UnicodeError):
        return False
    return True


def _check_accepts(node: str | None, path: str | None) -> bool:
    try:
        check_address(node, path)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("node", "path"), BOTH_ACCEPT)
def test_both_accept(node: str | None, path: str | None) -> None:
    assert _check_accepts(node, path) and _asyncua_accepts(node, path)


@pytest.mark.parametrize(("node", "path"), BOTH_REFUSE)
def test_both_refuse(node: str | None, path: str | None) -> None:
    assert not _check_accepts(node, path) and not _asyncua_accepts(node, path)


@pytest.mark.parametrize(("node", "path"), ONLY_CHECK_REFUSES)
def test_check_refuses_what_no_server_takes(node: str | None, path: str | None) -> None:
    assert not _check_accepts(node, path)


PIECES = ["ns=", "nsu=", "i=", "s=", "g=", "b=", "srv=", ";", "=", "0", "2", "65536",
          "4294967296", "-1", "x", "0x", "AQID", "urn:a", " ", "09087e75-8e5e-499b-954f-"
          "f2a9603db28a", "é", "/", ":"]


def test_whatever_check_accepts_asyncua_parses() -> None:
    rng = random.Random(23)
    accepted = 0
    for _ in range(20_000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6)))
        if _check_accepts(text, None):
            accepted += 1
            assert _asyncua_accepts(text, None), text
    assert accepted > 200  # the generator reaches valid addresses, or this proves nothing

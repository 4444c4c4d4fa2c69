"""Node addressing: NodeId strings, namespace URIs, browse paths; value conversion; backoff."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pytest
from asyncua import ua
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from lineside.backoff import Backoff
from lineside.drivers.opcua.addressing import AddressError, bind, parse_address
from lineside.drivers.opcua.reader import chunk_size, read_plan
from lineside.drivers.opcua.settings import OpcuaDevice, OpcuaSignal
from lineside.drivers.opcua.values import sample_from, to_value
from lineside.samples import Quality

NS = ["http://opcfoundation.org/UA/", "urn:server", "urn:acme:plc", "http://x.org/a;b/"]

VALID = [
    ("ns=2;s=Packer1.Good", ua.NodeId("Packer1.Good", 2)),
    ("i=2258", ua.NodeId(2258, 0)),
    ("ns=0;i=2258", ua.NodeId(2258, 0)),
    ("ns=3;i=17", ua.NodeId(17, 3)),
    ("ns=1;g=09087e75-8e5e-499b-954f-f2a9603db28a",
     ua.NodeId(uuid.UUID("09087e75-8e5e-499b-954f-f2a9603db28a"), 1, ua.NodeIdType.Guid)),
    ("ns=3;b=AQID", ua.NodeId(b"\x01\x02\x03", 3, ua.NodeIdType.ByteString)),
    ("ns=2;s=with;semicolon=and spaces", ua.NodeId("with;semicolon=and spaces", 2)),
    ("nsu=urn:acme:plc;s=Packer1.Good", ua.NodeId("Packer1.Good", 2)),
    ("nsu=urn:acme:plc;i=5", ua.NodeId(5, 2)),
    ("nsu=http://x.org/a;b/;s=X", ua.NodeId("X", 3)),  # ';' inside the URI
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_nodeids_bind(text: str, expected: ua.NodeId) -> None:
    got = bind(parse_address(text, None), NS)
    assert got == expected
    assert got.to_string() == expected.to_string()  # same identifier type too


@pytest.mark.parametrize("text", [
    "ns=2,s=x", "s", "x=1", "ns=a;s=x", "ns=2;i=notanumber", "ns=1;g=not-a-guid", "",
    "nsu=;s=x",
])
def test_invalid_nodeids_are_config_errors(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(text, None)
    with pytest.raises(ValidationError):
        OpcuaSignal(node=text)


def test_unknown_namespace_uri_names_the_array() -> None:
    with pytest.raises(AddressError, match=r"urn:other.*not in the server's NamespaceArray"):
        bind(parse_address("nsu=urn:other;s=x", None), NS)


def test_namespace_uri_follows_the_index_after_a_server_renumbers() -> None:
    a = parse_address("nsu=urn:acme:plc;s=x", None)
    assert bind(a, NS).NamespaceIndex == 2
    assert bind(a, [*NS[:2], "urn:new", *NS[2:]]).NamespaceIndex == 3


@pytest.mark.parametrize(("text", "names"), [
    ("2:Line1/2:Fryer/2:State", [(2, "Line1"), (2, "Fryer"), (2, "State")]),
    ("/3:Line1/Server/", [(3, "Line1"), (0, "Server")]),
])
def test_browse_paths(text: str, names: list[tuple[int, str]]) -> None:
    a = parse_address(None, text)
    assert [(q.NamespaceIndex, q.Name) for q in a.path or ()] == names


@pytest.mark.parametrize("text", ["", "/", "x:Line1", "2:"])
def test_invalid_browse_paths(text: str) -> None:
    with pytest.raises(AddressError):
        parse_address(None, text)


def test_signal_needs_exactly_one_address() -> None:
    with pytest.raises(ValidationError):
        OpcuaSignal()
    with pytest.raises(ValidationError):
        OpcuaSignal(node="i=1", path="2:a")


def test_device_validation() -> None:
    base = {"id": "d", "type": "opcua", "endpoint": "opc.tcp://h:4840"}
    OpcuaDevice(**base, security_policy="Basic256Sha256", security_mode="Sign")
    for bad in (
        {"security_policy": "Basic256Sha256"},
        {"password_env": "X"},
        {"username": "u", "password_env": "X", "password_file": "/f"},
        {"certificate": "/c.der"},
        {"reconnect_min_s": 5, "reconnect_max_s": 1},
    ):
        with pytest.raises(ValidationError):
            OpcuaDevice(**base, **bad)


T = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    (True, True), (7, 7), (2.5, 2.5), ("x", "x"), (None, None),
    (ua.MessageSecurityMode.Sign, 2),
    (T, T.timestamp()), (T.replace(tzinfo=None), T.timestamp()),
    (ua.LocalizedText("Run"), "Run"), (ua.QualifiedName("Q", 2), "2:Q"),
    (ua.NodeId(5, 2), "ns=2;i=5"), (b"\x00\x01", "AAE="), ([1, 2], "[1, 2]"),
])
def test_to_value(raw: object, expected: object) -> None:
    assert to_value(raw) == expected


def test_sample_timestamps_and_bad_values() -> None:
    src, srv = T, T + dt.timedelta(seconds=1)
    dv = ua.DataValue(ua.Variant(1.5), SourceTimestamp=src, ServerTimestamp=srv)
    assert sample_from("k", dv, True, 0.0).ts == src.timestamp()
    assert sample_from("k", dv, False, 0.0).ts == srv.timestamp()
    no_ts = ua.DataValue(ua.Variant(1.5))
    assert sample_from("k", no_ts, True, 42.0).ts == 42.0
    bad = ua.DataValue(ua.Variant(9.9), StatusCode=ua.StatusCode(ua.StatusCodes.BadSensorFailure))
    s = sample_from("k", bad, True, 1.0)
    assert (s.value, s.quality) == (None, Quality.BAD)  # a bad value is never passed on
    unc = ua.DataValue(ua.Variant(9.9),
                       StatusCode=ua.StatusCode(ua.StatusCodes.UncertainLastUsableValue))
    assert sample_from("k", unc, True, 1.0).value == 9.9


def test_read_plan_chunks() -> None:
    nodes = [ua.NodeId(i, 2) for i in range(23)]
    assert [len(p) for p in read_plan(nodes, chunk_size(7, 500))] == [7, 7, 7, 2]
    assert [len(p) for p in read_plan(nodes, chunk_size(None, 10))] == [10, 10, 3]
    assert [len(p) for p in read_plan(nodes, chunk_size(10000, 10))] == [23]  # declared wins


@given(st.integers(min_value=0, max_value=100), st.floats(0.01, 5), st.floats(5, 120))
def test_backoff_is_bounded_and_jittered(attempt: int, lo: float, hi: float) -> None:
    cap = min(hi, lo * 2 ** min(attempt, 30))
    b = Backoff(lo, hi, random.Random(attempt).random)
    b.attempt = attempt
    d = b.next_delay()
    assert cap / 2 <= d <= cap


def test_backoff_spreads_clients() -> None:
    def fourth(i: int) -> float:  # the delay before a client's 4th reconnect attempt
        b = Backoff(1, 30, random.Random(i).random)
        return [b.next_delay() for _ in range(4)][-1]
    delays = {round(fourth(i), 3) for i in range(50)}
    assert len(delays) > 40

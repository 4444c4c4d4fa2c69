"""Against an independent implementation: the libmodbus C peer (tests/peers/libmodbus)."""

from __future__ import annotations

import subprocess

import pytest

from lineside.drivers.modbus.settings import ForbiddenRange
from lineside.samples import Quality
from tests.drivers.modbus.helpers import (
    assert_values,
    driver,
    matrix_signals,
    tcp_device,
    values,
)
from tests.fixtures.common import require_binary

pytestmark = pytest.mark.server

# The peer's register map (peer.c) as signals, and what each must read.
SIGNALS = {
    "u16": ({"address": 0, "type": "uint16"}, 0x1234),
    "i16": ({"address": 1, "type": "int16"}, -2),
    "f_abcd": ({"address": 10, "type": "float32", "byte_order": "ABCD"}, 123.456),
    "f_dcba": ({"address": 12, "type": "float32", "byte_order": "DCBA"}, 123.456),
    "f_badc": ({"address": 14, "type": "float32", "byte_order": "BADC"}, 123.456),
    "f_cdab": ({"address": 16, "type": "float32", "byte_order": "CDAB"}, 123.456),
    "i32": ({"address": 20, "type": "int32"}, -123456789),
    "u32_cdab": ({"address": 22, "type": "uint32", "byte_order": "CDAB"}, 0xDEADBEEF),
    "i64": ({"address": 30, "type": "int64"}, -1234567890123),
    "neg_half": ({"address": 40, "type": "float32", "byte_order": "CDAB"}, -0.5),
    "name": ({"address": 50, "type": "string", "length": 4}, "LINE-7"),
    "flags": ({"address": 60, "type": "bits"}, 0xA005),
    "flag0": ({"address": 60, "type": "bool", "bit": 0}, True),
    "flag1": ({"address": 60, "type": "bool", "bit": 1}, False),
    "flag15": ({"address": 60, "type": "bool", "bit": 15}, True),
    "in3": ({"address": 3, "table": "input"}, 1003),
    "coil3": ({"address": 3, "table": "coil", "type": "bool"}, True),
    "coil4": ({"address": 4, "table": "coil", "type": "bool"}, False),
    "coil99": ({"address": 99, "table": "coil", "type": "bool"}, True),
    "di7": ({"address": 7, "table": "discrete", "type": "bool"}, True),
    "scaled": ({"address": 0, "type": "uint16", "scale": 0.5, "offset": -1}, 0x1234 * 0.5 - 1),
}


async def test_every_value_of_the_c_peer(libmodbus_server: int):
    d = driver(tcp_device(libmodbus_server), {k: s for k, (s, _) in SIGNALS.items()})
    try:
        got = await values(d)
        for name, (_, want) in SIGNALS.items():
            if isinstance(want, float):
                assert got[name] == pytest.approx(want, rel=1e-6), name
            else:
                assert got[name] == want, name
        # Holding 0..60 has gaps of at most 8 registers (max_gap 10): one request, plus
        # one each for input registers, coils and discrete inputs.
        assert len(d.plan.requests) == 4
        assert d.stats.up and not d.stats.errors
    finally:
        await d.close()


async def test_every_type_in_every_byte_order_of_the_c_peer(libmodbus_server: int):
    """peer.c lays the values out byte by byte in C, independently of our codec."""
    signals, expected = matrix_signals()
    d = driver(tcp_device(libmodbus_server), signals)
    try:
        assert_values(await values(d), expected)
        assert len(d.plan.requests) == 2 and not d.stats.errors
    finally:
        await d.close()


async def test_exceptions_busy_and_forbidden(libmodbus_server: int):
    dev = tcp_device(libmodbus_server, forbidden=[ForbiddenRange(start=900, end=909)],
                     busy_retries=3, busy_retry_delay_s=0.01)
    d = driver(dev, {
        "busy": {"address": 800},  # busy twice, then answers
        "hole": {"address": 905},  # configured forbidden: never read
        "beyond": {"address": 1200},  # outside the map: exception 2
        "ok": {"address": 0},
    })
    try:
        samples = {s.signal: s for s in await d.poll()}
        assert samples["m.busy"].value == 0 and samples["m.busy"].good
        assert d.stats.errors["busy_retried"] == 2
        assert samples["m.hole"].quality is Quality.BAD
        assert samples["m.beyond"].quality is Quality.BAD and samples["m.beyond"].value is None
        assert d.stats.errors["illegal_address"] == 1
        assert "1200" in (d.stats.last_error or "")
        assert samples["m.ok"].value == 0x1234
        # the forbidden register was never asked for
        assert all(not (r.start <= 909 and r.end > 900) for r in d.plan.requests)
    finally:
        await d.close()


async def test_busy_beyond_the_retry_budget_is_bad(libmodbus_server: int):
    d = driver(tcp_device(libmodbus_server, busy_retries=1, busy_retry_delay_s=0.01),
               {"busy": {"address": 800}})
    try:
        assert (await values(d))["busy"] is None
        assert d.stats.errors["busy"] == 1
        assert (await values(d))["busy"] == 0  # the peer stops being busy after two
    finally:
        await d.close()


@pytest.mark.parametrize(("args", "signal", "want"), [
    (["-t", "4:float", "-B", "-r", "10"], {"address": 10, "type": "float32"}, 123.456),
    (["-t", "4:float", "-r", "16"], {"address": 16, "type": "float32", "byte_order": "CDAB"},
     123.456),
    (["-t", "4:int", "-B", "-r", "20"], {"address": 20, "type": "int32"}, -123456789),
    (["-t", "3", "-r", "5"], {"address": 5, "table": "input"}, 1005),
])
async def test_mbpoll_agrees(libmodbus_server: int, args, signal, want):
    mbpoll = require_binary("mbpoll")
    out = subprocess.run([mbpoll, "-m", "tcp", "-p", str(libmodbus_server), "-0", "-1", "-c", "1",
                          *args, "127.0.0.1"], capture_output=True, text=True, timeout=10).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("["))
    theirs = float(line.split(":", 1)[1])
    d = driver(tcp_device(libmodbus_server), {"v": signal})
    try:
        ours = (await values(d))["v"]
    finally:
        await d.close()
    assert ours == pytest.approx(theirs, rel=1e-5) and ours == pytest.approx(want, rel=1e-5)

"""What arrived for a request that got no valid answer, and the kind it is counted as
(frames.classify): a table of wire bytes, TCP and RTU."""

from __future__ import annotations

import pytest
from pymodbus.framer.rtu import FramerRTU

from lineside.drivers.modbus.frames import classify


def mbap(tid: int, unit: int, pdu: bytes, pid: int = 0) -> bytes:
    return (tid.to_bytes(2, "big") + pid.to_bytes(2, "big")
            + (len(pdu) + 1).to_bytes(2, "big") + bytes([unit]) + pdu)


def rtu(unit: int, pdu: bytes) -> bytes:
    frame = bytes([unit]) + pdu
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


ANSWER = b"\x03\x02\x10\xe1"  # FC3, 2 bytes, 4321

# (id, bytes received, kind); the request: unit 1, FC3, transaction id 7
TCP = [
    ("nothing", b"", "timeout"),
    ("late_answer", mbap(6, 1, ANSWER), "transaction_id"),
    ("foreign_answers", mbap(900, 1, ANSWER) + mbap(901, 1, ANSWER), "transaction_id"),
    ("other_unit", mbap(7, 2, ANSWER), "wrong_unit"),
    ("header_cut", mbap(7, 1, ANSWER)[:5], "truncated"),
    ("frame_cut", mbap(7, 1, ANSWER)[:-1], "truncated"),
    ("late_then_cut", mbap(6, 1, ANSWER) + mbap(7, 1, ANSWER)[:-2], "truncated"),
    ("not_modbus", b"HTTP/1.1 400 Bad Request\r\n\r\n", "garbage"),
    ("protocol_id", mbap(7, 1, ANSWER, pid=1), "garbage"),
    ("length_zero", b"\x00\x07\x00\x00\x00\x00\x01\x03", "garbage"),
    ("undecodable", mbap(7, 1, b"\x55\x00"), "garbage"),
]


@pytest.mark.parametrize(("rx", "kind"), [t[1:] for t in TCP], ids=[t[0] for t in TCP])
def test_tcp(rx: bytes, kind: str) -> None:
    v = classify(rx, rtu=False, unit=1, function_code=3, transaction_id=7)
    assert v.kind == kind, v.detail
    assert v.detail


RTU = [
    ("nothing", b"", "timeout"),
    ("bad_crc", rtu(1, ANSWER)[:-1] + b"\x00", "bad_crc"),
    ("bad_crc_exception", rtu(1, b"\x83\x02")[:-2] + b"\x00\x00", "bad_crc"),
    ("cut", rtu(1, ANSWER)[:-1], "truncated"),
    ("one_byte", b"\x01", "truncated"),
    ("other_unit", rtu(2, ANSWER), "wrong_unit"),
    ("other_function", rtu(1, b"\x04\x02\x10\xe1"), "garbage"),
    ("noise", b"\xde\xad\xbe\xef", "garbage"),
]


@pytest.mark.parametrize(("rx", "kind"), [t[1:] for t in RTU], ids=[t[0] for t in RTU])
def test_rtu(rx: bytes, kind: str) -> None:
    v = classify(rx, rtu=True, unit=1, function_code=3, transaction_id=None)
    assert v.kind == kind, v.detail
    assert v.detail


def test_the_detail_shows_a_bounded_dump() -> None:
    v = classify(b"\xde\xad" * 500, rtu=False, unit=1, function_code=3, transaction_id=7)
    assert v.kind == "garbage" and "(1000 bytes)" in v.detail and len(v.detail) < 200

"""Why a request got no valid answer: what the wire brought, classified.

pymodbus discards every frame it cannot use (another transaction id, another unit id,
a protocol id that is not Modbus, a CRC that does not match, a frame that stops short)
and then reports one thing: "No response received". An operator needs to know which:
a late answer or a gateway mixing its clients' answers (`transaction_id`), two slaves
with one address (`wrong_unit`), a slow or cut line (`truncated`), noise or a bad
termination on RS-485 (`bad_crc`), the wrong protocol on the port (`garbage`), or
nothing at all (`timeout`). `Link` keeps the bytes that arrived while a request waited
and asks `classify` once the request has failed. Pure: no I/O, table-tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymodbus.framer.rtu import FramerRTU

# Kinds this module returns, all of them "no valid answer within the timeout".
NO_VALID_ANSWER = ("timeout", "transaction_id", "wrong_unit", "truncated", "bad_crc",
                   "garbage")
KEEP_BYTES = 1024  # what a request keeps of the wire: enough for every answer (260 B)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str
    detail: str


def classify(rx: bytes, *, rtu: bool, unit: int, function_code: int,
             transaction_id: int | None) -> Verdict:
    """The reason the bytes `rx` (all that arrived for one request) held no answer."""
    if not rx:
        return Verdict("timeout", "nothing received")
    return _rtu(rx, unit, function_code) if rtu else _mbap(rx, unit, transaction_id)


def _mbap(rx: bytes, unit: int, tid: int | None) -> Verdict:
    """Modbus TCP: a 7-byte header (transaction id, protocol id 0, length, unit), then
    the PDU. The last problem found is the one that left the request unanswered."""
    pos, last = 0, Verdict("timeout", "nothing received")
    while pos < len(rx):
        rest = rx[pos:]
        if len(rest) < 8:
            return Verdict("truncated", f"{len(rest)} byte(s) of a frame: no complete "
                                        "header and function code")
        got_tid = int.from_bytes(rest[0:2], "big")
        pid = int.from_bytes(rest[2:4], "big")
        length = int.from_bytes(rest[4:6], "big")
        if pid != 0:
            return Verdict("garbage", f"not a Modbus TCP frame (protocol id {pid:#06x}): "
                                      f"{_hex(rest)}")
        if not 2 <= length <= 254:
            return Verdict("garbage", f"impossible frame length {length}: {_hex(rest)}")
        if len(rest) < 6 + length:
            return Verdict("truncated", f"frame cut short: {len(rest)} of {6 + length} "
                                        "bytes")
        if tid is not None and got_tid != tid:
            last = Verdict("transaction_id", f"answer to transaction {got_tid} while "
                                             f"waiting for {tid} (a late or foreign answer)")
        elif unit and rest[6] != unit:
            last = Verdict("wrong_unit", f"answer from unit {rest[6]} to a request to "
                                         f"unit {unit}")
        else:
            last = Verdict("garbage", f"undecodable answer (function code {rest[7]}): "
                                      f"{_hex(rest[:6 + length])}")
        pos += 6 + length
    return last


def _rtu(rx: bytes, unit: int, fc: int) -> Verdict:
    """RTU (serial, or through a gateway): unit, function code, data, CRC-16."""
    if len(rx) < 2:
        return Verdict("truncated", "1 byte of a frame")
    got_unit, got_fc = rx[0], rx[1]
    if got_fc == fc | 0x80:
        size = 5  # unit, fc, exception code, CRC
    elif got_fc == fc:
        if len(rx) < 3:
            return Verdict("truncated", "2 bytes of a frame")
        size = 3 + rx[2] + 2
    else:
        return Verdict("garbage", f"no frame start for function code {fc}: {_hex(rx)}")
    if len(rx) < size:
        return Verdict("truncated", f"frame cut short: {len(rx)} of {size} bytes")
    frame = rx[:size]
    if not FramerRTU.check_CRC(frame[:-2], int.from_bytes(frame[-2:], "big")):
        return Verdict("bad_crc", f"CRC {frame[-2:].hex()} does not match the frame "
                                  f"{_hex(frame[:-2])} (noise or termination on the line)")
    if unit and got_unit != unit:
        return Verdict("wrong_unit", f"answer from unit {got_unit} to a request to unit "
                                     f"{unit}")
    return Verdict("garbage", f"undecodable answer: {_hex(frame)}")


def _hex(data: bytes, limit: int = 24) -> str:
    shown = data[:limit].hex(" ")
    return shown + (f" … ({len(data)} bytes)" if len(data) > limit else "")

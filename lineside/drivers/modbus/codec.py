"""Registers <-> values for every data type and byte order.

Byte orders name where the bytes of a big-endian value ``A B C D ...`` sit on the wire,
register by register (Telegraf's convention):

- ``ABCD`` big-endian (Modbus' own order): registers ``[AB][CD]``;
- ``CDAB`` word-swapped ("little-endian word order", many PLCs): ``[CD][AB]``;
- ``BADC`` byte-swapped inside each word: ``[BA][DC]``;
- ``DCBA`` fully little-endian: ``[DC][BA]``.

For 64-bit values the same two operations (reverse the words, swap the bytes of each
word) apply to four registers; for 16-bit values only the byte swap matters
(ABCD/CDAB read ``AB``, BADC/DCBA read ``BA``).
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable, Sequence

# (reverse word order, swap bytes inside each word)
_LAYOUT: dict[str, tuple[bool, bool]] = {
    "ABCD": (False, False),
    "CDAB": (True, False),
    "BADC": (False, True),
    "DCBA": (True, True),
}

# struct codes of the numeric types (big-endian after reordering)
NUMERIC_FORMATS: dict[str, str] = {
    "int16": "h", "uint16": "H", "bits": "H", "float16": "e",
    "int32": "i", "uint32": "I", "float32": "f",
    "int64": "q", "uint64": "Q", "float64": "d",
}

RawValue = bool | int | float | str
Decoder = Callable[[Sequence[int]], RawValue]


def registers_to_bytes(regs: Sequence[int], byte_order: str) -> bytes:
    """The value's bytes in big-endian order, undoing the device's byte order."""
    reverse, swap = _LAYOUT[byte_order]
    words = list(reversed(regs)) if reverse else list(regs)
    return struct.pack(f"{'<' if swap else '>'}{len(words)}H", *words)


def bytes_to_registers(data: bytes, byte_order: str) -> list[int]:
    """Inverse of `registers_to_bytes`: a big-endian value laid out in registers."""
    if len(data) % 2:
        raise ValueError("need an even number of bytes")
    reverse, swap = _LAYOUT[byte_order]
    words = list(struct.unpack(f"{'<' if swap else '>'}{len(data) // 2}H", data))
    return words[::-1] if reverse else words


def string_from_registers(regs: Sequence[int], string_byte_order: str) -> str:
    """Text of n registers; `big` puts the first character in the high byte. NUL-trimmed."""
    raw = struct.pack(f"{'>' if string_byte_order == 'big' else '<'}{len(regs)}H", *regs)
    return raw.split(b"\x00", 1)[0].decode("utf-8", errors="replace")


def string_to_registers(text: str, length: int, string_byte_order: str) -> list[int]:
    raw = text.encode("utf-8")
    if len(raw) > 2 * length:
        raise ValueError(f"{text!r} does not fit in {length} registers")
    raw = raw.ljust(2 * length, b"\x00")
    return list(struct.unpack(f"{'>' if string_byte_order == 'big' else '<'}{length}H", raw))


@functools.cache
def compile_decoder(dtype: str, byte_order: str = "ABCD", *, bit: int | None = None,
                    string_byte_order: str = "big", bits_table: bool = False) -> Decoder:
    """A function from the value's registers (or its one coil/discrete bit) to its value.

    Compiled once per kind of value (cached: 10,000 signals share a few dozen decoders)
    so that a poll cycle only slices and unpacks.
    """
    if bits_table:  # coil / discrete input: the "register" is the bit itself
        return lambda r: bool(r[0])
    if dtype == "string":
        return lambda r: string_from_registers(r, string_byte_order)
    reverse, swap = _LAYOUT[byte_order]
    if dtype == "bool":
        # The bit is numbered in the 16-bit value read with the device's byte order
        # (bit 0 = least significant), as Telegraf and most PLC manuals do.
        if bit is None:
            return (lambda r: ((r[0] >> 8) | ((r[0] & 0xFF) << 8)) != 0) if swap \
                else (lambda r: r[0] != 0)
        if swap:
            return lambda r: bool((((r[0] >> 8) | ((r[0] & 0xFF) << 8)) >> bit) & 1)
        return lambda r: bool((r[0] >> bit) & 1)
    code = NUMERIC_FORMATS[dtype]
    size = struct.calcsize(code) // 2
    pack = struct.Struct(f"{'<' if swap else '>'}{size}H").pack
    unpack = struct.Struct(f">{code}").unpack
    if dtype == "uint16" and not swap:
        return lambda r: r[0]
    if reverse and size > 1:
        return lambda r: unpack(pack(*reversed(r)))[0]
    return lambda r: unpack(pack(*r))[0]


def direct_code(dtype: str, byte_order: str = "ABCD", *, bit: int | None = None,
                bits_table: bool = False) -> str | None:
    """The struct code that reads this value straight from big-endian register bytes
    (block decoding, see block.py), or None when it needs its own decoder: strings,
    bools, bits of a word, byte-swapped values and word-reversed multi-register ones."""
    if bits_table or bit is not None or dtype not in NUMERIC_FORMATS:
        return None
    reverse, swap = _LAYOUT[byte_order]
    code = NUMERIC_FORMATS[dtype]
    if swap or (reverse and struct.calcsize(code) > 2):
        return None
    return code


def decode(regs: Sequence[int], dtype: str, byte_order: str = "ABCD", *,
           bit: int | None = None, string_byte_order: str = "big") -> RawValue:
    return compile_decoder(dtype, byte_order, bit=bit, string_byte_order=string_byte_order)(regs)


def encode(value: RawValue, dtype: str, byte_order: str = "ABCD", *, length: int | None = None,
           string_byte_order: str = "big") -> list[int]:
    """Registers a device would hold for `value` (tests and simulated servers)."""
    if dtype == "string":
        return string_to_registers(str(value), length or 1, string_byte_order)
    if dtype == "bool":
        return encode(1 if value else 0, "uint16", byte_order)
    code = NUMERIC_FORMATS[dtype]
    return bytes_to_registers(struct.pack(f">{code}", value), byte_order)


def is_finite(value: RawValue) -> bool:
    return not (isinstance(value, float) and (math.isnan(value) or math.isinf(value)))

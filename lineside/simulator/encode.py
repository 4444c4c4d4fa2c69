"""Engineering values -> Modbus registers, written independently of the driver's decoder.

The simulator encodes with `struct` from the signal's declaration, so a test that reads
the simulator's registers with the driver compares two implementations of one rule:

- address: `zero` is the protocol address; `one` is address - 1; `plc` is the
  4xxxx / 3xxxx / 1xxxx / 0xxxx notation (5 or 6 digits) minus its table's base;
- raw = (value - offset) / scale, rounded for integer types;
- byte order names the bytes of the value, most significant first being A: ABCD is
  big-endian, DCBA little-endian, BADC swaps the bytes of each word, CDAB swaps the
  words. The same rule applies to 16-bit (AB / BA) and 64-bit values;
- string: UTF-8, NUL-padded to `length` registers; `string_byte_order` big puts the
  first character in the high byte;
- bool with `bit`: one bit (0 = least significant) of the register's 16-bit value,
  which is itself laid out in the byte order (AB or BA) like any 16-bit value, as
  Telegraf does; several signals may share the register. A bool without `bit` on a
  register is the 16-bit value 1 or 0.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from lineside.drivers.modbus.settings import ModbusSignal

_FMT = {"int16": "h", "uint16": "H", "bits": "H", "bool": "H", "int32": "i",
        "uint32": "I", "int64": "q", "uint64": "Q", "float32": "f", "float64": "d"}
_BASE = {"holding": (400001, 40001), "input": (300001, 30001), "discrete": (100001, 10001),
         "coil": (1, 1)}


def table_of(spec: ModbusSignal, addressing: str) -> str:
    """The table a signal is in: as written; else, in PLC notation, the one its address
    names (0xxxx coil, 1xxxx discrete, 3xxxx input, 4xxxx holding); else holding."""
    if spec.table is not None:
        return spec.table
    if addressing == "plc":
        first = spec.address // (100000 if spec.address >= 100000 else 10000)
        return {1: "discrete", 3: "input", 4: "holding"}.get(first, "coil")
    return "holding"


def protocol_address(table: str, address: int, addressing: str) -> int:
    if addressing == "zero":
        return address
    if addressing == "one":
        return address - 1
    six, five = _BASE[table]
    if table == "coil":  # 0xxxx: 00001 -> 0
        return address - 1
    return address - six if address >= six else address - five


def order_bytes(data: bytes, order: str) -> bytes:
    """Reorder big-endian bytes into the PLC's byte order."""
    words = [data[i:i + 2] for i in range(0, len(data), 2)]
    if order in ("DCBA", "BADC"):
        words = [w[::-1] for w in words]
    if order in ("DCBA", "CDAB"):
        words = words[::-1]
    return b"".join(words)


def to_raw(spec: ModbusSignal, value: object) -> int | float:
    if isinstance(value, int) and spec.scale == 1 and spec.offset == 0:
        raw: int | float = int(value)  # exact: a 64-bit counter does not fit a double
    else:
        v = float(value)  # type: ignore[arg-type]  # a number: strings are encoded apart
        raw = (v - spec.offset) / spec.scale if spec.scale else v
    if spec.type in ("float32", "float64"):
        return float(raw)
    r = round(raw)
    fmt = _FMT[spec.type]
    bits = struct.calcsize(fmt) * 8
    if fmt.isupper():
        return r % (1 << bits)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return min(max(r, lo), hi)


# A byte order is the endianness the value is packed with, then the endianness its
# 16-bit words are read with: e.g. CDAB packs little-endian (D C B A) and reads words
# little-endian ((D,C) -> CD, (B,A) -> AB). Same result as `order_bytes`, one call each.
_ENDIAN = {"ABCD": (">", ">"), "DCBA": ("<", ">"), "BADC": (">", "<"), "CDAB": ("<", "<")}


@functools.cache
def _codec(typ: str, order: str) -> tuple[struct.Struct, struct.Struct]:
    pack_e, word_e = _ENDIAN[order]
    fmt = _FMT[typ]
    return (struct.Struct(pack_e + fmt),
            struct.Struct(word_e + "H" * (struct.calcsize(fmt) // 2)))


def encode_words(spec: ModbusSignal, value: object, byte_order: str,
                 string_byte_order: str = "big") -> list[int]:
    """The registers of one (non-bit) register signal, in address order."""
    if spec.type == "string":
        n = spec.length or 1
        data = str(value).encode("utf-8")[: 2 * n].ljust(2 * n, b"\0")
        if string_byte_order == "little":
            data = b"".join(data[i:i + 2][::-1] for i in range(0, len(data), 2))
        return [int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)]
    pack, words = _codec(spec.type, byte_order)
    return list(words.unpack(pack.pack(to_raw(spec, value))))


@dataclass(frozen=True, slots=True)
class Placed:
    """A signal at its place on the wire."""

    key: str
    unit: int
    table: str  # holding | input | coil | discrete
    address: int  # protocol (0-based) address
    spec: ModbusSignal
    byte_order: str
    string_byte_order: str

    @property
    def words(self) -> int:
        return self.spec.words


class RegisterImage:
    """The four tables of every unit id, rebuilt from signal values."""

    def __init__(self, placed: list[Placed]) -> None:
        self.placed = placed
        self.size: dict[tuple[int, str], int] = {}
        for p in placed:
            k = (p.unit, p.table)
            self.size[k] = max(self.size.get(k, 0), p.address + p.words)
        self.words: dict[tuple[int, str], list[int]] = {}
        self.bits: dict[tuple[int, str], list[bool]] = {}

    def update(self, values: Mapping[str, object]) -> None:
        words: dict[tuple[int, str], list[int]] = {}
        bits: dict[tuple[int, str], list[bool]] = {}
        for (unit, table), n in self.size.items():
            if table in ("coil", "discrete"):
                bits[(unit, table)] = [False] * n
            else:
                words[(unit, table)] = [0] * n
        flags: dict[tuple[int, str, int], list] = {}  # register -> [value, byte order]
        for p in self.placed:
            v = values.get(p.key)
            if v is None:
                continue
            k = (p.unit, p.table)
            if p.table in ("coil", "discrete"):
                bits[k][p.address] = bool(v)
            elif p.spec.type == "bool":
                f = flags.setdefault((p.unit, p.table, p.address), [0, p.byte_order])
                if p.spec.bit is None:
                    f[0] = 1 if v else 0
                elif v:
                    f[0] |= 1 << p.spec.bit
            else:
                regs = encode_words(p.spec, v, p.byte_order, p.string_byte_order)
                words[k][p.address:p.address + len(regs)] = regs
        for (unit, table, addr), (word, order) in flags.items():
            words[(unit, table)][addr] = int.from_bytes(
                order_bytes(word.to_bytes(2, "big"), order), "big")
        self.words, self.bits = words, bits

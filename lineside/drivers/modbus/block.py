"""Decoding a whole read request at once: one struct unpack for the values of a block.

A request's registers are turned into bytes once, and every value that sits in them in
plain big-endian form (any numeric type in ABCD order; 16-bit types also in CDAB, where
only the word order differs) is unpacked by one precompiled `struct.Struct` covering the
block, gaps skipped as pad bytes. What cannot be read that way (strings, bits of a word,
byte-swapped or word-reversed multi-register values, values overlapping another one, the
bits of coils and discrete inputs) keeps its own compiled decoder. Values whose transform
is the identity (no scale, offset, map; not a float that may be NaN) skip it.

Same values, same qualities as decoding value by value (tests/drivers/modbus compare the
two on every type and byte order); if the block unpack ever fails, the request falls back
to decoding value by value, so one bad value still costs only itself.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lineside.drivers.modbus.codec import Decoder
from lineside.drivers.modbus.values import Transform
from lineside.samples import Quality, Sample

GOOD = Quality.GOOD


@dataclass(frozen=True, slots=True)
class Value:
    """One value of a request, as the driver compiled it."""

    key: str
    slot: int  # where its sample goes in the cycle's list
    offset: int  # registers (or bits) from the start of the request
    count: int
    decode: Decoder
    transform: Transform | None  # None: the identity (raw value, GOOD)
    code: str | None  # struct code to unpack it from the block's big-endian bytes


class BlockDecoder:
    """Decodes one request's data into samples; compiled once per request."""

    __slots__ = ("_n", "_pack", "_plain", "_rest", "_struct", "_unpacked", "values")

    def __init__(self, values: Sequence[Value], count: int) -> None:
        self.values = list(values)
        unpacked: list[Value] = []
        rest: list[Value] = []
        fmt = [">"]
        end = 0
        for v in sorted(self.values, key=lambda v: (v.offset, v.count)):
            if v.code is None or v.offset < end:
                rest.append(v)
                continue
            if v.offset > end:
                fmt.append(f"{2 * (v.offset - end)}x")
            fmt.append(v.code)
            unpacked.append(v)
            end = v.offset + v.count
        self._n = count
        self._pack: Callable[..., bytes] = struct.Struct(f">{count}H").pack
        self._struct = struct.Struct("".join(fmt)) if unpacked else None
        self._unpacked = [(v.slot, v.key, v.transform) for v in unpacked]
        self._plain = all(t is None for _, _, t in self._unpacked)
        self._rest = rest

    def decode(self, data: Sequence[int], ts: float, out: list[Sample | None],
               on_error: Callable[[Value, Exception], None]) -> None:
        """The sample of every value into out[value.slot]; a value that fails (BAD
        sample) calls on_error."""
        values: tuple = ()
        if self._struct is not None:
            try:
                raw = self._pack(*data[:self._n])
                values = self._struct.unpack_from(raw)
            except (struct.error, TypeError, ValueError):
                # data shorter than planned or not registers: value by value below
                for v in self.values:
                    _one(v, data, ts, out, on_error)
                return
        if self._plain:
            for (slot, key, _), value in zip(self._unpacked, values, strict=True):
                out[slot] = Sample(key, value, GOOD, ts)
        else:
            for (slot, key, tf), value in zip(self._unpacked, values, strict=True):
                if tf is None:
                    out[slot] = Sample(key, value, GOOD, ts)
                    continue
                try:
                    result, q = tf(value)
                except Exception as e:  # a transform bug must not cost the other values
                    out[slot] = Sample(key, None, Quality.BAD, ts)
                    on_error(next(v for v in self.values if v.slot == slot), e)
                    continue
                out[slot] = Sample(key, result, q, ts)
        for v in self._rest:
            _one(v, data, ts, out, on_error)


def _one(v: Value, data: Sequence[int], ts: float, out: list[Sample | None],
         on_error: Callable[[Value, Exception], None]) -> None:
    try:
        raw = v.decode(data[v.offset:v.offset + v.count])
        value, q = v.transform(raw) if v.transform is not None else (raw, GOOD)
    except Exception as e:  # a decoder bug must not cost the other values
        out[v.slot] = Sample(v.key, None, Quality.BAD, ts)
        on_error(v, e)
        return
    out[v.slot] = Sample(v.key, value, q, ts)


"""Block decoding gives what decoding value by value gives: every type, byte order,
transform, gap and overlap (the per-value decoders of codec/values are the reference)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.drivers.modbus.block import BlockDecoder, Value
from lineside.drivers.modbus.codec import compile_decoder, direct_code, encode
from lineside.drivers.modbus.settings import TYPE_WORDS, ModbusSignal
from lineside.drivers.modbus.values import compile_transform, is_identity
from lineside.samples import Quality, Sample

ORDERS = ("ABCD", "CDAB", "BADC", "DCBA")
TYPES = [t for t in TYPE_WORDS if t != "bool"]


@st.composite
def signals(draw: st.DrawFn) -> tuple[ModbusSignal, int]:
    dtype = draw(st.sampled_from([*TYPES, "bool", "string"]))
    kw: dict = {"address": 0, "type": dtype, "byte_order": draw(st.sampled_from(ORDERS))}
    if dtype == "bool":
        kw["bit"] = draw(st.none() | st.integers(0, 15))
    if dtype == "string":
        kw["length"] = draw(st.integers(1, 4))
    if dtype in TYPES:
        kw.update(draw(st.sampled_from([{}, {"scale": 0.1}, {"scale": 2.0, "offset": -5.0},
                                        {"map": {0: "off", 1: "on", 7: "seven"}}])))
    sig = ModbusSignal(**kw)
    return sig, draw(st.integers(0, 100))


def compiled(slot: int, sig: ModbusSignal, offset: int) -> Value:
    order = sig.byte_order or "ABCD"
    return Value(f"s{slot}", slot, offset, sig.length or TYPE_WORDS[sig.type],
                 compile_decoder(sig.type, order, bit=sig.bit),
                 None if is_identity(sig) else compile_transform(sig),
                 direct_code(sig.type, order, bit=sig.bit))


def reference(sig: ModbusSignal, regs: list[int]) -> tuple[object, Quality]:
    raw = compile_decoder(sig.type, sig.byte_order or "ABCD", bit=sig.bit)(regs)
    return compile_transform(sig)(raw)


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(st.lists(signals(), min_size=1, max_size=12),
       st.lists(st.integers(0, 65535), min_size=130, max_size=130))
def test_block_equals_value_by_value(sigs: list[tuple[ModbusSignal, int]],
                                     regs: list[int]) -> None:
    values = [compiled(i, sig, off) for i, (sig, off) in enumerate(sigs)]
    count = max(v.offset + v.count for v in values)
    got: list[Sample | None] = [None] * len(values)
    errors: list[str] = []
    BlockDecoder(values, count).decode(regs[:count], 1.5, got,
                                       lambda v, e: errors.append(v.key))
    assert not errors
    for i, (sig, off) in enumerate(sigs):
        n = sig.length or TYPE_WORDS[sig.type]
        want, q = reference(sig, regs[off:off + n])
        s = got[i]
        assert s is not None and s.signal == f"s{i}", (i, s)
        assert s.quality == q and s.ts == 1.5 and same(s.value, want), (sig, off, s, want)


def test_plain_words_with_gaps_come_from_one_unpack() -> None:
    # registers 0, 1 (gap of 2), 4-5 float32 ABCD, 6-7 int32 CDAB (word-reversed: own
    # decoder), 8 uint16 with a bit of it read too (overlap: own decoder)
    sigs = {"a": ModbusSignal(address=0), "b": ModbusSignal(address=1, type="int16"),
            "f": ModbusSignal(address=4, type="float32"),
            "w": ModbusSignal(address=6, type="int32", byte_order="CDAB"),
            "u": ModbusSignal(address=8), "bit": ModbusSignal(address=8, type="bool", bit=3)}
    regs = [7, 65535, 0, 0, *encode(1.5, "float32"), *encode(-70000, "int32", "CDAB"), 8]
    values = [compiled(i, s, s.address) for i, s in enumerate(sigs.values())]
    dec = BlockDecoder(values, len(regs))
    got: list[Sample | None] = [None] * len(values)
    dec.decode(regs, 0.0, got, lambda v, e: None)
    assert [s.value for s in got if s is not None] == [7, -1, 1.5, -70000, 8, True]
    # the struct reads a, b, f and u (">HhxxxxfxxxxH"); w and bit decode on their own
    assert sorted(v.offset for v in dec._rest) == [6, 8]  # w (int32 CDAB), bit


def test_short_answer_costs_only_the_values_it_lacks() -> None:
    values = [compiled(0, ModbusSignal(address=0), 0),
              compiled(1, ModbusSignal(address=1, type="float32"), 1)]
    got: list[Sample | None] = [None, None]
    failed: list[str] = []
    BlockDecoder(values, 3).decode([5, 0x3FC0], 0.0, got, lambda v, e: failed.append(v.key))
    a, f = got
    assert a is not None and a.value == 5 and a.quality is Quality.GOOD
    assert f is not None and f.quality is Quality.BAD and failed == ["s1"]

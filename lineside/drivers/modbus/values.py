"""From a decoded raw value to the sample's value: scale, offset and enumeration maps."""

from __future__ import annotations

from collections.abc import Callable

from lineside.drivers.modbus.codec import RawValue, is_finite
from lineside.drivers.modbus.settings import ModbusSignal
from lineside.samples import Quality

# raw value -> (value, quality)
Transform = Callable[[RawValue], tuple[RawValue | None, Quality]]


def bit_names(raw: int, names: dict[int, str]) -> str:
    """`bits` with a map: the names of the set flags, lowest bit first, comma-joined."""
    return ",".join(name for b, name in sorted(names.items()) if (raw >> b) & 1)


def is_identity(sig: ModbusSignal) -> bool:
    """Whether the transform gives every raw value back unchanged with GOOD quality."""
    return (sig.map is None and sig.scale == 1.0 and sig.offset == 0.0
            and not sig.type.startswith("float"))


def compile_transform(sig: ModbusSignal) -> Transform:
    """Scale/offset apply to numbers only; a map turns codes into text.

    A code missing from the map is passed on as its number in text with UNCERTAIN
    quality: the value is real but the configuration does not know it. Non-finite
    floats (NaN, inf: a PLC's "no value") become None with UNCERTAIN quality, since
    no time-series store takes them.
    """
    good, unc = Quality.GOOD, Quality.UNCERTAIN
    if sig.type in ("bool", "string"):
        return lambda raw: (raw, good)
    if sig.map is not None:
        names = dict(sig.map)
        if sig.type == "bits":
            return lambda raw: (bit_names(int(raw), names), good)

        def mapped(raw: RawValue) -> tuple[RawValue | None, Quality]:
            if isinstance(raw, float) and raw.is_integer():
                raw = int(raw)
            text = names.get(raw) if isinstance(raw, int) else None
            return (text, good) if text is not None else (str(raw), unc)

        return mapped
    scale, offset = sig.scale, sig.offset
    floaty = sig.type.startswith("float")
    if scale == 1.0 and offset == 0.0:
        if floaty:
            return lambda raw: (raw, good) if is_finite(raw) else (None, unc)
        return lambda raw: (raw, good)

    def scaled(raw: RawValue) -> tuple[RawValue | None, Quality]:
        if not is_finite(raw):
            return None, unc
        return raw * scale + offset, good  # type: ignore[operator]  # a number: is_finite passed

    return scaled

"""OPC UA StatusCode -> lineside Quality.

OPC UA Part 4 §7.39: the two most significant bits of a StatusCode are its severity
(00 Good, 01 Uncertain, 10 Bad, 11 reserved). The severity alone decides the quality, so
every code a server can send - including ones newer than asyncua's table and vendor
codes - maps without a lookup. Reserved severity is treated as BAD: a value we cannot
classify must not be used as good data.
"""

from __future__ import annotations

from asyncua import ua

from lineside.samples import Quality

_SEVERITY_MASK = 0xC0000000
_GOOD = 0x00000000
_UNCERTAIN = 0x40000000


def quality_of(status: ua.StatusCode | int | None) -> Quality:
    """Quality of a DataValue's StatusCode; a missing StatusCode means Good (Part 4 §7.11)."""
    if status is None:
        return Quality.GOOD
    value = status if isinstance(status, int) else status.value
    severity = value & _SEVERITY_MASK
    if severity == _GOOD:
        return Quality.GOOD
    if severity == _UNCERTAIN:
        return Quality.UNCERTAIN
    return Quality.BAD


def status_name(status: ua.StatusCode | int | None) -> str:
    """Symbolic name ("BadNodeIdUnknown") or hex for codes asyncua does not know."""
    if status is None:
        return "Good"
    value = status if isinstance(status, int) else status.value
    # the low 16 bits are info bits (overflow, limits); the name belongs to the high half
    known = ua.status_codes.code_to_name_doc.get(value & 0xFFFF0000)
    return known[0] if known else f"0x{value:08X}"

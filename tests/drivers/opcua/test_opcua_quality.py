"""StatusCode -> Quality: a table of the codes a plant meets, and every code asyncua knows."""

from __future__ import annotations

import pytest
from asyncua import ua
from hypothesis import given
from hypothesis import strategies as st

from lineside.drivers.opcua.quality import quality_of, status_name
from lineside.samples import Quality

G, U, B = Quality.GOOD, Quality.UNCERTAIN, Quality.BAD

TABLE = [
    ("Good", G),
    ("GoodLocalOverride", G),
    ("GoodClamped", G),
    ("GoodNoData", G),
    ("GoodMoreData", G),
    ("GoodOverload", G),
    ("Uncertain", U),
    ("UncertainLastUsableValue", U),
    ("UncertainSensorNotAccurate", U),
    ("UncertainEngineeringUnitsExceeded", U),
    ("UncertainSubNormal", U),
    ("UncertainInitialValue", U),
    ("UncertainNoCommunicationLastUsableValue", U),
    ("UncertainSubstituteValue", U),
    ("UncertainDataSubNormal", U),
    ("Bad", B),
    ("BadSensorFailure", B),
    ("BadDeviceFailure", B),
    ("BadConfigurationError", B),
    ("BadNotConnected", B),
    ("BadCommunicationError", B),
    ("BadOutOfService", B),
    ("BadWaitingForInitialData", B),
    ("BadNodeIdUnknown", B),
    ("BadNodeIdInvalid", B),
    ("BadNotReadable", B),
    ("BadUserAccessDenied", B),
    ("BadNoCommunication", B),
    ("BadTimeout", B),
    ("BadShutdown", B),
    ("BadTooManyOperations", B),
    ("BadNoValue", B),
]


@pytest.mark.parametrize(("name", "expected"), TABLE)
def test_table(name: str, expected: Quality) -> None:
    code = getattr(ua.StatusCodes, name)
    assert quality_of(ua.StatusCode(code)) is expected
    assert quality_of(code) is expected
    assert status_name(code) == name


ALL = sorted(
    (name, value) for name, value in vars(ua.StatusCodes).items()
    if not name.startswith("_") and isinstance(value, int)
)


def test_every_known_status_code_maps_by_its_severity() -> None:
    assert len(ALL) > 250  # the whole table of asyncua, not a sample
    seen = {G: 0, U: 0, B: 0}
    for name, value in ALL:
        q = quality_of(value)
        prefix = "Good" if q is G else "Uncertain" if q is U else "Bad"
        assert name.startswith(prefix), (name, hex(value), q)
        seen[q] += 1
    assert all(seen.values())


def test_missing_status_is_good_and_info_bits_do_not_change_quality() -> None:
    assert quality_of(None) is G
    # info bits (overflow, limit bits) live in the low word: same quality, same name
    assert quality_of(ua.StatusCodes.BadSensorFailure | 0x0480) is B
    assert status_name(ua.StatusCodes.GoodClamped | 0x0100) == "GoodClamped"
    assert status_name(0x12345678) == "0x12345678"  # unknown code: hex, never a guess


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_any_32_bit_code_has_a_quality(code: int) -> None:
    severity = code >> 30
    expected = {0: G, 1: U}.get(severity, B)  # 0b11 is reserved: treated as bad
    assert quality_of(code) is expected

"""Config notation -> table + protocol address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lineside.drivers.modbus.addressing import AddressError, resolve
from lineside.drivers.modbus.settings import ModbusSignal


@pytest.mark.parametrize(("addressing", "sig", "table", "address", "count"), [
    ("zero", {"address": 0}, "holding", 0, 1),
    ("zero", {"address": 100, "type": "float32"}, "holding", 100, 2),
    ("zero", {"address": 7, "table": "coil", "type": "bool"}, "coil", 7, 1),
    ("one", {"address": 1}, "holding", 0, 1),
    ("one", {"address": 65536}, "holding", 65535, 1),
    ("one", {"address": 10, "table": "input", "type": "int64"}, "input", 9, 4),
    ("plc", {"address": 40001}, "holding", 0, 1),
    ("plc", {"address": 49999, "type": "uint16"}, "holding", 9998, 1),
    ("plc", {"address": 30010, "type": "float32"}, "input", 9, 2),
    ("plc", {"address": 10001, "type": "bool"}, "discrete", 0, 1),
    ("plc", {"address": 1, "type": "bool"}, "coil", 0, 1),
    ("plc", {"address": 9999, "type": "bool"}, "coil", 9998, 1),
    ("plc", {"address": 400001}, "holding", 0, 1),
    ("plc", {"address": 465536}, "holding", 65535, 1),
    ("plc", {"address": 300101, "type": "string", "length": 4}, "input", 100, 4),
])
def test_resolve(addressing, sig, table, address, count):
    a = resolve(ModbusSignal(**sig), addressing)
    assert (a.table, a.address, a.count) == (table, address, count)


@pytest.mark.parametrize(("addressing", "sig", "fragment"), [
    ("one", {"address": 0}, "starts at 1"),
    ("zero", {"address": 65535, "type": "float32"}, "ends past"),
    ("zero", {"address": 65536}, "ends past"),
    ("one", {"address": 65536, "type": "int32"}, "ends past"),
    ("plc", {"address": 40000}, "outside 1..9999"),
    ("plc", {"address": 20001}, "not in PLC notation"),
    ("plc", {"address": 565536}, "not in PLC notation"),
    ("plc", {"address": 465537}, "outside 1..65536"),
    ("plc", {"address": 465536, "type": "float32"}, "ends past"),
    ("plc", {"address": 10001, "type": "int16"}, "type must be bool"),
    ("plc", {"address": 40001, "table": "input"}, "in the holding table"),
])
def test_resolve_rejects(addressing, sig, fragment):
    with pytest.raises(AddressError, match=fragment):
        resolve(ModbusSignal(**sig), addressing)


def test_a_negative_address_is_refused_by_the_config_model():
    # resolve() keeps its own guard, but the model refuses first, with the key's range.
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        ModbusSignal(address=-1)

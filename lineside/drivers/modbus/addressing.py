"""From the address written in the config to a table and a 0-based protocol address.

Three notations, chosen per device (`addressing`):

- ``zero``: the protocol address on the wire (0..65535), table from the signal's `table`;
- ``one``:  1-based register numbers (1..65536) as many manuals print them;
- ``plc``:  Modicon notation where the leading digit names the table and the rest is
  1-based: 0xxxx coils, 1xxxx discrete inputs, 3xxxx input registers, 4xxxx holding
  registers (5 digits, up to x9999), or the 6-digit form 4xxxxx (up to x65536).
  A coil above 09999 cannot be written in this notation (its leading 0 is lost in
  an integer): use `zero` or `one` for such devices.
"""

from __future__ import annotations

from dataclasses import dataclass

from lineside.drivers.modbus.settings import ModbusSignal, Table

BIT_TABLES = ("coil", "discrete")
_PLC_TABLE: dict[int, Table] = {0: "coil", 1: "discrete", 3: "input", 4: "holding"}
# function code reading each table: the only codes this driver ever sends
READ_FUNCTION = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


class AddressError(ValueError):
    """The address cannot name a readable value (message for `lineside check`)."""


@dataclass(frozen=True, slots=True)
class Address:
    table: str
    address: int  # 0-based protocol address of the first register/bit
    count: int  # registers (or bits) the value occupies

    @property
    def end(self) -> int:
        """One past the last register/bit."""
        return self.address + self.count


def _plc(address: int) -> tuple[Table, int]:
    if address >= 100000:  # 6-digit form
        prefix, number, top = address // 100000, address % 100000, 65536
    else:
        prefix, number, top = address // 10000, address % 10000, 9999
    table = _PLC_TABLE.get(prefix)
    if table is None or address >= 500000:
        raise AddressError(f"{address} is not in PLC notation: expected 0xxxx coils, 1xxxx "
                           "discrete inputs, 3xxxx input or 4xxxx holding registers")
    if not 1 <= number <= top:
        raise AddressError(f"{address}: register number {number} is outside 1..{top} "
                           "(PLC notation counts from 1)")
    return table, number - 1


def resolve(sig: ModbusSignal, addressing: str) -> Address:
    """Table and protocol address of a signal, checked against the table's range."""
    table: Table = sig.table or "holding"
    if addressing == "plc":
        table, address = _plc(sig.address)
        if sig.table is not None and sig.table != table:
            raise AddressError(f"address {sig.address} is in the {table} table in PLC "
                               f"notation, but the signal says table: {sig.table}")
        if table in BIT_TABLES and sig.type != "bool":
            raise AddressError(f"address {sig.address} is a {table} (one bit): type must be "
                               f"bool, not {sig.type}")
    elif addressing == "one":
        if sig.address < 1:
            raise AddressError(f"address {sig.address}: 1-based addressing starts at 1")
        address = sig.address - 1
    else:
        if sig.address < 0:
            raise AddressError(f"address {sig.address} is negative")
        address = sig.address
    count = 1 if table in BIT_TABLES else sig.words
    if address + count > 65536:
        unit = "bit" if table in BIT_TABLES else "register"
        raise AddressError(f"address {sig.address} ({addressing}-based) with {count} {unit}(s) "
                           f"ends past the last {table} address 65535 (protocol {address}.."
                           f"{address + count - 1})")
    return Address(table, address, count)

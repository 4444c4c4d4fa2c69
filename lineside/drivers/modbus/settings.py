"""Modbus device and signal configuration (pydantic), kept beside the driver."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from lineside.drivers.ranges import MAX_CHARS_DOC, RANGE_DOC, ValueRange, check_range

ByteOrder = Literal["ABCD", "DCBA", "BADC", "CDAB"]
Table = Literal["holding", "input", "coil", "discrete"]
DataType = Literal[
    "bool", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "string", "bits",
]
# Registers each type occupies (string: `length`).
TYPE_WORDS: dict[str, int] = {
    "bool": 1, "int16": 1, "uint16": 1, "bits": 1, "float16": 1,
    "int32": 2, "uint32": 2, "float32": 2,
    "int64": 4, "uint64": 4, "float64": 4,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ForbiddenRange(_Strict):
    """Addresses the PLC faults on when read (e.g. holes in its memory map)."""

    table: Table = "holding"
    start: int = Field(ge=0, le=65535)
    end: int = Field(ge=0, le=65535, description="inclusive")

    @model_validator(mode="after")
    def _order(self) -> ForbiddenRange:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


# A signal is the most numerous object of a configuration (10,000 in a plant): as a slotted
# dataclass it holds in ~130 bytes what a model keeps in ~800 (bench/README.md).
@dataclass(frozen=True, slots=True, kw_only=True,
           config=ConfigDict(extra="forbid", allow_inf_nan=False))
class ModbusSignal:
    """One value read from a Modbus table."""

    table: Table | None = Field(None, description="`holding` when not given; with "
                                "`addressing: plc` the address gives it")
    address: int = Field(ge=0, le=999_999, description="as written in the PLC manual, see "
                                                        "the device's `addressing`")
    type: DataType = "uint16"
    bit: int | None = Field(None, ge=0, le=15, description="bool from one bit of a register")
    length: int | None = Field(None, ge=1, le=125, description="string length in registers")
    byte_order: ByteOrder | None = Field(None, description="overrides the device's byte order")
    unit_id: int | None = Field(None, ge=0, le=255, description="overrides the device's unit id")
    scale: float = Field(1.0, ge=-1e15, le=1e15)
    offset: float = Field(0.0, ge=-1e15, le=1e15)
    map: dict[int, str] | None = Field(None, description="enumeration: raw value -> text")
    deadband: float | None = Field(None, ge=0, le=1e15,
                                   description="report raw changes above this only")
    range: ValueRange | None = Field(None, description=RANGE_DOC)
    max_chars: int | None = Field(None, ge=1, le=65536, description=MAX_CHARS_DOC)

    @model_validator(mode="after")
    def _shape(self) -> ModbusSignal:
        check_range(self.range)
        if self.table in ("coil", "discrete") and self.type != "bool":
            raise ValueError(f"a {self.table} holds one bit: type must be bool, not {self.type}")
        if self.type == "string" and self.length is None:
            raise ValueError("type string needs `length` (number of registers)")
        if self.bit is not None and (self.type != "bool" or self.table in ("coil", "discrete")):
            raise ValueError("`bit` selects one bit of a register: use it with type bool on "
                             "a holding or input register")
        return self

    @property
    def words(self) -> int:
        if self.table in ("coil", "discrete"):
            return 1
        if self.type == "string":
            return self.length or 1
        return TYPE_WORDS[self.type]


class _ModbusCommon(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    unit_id: int = Field(1, ge=0, le=255)
    interval_s: float = Field(1.0, ge=0.01, le=86400)
    timeout_s: float = Field(1.0, gt=0, le=3600)
    addressing: Literal["zero", "one", "plc"] = Field(
        "zero",
        description="zero: protocol addresses; one: 1-based; plc: 4xxxx/3xxxx/1xxxx/0xxxx notation",
    )
    byte_order: ByteOrder = "ABCD"
    string_byte_order: Literal["big", "little"] = "big"
    max_gap: int = Field(10, ge=0, le=124, description="registers read across to merge requests")
    max_registers_per_request: int = Field(125, ge=1, le=125)
    max_bits_per_request: int = Field(2000, ge=1, le=2000)
    max_gap_bits: int | None = Field(None, ge=0, le=1999,
                                     description="coils/discrete inputs read across to merge "
                                                 "requests; default 16 x max_gap")
    forbidden: list[ForbiddenRange] = Field(default_factory=list)
    busy_retries: int = Field(3, ge=0, le=10)
    busy_retry_delay_s: float = Field(0.05, ge=0, le=5,
                                      description="wait before retrying a busy answer "
                                                  "(doubles each retry)")
    reconnect_min_s: float = Field(0.5, gt=0, le=3600, description="first reconnect delay")
    reconnect_max_s: float = Field(30.0, gt=0, le=3600, description="backoff ceiling (jittered)")
    enabled: bool = True


class ModbusTcpDevice(_ModbusCommon):
    type: Literal["modbus-tcp"]
    host: str
    port: int = Field(502, ge=1, le=65535)


class ModbusRtuOverTcpDevice(_ModbusCommon):
    type: Literal["modbus-rtu-over-tcp"]
    host: str
    port: int = Field(4001, ge=1, le=65535)


class ModbusRtuDevice(_ModbusCommon):
    type: Literal["modbus-rtu"]
    serial_port: str = Field(description="e.g. /dev/ttyUSB0; devices on one port share the bus")
    baudrate: int = Field(9600, ge=50, le=4_000_000)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8
    pause_s: float = Field(0.0, ge=0, le=10, description="silence between requests on the bus")


ModbusDevice = Annotated[
    ModbusTcpDevice | ModbusRtuOverTcpDevice | ModbusRtuDevice, Field(discriminator="type")
]

"""Plant model configuration: calendar, lines, stages, machines and metric options."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Literal, NamedTuple, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from lineside.drivers.modbus.settings import ModbusSignal
from lineside.drivers.opcua.settings import OpcuaSignal

StageKind = Literal[
    "cleaning", "thawing", "cutting", "peeling", "dehairing", "mixing", "frying", "heating",
    "packaging", "other",
]
STAGE_KINDS: tuple[str, ...] = get_args(StageKind)
State = Literal[
    "producing", "idle", "starved", "blocked", "fault", "setup", "cleaning", "maintenance",
    "unknown",
]
STATES: tuple[str, ...] = get_args(State)
# What a mode value means: the machine runs automatically, manually, or is in a state.
ModeOutcome = Literal[
    "automatic", "manual", "producing", "idle", "starved", "blocked", "fault", "setup",
    "cleaning", "maintenance", "unknown",
]
# What a machine is: production equipment (states, rate, counters, OEE), or equipment
# only monitored for its CCPs and signals (docs/design.md, "Monitoring-only equipment").
MachineKind = Literal[
    "production", "cold_room", "chiller", "freezer", "freezer_tunnel", "monitor",
]
MONITOR_KINDS: tuple[str, ...] = get_args(MachineKind)[1:]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = get_args(Weekday)
_PLANNED_STATES: tuple[State, ...] = ("cleaning", "maintenance")  # the default of planned_states
IdPattern = r"^[A-Za-z0-9_-]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _clock_time(t: dt.time) -> dt.time:
    if t.tzinfo is not None:  # "08:00Z" parses with an offset; comparing it crashed
        raise ValueError("a time of day on the site's clock (site.timezone) has no offset: "
                         "write it as HH:MM")
    return t


ClockTime = Annotated[dt.time, AfterValidator(_clock_time)]


class Break(_Strict):
    start: ClockTime
    end: ClockTime


class Shift(_Strict):
    name: str = Field(pattern=IdPattern)
    start: ClockTime
    end: ClockTime
    overnight: bool = Field(False, description="ends on the next day")
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS),
                                    description="days the shift starts on")
    breaks: list[Break] = Field(default_factory=list)

    @model_validator(mode="after")
    def _order(self) -> Shift:
        if self.end <= self.start and not self.overnight:
            raise ValueError(
                f"shift ends ({self.end:%H:%M}) before it starts ({self.start:%H:%M}); "
                "set `overnight: true` for a shift that ends the next day"
            )
        if self.end > self.start and self.overnight:
            raise ValueError(f"shift {self.start:%H:%M}-{self.end:%H:%M} is marked overnight "
                             "but ends the same day")
        return self


class Downtime(_Strict):
    """Planned downtime: recurring (weekdays + times; across midnight when `end` is
    earlier in the clock, e.g. 22:00-02:00 or 20:00-00:00) or one-off (datetimes)."""

    reason: str = "planned"
    lines: list[str] = Field(default_factory=list, description="empty: every line")
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    start: ClockTime | dt.datetime
    end: ClockTime | dt.datetime

    @model_validator(mode="after")
    def _order(self) -> Downtime:
        if type(self.start) is not type(self.end):
            raise ValueError("start and end must both be times (recurring) or both datetimes")
        if isinstance(self.start, dt.datetime):
            if (self.start.tzinfo is None) != (self.end.tzinfo is None):
                raise ValueError("start and end must both have an offset (+08:00) or both "
                                 "have none (the site's timezone)")
            if self.end <= self.start:  # type: ignore[operator]  # both datetimes: checked above
                raise ValueError("planned downtime ends before it starts")
        elif self.end == self.start:
            raise ValueError(f"planned downtime {self.start:%H:%M}-{self.end:%H:%M} has no "
                             "length (a recurring window lasts less than 24 h)")
        # A recurring window whose end is earlier in the clock (or 00:00) ends the next
        # day: nightly sanitation 22:00-02:00 starts on its `weekdays`.
        return self


class Calendar(_Strict):
    shifts: list[Shift] = Field(default_factory=list)
    holidays: list[dt.date] = Field(default_factory=list)
    planned_downtime: list[Downtime] = Field(default_factory=list)


class StateSource(_Strict):
    """How a machine's canonical state is derived."""

    map: Literal["packml", "weihenstephan", "machinery", "custom", "signals"] = "signals"
    custom: dict[int, State] = Field(default_factory=dict, description="code -> state")
    modes: dict[int | str, ModeOutcome] | None = Field(
        None, description="`mode` value (number or text) -> automatic, manual or a planned "
        "state; default per map: PackML UnitMode, OPC 40001 MachineryOperationMode "
        "(docs/engine.md, Modes)")
    programs: dict[int, State] | None = Field(
        None, description="`program` signal value (or bit, Weihenstephan WS_Cur_Prog) -> state; "
        "default {8: cleaning, 16: setup, 32: maintenance}")

    @model_validator(mode="after")
    def _custom(self) -> StateSource:
        if self.map == "custom" and not self.custom:
            raise ValueError("map custom needs a `custom` table of code -> state")
        return self


class Counters(_Strict):
    bits: Literal[16, 32, 64] | None = Field(
        None, description="override of every counter's width; default: each counter's "
        "declared type (Modbus `type`, OPC UA node DataType read at connect), else 32")
    mode: Literal["total", "increment"] = Field(
        "total", description="total: cumulative counters; increment: per-cycle counts"
    )
    rate_margin: float = Field(
        2.0, ge=1, le=100, description="a counter never adds more than ideal rate x elapsed time x "
        "this (the rest is flagged as excess, docs/engine.md)")


# Width of the integer types a counter can be declared with (Modbus `type`, OPC UA
# DataType names as the driver reports them). Signed types wrap at the same width.
COUNTER_TYPE_BITS: dict[str, int] = {
    "int16": 16, "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64,
    "sbyte": 8, "byte": 8,
}
DEFAULT_COUNTER_BITS = 32


def _signal_kind(v: Any) -> str:
    if isinstance(v, dict):
        return "opcua" if ("node" in v or "path" in v) else "modbus"
    return "opcua" if isinstance(v, OpcuaSignal) else "modbus"


Signal = Annotated[
    Annotated[ModbusSignal, Tag("modbus")] | Annotated[OpcuaSignal, Tag("opcua")],
    Discriminator(_signal_kind),
]

# Signal names with a meaning to the engine; any other name is a process value.
ROLE_SIGNALS = (
    "state", "running", "fault", "starved", "blocked", "auto_mode", "fault_code", "mode",
    "program", "good", "reject", "total", "product",
)


# What a monitoring-only unit cannot have: it makes no product and has no state.
PRODUCTION_KEYS = frozenset((
    "automation", "ideal_rate", "ideal_cycle_s", "products", "state", "counters", "reasons",
    "stale_after_s"))


class Machine(_Strict):
    # The JSON Schema says what `_kind` checks, so that an editor marks it too: a
    # monitoring-only unit takes none of the production keys or role signals, a
    # production machine needs `automation`.
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"kind": {"enum": list(MONITOR_KINDS)}}, "required": ["kind"]},
        "then": {"properties": {
            **{k: False for k in sorted(PRODUCTION_KEYS)},
            "signals": {"propertyNames": {"not": {"enum": list(ROLE_SIGNALS)}}}}},
        "else": {"required": ["automation"]}})

    id: str = Field(pattern=IdPattern)
    name: str = ""
    kind: MachineKind = Field(
        "production", description="production: states, counters, OEE and automation; "
        "cold_room, chiller, freezer, freezer_tunnel, monitor: monitoring-only equipment, "
        "read for its CCPs and signals and left out of every OEE and automation figure "
        "(no state map, ideal rate or counters)")
    automation: Literal["manual", "mechanized", "automatic"] | None = Field(
        None, description="required for production machines (docs/design.md, automation "
        "rate)")
    ideal_rate: float | None = Field(None, gt=0, le=1e6, description="units per minute")
    ideal_cycle_s: float | None = Field(None, gt=0, le=86400, description="seconds per unit")
    products: dict[int, Annotated[float, Field(gt=0, le=1e6)]] = Field(default_factory=dict,
                                       description="product code -> ideal units per minute")
    source: str = Field(description="device id")
    state: StateSource = Field(default_factory=StateSource)
    counters: Counters = Field(default_factory=Counters)
    reasons: dict[int, str] = Field(default_factory=dict, description="fault code -> text")
    stale_after_s: float | None = Field(
        None, gt=0, le=86400, description="overrides metrics.stale_after_s for this machine")
    signals: dict[str, Signal] = Field(default_factory=dict)
    lot_signal: str | None = Field(
        None, description="a process-value signal of this machine carrying the batch or "
        "lot number (text or number): a new value starts a lot, an empty one or 0 ends it "
        "(docs/lots.md)")

    @model_validator(mode="after")
    def _lot_signal(self) -> Machine:
        name = self.lot_signal
        if name is None:
            return self
        if name in ROLE_SIGNALS:  # a role is read by the engine for its own meaning
            raise ValueError(f"lot_signal {name!r} is a role signal; name a signal that "
                             "carries only the batch number")
        if name not in self.signals:
            raise ValueError(f"lot_signal {name!r} is not one of this machine's signals "
                             f"({', '.join(sorted(self.signals)) or 'none'})")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _kind(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Machine:
        """What a production machine needs and a monitoring-only unit must not have,
        each error at its own key (a wrap validator can name it: an `after` one only
        the machine)."""
        m: Machine = handler(data)
        errors: list[InitErrorDetails] = []
        if m.kind == "production":
            if m.automation is None:
                errors.append(InitErrorDetails(type="missing", loc=("automation",),
                                               input=data))
        else:
            raw = data if isinstance(data, dict) else {}  # (quoted as written)
            for key in sorted(m.model_fields_set & PRODUCTION_KEYS):
                errors.append(_monitor_error(
                    f"a monitoring-only unit (kind {m.kind}) has no `{key}`", (key,),
                    raw.get(key, {})))
            for name in sorted(set(m.signals) & set(ROLE_SIGNALS)):
                errors.append(_monitor_error(
                    f"a monitoring-only unit (kind {m.kind}) has no `{name}` signal",
                    ("signals", name), {}))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return m

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A monitoring-only unit dumps without the production keys (their defaults),
        so that a dumped configuration validates again (`lineside demo` rewrites one)."""
        d: dict[str, Any] = handler(self)
        if self.kind != "production":
            for key in PRODUCTION_KEYS:
                d.pop(key, None)
        return d

    @model_validator(mode="after")
    def _rate(self) -> Machine:
        if self.kind != "production":
            return self
        if self.ideal_rate is None and self.ideal_cycle_s is None:
            raise ValueError("give `ideal_rate` (units per minute) or `ideal_cycle_s`")
        if self.ideal_rate is not None and self.ideal_cycle_s is not None:
            raise ValueError("give only one of `ideal_rate` or `ideal_cycle_s`")
        return self

    def declared_counter_bits(self, name: str) -> int | None:
        """Width from the signal's declared type (Modbus); None when it has none."""
        spec = self.signals.get(name)
        t = getattr(spec, "type", None)
        return COUNTER_TYPE_BITS.get(str(t).lower()) if t is not None else None

    def counter_bits(self, name: str) -> int:
        """Width of counter `name`: the override, else its declared type, else 32."""
        if self.counters.bits is not None:
            return self.counters.bits
        return self.declared_counter_bits(name) or DEFAULT_COUNTER_BITS

    @property
    def monitoring_only(self) -> bool:
        """Equipment read for its CCPs and signals only: no state, rate, counters, OEE."""
        return self.kind != "production"

    @property
    def counts_units(self) -> bool:
        """Has a `good` or `total` counter: the units made, which performance, quality
        and OEE need (a `reject` counter alone gives reject_count only)."""
        return bool({"good", "total"} & set(self.signals))

    @property
    def ideal_cycle(self) -> float:
        """Seconds per unit."""
        return self.ideal_cycle_s if self.ideal_cycle_s else 60.0 / float(self.ideal_rate or 1)


def _monitor_error(what: str, loc: tuple[str, ...], value: Any) -> InitErrorDetails:
    msg = (f"{what}: it has no state map, ideal rate or counters, only signals and CCPs; "
           "remove it, or make this a production machine (kind production)")
    return InitErrorDetails(type=PydanticCustomError("monitoring_only", msg), loc=loc,
                            input=value)


class Stage(_Strict):
    id: str = Field(pattern=IdPattern)
    name: str = ""
    kind: StageKind
    manual: bool = Field(False, description="done by hand: no equipment, automation 0")
    weight: float = Field(1.0, gt=0, le=1e6, description="weight in the line's automation rate")
    machines: list[Machine] = Field(default_factory=list)

    @property
    def production(self) -> list[Machine]:
        """Its production machines: the ones its OEE and automation rate come from."""
        return [m for m in self.machines if not m.monitoring_only]

    @model_validator(mode="after")
    def _machines(self) -> Stage:
        if not self.manual and not self.machines:
            raise ValueError("a stage needs machines, or `manual: true` when done by hand")
        if not self.manual and not self.production:
            raise ValueError("a stage of monitoring-only units has no production to "
                             "measure: add its production machines, or `manual: true` when "
                             "it is done by hand (a cold room sits in the stage whose "
                             "product it holds)")
        if self.manual and self.production:
            # both would be read: automation from the machines, digitized 0 from `manual`
            raise ValueError("a stage done by hand (`manual: true`) has no machines: remove "
                             "`manual: true`, or the machines (equipment worked by hand is "
                             "a machine with `automation: manual`)")
        return self


class Line(_Strict):
    id: str = Field(pattern=IdPattern)
    name: str = ""
    output_stage: str | None = Field(None, description="stage whose OEE is the line's; "
                                     "default the last with production machines")
    stages: list[Stage] = Field(min_length=1)

    @property
    def output_index(self) -> int:
        """The stage whose OEE is the line's: `output_stage`, else the last one with
        production machines (a stage done by hand has no OEE to give), else the last."""
        ids = [s.id for s in self.stages]
        if self.output_stage in ids:
            return ids.index(self.output_stage)
        equipped = [i for i, s in enumerate(self.stages) if s.production]
        return equipped[-1] if equipped else len(self.stages) - 1


class PlacedMachine(NamedTuple):
    """A machine with the line and stage it sits in, and its key path in the file."""

    line: Line
    stage: Stage
    machine: Machine
    loc: tuple[str | int, ...]  # ("lines", li, "stages", si, "machines", mi)


def iter_machines(lines: Sequence[Line]) -> Iterator[PlacedMachine]:
    """Every machine of the plant, line by line and stage by stage, in file order."""
    for li, line in enumerate(lines):
        for si, stage in enumerate(line.stages):
            for mi, machine in enumerate(stage.machines):
                yield PlacedMachine(line, stage, machine,
                                    ("lines", li, "stages", si, "machines", mi))


class Metrics(_Strict):
    bucket_s: int = Field(60, ge=1, le=3600)
    small_stop_threshold_s: float = Field(120.0, ge=0, le=86400)
    stale_after_s: float = Field(10.0, gt=0, le=86400,
                                 description="no good data for this long: unknown")
    planned_states: list[State] = Field(default_factory=lambda: [*_PLANNED_STATES])
    reason_after_s: float = Field(300.0, ge=0, le=604800,
                                  description="downtime needing a reason")
    signal_deadband: float = Field(0.0, ge=0, le=1e15)
    automation_target: float = Field(0.60, ge=0, le=1)

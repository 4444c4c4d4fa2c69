"""Checks across sections that a single model cannot see (ids, references, overlaps)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.config.station import fault_code_references
from lineside.config.yamlpos import Loc
from lineside.drivers.modbus.checks import check_device
from lineside.drivers.modbus.settings import ModbusSignal

Problem = tuple[Loc, str]

# Signals the state map needs (besides them, boolean maps need `running`).
_STATE_CODE_MAPS = ("packml", "weihenstephan", "machinery", "custom")


def _duplicates(ids: list[str]) -> set[str]:
    return {i for i, n in Counter(ids).items() if n > 1}


def _items(v: Any) -> list[tuple[int, dict]]:
    return [(i, x) for i, x in enumerate(v) if isinstance(x, dict)] if isinstance(v, list) else []


def _mapping(v: object) -> dict[str, Any]:
    """A raw document's mapping, or an empty one where it holds something else."""
    return v if isinstance(v, dict) else {}


def reference_check(data: dict) -> list[Problem]:
    """Ids and references, on the raw document: runs even when other keys are invalid."""
    problems: list[Problem] = []
    add: Callable[[Loc, str], None] = lambda loc, msg: problems.append((loc, msg))  # noqa: E731

    def unique(section: str, items: list[tuple[int, dict]], key: str, what: str,
               prefix: Loc = ()) -> list[str]:
        ids = [str(x.get(key)) for _, x in items if key in x]
        dup = _duplicates(ids)
        for i, x in items:
            if str(x.get(key)) in dup:
                add((*prefix, section, i, key), f"{what} {x.get(key)!r} is used more than once")
        return ids

    devices_raw = _items(data.get("devices"))
    device_ids = unique("devices", devices_raw, "id", "device id")
    device_types = {str(x.get("id")): x.get("type") for _, x in devices_raw}
    unique("sinks", _items(data.get("sinks")), "id", "sink id")
    lines = _items(data.get("lines"))
    line_ids = unique("lines", lines, "id", "line id")
    all_machines = [(li, si, mi, m) for li, ln in lines for si, st in _items(ln.get("stages"))
                    for mi, m in _items(st.get("machines"))]
    dup_machines = _duplicates([str(m.get("id")) for *_, m in all_machines if "id" in m])
    for li, line in lines:
        stages = _items(line.get("stages"))
        stage_ids = unique("stages", stages, "id", "stage id", ("lines", li))
        out = line.get("output_stage")
        if out is not None and str(out) not in stage_ids:
            add(("lines", li, "output_stage"),
                f"unknown stage {out!r}, expected one of {stage_ids}")
    for li, si, mi, m in all_machines:
        mloc: Loc = ("lines", li, "stages", si, "machines", mi)
        if str(m.get("id")) in dup_machines:
            add((*mloc, "id"), f"machine id {m.get('id')!r} is used more than once "
                               "(machine ids are unique per site)")
        source = m.get("source")
        if source is not None and str(source) not in device_ids:
            add((*mloc, "source"), f"unknown device {source!r}, expected one of "
                                   f"{sorted(device_ids) or 'the ids under devices'}")
        signals = _mapping(m.get("signals"))
        state = _mapping(m.get("state"))
        smap = state.get("map", "signals")
        production = m.get("kind", "production") == "production"  # (else: no state)
        if production and smap in _STATE_CODE_MAPS and "state" not in signals:
            add((*mloc, "signals"), f"state map {smap!r} needs a `state` signal")
        if production and smap == "signals" and not ({"running", "state"} & set(signals)):
            add((*mloc, "signals"), "a machine needs a `running` signal (or a `state` "
                                    "signal with a state map) to know its state")
        dtype = device_types.get(str(source))
        for name, sig in signals.items():
            if not isinstance(sig, dict) or dtype is None:
                continue
            is_node = "node" in sig or "path" in sig
            if dtype == "opcua" and not is_node:
                add((*mloc, "signals", name), f"device {source!r} is OPC UA: give `node` or "
                                              "`path`, not a Modbus address")
            elif dtype != "opcua" and is_node:
                add((*mloc, "signals", name), f"device {source!r} is Modbus: give `address` "
                                              "(and `table`, `type`), not an OPC UA node")
    cal = _mapping(data.get("calendar"))
    for oi, down in _items(cal.get("planned_downtime")):
        lids = down.get("lines")
        # not a list: the model names the type at this key; iterating it here crashed
        for ki, lid in enumerate(lids if isinstance(lids, list) else []):
            if str(lid) not in line_ids:
                add(("calendar", "planned_downtime", oi, "lines", ki),
                    f"unknown line {lid!r}, expected one of {line_ids}")
    unique("shifts", _items(cal.get("shifts")), "name", "shift name", ("calendar",))
    problems += _ccp_references(data, [m for *_, m in all_machines], unique)
    problems += fault_code_references(data, [str(m.get("id")) for *_, m in all_machines])
    return problems


def _ccp_references(data: dict, machines: list[dict], unique: Callable[..., list[str]]
                    ) -> list[Problem]:
    """A CCP names a machine and one of its process-value signals (docs/haccp.md)."""
    from lineside.config.plant import ROLE_SIGNALS

    problems: list[Problem] = []
    ccps = _items(data.get("ccps"))
    unique("ccps", ccps, "id", "CCP id")
    signals = {str(m.get("id")): _mapping(m.get("signals")) for m in machines}
    kinds = {str(m.get("id")): m.get("kind", "production") for m in machines}
    for ci, c in ccps:
        mid, sig = c.get("machine"), c.get("signal")
        if mid is None:
            continue
        if str(mid) not in signals:
            problems.append((("ccps", ci, "machine"), f"unknown machine {mid!r}, expected one "
                             f"of {sorted(signals) or 'the machine ids under lines'}"))
            continue
        kind = kinds[str(mid)]
        if c.get("applies") == "producing" and kind != "production":
            problems.append((("ccps", ci, "applies"), f"machine {mid!r} is monitoring-only "
                             f"(kind {kind}): it has no state, so it is never producing; a "
                             "CCP on it applies `always`"))
        if sig is None:
            continue
        if str(sig) in ROLE_SIGNALS:
            problems.append((("ccps", ci, "signal"), f"{sig!r} is a role signal of the engine "
                             "(state, counters, modes); a CCP monitors a process value such "
                             "as a temperature"))
        elif str(sig) not in signals[str(mid)]:
            values = sorted(k for k in signals[str(mid)] if k not in ROLE_SIGNALS)
            problems.append((("ccps", ci, "signal"), f"machine {mid!r} has no signal {sig!r}"
                             f"; its process values: {values or 'none'}"))
    return problems


def model_check(cfg: LinesideConfig) -> list[Problem]:
    """Checks that need parsed values (times, Modbus layouts)."""
    problems: list[Problem] = []
    for i, s in enumerate(cfg.calendar.shifts):
        for bi, b in enumerate(s.breaks):
            if not _break_inside(s.start, s.end, s.overnight, b.start, b.end):
                problems.append((("calendar", "shifts", i, "breaks", bi),
                                 f"break {b.start:%H:%M}-{b.end:%H:%M} is not inside the shift "
                                 f"{s.start:%H:%M}-{s.end:%H:%M}"))
    devices = {d.id: d for d in cfg.devices}
    by_device: dict[str, list[tuple[Loc, ModbusSignal]]] = {}
    for _, _, m, mloc in iter_machines(cfg.lines):
        for name, sig in m.signals.items():
            if isinstance(sig, ModbusSignal) and m.source in devices:
                by_device.setdefault(m.source, []).append(((*mloc, "signals", name), sig))
    problems.extend(_modbus_checks(cfg, by_device))
    problems.extend(_ccp_source_checks(cfg))
    problems.extend(_output_stage_checks(cfg))
    return problems


def _output_stage_checks(cfg: LinesideConfig) -> list[Problem]:
    """A line's OEE is its output stage's (docs/design.md, OEE): one done by hand has
    none, and the line's planned busy time would be 0, which drops the line from the
    site's OEE and from the site and enterprise automation rates (the bureau's)."""
    out: list[Problem] = []
    for li, line in enumerate(cfg.lines):
        stage = line.stages[line.output_index]
        equipped = [s.id for s in line.stages if s.production]
        if line.output_stage is not None and not stage.production and equipped:
            out.append((("lines", li, "output_stage"),
                        f"stage {stage.id!r} is done by hand (no machines): it has no OEE "
                        f"to give line {line.id!r}, whose planned busy time would be 0, so "
                        "the line would drop out of the site's OEE and of the site and "
                        "enterprise automation rates; name a stage with machines "
                        f"({equipped}), or remove `output_stage` for the last one "
                        f"({equipped[-1]!r})"))
    return out


def _ccp_source_checks(cfg: LinesideConfig) -> list[Problem]:
    """A CCP needs a reading every monitoring interval: its device must be polled, and
    more often than that (docs/haccp.md)."""
    machines = {m.id: m for _, _, m, _ in iter_machines(cfg.lines)}
    devices = {d.id: d for d in cfg.devices}
    out: list[Problem] = []
    for i, c in enumerate(cfg.ccps):
        m = machines.get(c.machine)
        dev = devices.get(m.source) if m is not None else None
        if dev is None:
            continue  # named by the reference check
        if getattr(dev, "mode", "poll") == "subscribe":
            out.append((("ccps", i, "machine"),
                        f"machine {c.machine!r} is read by OPC UA subscription (device "
                        f"{dev.id!r}): a steady value sends nothing, which a CCP would "
                        "take as a loss of monitoring; set `mode: poll` on that device"))
        elif dev.interval_s >= c.monitoring_interval_s:
            out.append((("ccps", i, "monitoring_interval_s"),
                        f"device {dev.id!r} is polled every {dev.interval_s:g} s: the "
                        f"monitoring interval ({c.monitoring_interval_s:g} s) must be longer"
                        " than that"))
    return out


def model_warnings(cfg: LinesideConfig) -> list[Problem]:
    """Valid but probably not meant: `lineside check` prints these and exits 0."""
    out: list[Problem] = []
    for _, _, m, mloc in iter_machines(cfg.lines):
        if m.monitoring_only:  # no counters, no automation: nothing below applies
            continue
        bits = m.counters.bits
        for name in ("good", "reject", "total"):
            typ = getattr(m.signals.get(name), "type", None)
            if typ is not None and bits is None \
                    and m.declared_counter_bits(name) is None:
                out.append(((*mloc, "signals", name),
                            f"counter `{name}` is declared {typ}, not an integer "
                            "type: it is counted modulo 2^32; declare its integer "
                            "type (uint16, int32, ...) or set counters.bits"))
            declared = m.declared_counter_bits(name)
            if bits is not None and declared is not None and declared != bits:
                typ = getattr(m.signals[name], "type", "?")
                out.append(((*mloc, "counters", "bits"),
                            f"{bits} bits overrides counter `{name}` declared "
                            f"{typ} ({declared} bits): it is read as wrapping at "
                            f"2^{bits}; remove `bits` to follow the type"))
        if m.automation != "automatic":
            for name in ("auto_mode",):
                if name in m.signals:
                    out.append(((*mloc, "signals", name),
                                f"ignored for auto/manual: the machine is declared "
                                f"`{m.automation}`, and {m.automation} equipment "
                                "never runs in auto (docs/design.md, automation "
                                "rate); declare it `automatic` if it can"))
        if "reject" in m.signals and not {"good", "total"} & set(m.signals):
            out.append(((*mloc, "signals", "reject"),
                        "a reject counter alone gives reject_count only: quality, "
                        "performance and OEE stay absent without a `good` or "
                        "`total` counter"))
    return out + _output_stage_warnings(cfg)


def _output_stage_warnings(cfg: LinesideConfig) -> list[Problem]:
    """Lines whose figures rest on nothing: no machines at all, or an output stage that
    counts no units while another stage of the line does."""
    out: list[Problem] = []
    for li, line in enumerate(cfg.lines):
        stage = line.stages[line.output_index]
        if not any(s.production for s in line.stages):
            out.append((("lines", li),
                        f"line {line.id!r} has no machines, only stages done by hand: "
                        "nothing is measured on it (no OEE, and no automation rate: a "
                        "manual stage counts 0 of the units its line's machines make), "
                        "so it is absent from the site and enterprise figures, not 0%"))
            continue
        counting = [s.id for s in line.stages if any(m.counts_units for m in s.machines)]
        if counting and stage.id not in counting:
            how = "" if line.output_stage is not None else " (the last one with machines)"
            loc: Loc = ("lines", li, "output_stage") if line.output_stage else ("lines", li)
            out.append((loc, f"line {line.id!r} takes its OEE from stage {stage.id!r}{how}, "
                             "where no machine has a `good` or `total` counter: the line "
                             "gets availability only (no performance, quality or OEE) and "
                             "is left out of the site's OEE, while stages "
                             f"{counting} count units; set `output_stage` to the one whose "
                             "output is the line's"))
    return out


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _break_inside(s: dt.time, e: dt.time, overnight: bool, bs: dt.time, be: dt.time) -> bool:
    start, end = _minutes(s), _minutes(e) + (1440 if overnight else 0)
    b0, b1 = _minutes(bs), _minutes(be)
    if overnight and b0 < start:
        b0 += 1440
    if (b1 <= b0 % 1440 and b1 < b0) or (overnight and b1 < start):
        b1 += 1440
    return start <= b0 < b1 <= end


def _modbus_checks(cfg: LinesideConfig, by_device: dict[str, list[tuple[Loc, ModbusSignal]]]
                   ) -> list[Problem]:
    """Address ranges and overlaps: the Modbus driver knows its tables best."""
    devices = {d.id: d for d in cfg.devices}
    out: list[Problem] = []
    for dev_id, signals in by_device.items():
        out.extend(check_device(devices[dev_id], signals))
    return out

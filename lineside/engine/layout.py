"""The plant as the engine sees it: lines, stages and machine records in configuration
order, their tags, which signal goes where, and the rollup of machine vectors to
stage, line and site vectors and automation rates (docs/design.md, OEE and automation
rate: sums first, ratios last)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.config.plant import Line, Stage
from lineside.engine import fields as F
from lineside.engine import plausible, rollup
from lineside.engine.fields import V
from lineside.engine.machine import MachineState, ProcessValue
from lineside.engine.plausible import VALUE_LIMIT
from lineside.engine.roles import R_PV, ROLE
from lineside.points import Series

PV_RANGE = (-VALUE_LIMIT, VALUE_LIMIT)  # a process value's range unless it sets one


@dataclass(slots=True)
class Rollup:
    """Vectors and automation rates above the machines, for one set of machine vectors."""

    stage_vecs: list[list[list[float]]]  # [line][stage]
    stage_units: list[list[tuple[float, float]]]  # [line][stage]: (auto, run) ideal units
    stage_rates: list[list[float | None]]
    line_vecs: list[list[float]]  # the line's output stage: its OEE
    line_all: list[list[float]]  # every stage of the line: its automation sums
    line_rates: list[float | None]
    site_vec: list[float]
    site_rate: float | None


class PlantLayout:
    """Built once from the configuration; the machine records it holds change, the
    structure does not."""

    def __init__(self, cfg: LinesideConfig, start_ts: float, planned: frozenset[int]) -> None:
        met = cfg.metrics
        site = cfg.site
        # Names ride beside the ids as tags (docs/design.md, schema): InfluxQL has no
        # join, so a board can only show a name it can GROUP BY. An empty name is the id.
        base = {"enterprise": site.enterprise_id,
                "enterprise_name": site.enterprise_name or site.enterprise_id,
                "site": site.site_id, "site_name": site.site_name or site.site_id}
        # Site- and enterprise-level points are this agent's share of the plant: the
        # gateway tag keeps the agents of one plant from overwriting each other.
        self.gateway = site.gateway_id or cfg.lines[0].id
        self.site_tags = {**base, "level": "site", "gateway": self.gateway}
        # of every `automation` and `ccp_bureau` point: the bureau's aggregates carry the
        # enterprise's name, not the site's (which never leaves the factory)
        self.bureau_tags = {"region": site.region,
                            **{k: v for k, v in base.items() if k != "site_name"}}
        self.lines: list[Line] = list(cfg.lines)
        self.line_tags: list[dict[str, str]] = []
        self.stage_tags: list[list[dict[str, str]]] = []
        self.stage_machines: list[list[list[MachineState]]] = []
        self.output: list[int] = []  # index of each line's output stage
        self.machines: list[MachineState] = []  # production machines: every OEE vector
        # Monitoring-only units (cold rooms, chillers): id -> tags; only their signals
        # and CCPs are read, so no figure of their line depends on them.
        self.monitors: dict[str, dict[str, str]] = {}
        # signal key -> (machine record, role) or (process value, R_PV)
        self.route: dict[str, tuple[Any, int]] = {}
        self.process_values: list[ProcessValue] = []
        devices = {d.id: d for d in cfg.devices}
        for li, line in enumerate(cfg.lines):
            ln = {"line": line.id, "line_name": line.name or line.id}
            self.line_tags.append({**base, **ln, "level": "line"})
            st_tags: list[dict[str, str]] = []
            st_ms: list[list[MachineState]] = []
            for si, stage in enumerate(line.stages):
                sn = {**ln, "stage": stage.id, "stage_name": stage.name or stage.id}
                st_tags.append({**base, **sn, "level": "stage"})
                ms: list[MachineState] = []
                for mc in stage.machines:
                    mt = {**base, **sn, "machine": mc.id,
                          "machine_name": mc.name or mc.id, "level": "machine"}
                    m: MachineState | None = None
                    if mc.monitoring_only:  # (its signals are process values: config)
                        mt["machine_kind"] = mc.kind
                        self.monitors[mc.id] = mt
                    else:
                        dev = devices.get(mc.source)
                        sub = (getattr(dev, "type", None) == "opcua"
                               and getattr(dev, "mode", None) == "subscribe")
                        m = MachineState(mc, li, si, mt, met.stale_after_s, planned, start_ts,
                                         sub)
                        ms.append(m)
                        self.machines.append(m)
                    for name, spec in mc.signals.items():
                        key = f"{mc.id}.{name}"
                        role = None if m is None else ROLE.get(name)
                        if role is not None:
                            self.route[key] = (m, role)
                        else:
                            db = getattr(spec, "deadband", None)
                            pv = ProcessValue(key, Series({**mt, "signal": name}),
                                              float(met.signal_deadband if db is None else db),
                                              plausible.bounds(spec, PV_RANGE))
                            if name == mc.lot_signal:
                                pv.lot = mc.id
                            self.process_values.append(pv)
                            self.route[key] = (pv, R_PV)
                st_ms.append(ms)
            self.stage_tags.append(st_tags)
            self.stage_machines.append(st_ms)
            self.output.append(line.output_index)
        self.by_id = {m.id: m for m in self.machines}
        # Tags of every unit a CCP or a lot can sit on: machines and monitoring-only units.
        self.unit_tags = {**{m.id: m.tags for m in self.machines}, **self.monitors}
        self.source_of = {mc.id: mc.source for ln in cfg.lines for st in ln.stages
                          for mc in st.machines}
        # Which entities can measure performance / quality (some machine has a counter).
        self.stage_counts = [[any(m.counts_units for m in ms) for ms in st_ms]
                             for st_ms in self.stage_machines]
        self.line_counts = [sc[self.output[li]] for li, sc in enumerate(self.stage_counts)]
        self.site_counts = any(self.line_counts)

    def aggregate(self, vecs: list[list[float]]) -> Rollup:
        """Machine vectors (in `machines` order) -> stage/line/site vectors and rates."""
        mi = 0
        stage_vecs: list[list[list[float]]] = []
        stage_units: list[list[tuple[float, float]]] = []
        stage_rates: list[list[float | None]] = []
        line_vecs: list[list[float]] = []
        line_all: list[list[float]] = []
        line_rates: list[float | None] = []
        for li, line in enumerate(self.lines):
            svs: list[list[float]] = []
            for ms in self.stage_machines[li]:
                svs.append(F.vsum(vecs[mi:mi + len(ms)]))
                mi += len(ms)
            allv = F.vsum(svs)
            units = [rate_units(stage, sv, allv)
                     for stage, sv in zip(line.stages, svs, strict=True)]
            rates = [rollup.stage_rate(a, u) for a, u in units]
            stage_vecs.append(svs)
            stage_units.append(units)
            stage_rates.append(rates)
            line_vecs.append(svs[self.output[li]])
            line_all.append(allv)
            line_rates.append(rollup.line_rate(
                (stage.weight, r) for stage, r in zip(line.stages, rates, strict=True)))
        site_vec = F.vsum(line_vecs)
        site_rate = rollup.site_rate((lv[V.planned_busy_s], r)
                                     for lv, r in zip(line_vecs, line_rates, strict=True))
        return Rollup(stage_vecs, stage_units, stage_rates, line_vecs, line_all, line_rates,
                      site_vec, site_rate)


def rate_units(stage: Stage, sv: list[float], line_all: list[float]) -> tuple[float, float]:
    """(auto, run) ideal units of a stage's automation rate. A stage done by hand
    handles by hand what its line's equipment produced: 0 of the line's run ideal
    units, so it is 0% whenever its line runs and absent otherwise."""
    if stage.manual:  # (a stage done by hand has no machines: config/plant.py)
        return 0.0, line_all[V.run_ideal_units]
    return sv[V.auto_ideal_units], sv[V.run_ideal_units]

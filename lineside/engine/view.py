"""The engine's read-only view of the current shift, for the live terminal and the
demo (`Engine.view`): figures per machine, stage, line and site."""

from __future__ import annotations

from dataclasses import dataclass

from lineside.config.plant import STATES
from lineside.engine import fields as F
from lineside.engine.fields import V
from lineside.engine.layout import PlantLayout, Rollup
from lineside.engine.machine import MachineState


@dataclass(frozen=True, slots=True)
class Figures:
    availability: float | None
    performance: float | None
    quality: float | None
    oee: float | None
    automation_rate: float | None
    good: int
    reject: int
    run_s: float
    planned_busy_s: float
    # The additive vector (fields.VEC_FIELDS) behind the ratios, and whether units are
    # counted below: the figures of a window are to_fields(vector at end - at start).
    vector: tuple[float, ...]
    counts: bool


@dataclass(frozen=True, slots=True)
class MachineView:
    id: str
    name: str
    state: str
    since_s: float
    reason: str
    auto: bool | None
    figures: Figures


@dataclass(frozen=True, slots=True)
class UnitView:
    """A monitoring-only unit (cold room, chiller): itself, no figures (its CCPs are
    in `Engine.ccp_view`)."""

    id: str
    name: str
    kind: str  # config/plant.py MONITOR_KINDS


@dataclass(frozen=True, slots=True)
class StageView:
    id: str
    name: str
    kind: str
    manual: bool
    machines: tuple[MachineView, ...]
    figures: Figures
    monitors: tuple[UnitView, ...] = ()


@dataclass(frozen=True, slots=True)
class LineView:
    id: str
    name: str
    output_stage: str
    stages: tuple[StageView, ...]
    figures: Figures


@dataclass(frozen=True, slots=True)
class SiteView:
    ts: float
    period: str  # "shift <name> <date>" or "since <iso start>"
    period_start: float
    scheduled: bool
    lines: tuple[LineView, ...]
    figures: Figures


def figures(vec: list[float], rate: float | None, counts: bool = True) -> Figures:
    f = F.to_fields(vec, rate, counts)
    return Figures(
        f.get("availability"), f.get("performance"), f.get("quality"), f.get("oee"),  # type: ignore[arg-type]  # float | None
        rate, round(vec[V.good_count]), round(vec[V.reject_count]), vec[V.run_s],
        vec[V.planned_busy_s], tuple(vec), counts)


def level_figures(plant: PlantLayout, agg: Rollup, li: int | None = None,
                  si: int | None = None) -> Figures:
    """The figures of stage (li, si), of line li, or of the site: the one place each
    level's vector, rate and "counts units" are picked from the rollup."""
    if li is None:
        return figures(agg.site_vec, agg.site_rate, plant.site_counts)
    if si is None:
        return figures(agg.line_vecs[li], agg.line_rates[li], plant.line_counts[li])
    return figures(agg.stage_vecs[li][si], agg.stage_rates[li][si],
                   plant.stage_counts[li][si])


def site_view(plant: PlantLayout, vecs: list[list[float]], t: float, now: float,
              period: str, period_start: float, scheduled: bool) -> SiteView:
    """The view at `t` from the machines' vectors; `now` is the engine's time (a state
    read at `now` that has not become an event yet is shown)."""
    agg = plant.aggregate(vecs)
    mvs = iter([machine_view(m, v, t, now) for m, v in zip(plant.machines, vecs, strict=True)])
    lines: list[LineView] = []
    for li, line in enumerate(plant.lines):
        stages = tuple(
            StageView(stage.id, stage.name or stage.id, stage.kind, stage.manual,
                      tuple(next(mvs) for _ in plant.stage_machines[li][si]),
                      level_figures(plant, agg, li, si),
                      tuple(UnitView(mc.id, mc.name or mc.id, mc.kind)
                            for mc in stage.machines if mc.monitoring_only))
            for si, stage in enumerate(line.stages))
        lines.append(LineView(line.id, line.name or line.id,
                              line.stages[plant.output[li]].id, stages,
                              level_figures(plant, agg, li)))
    return SiteView(t, period, period_start, scheduled, tuple(lines),
                    level_figures(plant, agg))


def machine_view(m: MachineState, v: list[float], t: float, now: float) -> MachineView:
    state, since = m.state, m.state_since
    if m.dirty:  # read this instant, not yet a change event: show it
        new = m.state_map.derive(m.state_inputs)
        if new != state:
            state, since = new, now
    return MachineView(m.id, m.cfg.name or m.id, STATES[state], max(0.0, t - since),
                       m.reason, (m.auto if (m.has_auto_signal or m.declared_auto) else None),
                       figures(v, F.machine_rate(v), m.counts_units))

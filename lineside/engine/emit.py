"""The points of a closed bucket or shift: `oee` / `oee_shift` per machine, stage, line
and site, and the bureau's `automation` points (docs/design.md, schema)."""

from __future__ import annotations

from typing import Any

from lineside.engine import fields as F
from lineside.engine.fields import V
from lineside.engine.layout import PlantLayout, Rollup
from lineside.points import Point


def ns(t: float) -> int:
    """Epoch seconds -> a point's integer nanoseconds, at microsecond resolution
    (t * 1e6 is exact enough in a double, t * 1e9 is not)."""
    return round(t * 1e6) * 1000


def entity_points(plant: PlantLayout, measurement: str, vecs: list[list[float]],
                  agg: Rollup, extra_tags: dict[str, str], ts_ns: int) -> list[Point]:
    """One point per machine, stage, line and the site, from their vectors."""
    def tags(t: dict[str, str]) -> dict[str, str]:
        return {**t, **extra_tags} if extra_tags else t

    out: list[Point] = []
    for m, v in zip(plant.machines, vecs, strict=True):
        out.append(Point(measurement, tags(m.tags),
                         F.to_fields(v, F.machine_rate(v), m.counts_units), ts_ns))
    for li, line in enumerate(plant.lines):
        for si, stage in enumerate(line.stages):
            sv = agg.stage_vecs[li][si]
            fl = F.to_fields(sv, agg.stage_rates[li][si], plant.stage_counts[li][si])
            if stage.manual:
                fl["manual"] = True
            out.append(Point(measurement, tags(plant.stage_tags[li][si]), fl, ts_ns))
        out.append(Point(measurement, tags(plant.line_tags[li]),
                         F.to_fields(agg.line_vecs[li], agg.line_rates[li],
                                     plant.line_counts[li]), ts_ns))
    out.append(Point(measurement, tags(plant.site_tags),
                     F.to_fields(agg.site_vec, agg.site_rate, plant.site_counts), ts_ns))
    return out


def automation_points(plant: PlantLayout, agg: Rollup, live: list[bool], target: float,
                      ts_ns: int) -> list[Point]:
    """The bureau's aggregates (docs/design.md, "Rebuilding the figures"): one point
    per stage carries every sum the upper levels are rebuilt from; the line and
    enterprise points carry this bucket's figures and this agent's totals. `live`:
    per machine, whether it had a known state in the bucket (the stage is digitized)."""
    base = plant.bureau_tags
    out: list[Point] = []
    mi = 0
    all_dig = 0
    all_stages = 0
    all_vec: list[list[float]] = []
    for li, line in enumerate(plant.lines):
        line_pbt = agg.line_vecs[li][V.planned_busy_s]
        dig: list[bool] = []
        for si, (stage, ms) in enumerate(zip(line.stages, plant.stage_machines[li],
                                             strict=True)):
            d = not stage.manual and bool(ms) and any(live[mi:mi + len(ms)])
            mi += len(ms)
            dig.append(d)
            sv = agg.stage_vecs[li][si]
            auto_u, run_u = agg.stage_units[li][si]
            f: dict[str, Any] = {
                "auto_ideal_units": round(auto_u, 6), "run_ideal_units": round(run_u, 6),
                "auto_run_s": round(sv[V.auto_run_s], 6), "run_s": round(sv[V.run_s], 6),
                "weight": float(stage.weight),
                "line_planned_busy_s": round(line_pbt, 6),
                "digitized": 1.0 if d else 0.0, "target": target}
            rate = agg.stage_rates[li][si]
            if rate is not None:
                f["automation_rate"] = rate
            names = plant.stage_tags[li][si]
            out.append(Point("automation", {
                **base, "line": line.id, "line_name": names["line_name"], "stage": stage.id,
                "stage_name": names["stage_name"], "stage_kind": stage.kind,
                "level": "stage"}, f, ts_ns))
        lv = agg.line_all[li]
        out.append(_summary_point({**base, "line": line.id,
                                   "line_name": plant.line_tags[li]["line_name"],
                                   "level": "line"},
                                  agg.line_rates[li], lv, line_pbt, sum(dig) / len(dig),
                                  target, ts_ns))
        all_dig += sum(dig)
        all_stages += len(dig)
        all_vec.append(lv)
    out.append(_summary_point({**base, "gateway": plant.gateway, "level": "enterprise"},
                              agg.site_rate, F.vsum(all_vec), agg.site_vec[V.planned_busy_s],
                              all_dig / max(all_stages, 1), target, ts_ns))
    return out


def _summary_point(tags: dict[str, str], rate: float | None, vec: list[float],
                   planned_busy_s: float, digitized: float, target: float,
                   ts_ns: int) -> Point:
    f: dict[str, Any] = {"auto_run_s": round(vec[V.auto_run_s], 6),
                         "run_s": round(vec[V.run_s], 6),
                         "auto_ideal_units": round(vec[V.auto_ideal_units], 6),
                         "run_ideal_units": round(vec[V.run_ideal_units], 6),
                         "planned_busy_s": round(planned_busy_s, 6),
                         "digitized": digitized, "target": target}
    if rate is not None:
        f["automation_rate"] = rate
    return Point("automation", tags, f, ts_ns)

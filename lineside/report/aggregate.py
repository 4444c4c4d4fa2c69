"""Rows in, report out: the bureau's arithmetic, pure and deterministic.

Every figure is rebuilt from sums over the period with the rules of docs/design.md
("Rebuilding the figures", lineside.engine.rollup), from the stage-level
`automation` points and the line-level `oee` points only: the levels no two agents of
one plant share, so a plant split across gateways is neither overwritten nor counted
twice.

- stage: Σ auto_ideal_units / Σ run_ideal_units (a manual stage: 0 whenever its line
  ran in the period);
- line: its stages' rates weighted by `weight`, stages without a rate left out;
- enterprise: line rates weighted by each line's Σ planned_busy_s;
- stage kind k of an enterprise: the enterprise rule over its stages of kind k only;
- OEE: Σ ideal_good_s / Σ counted_planned_busy_s of its lines (lines without counters
  do not count as zero output);
- digitized coverage: Σ digitized / count over its stage points (the time-weighted
  share of stages with live data);
- district mean: mean of the enterprise rates; output-weighted mean: enterprise rates
  weighted by their output (Σ good_count of their lines' output stages).

A registered enterprise with no point at all in the period is `missing` (no rate, not
0%); one with points but no run time is `no_production`. An enterprise id that is not
in the registry is `unregistered` and kept out of the district figures; points with a
region other than the registered one are flagged.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lineside.engine import rollup
from lineside.report.data import (
    CCP_SUMS,
    DEFAULT_TARGET,
    SAFETY_LEVELS,
    STAGE_KINDS,
    DistrictFigures,
    EnterpriseFigures,
    HoldBack,
    KindFigures,
    LineFigures,
    Period,
    Registered,
    Report,
    Row,
)
from lineside.report.findings import Finding

_EPS = rollup.EPS


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


@dataclass(frozen=True)
class _Stage:
    line: tuple[str, str]  # (site, line)
    kind: str
    auto_units: float
    run_units: float
    weight: float
    line_pbt: float
    auto_run_s: float
    run_s: float

    @property
    def rate(self) -> float | None:
        return rollup.stage_rate(self.auto_units, self.run_units)


@dataclass
class _Acc:
    """Everything one enterprise sent in the period, summed."""

    regions: set[str] = field(default_factory=set)
    rows: int = 0
    stages: list[_Stage] = field(default_factory=list)
    dig_sum: float = 0.0
    dig_n: float = 0.0
    # (site, line) -> planned busy time of the line-level oee points
    line_pbt: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    counted_pbt: float = 0.0
    ideal_good_s: float = 0.0
    good_count: float = 0.0
    ccp: dict[str, list[float]] = field(default_factory=dict)  # kind -> CCP_SUMS
    safety: dict[str, list[float]] = field(default_factory=dict)  # kind -> SAFETY_LEVELS


def _accumulate(rows: Iterable[Row]) -> tuple[dict[str, _Acc], int]:
    accs: dict[str, _Acc] = defaultdict(_Acc)
    untagged = 0
    for r in rows:
        eid = r.tags.get("enterprise", "")
        if not eid:
            untagged += 1
            continue
        a = accs[eid]
        a.rows += 1
        if r.tags.get("region"):
            a.regions.add(r.tags["region"])
        line = (r.tags.get("site", ""), r.tags.get("line", ""))
        if r.measurement == "automation":
            a.stages.append(_Stage(
                line, r.tags.get("stage_kind", ""), r.v("auto_ideal_units"),
                r.v("run_ideal_units"), r.v("weight") if r.has("weight") else 1.0,
                r.v("line_planned_busy_s"), r.v("auto_run_s"), r.v("run_s")))
            a.dig_sum += r.v("digitized_sum")
            a.dig_n += r.v("digitized_n")
        elif r.measurement == "ccp_bureau":
            acc = a.ccp.setdefault(r.tags.get("ccp_kind", ""), [0.0] * len(CCP_SUMS))
            for i, f in enumerate(CCP_SUMS):
                acc[i] += r.v(f)
        elif r.measurement == "haccp_bureau":  # one row per site and gateway: add them
            acc = a.safety.setdefault(r.tags.get("ccp_kind", ""), [0.0] * len(SAFETY_LEVELS))
            for i, f in enumerate(SAFETY_LEVELS):
                acc[i] += r.v(f)
        elif r.measurement == "oee":
            a.line_pbt[line] += r.v("planned_busy_s")
            a.counted_pbt += r.v("counted_planned_busy_s")
            a.ideal_good_s += r.v("ideal_good_s")
            a.good_count += r.v("good_count")
    return accs, untagged


def _line_rates(stages: Iterable[_Stage]) -> dict[tuple[str, str], tuple[float, float | None]]:
    """(site, line) -> (planned busy time, rate) by the line rule."""
    by_line: dict[tuple[str, str], list[_Stage]] = defaultdict(list)
    for st in stages:
        by_line[st.line].append(st)
    return {ln: (max(st.line_pbt for st in sts),
                 rollup.line_rate((st.weight, st.rate) for st in sts))
            for ln, sts in by_line.items()}


def _enterprise_rate(stages: Sequence[_Stage]) -> float | None:
    return rollup.site_rate(_line_rates(stages).values())


def _figures(reg: Registered, status_if_seen: str, a: _Acc | None,
             target: float) -> EnterpriseFigures:
    if a is None or a.rows == 0:
        return EnterpriseFigures(reg.id, reg.name, reg.region, "missing")
    order = {k: i for i, k in enumerate(STAGE_KINDS)}
    kind_names = sorted({st.kind for st in a.stages},
                        key=lambda k: (order.get(k, 99), k))
    kinds = {}
    for k in kind_names:
        sts = [st for st in a.stages if st.kind == k]
        kinds[k] = KindFigures(k, sum(st.auto_run_s for st in sts),
                               sum(st.run_s for st in sts), _enterprise_rate(sts))
    line_figs = tuple(
        LineFigures(line, rate, pbt,
                    tuple(k for k in kind_names
                          if any(st.kind == k and st.line == (site, line)
                                 for st in a.stages)), site)
        for (site, line), (pbt, rate) in sorted(_line_rates(a.stages).items()))
    rate = _enterprise_rate(a.stages)
    status = status_if_seen if rate is not None else (
        "unregistered" if status_if_seen == "unregistered" else "no_production")
    flags: list[str] = []
    other = sorted(a.regions - {reg.region})
    if other and status_if_seen != "unregistered":
        flags.append(Finding("region", other=", ".join(other), registered=reg.region))
    return EnterpriseFigures(
        id=reg.id, name=reg.name,
        region=reg.region if status_if_seen != "unregistered" else ",".join(sorted(a.regions)),
        status=status,
        automation_rate=rate, digitized=_ratio(a.dig_sum, a.dig_n),
        oee=_ratio(a.ideal_good_s, a.counted_pbt),
        planned_busy_s=sum(a.line_pbt.values()), good_count=a.good_count,
        run_s=sum(st.run_s for st in a.stages),
        auto_run_s=sum(st.auto_run_s for st in a.stages),
        kinds=kinds, lines=line_figs,
        meets_target=None if rate is None else rate >= target - _EPS,
        flags=tuple(flags),
        ccp={k: (v[0], v[1], v[2], v[3]) for k, v in sorted(a.ccp.items())},
        safety={k: (v[0], v[1]) for k, v in sorted(a.safety.items())},
    )


def _all_figures(registry: Sequence[Registered], rows: Iterable[Row], target: float
                 ) -> tuple[list[EnterpriseFigures], list[str]]:
    accs, untagged = _accumulate(rows)
    reg_ids = {r.id for r in registry}
    out = [_figures(reg, "reporting", accs.get(reg.id), target) for reg in registry]
    flags: list[str] = []
    for eid in sorted(set(accs) - reg_ids):
        a = accs[eid]
        regions = ", ".join(sorted(a.regions)) or "none"
        out.append(_figures(Registered(eid, "", ""), "unregistered", a, target))
        flags.append(Finding("unregistered", id=eid, regions=regions, groups=a.rows))
    for f in out:
        for fl in f.flags:
            flags.append(Finding("of", id=f.id, name=f.name, finding=fl))
    if untagged:
        flags.append(Finding("untagged", groups=untagged))
    return out, flags


def _hold_backs(ents: Sequence[EnterpriseFigures], target: float) -> tuple[HoldBack, ...]:
    below: dict[str, list[str]] = defaultdict(list)
    weakest: dict[str, list[str]] = defaultdict(list)
    rates: dict[str, list[float]] = defaultdict(list)
    for e in ents:
        if e.automation_rate is None:
            continue
        scored = [(k.rate, k.kind) for k in e.kinds.values() if k.rate is not None]
        for r, kind in scored:
            rates[kind].append(r)
            if r < target - _EPS:
                below[kind].append(e.id)
        if not e.meets_target and scored:
            lo = min(r for r, _ in scored)
            for r, kind in scored:
                if r == lo:
                    weakest[kind].append(e.id)
    order = {k: i for i, k in enumerate(STAGE_KINDS)}
    hb = [HoldBack(k, tuple(below[k]), tuple(weakest.get(k, ())), _mean(rates[k]))
          for k in rates if below.get(k)]
    hb.sort(key=lambda h: (-len(h.weakest_of), -len(h.below_target),
                           h.mean_rate if h.mean_rate is not None else 0.0,
                           order.get(h.kind, 99)))
    return tuple(hb)


def build_report(
    registry: Sequence[Registered],
    rows: Iterable[Row],
    previous_rows: Iterable[Row],
    period: Period,
    previous: Period,
    *,
    target: float = DEFAULT_TARGET,
    generated_at: dt.datetime | None = None,
    source: str = "",
) -> Report:
    """The bureau report for `period` from the summed rows of it and of `previous`."""
    current, flags = _all_figures(registry, rows, target)
    prev, _ = _all_figures(registry, previous_rows, target)
    prev_by_id = {e.id: e for e in prev}
    merged: list[EnterpriseFigures] = []
    for e in current:
        p = prev_by_id.get(e.id)
        if p is None:
            merged.append(e)
            continue
        kinds = {k: KindFigures(kf.kind, kf.auto_run, kf.run, kf.rate,
                                p.kinds[k].rate if k in p.kinds else None)
                 for k, kf in e.kinds.items()}
        merged.append(_replace(e, previous_rate=p.automation_rate, previous_oee=p.oee,
                               kinds=kinds))
    counted = [e for e in merged if e.status != "unregistered"]
    reporting = [e for e in counted if e.automation_rate is not None]
    weighted = [(e.automation_rate, e.good_count) for e in reporting if e.good_count > 0]
    mean_rate, _, meeting = rollup.district((e.automation_rate for e in reporting), target)
    prev_reporting = [e.automation_rate for e in prev
                      if e.status != "unregistered" and e.automation_rate is not None]
    district = DistrictFigures(
        registered=len(registry),
        reporting=len(reporting),
        missing=sum(1 for e in counted if e.status == "missing"),
        mean_rate=mean_rate,
        weighted_rate=(sum(r * w for r, w in weighted if r is not None)
                       / sum(w for _, w in weighted)) if weighted else None,
        meeting=meeting,
        share_meeting=meeting / len(reporting) if reporting else None,
        mean_oee=_mean(e.oee for e in reporting),
        previous_mean_rate=_mean(prev_reporting),
        hold_backs=_hold_backs(reporting, target),
    )
    return Report(
        period=period, previous=previous, target=target, enterprises=tuple(merged),
        district=district, flags=tuple(flags),
        generated_at=generated_at or dt.datetime.now(dt.UTC), source=source,
    )


def _replace(e: EnterpriseFigures, **kw: Any) -> EnterpriseFigures:
    from dataclasses import replace

    return replace(e, **kw)

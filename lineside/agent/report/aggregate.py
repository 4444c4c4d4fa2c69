"""Rows in, report out: the bureau's arithmetic, pure and deterministic.

Ratios come from summed fields, never from averaged ratios (docs/design.md):

- stage kind k of enterprise e: Σ auto_run / Σ run over every `automation` point of e
  with `stage_kind = k` in the period (all lines);
- line l: mean of its stage kinds' rates over the period (each from its sums);
- enterprise: line rates weighted by the lines' planned busy time over the period
  (Σ `planned_busy_s` of the line-level `oee` points); equal weights when no line has
  planned busy time on record;
- OEE of e: Σ ideal_good_s / Σ planned_busy_s of its line-level `oee` points (what a
  site weighting its lines by planned busy time gives);
- digitized coverage: the mean of the enterprise-level `digitized` field over the
  period's buckets (Σ digitized / count), i.e. the time-weighted share of stages with
  live data;
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

from lineside.agent.report.model import (
    DEFAULT_TARGET,
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

#: Field names of the automation numerator / denominator. The engine writes plain
#: seconds (`auto_run_s`, `run_s`); where a point also carries the ideal-rate-weighted
#: sums (`auto_ideal_units`, `run_ideal_units` = Σ ideal rate × seconds, docs/design.md's
#: weighting, as on the engine's oee points) those are used instead.
WEIGHTED = ("auto_ideal_units", "run_ideal_units")
PLAIN = ("auto_run_s", "run_s")

_EPS = 1e-12


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def _auto_run(row: Row) -> tuple[float, float]:
    if row.has(WEIGHTED[1]):
        return row.v(WEIGHTED[0]), row.v(WEIGHTED[1])
    return row.v(PLAIN[0]), row.v(PLAIN[1])


@dataclass
class _Acc:
    """Everything one enterprise sent in the period, summed."""

    regions: set[str] = field(default_factory=set)
    rows: int = 0
    # (line, kind) -> [auto, run, buckets with a rate]
    kind_line: dict[tuple[str, str], list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0]))
    auto_s: float = 0.0
    run_s: float = 0.0
    dig_sum: float = 0.0
    dig_n: float = 0.0
    line_dig_sum: float = 0.0
    line_dig_n: float = 0.0
    # line -> planned_busy_s, ideal_good_s, good_count
    line_pbt: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    ideal_good_s: float = 0.0
    good_count: float = 0.0
    site_pbt: float = 0.0
    site_ideal_good_s: float = 0.0
    site_good: float = 0.0


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
        if r.measurement == "automation":
            kind = r.tags.get("stage_kind", "")
            line = r.tags.get("line", "")
            if kind:
                auto, run = _auto_run(r)
                acc = a.kind_line[(line, kind)]
                acc[0] += auto
                acc[1] += run
                acc[2] += r.v("rate_n")
                a.auto_s += r.v(PLAIN[0])
                a.run_s += r.v(PLAIN[1])
            elif line:
                a.line_dig_sum += r.v("digitized_sum")
                a.line_dig_n += r.v("digitized_n")
            else:
                a.dig_sum += r.v("digitized_sum")
                a.dig_n += r.v("digitized_n")
        elif r.measurement == "oee":
            level = r.tags.get("level", "")
            if level == "line":
                a.line_pbt[r.tags.get("line", "")] += r.v("planned_busy_s")
                a.ideal_good_s += r.v("ideal_good_s")
                a.good_count += r.v("good_count")
            elif level == "site":
                a.site_pbt += r.v("planned_busy_s")
                a.site_ideal_good_s += r.v("ideal_good_s")
                a.site_good += r.v("good_count")
    return accs, untagged


def _kind_rate(auto: float, run: float, rated: float) -> float | None:
    """auto / run; a manual stage (no equipment) arrives with no run time but with an
    `automation_rate` of 0 in the buckets where its line ran: it counts 0."""
    if run > 0:
        return auto / run
    return 0.0 if rated > 0 else None


def _figures(reg: Registered, status_if_seen: str, a: _Acc | None,
             target: float) -> EnterpriseFigures:
    if a is None or a.rows == 0:
        return EnterpriseFigures(reg.id, reg.name, reg.region, "missing")
    # per stage kind, all lines summed
    kind_sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    lines: dict[str, dict[str, float | None]] = defaultdict(dict)
    for (line, kind), (auto, run, rated) in a.kind_line.items():
        ks = kind_sums[kind]
        ks[0] += auto
        ks[1] += run
        ks[2] += rated
        lines[line][kind] = _kind_rate(auto, run, rated)
    order = {k: i for i, k in enumerate(STAGE_KINDS)}
    kinds = {
        k: KindFigures(k, s[0], s[1], _kind_rate(s[0], s[1], s[2]))
        for k, s in sorted(kind_sums.items(), key=lambda kv: (order.get(kv[0], 99), kv[0]))
    }
    line_figs = tuple(
        LineFigures(line, _mean(rates.values()), a.line_pbt.get(line, 0.0),
                    tuple(k for k in STAGE_KINDS if k in rates))
        for line, rates in sorted(lines.items())
    )
    weighted = [(lf.rate, lf.planned_busy_s) for lf in line_figs
                if lf.rate is not None and lf.planned_busy_s > 0]
    if weighted:
        rate: float | None = (sum(r * w for r, w in weighted) / sum(w for _, w in weighted))
    else:
        rate = _mean(lf.rate for lf in line_figs)
    pbt = sum(a.line_pbt.values())
    ideal_good, good = a.ideal_good_s, a.good_count
    if pbt <= 0 and a.site_pbt > 0:  # only site-level oee sent: use it
        pbt, ideal_good, good = a.site_pbt, a.site_ideal_good_s, a.site_good
    digitized = _ratio(a.dig_sum, a.dig_n)
    if digitized is None:
        digitized = _ratio(a.line_dig_sum, a.line_dig_n)
    status = status_if_seen if rate is not None else (
        "unregistered" if status_if_seen == "unregistered" else "no_production")
    flags: list[str] = []
    other = sorted(a.regions - {reg.region})
    if other and status_if_seen != "unregistered":
        flags.append(f"points tagged region {', '.join(other)}; registered {reg.region}")
    return EnterpriseFigures(
        id=reg.id, name=reg.name,
        region=reg.region if status_if_seen != "unregistered" else ",".join(sorted(a.regions)),
        status=status,
        automation_rate=rate, digitized=digitized, oee=_ratio(ideal_good, pbt),
        planned_busy_s=pbt, good_count=good, run_s=a.run_s, auto_run_s=a.auto_s,
        kinds=kinds, lines=line_figs,
        meets_target=None if rate is None else rate >= target - _EPS,
        flags=tuple(flags),
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
        flags.append(f"enterprise id {eid!r} (region {regions}) is not in the registry: "
                     f"{a.rows} group(s) of points ignored in the district figures")
    for f in out:
        for fl in f.flags:
            flags.append(f"{f.id} ({f.name}): {fl}")
    if untagged:
        flags.append(f"{untagged} group(s) of points carry no enterprise tag")
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
    meeting = sum(1 for e in reporting if e.meets_target)
    prev_reporting = [e.automation_rate for e in prev
                      if e.status != "unregistered" and e.automation_rate is not None]
    district = DistrictFigures(
        registered=len(registry),
        reporting=len(reporting),
        missing=sum(1 for e in counted if e.status == "missing"),
        mean_rate=_mean(e.automation_rate for e in reporting),
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


def _replace(e: EnterpriseFigures, **kw: object) -> EnterpriseFigures:
    from dataclasses import replace

    return replace(e, **kw)  # type: ignore[arg-type]

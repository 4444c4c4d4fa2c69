"""The plant's report (`lineside report --config`): per line its OEE, automation rate and
downtime Pareto by reason over a period, from the plant's own InfluxDB.

Pure except `load`: the InfluxQL statements, and `build` from their rows to a
`PlantReport`, with the rules of docs/design.md ("Rebuilding the figures") for OEE and
the automation rate and the ledger rule of docs/station.md for reasons: Σ `seconds` and
Σ `stops` of `downtime_reason` grouped by reason over the period is the Pareto, exactly,
after any reclassification (a stop cut at a shift change puts each part in its shift).
Names (lines, reasons, categories) come from the configuration, ids from the points.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from lineside.config.models import LinesideConfig
from lineside.config.station import UNCLASSIFIED
from lineside.engine import rollup
from lineside.report.data import Period, Row
from lineside.report.query import Source, fetch, parse_answer, time_filter

OEE_SUMS = ("planned_busy_s", "run_s", "ideal_s", "ideal_good_s", "good_count",
            "total_count", "counted_planned_busy_s", "counted_run_s")


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _s(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def statements(site: str, p: Period) -> dict[str, str]:
    """The three statements of one period, by the measurement they read; every sum per
    line (or stage, or reason of a line), the levels no two agents of a plant share."""
    where = f"\"site\" = {_s(site)} AND {time_filter(p)}"
    oee = ", ".join(f"sum({_q(f)}) AS {_q(f)}" for f in OEE_SUMS)
    return {
        "oee": f"SELECT {oee} FROM \"oee\" WHERE \"level\" = 'line' AND {where} "
               "GROUP BY \"line\"",
        "automation": "SELECT sum(\"auto_ideal_units\") AS \"auto_ideal_units\", "
                      "sum(\"run_ideal_units\") AS \"run_ideal_units\", max(\"weight\") AS "
                      f"\"weight\" FROM \"automation\" WHERE \"level\" = 'stage' AND {where} "
                      "GROUP BY \"line\", \"stage\"",
        "downtime_reason": "SELECT sum(\"seconds\") AS \"seconds\", sum(\"stops\") AS "
                           f"\"stops\" FROM \"downtime_reason\" WHERE {where} "
                           "GROUP BY \"line\", \"reason\"",
    }


def load(src: Source, site: str, p: Period) -> list[Row]:
    """The rows of one period (three statements over /query)."""
    return [r for m, q in statements(site, p).items() for r in parse_answer(m, fetch(src, q))]


@dataclass(frozen=True, slots=True)
class ReasonFigures:
    reason: str  # id; `unclassified` for stops nobody explained
    name: str  # the configured name (the id when the tree no longer has it)
    category: str  # category id ("" for unclassified or an unknown reason)
    category_name: str
    loss: str  # one of the six big losses ("" for unclassified)
    seconds: float
    stops: int
    share: float  # of the line's stop time
    cumulative: float  # share of this and every reason above it


@dataclass(frozen=True, slots=True)
class LineFigures:
    line: str
    name: str
    oee: float | None
    availability: float | None
    performance: float | None
    quality: float | None
    automation_rate: float | None
    planned_busy_s: float
    good_count: float
    stop_s: float  # Σ seconds over every reason, unclassified included
    stops: int
    unclassified_s: float
    reasons: tuple[ReasonFigures, ...]  # by seconds, largest first

    @property
    def unclassified_share(self) -> float | None:
        return self.unclassified_s / self.stop_s if self.stop_s > 0 else None


@dataclass(frozen=True, slots=True)
class PlantReport:
    site: str
    site_name: str
    period: Period
    lines: tuple[LineFigures, ...]
    total: LineFigures  # every line: sums of the lines' sums (line id "*")
    generated_at: dt.datetime
    source: str = ""
    reasons_configured: bool = True  # `station:` in the configuration


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def _names(cfg: LinesideConfig) -> dict[str, tuple[str, str, str, str]]:
    """reason id -> (name, category id, category name, loss) from the reason tree."""
    out: dict[str, tuple[str, str, str, str]] = {}
    if cfg.station is not None:
        for c in cfg.station.categories:
            for r in c.reasons:
                out[r.id] = (r.name, c.id, c.name, r.loss)
    return out


def pareto(sums: Iterable[tuple[str, float, float]],
           names: dict[str, tuple[str, str, str, str]]) -> tuple[ReasonFigures, ...]:
    """(reason, Σ seconds, Σ stops) -> the Pareto: largest first (ties by id), shares of
    the total; a reason whose entries cancel out (reclassified away) is left out."""
    rows = sorted(((r, s, n) for r, s, n in sums if round(s, 6) or round(n)),
                  key=lambda x: (-x[1], x[0]))
    total = sum(s for _r, s, _n in rows)
    out, acc = [], 0.0
    for reason, seconds, stops in rows:
        acc += seconds
        name, cat, cat_name, loss = names.get(reason, (reason, "", "", ""))
        out.append(ReasonFigures(reason, name, cat, cat_name, loss, seconds, round(stops),
                                 seconds / total if total > 0 else 0.0,
                                 acc / total if total > 0 else 0.0))
    return tuple(out)


def build(cfg: LinesideConfig, rows: Iterable[Row], period: Period, source: str = "",
          generated_at: dt.datetime | None = None) -> PlantReport:
    """Rows of `statements` -> the report; lines in the configuration's order, then any
    line the database has that the configuration no longer lists; and all of them."""
    oee: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(OEE_SUMS, 0.0))
    stages: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    reasons: dict[str, dict[str, list[float]]] = defaultdict(dict)
    for r in rows:
        line = r.tags.get("line", "")
        if r.measurement == "oee":
            acc = oee[line]
            for f in OEE_SUMS:
                acc[f] += r.v(f)
        elif r.measurement == "automation":
            w = r.v("weight") if r.has("weight") else 1.0
            stages[line].append((w, rollup.stage_rate(r.v("auto_ideal_units"),
                                                      r.v("run_ideal_units"))))
        elif r.measurement == "downtime_reason":
            acc2 = reasons[line].setdefault(r.tags.get("reason", UNCLASSIFIED), [0.0, 0.0])
            acc2[0] += r.v("seconds")
            acc2[1] += r.v("stops")
    names = _names(cfg)
    configured = [(ln.id, ln.name or ln.id) for ln in cfg.lines]
    known = {i for i, _n in configured}
    extra = sorted((set(oee) | set(stages) | set(reasons)) - known - {""})
    lines = []
    for lid, lname in [*configured, *((x, x) for x in extra)]:
        o = oee.get(lid, dict.fromkeys(OEE_SUMS, 0.0))
        lines.append(_figures(lid, lname, o, rollup.line_rate(stages.get(lid, [])),
                              reasons.get(lid, {}), names))
    # every line: the same ratios of the sums over the lines, the site's automation rule
    # (line rates weighted by planned busy time), the reasons summed over the lines
    total = dict.fromkeys(OEE_SUMS, 0.0)
    all_reasons: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for sums in oee.values():
        for f in OEE_SUMS:
            total[f] += sums[f]
    for by_reason in reasons.values():
        for k, v in by_reason.items():
            all_reasons[k][0] += v[0]
            all_reasons[k][1] += v[1]
    site_rate = rollup.site_rate((x.planned_busy_s, x.automation_rate) for x in lines)
    return PlantReport(cfg.site.site_id, cfg.site.site_name or cfg.site.site_id, period,
                       tuple(lines), _figures("*", "*", total, site_rate, all_reasons, names),
                       generated_at or dt.datetime.now(dt.UTC), source,
                       cfg.station is not None)


def _figures(lid: str, name: str, o: dict[str, float], rate: float | None,
             sums: dict[str, list[float]],
             names: dict[str, tuple[str, str, str, str]]) -> LineFigures:
    par = pareto(((k, v[0], v[1]) for k, v in sums.items()), names)
    return LineFigures(
        lid, name,
        oee=_ratio(o["ideal_good_s"], o["counted_planned_busy_s"]),
        availability=_ratio(o["run_s"], o["planned_busy_s"]),
        performance=_ratio(o["ideal_s"], o["counted_run_s"]),
        quality=_ratio(o["good_count"], o["total_count"]),
        automation_rate=rate, planned_busy_s=o["planned_busy_s"], good_count=o["good_count"],
        stop_s=sum(x.seconds for x in par), stops=sum(x.stops for x in par),
        unclassified_s=sum(x.seconds for x in par if x.reason == UNCLASSIFIED),
        reasons=par)

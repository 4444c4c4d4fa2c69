"""The bureau's Grafana dashboard (deploy/grafana/dashboards/bureau.json), built here.

    python -m lineside.agent.report.dashboard --write   # regenerate the JSON
    python -m lineside.agent.report.dashboard --check   # exit 1 if it is out of date

Kept beside the report so both follow the same rules (docs/design.md, "Rebuilding the
figures"): the automation rates are rebuilt from the stage-level sums by nested
subqueries (lineside.agent.report.influxql), OEE is Σ ideal_good_s / Σ
counted_planned_busy_s of the line-level points. tests/bureau runs every query against
real InfluxDB; tests/bureau/test_rebuild.py checks they equal the engine and the report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lineside.agent.report import influxql

JSON_PATH = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "dashboards" / \
    "bureau.json"

DS = {"type": "influxdb", "uid": "${datasource}"}
# Grafana's "All" is the allValue `.*`; a selection becomes `(a|b)`.
W = '"region" =~ /^$region$/ AND "enterprise" =~ /^$enterprise$/'
F = f"AND {W}"
# The enterprise rate by docs/design.md's rebuild rules (lineside.agent.report.influxql).
ENT = influxql.site_rate(W, ("enterprise",))
# OEE: Σ ideal_good_s / Σ counted_planned_busy_s of the line-level oee points (lines
# without counters do not count as zero output), absent when nothing was planned.
OEE_SUMS = ('SELECT sum("ideal_good_s") AS "n", sum("counted_planned_busy_s") AS "d" '
            f'FROM "oee" WHERE "level" = \'line\' {F} AND $timeFilter')


def _oee(group: str = "") -> str:
    g = f" GROUP BY {group}" if group else ""
    return f'SELECT "n" / "d" AS "oee" FROM ({OEE_SUMS}{g}) WHERE "d" > 0{g}'


THRESHOLDS = {"mode": "absolute", "steps": [{"color": "red", "value": None},
                                            {"color": "green", "value": 0.6}]}
PCT = {"defaults": {"unit": "percentunit", "min": 0, "max": 1, "decimals": 1,
                    "thresholds": THRESHOLDS, "color": {"mode": "thresholds"}},
       "overrides": []}
STAT = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "none"}


def _target(q: str, fmt: str = "table", alias: str | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"refId": "A", "datasource": DS, "rawQuery": True, "query": q,
                         "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


def _panels() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def panel(title: str, typ: str, pos: tuple[int, int, int, int], target: dict[str, Any],
              desc: str = "", **extra: Any) -> None:
        x, y, w, h = pos
        p: dict[str, Any] = {"id": len(out) + 1, "title": title, "type": typ,
                             "datasource": DS, "gridPos": {"x": x, "y": y, "w": w, "h": h},
                             "targets": [target]}
        if desc:
            p["description"] = desc
        p.update(extra)
        out.append(p)

    panel("企业数 已上报 / Enterprises reporting", "stat", (0, 0, 4, 4),
          _target(f'SELECT count("rate") FROM ({ENT}) WHERE $timeFilter'),
          "Enterprises with run time in the range. Registered enterprises that sent nothing "
          "are listed by `lineside report` (it knows the registry).", options=STAT)
    panel("达标企业 / Meeting 60%", "stat", (4, 0, 4, 4),
          _target(f'SELECT count("rate") FROM ({ENT}) WHERE $timeFilter AND "rate" >= 0.6'),
          options=STAT)
    panel("平均自动化率 / District mean rate", "stat", (8, 0, 5, 4),
          _target(f'SELECT mean("rate") FROM ({ENT}) WHERE $timeFilter'),
          "Mean of the enterprise rates (each from summed fields).", fieldConfig=PCT,
          options={"reduceOptions": {"calcs": ["lastNotNull"]}})
    panel("设备综合效率 / OEE (all enterprises)", "stat", (13, 0, 5, 4),
          _target(_oee()),
          "Σ ideal_good_s / Σ counted_planned_busy_s of every line-level oee point in "
          "range (lines without counters left out).",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 1}, "overrides": []},
          options={"reduceOptions": {"calcs": ["lastNotNull"]}})
    panel("产量 / Output (good units)", "stat", (18, 0, 6, 4),
          _target(f'SELECT sum("good_count") FROM "oee" WHERE $timeFilter AND '
                  f'"level" = \'line\' {F}'), options=STAT)
    panel("企业自动化率与60%目标 / Automation rate per enterprise vs 60%", "bargauge",
          (0, 4, 12, 9), _target(ENT),
          "Per enterprise, rebuilt from the stage sums: stage Σ auto_ideal_units / Σ "
          "run_ideal_units, line = stages weighted by weight, enterprise = lines weighted "
          "by planned busy time (docs/design.md).", fieldConfig=PCT,
          options={"orientation": "horizontal", "displayMode": "basic",
                   "reduceOptions": {"values": True, "calcs": [], "fields": "/^rate$/"}},
          transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}])
    panel("环节热力图 / Stage-kind heat map", "table", (12, 4, 12, 9),
          _target(influxql.site_rate(W, ("enterprise", "stage_kind"))),
          "Per enterprise and stage kind: the enterprise rule over that kind's stages only; "
          "red below 60%.",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 0,
                                    "thresholds": THRESHOLDS,
                                    "custom": {"cellOptions": {"type": "color-background"}}},
                       "overrides": []},
          transformations=[{"id": "groupingToMatrix", "options": {
              "columnField": "stage_kind", "rowField": "enterprise", "valueField": "rate"}}])
    panel("自动化率走势 / Daily automation rate", "timeseries", (0, 13, 12, 8),
          _target(influxql.site_rate(W, ("enterprise",), "1d, -8h"),
                  fmt="time_series", alias="$tag_enterprise"),
          "Per day (Asia/Shanghai days): the enterprise rate of that day.",
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                    "thresholds": THRESHOLDS,
                                    "custom": {"thresholdsStyle": {"mode": "dashed"}}},
                       "overrides": []})
    panel("设备综合效率 / OEE per enterprise", "bargauge", (12, 13, 12, 8),
          _target(_oee('"enterprise"')),
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1, "decimals": 1},
                       "overrides": []},
          options={"orientation": "horizontal",
                   "reduceOptions": {"values": True, "calcs": [], "fields": "/^oee$/"}})
    panel("数字化覆盖率 / Digitized coverage", "table", (0, 21, 12, 7),
          _target(f'SELECT mean("digitized") AS "digitized" FROM "automation" WHERE '
                  f'$timeFilter AND "level" = \'stage\' {F} GROUP BY "enterprise"'),
          "Time-weighted share of stages with live data (Σ digitized / count of the stage "
          "points).",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 0}, "overrides": []})
    panel("最近上报 / Last data received", "table", (12, 21, 12, 7),
          _target(f'SELECT last("run_s") AS "run_s" FROM "automation" WHERE $timeFilter {F} '
                  'AND "level" = \'line\' GROUP BY "enterprise", "region"'),
          "Time of the newest automation point per enterprise and region tag: a silent "
          "gateway stops advancing here; a second region for one enterprise is a "
          "tagging problem (lineside report flags it).")
    return out


def build() -> dict[str, Any]:
    """The dashboard as Grafana's JSON model."""
    return {
        "uid": "lineside-bureau",
        "title": "lineside · 区县自动化水平 / District automation (bureau)",
        "tags": ["lineside", "bureau"],
        "timezone": "Asia/Shanghai",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "5m",
        "time": {"from": "now-7d", "to": "now"},
        "description": "Aggregates sent by each enterprise's lineside uplink (automation "
                       "and line/site oee only). Ratios are computed from summed fields. "
                       "See docs/bureau.md.",
        "templating": {"list": [
            {"name": "datasource", "label": "数据源 / Data source", "type": "datasource",
             "query": "influxdb", "current": {}, "hide": 0},
            {"name": "region", "label": "地区 / Region", "type": "query", "datasource": DS,
             "query": 'SHOW TAG VALUES FROM "automation" WITH KEY = "region"',
             "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
            {"name": "enterprise", "label": "企业 / Enterprise", "type": "query",
             "datasource": DS,
             "query": 'SHOW TAG VALUES FROM "automation" WITH KEY = "enterprise" '
                      'WHERE "region" =~ /^$region$/',
             "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "panels": _panels(),
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = render()
    if "--write" in argv:
        JSON_PATH.write_text(text, encoding="utf-8")
        return 0
    if "--check" in argv:
        current = JSON_PATH.read_text(encoding="utf-8") if JSON_PATH.exists() else ""
        if current != text:
            print(f"{JSON_PATH} is out of date: run python -m "
                  "lineside.agent.report.dashboard --write", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

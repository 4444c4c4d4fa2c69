"""The bureau's board (docs/bureau.md, section 5): reads what a bureau uplink delivers,
with its own variables (region, enterprise) and the rebuild rules of docs/design.md
(lineside.report.influxql). Titles in Chinese and English: the bureau's officials
read Chinese, the integrators who install it often English."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import common as cm

from boards import kit
from boards.kit import Grid, influx, steps
from boards.panels import bargauge_panel, stat_panel, table_panel, timeseries_panel
from boards.queries import label
from boards.site import BoardSite
from lineside.report import influxql

# Grafana's "All" is the allValue `.*`; a selection becomes `(a|b)`.
B_W = '"region" =~ /^$region$/ AND "enterprise" =~ /^$enterprise$/'
B_F = f"AND {B_W}"
ENT = ("enterprise", "enterprise_name")
# OEE: Σ ideal_good_s / Σ counted_planned_busy_s of the line-level oee points (lines
# without counters do not count as zero output), absent when nothing was planned.
B_OEE_SUMS = ('SELECT sum("ideal_good_s") AS "n", sum("counted_planned_busy_s") AS "d" '
              f'FROM "oee" WHERE "level" = \'line\' {B_F} AND $timeFilter')


def _oee(group: str = "") -> str:
    g = f" GROUP BY {group}" if group else ""
    return f'SELECT "n" / "d" AS "oee" FROM ({B_OEE_SUMS}{g}) WHERE "d" > 0{g}'


def bureau_board(site: BoardSite) -> db.Dashboard:
    target, pct = site.automation_target, site.target_pct
    ent_rate = influxql.site_rate(B_W, ENT)
    by_ent = influxql.site_rate(B_W, ("enterprise",))
    variables = [
        kit.datasource_variable("influxdb", "数据源 / Data source"),
        kit.tag_variable("region", "地区 / Region", "automation", all_value=".*"),
        kit.tag_variable("enterprise", "企业 / Enterprise", "automation",
                         ('"region" =~ /^$region$/',), all_value=".*"),
        *kit.names_variables({"enterprise": "automation"}, site.t),
    ]
    d = kit.dashboard("lineside-bureau",
                      "lineside · 区县自动化水平 / District automation (bureau)",
                      "Aggregates sent by each enterprise's lineside uplink (automation and "
                      "line/site oee only). Ratios are computed from summed fields. See "
                      "docs/bureau.md.", variables, [kit.grafana_annotations()],
                      time_from="now-7d", tags=("lineside", "bureau"),
                      timezone="Asia/Shanghai", refresh="5m")
    g = Grid(d)
    th = steps(("red", None), ("green", target))
    plain = cm.BigValueColorMode.NONE
    g.add(stat_panel("企业数 已上报 / Enterprises reporting", [influx(
        f'SELECT count("rate") FROM ({by_ent}) WHERE $timeFilter', fmt="table")], unit="none",
        decimals=0, color=plain,
        description="Enterprises with run time in the range. Registered enterprises that "
        "sent nothing are listed by `lineside report` (it knows the registry)."), 4, 4)
    g.add(stat_panel(f"达标企业 / Meeting {pct}", [influx(
        f'SELECT count("rate") FROM ({by_ent}) WHERE $timeFilter AND "rate" >= {target}',
        fmt="table")], unit="none", decimals=0, color=plain,
        description=f"Enterprises whose rate is at or above the target ({pct}, "
        "metrics.automation_target)."), 4, 4)
    g.add(stat_panel("平均自动化率 / District mean rate", [influx(
        f'SELECT mean("rate") FROM ({by_ent}) WHERE $timeFilter', fmt="table")], th=th,
        minmax=(0, 1), color=plain,
        description="Mean of the enterprise rates (each from summed fields)."), 5, 4)
    g.add(stat_panel("设备综合效率 / OEE (all enterprises)", [influx(_oee(), fmt="table")],
                     color=plain,
                     description="Σ ideal_good_s / Σ counted_planned_busy_s of every "
                     "line-level oee point in range (lines without counters left out)."), 5, 4)
    g.add(stat_panel("产量 / Output (good units)", [influx(
        f'SELECT sum("good_count") FROM "oee" WHERE $timeFilter AND "level" = \'line\' {B_F}',
        fmt="table")], unit="short", decimals=0, color=plain), 6, 4)
    g.add(bargauge_panel(f"企业自动化率与{pct}目标 / Automation rate per enterprise vs {pct}",
                         [influx(ent_rate, fmt="table")], th,
                         "Per enterprise, rebuilt from the stage sums: stage Σ "
                         "auto_ideal_units / Σ run_ideal_units, line = stages weighted by "
                         "weight, enterprise = lines weighted by planned busy time "
                         "(docs/design.md).", decimals=1,
                         reduce=cb.ReduceDataOptions().values(True).calcs([]).fields("/^rate$/"),
                         transformations=[kit.transformation("organize", {
                             "excludeByName": {"Time": True}})]), 12, 9)
    g.add(table_panel("环节热力图 / Stage-kind heat map", [influx(influxql.site_rate(
        B_W, ("enterprise", "enterprise_name", "stage_kind")), fmt="table")],
        f"Per enterprise and stage kind: the enterprise rule over that kind's stages only; "
        f"red below {pct}.", unit="percentunit", decimals=0, th=th,
        cell=cm.TableColoredBackgroundCellOptions(),
        transformations=[kit.transformation("groupingToMatrix", {
            "columnField": "stage_kind", "rowField": "enterprise_name",
            "valueField": "rate"})]), 12, 9)
    daily = timeseries_panel("自动化率走势 / Daily automation rate", [influx(
        influxql.site_rate(B_W, ENT, "1d, -8h"), alias=label("enterprise"))],
        th=th, minmax=(0, 1),
        description="Per day (Asia/Shanghai days): the enterprise rate of that day.")
    daily.thresholds_style(cb.GraphThresholdsStyleConfig().mode(cm.GraphThresholdsStyleMode.DASHED))
    g.add(daily, 12, 8)
    g.add(bargauge_panel("设备综合效率 / OEE per enterprise", [influx(
        _oee('"enterprise", "enterprise_name"'), fmt="table")], None, decimals=1,
        reduce=cb.ReduceDataOptions().values(True).calcs([]).fields("/^oee$/")), 12, 8)
    g.add(table_panel("数字化覆盖率 / Digitized coverage", [influx(
        f'SELECT mean("digitized") AS "digitized" FROM "automation" WHERE $timeFilter AND '
        f'"level" = \'stage\' {B_F} GROUP BY "enterprise", "enterprise_name"',
        fmt="table")], "Time-weighted share of stages with live data (Σ digitized / count "
        "of the stage points).", unit="percentunit", decimals=0), 12, 7)
    g.add(table_panel("最近上报 / Last data received", [influx(
        f'SELECT last("run_s") AS "run_s" FROM "automation" WHERE $timeFilter {B_F} AND '
        '"level" = \'line\' GROUP BY "enterprise", "enterprise_name", "region"',
        fmt="table")], "Time of the newest automation point per enterprise and region tag: "
        "a silent gateway stops advancing here; a second region for one enterprise is a "
        "tagging problem (lineside report flags it)."), 12, 7)
    return d

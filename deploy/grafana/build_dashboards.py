"""Generate the provisioned Grafana dashboards (deploy/grafana/dashboards/*.json).

    python deploy/grafana/build_dashboards.py          # rewrite the JSON files
    python deploy/grafana/build_dashboards.py --check  # exit 1 if they are out of date

The JSON files are committed (Grafana provisions them as they are); this script is
their source so every query follows the same rules (tests/deploy checks both):

- ratios over any time range are ratios of SUMMED bucket fields, e.g. OEE =
  sum(ideal_good_s) / sum(planned_busy_s) — never a mean of the per-bucket ratios;
- a ratio whose summed denominator is 0 is absent, not 0: InfluxQL answers x/0 with 0,
  so every ratio is `SELECT n/d FROM (SELECT sum(..) AS n, sum(..) AS d ...) WHERE d > 0`;
- OEE and performance divide by `counted_planned_busy_s` / `counted_run_s` (the time
  of machines with counters), so a line without counters never counts as zero output;
- automation rates are rebuilt from the stage-level `automation` sums by the rules of
  docs/design.md ("Rebuilding the figures"), one nested subquery per level
  (lineside.report.influxql, shared with the bureau's board);
- site figures are sums over the line-level points, never the site-level ones: a plant
  split across several agents has one site-level series per agent (tag `gateway`);
- every query of the `oee`/`oee_shift` measurements pins `level`, so an "All" selection
  never mixes machines, stages, lines and the site;
- no fixed datasource: every board has a datasource variable (its default is the
  provisioned datasource, another Grafana picks its own of the same type on import) and
  every panel, query and variable refers to it: `${datasource}` (InfluxDB) on the plant,
  machine and bureau boards, `${prometheus}` on agent health. One name per type, because
  the links between boards carry variables along (includeVars) and a Prometheus uid must
  never land in an InfluxDB variable;
- a machine named in a row of the plant board (tables, state timeline) links to the
  machine board for that machine over the same time range.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lineside.report import influxql

OUT = Path(__file__).resolve().parent / "dashboards"
INFLUX = {"type": "influxdb", "uid": "${datasource}"}
PROM = {"type": "prometheus", "uid": "${prometheus}"}
# What deploy/grafana/provisioning/datasources/lineside.yaml provisions: the default of
# each board's datasource variable.
PROVISIONED = {"influxdb": ("lineside-influxdb", "lineside InfluxDB"),
               "prometheus": ("lineside-prometheus", "lineside Prometheus")}
DS_VARIABLE = {"influxdb": "datasource", "prometheus": "prometheus"}
MACHINE_BOARD = ("lineside-machine", "lineside-machine")  # uid, URL slug
OEE_TARGET = 0.65  # a common world-class-minus target; edit the thresholds per plant
AUTOMATION_TARGET = 0.60  # the district plan (docs/design.md)

STATE_COLORS = {
    "producing": "green", "idle": "yellow", "starved": "orange", "blocked": "purple",
    "fault": "red", "setup": "blue", "cleaning": "light-blue", "maintenance": "dark-blue",
    "unknown": "#808080",
}

SITE = "\"site\" =~ /^$site$/"
LINE = "\"line\" =~ /^$line$/"
STAGE = "\"stage\" =~ /^$stage$/"
MACHINE = "\"machine\" =~ /^$machine$/"
SHIFT = "\"shift\" =~ /^$shift$/"


# ------------------------------------------------------------------------- InfluxQL
def _where(level: str | None, filters: tuple[str, ...], extra: str = "") -> str:
    parts = [f"\"level\" = '{level}'"] if level else []
    parts += list(filters)
    if extra:
        parts.append(extra)
    parts.append("$timeFilter")
    return " AND ".join(parts)


def _group(tags: tuple[str, ...], by_time: bool) -> str:
    items = (["time($__interval)"] if by_time else []) + [f'"{t}"' for t in tags]
    if not items:
        return ""
    return " GROUP BY " + ", ".join(items) + (" fill(none)" if by_time else "")


def ratio(num: str, den: str, alias: str, level: str, filters: tuple[str, ...],
          group: tuple[str, ...] = (), by_time: bool = False, measurement: str = "oee",
          extra: str = "") -> str:
    """sum(num) / sum(den) over the range (or per interval), absent when sum(den) = 0."""
    inner = (f'SELECT sum("{num}") AS "n", sum("{den}") AS "d" FROM "{measurement}" '
             f"WHERE {_where(level, filters, extra)}{_group(group, by_time)}")
    outer_group = (" GROUP BY " + ", ".join(f'"{t}"' for t in group)) if group else ""
    return f'SELECT "n" / "d" AS "{alias}" FROM ({inner}) WHERE "d" > 0{outer_group}'


def sums(cols: list[tuple[str, str]], level: str, filters: tuple[str, ...],
         group: tuple[str, ...] = (), by_time: bool = False, measurement: str = "oee",
         fill0: bool = False) -> str:
    sel = ", ".join(f'sum("{f}"){scale} AS "{a}"' if scale else f'sum("{f}") AS "{a}"'
                    for f, a, scale in ((c[0], c[1], c[2] if len(c) > 2 else "")
                                        for c in cols))
    g = _group(group, by_time)
    if fill0:
        g = g.replace("fill(none)", "fill(0)")
    return f'SELECT {sel} FROM "{measurement}" WHERE {_where(level, filters)}{g}'


def t_influx(query: str, ref: str = "A", fmt: str = "time_series", alias: str = "") -> dict:
    t: dict[str, Any] = {"refId": ref, "datasource": INFLUX, "query": query, "rawQuery": True,
                         "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


def t_prom(expr: str, ref: str = "A", legend: str = "", instant: bool = False) -> dict:
    t: dict[str, Any] = {"refId": ref, "datasource": PROM, "expr": expr,
                         "legendFormat": legend or "__auto", "range": not instant,
                         "instant": instant}
    return t


# ---------------------------------------------------------------------- panels
class Layout:
    """Left-to-right, top-to-bottom placement on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = self.y = self.row_h = 0
        self.next_id = 1
        self.panels: list[dict] = []

    def add(self, panel: dict, w: int, h: int) -> dict:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        self.next_id += 1
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)
        return panel

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append({"id": self.next_id, "type": "row", "title": title,
                            "collapsed": False, "panels": [],
                            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}})
        self.next_id += 1
        self.y += 1


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def pct_target(target: float) -> dict:
    return thresholds(("red", None), ("orange", round(target * 0.85, 4)), ("green", target))


def panel(kind: str, title: str, targets: list[dict], description: str = "",
          unit: str | None = None, th: dict | None = None, minmax: tuple | None = None,
          options: dict | None = None, custom: dict | None = None,
          overrides: list | None = None, transformations: list | None = None,
          mappings: list | None = None, interval: str | None = None,
          datasource: dict | None = None, links: list | None = None) -> dict:
    defaults: dict[str, Any] = {}
    if unit:
        defaults["unit"] = unit
    if th:
        defaults["thresholds"] = th
        defaults["color"] = {"mode": "thresholds"}
    if minmax:  # None: no bound (Grafana's schema has no null min/max)
        defaults.update({k: v for k, v in zip(("min", "max"), minmax, strict=True)
                         if v is not None})
    if custom:
        defaults["custom"] = custom
    if mappings:
        defaults["mappings"] = mappings
    if links:
        defaults["links"] = links
    p: dict[str, Any] = {
        "type": kind, "title": title, "description": description,
        "datasource": datasource or targets[0]["datasource"], "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options or {},
    }
    if transformations:
        p["transformations"] = transformations
    if interval:
        p["interval"] = interval
    return p


def stat(title: str, targets: list[dict], unit: str = "percentunit", th: dict | None = None,
         description: str = "", decimals: int | None = 1) -> dict:
    p = panel("stat", title, targets, description, unit, th,
              options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                         "values": False},
                       "colorMode": "background", "graphMode": "none",
                       "textMode": "value_and_name" if len(targets) > 1 else "auto",
                       "justifyMode": "auto", "orientation": "auto"})
    if decimals is not None:
        p["fieldConfig"]["defaults"]["decimals"] = decimals
    return p


def bargauge(title: str, targets: list[dict], th: dict, description: str = "",
             unit: str = "percentunit") -> dict:
    return panel("bargauge", title, targets, description, unit, th, minmax=(0, 1),
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                            "values": False},
                          "orientation": "horizontal", "displayMode": "gradient",
                          "showUnfilled": True, "valueMode": "color", "namePlacement": "left"})


def timeseries(title: str, targets: list[dict], unit: str = "percentunit",
               description: str = "", th: dict | None = None, bars: bool = False,
               stack: bool = False, minmax: tuple | None = None,
               datasource: dict | None = None) -> dict:
    custom: dict[str, Any] = {"drawStyle": "bars" if bars else "line", "lineWidth": 1,
                              "fillOpacity": 60 if bars else 10, "spanNulls": False,
                              "showPoints": "never",
                              "stacking": {"mode": "normal" if stack else "none",
                                           "group": "A"}}
    if th:
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return panel("timeseries", title, targets, description, unit, th, minmax=minmax,
                 custom=custom, interval="1m",
                 options={"legend": {"showLegend": True, "displayMode": "table",
                                     "placement": "right", "calcs": []},
                          "tooltip": {"mode": "multi", "sort": "desc"}},
                 datasource=datasource)


def table(title: str, targets: list[dict], description: str = "",
          transformations: list | None = None, overrides: list | None = None,
          unit: str | None = None, links: list | None = None) -> dict:
    return panel("table", title, targets, description, unit,
                 options={"showHeader": True, "cellHeight": "sm",
                          "footer": {"show": False, "reducer": ["sum"], "fields": ""}},
                 transformations=transformations, overrides=overrides, links=links)


def machine_link(machine: str, line: str = "$__all", stage: str = "$__all") -> list[dict]:
    """A data link to the machine board for one machine, over the same time range.

    `machine`, `line`, `stage` are Grafana link expressions: `${__data.fields.machine}`
    in a table row, `${__field.labels.machine}` on a series. The datasource and the site
    selection are carried as they are; a line or stage the panel does not know stays
    "All" (machine ids are unique in a plant, so the machine alone names it).
    """
    uid, slug = MACHINE_BOARD
    url = (f"/d/{uid}/{slug}?${{{DS_VARIABLE['influxdb']}:queryparam}}"
           f"&${{site:queryparam}}&var-line={line}&var-stage={stage}"
           f"&var-machine={machine}&${{__url_time_range}}")
    return [{"title": f"Machine board: {machine}", "url": url, "targetBlank": False}]


def state_mappings() -> list[dict]:
    return [{"type": "value", "options": {
        s: {"color": c, "index": i, "text": s} for i, (s, c) in enumerate(STATE_COLORS.items())
    }}]


def state_timeline(title: str, filters: tuple[str, ...], description: str = "",
                   links: list | None = None) -> dict:
    q = (f'SELECT "state" FROM "machine_state" WHERE {_where("machine", filters)} '
         f'GROUP BY "machine"')
    return panel("state-timeline", title, [t_influx(q, alias="$tag_machine")], description,
                 mappings=state_mappings(), links=links,
                 custom={"fillOpacity": 80, "lineWidth": 0},
                 options={"mergeValues": True, "showValue": "never", "alignValue": "left",
                          "rowHeight": 0.8, "legend": {"showLegend": True,
                                                       "displayMode": "list",
                                                       "placement": "bottom"}})


def merge_organize(rename: dict[str, str], exclude: tuple[str, ...] = ("Time",)) -> list:
    return [{"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": dict.fromkeys(exclude, True),
                                           "renameByName": rename}}]


def pct_override(*names: str) -> list[dict]:
    return [{"matcher": {"id": "byName", "options": n},
             "properties": [{"id": "unit", "value": "percentunit"},
                            {"id": "decimals", "value": 1}]} for n in names]


# ------------------------------------------------------------------------ variables
def var_query(name: str, label: str, query: str, multi: bool = True,
              include_all: bool = True, ds: dict = INFLUX) -> dict:
    return {"name": name, "label": label, "type": "query", "datasource": ds,
            "query": query, "refresh": 2, "sort": 1,
            "multi": multi, "includeAll": include_all, "current": {}, "options": [],
            "hide": 0, "regex": ""}


def var_datasource(kind: str) -> dict:
    """The board's datasource variable: any datasource of this type, the provisioned one
    by default (Grafana falls back to its default one of the type when that is absent)."""
    uid, name = PROVISIONED[kind]
    return {"name": DS_VARIABLE[kind], "label": "Data source", "type": "datasource",
            "query": kind, "current": {"selected": False, "text": name, "value": uid},
            "options": [], "hide": 0, "refresh": 1, "regex": "", "multi": False,
            "includeAll": False}


def plant_vars(machine_multi: bool = True) -> list[dict]:
    return [
        var_datasource("influxdb"),
        var_query("site", "Site", 'SHOW TAG VALUES FROM "oee" WITH KEY = "site"'),
        var_query("line", "Line", 'SHOW TAG VALUES FROM "oee" WITH KEY = "line" '
                  'WHERE "site" =~ /^$site$/'),
        var_query("stage", "Stage", 'SHOW TAG VALUES FROM "oee" WITH KEY = "stage" '
                  'WHERE "site" =~ /^$site$/ AND "line" =~ /^$line$/'),
        var_query("machine", "Machine", 'SHOW TAG VALUES FROM "oee" WITH KEY = "machine" '
                  'WHERE "site" =~ /^$site$/ AND "line" =~ /^$line$/ AND "stage" =~ /^$stage$/',
                  multi=machine_multi, include_all=machine_multi),
        var_query("shift", "Shift", 'SHOW TAG VALUES FROM "oee_shift" WITH KEY = "shift" '
                  'WHERE "site" =~ /^$site$/'),
    ]


def dashboard(uid: str, title: str, description: str, variables: list[dict],
              layout: Layout, time_from: str = "now-24h", links: list | None = None) -> dict:
    return {
        "uid": uid, "title": title, "description": description,
        "tags": ["lineside"], "timezone": "browser", "editable": False,
        "graphTooltip": 1, "schemaVersion": 39, "version": 1, "refresh": "1m",
        "time": {"from": time_from, "to": "now"}, "fiscalYearStartMonth": 0,
        "liveNow": False, "weekStart": "",
        "templating": {"list": variables},
        "annotations": {"list": []},
        "links": links or [],
        "panels": layout.panels,
    }


LINKS = [{"title": "lineside", "type": "dashboards", "tags": ["lineside"], "asDropdown": True,
          "includeVars": True, "keepTime": True, "icon": "external link", "targetBlank": False,
          "tooltip": "", "url": ""}]


# ---------------------------------------------------------------- plant overview
def plant_overview() -> dict:
    L = Layout()
    site = (SITE,)
    lines = (SITE, LINE)
    stages = (SITE, LINE, STAGE)
    machines = (SITE, LINE, STAGE, MACHINE)
    oee_th, a_th = pct_target(OEE_TARGET), pct_target(0.85)
    p_th, q_th = pct_target(0.95), pct_target(0.99)
    auto_th = thresholds(("red", None), ("green", AUTOMATION_TARGET))

    L.row("Site")
    L.add(stat("OEE", [t_influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE",
                                      "line", site))],
               th=oee_th, description="sum(ideal_good_s) / sum(counted_planned_busy_s) of "
               "the site's lines over the time range (ISO 22400: A x P x Q); lines without "
               "counters are left out."), 4, 5)
    L.add(stat("Availability", [t_influx(ratio("run_s", "planned_busy_s", "Availability",
                                               "line", site))], th=a_th,
               description="sum(run_s) / sum(planned_busy_s) of the site's lines"), 4, 5)
    L.add(stat("Performance", [t_influx(ratio("ideal_s", "counted_run_s", "Performance",
                                              "line", site))], th=p_th,
               description="sum(ideal_s) / sum(counted_run_s) of the site's lines; above "
               "100% means the ideal rate in the configuration is too low."), 4, 5)
    L.add(stat("Quality", [t_influx(ratio("good_count", "total_count", "Quality", "line",
                                          site))], th=q_th,
               description="sum(good_count) / sum(total_count) of the site's lines"), 4, 5)
    L.add(stat("Automation rate (target 60%)",
               [t_influx(influxql.site_rate(SITE, alias="Automation"))], th=auto_th,
               description="Rebuilt from the stage sums (docs/design.md): stage sum("
               "auto_ideal_units) / sum(run_ideal_units), line = stages weighted by weight, "
               "site = lines weighted by planned busy time. Target: 60% (district plan)."),
          4, 5)
    L.add(stat("Output", [
        t_influx(sums([("good_count", "good")], "line", site), "A"),
        t_influx(sums([("reject_count", "rejects")], "line", site), "B"),
    ], unit="short", th=thresholds(("blue", None)), decimals=0,
        description="Good and rejected units of the lines' output stages."), 4, 5)

    L.row("Lines and stages")
    L.add(bargauge("OEE per line", [t_influx(ratio("ideal_good_s", "counted_planned_busy_s",
                                                   "OEE", "line", lines, ("line",)),
                                             alias="$tag_line")], oee_th,
                   "A line's OEE is its output stage's (docs/design.md). Ratio of sums."), 6, 8)
    L.add(bargauge("Availability / performance / quality per line", [
        t_influx(ratio("run_s", "planned_busy_s", "A", "line", lines, ("line",)), "A",
                 alias="$tag_line availability"),
        t_influx(ratio("ideal_s", "counted_run_s", "P", "line", lines, ("line",)), "B",
                 alias="$tag_line performance"),
        t_influx(ratio("good_count", "total_count", "Q", "line", lines, ("line",)), "C",
                 alias="$tag_line quality"),
    ], a_th, "Each a ratio of sums over the range, absent when its denominator is 0."), 8, 8)
    L.add(bargauge("OEE per stage", [t_influx(ratio("ideal_good_s", "counted_planned_busy_s",
                                                    "OEE", "stage", stages, ("line", "stage")),
                                              alias="$tag_stage")], oee_th,
                   "Parallel machines of a stage are summed before dividing."), 10, 8)
    L.add(timeseries("OEE per line", [t_influx(
        ratio("ideal_good_s", "counted_planned_busy_s", "OEE", "line", lines, ("line",),
              by_time=True),
        alias="$tag_line")], th=oee_th, minmax=(0, None),
        description="Per interval: sum(ideal_good_s) / sum(planned_busy_s) of the buckets "
        "in it; gaps where nothing was planned."), 12, 8)
    L.add(bargauge("Automation rate per stage (target 60%)", [
        t_influx(influxql.stage_rate(" AND ".join(stages), alias="automation"), "A",
                 alias="$tag_stage"),
    ], auto_th, "sum(auto_ideal_units) / sum(run_ideal_units) of the stage's automation "
        "points: producing time in automatic mode weighted by ideal rate. Stages done by "
        "hand count 0 while their line runs."), 12, 8)
    L.add(timeseries("Automation rate per line against 60%", [t_influx(
        influxql.line_rate(" AND ".join(lines), interval="$__interval", alias="automation"),
        alias="$tag_line")], th=auto_th, minmax=(0, 1),
        description="Per interval, rebuilt from the stage sums: the stages' rates weighted "
        "by their weight (docs/design.md)."), 12, 8)
    sg = ("line", "stage")
    L.add(bargauge("Availability / performance / quality per stage", [
        t_influx(ratio("run_s", "planned_busy_s", "A", "stage", stages, sg), "A",
                 alias="$tag_stage availability"),
        t_influx(ratio("ideal_s", "counted_run_s", "P", "stage", stages, sg), "B",
                 alias="$tag_stage performance"),
        t_influx(ratio("good_count", "total_count", "Q", "stage", stages, sg), "C",
                 alias="$tag_stage quality"),
    ], a_th, "Parallel machines summed, then divided; a stage done by hand has none."),
        12, 8)

    L.row("Machines")
    L.add(table("Current state of every machine", [t_influx(
        'SELECT last("state") AS "state" FROM "machine_state" WHERE "level" = \'machine\' '
        'AND ' + " AND ".join(machines) + ' AND time > now() - 30d '
        'GROUP BY "line", "stage", "machine"', fmt="table")],
        description="The last state change of each machine (within 30 days); Time is "
        "when it entered that state. A row opens the machine's board.",
        links=machine_link("${__data.fields.machine}", "${__data.fields.line}",
                           "${__data.fields.stage}"),
        overrides=[{"matcher": {"id": "byName", "options": "state"},
                    "properties": [{"id": "mappings", "value": state_mappings()},
                                   {"id": "custom.cellOptions",
                                    "value": {"type": "color-background"}}]}],
        transformations=[{"id": "organize", "options": {
            "indexByName": {"line": 0, "stage": 1, "machine": 2, "state": 3, "Time": 4},
            "renameByName": {"Time": "since"}}}]), 8, 12)
    L.add(state_timeline("State timeline", machines,
                         "Every state change (measurement machine_state). A machine's row "
                         "opens its board.",
                         links=machine_link("${__field.labels.machine}")), 16, 12)

    L.row("Losses")
    loss_cols = [("fault_s", "fault", "/3600"), ("setup_s", "setup", "/3600"),
                 ("starved_s", "starved", "/3600"), ("blocked_s", "blocked", "/3600"),
                 ("idle_s", "idle", "/3600"), ("unknown_s", "no data", "/3600"),
                 ("speed_loss_s", "speed loss", "/3600"),
                 ("reject_loss_s", "reject loss", "/3600")]
    L.add(panel("barchart", "Loss Pareto (hours of planned busy time)", [t_influx(
        sums(loss_cols, "line", lines), fmt="table")],
        "Where planned busy time went, summed over the selected lines' output stages: "
        "stops by state, then speed loss (run time beyond the ideal) and reject loss.",
        unit="h", options={"orientation": "horizontal", "xTickLabelRotation": 0,
                           "showValue": "auto", "legend": {"showLegend": False}},
        transformations=[
            {"id": "reduce", "options": {"reducers": ["sum"], "mode": "seriesToRows",
                                         "includeTimeField": False}},
            {"id": "sortBy", "options": {"sort": [{"field": "Total", "desc": True}]}}]),
        8, 9)
    L.add(table("Small stops per machine", [t_influx(
        sums([("small_stops", "small stops"), ("small_stop_s", "minutes", "/60")],
             "machine", machines, ("line", "machine")), fmt="table")],
        "Stops shorter than the small-stop threshold (default 2 min): part of the "
        "availability loss, counted separately. A row opens the machine's board.",
        links=machine_link("${__data.fields.machine}", "${__data.fields.line}"),
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}},
                         {"id": "sortBy", "options": {"sort": [{"field": "small stops",
                                                                "desc": True}]}}]), 8, 9)
    L.add(timeseries("Small stops per line", [t_influx(
        sums([("small_stops", "small stops")], "line", lines, ("line",), by_time=True,
             fill0=True), alias="$tag_line")], unit="short", bars=True, stack=True), 8, 9)
    L.add(timeseries("Rejects per line", [t_influx(
        sums([("reject_count", "rejects")], "line", lines, ("line",), by_time=True,
             fill0=True), alias="$tag_line")], unit="short", bars=True, stack=True), 12, 8)
    L.add(timeseries("Reject rate per line", [t_influx(
        ratio("reject_count", "total_count", "reject rate", "line", lines, ("line",),
              by_time=True), alias="$tag_line")], minmax=(0, None),
        description="sum(reject_count) / sum(total_count) per interval."), 12, 8)

    L.row("Shifts")
    sh = (SITE, SHIFT)
    shift_group = ("shift_date", "shift")
    L.add(table("Site OEE per shift", [
        t_influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE", "line", sh,
                       shift_group, measurement="oee_shift"), "A", "table"),
        t_influx(ratio("run_s", "planned_busy_s", "availability", "line", sh, shift_group,
                       measurement="oee_shift"), "B", "table"),
        t_influx(ratio("ideal_s", "counted_run_s", "performance", "line", sh, shift_group,
                       measurement="oee_shift"), "C", "table"),
        t_influx(ratio("good_count", "total_count", "quality", "line", sh, shift_group,
                       measurement="oee_shift"), "D", "table"),
        t_influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                       ("planned_busy_s", "planned busy h", "/3600")], "line", sh,
                      shift_group, measurement="oee_shift"), "E", "table"),
    ], "Closed shifts (measurement oee_shift), newest first; sums over the site's lines.",
        transformations=[*merge_organize({}),
                         {"id": "sortBy", "options": {"sort": [{"field": "shift_date",
                                                                "desc": True}]}}],
        overrides=pct_override("OEE", "availability", "performance", "quality")), 12, 9)
    lsh = (SITE, LINE, SHIFT)
    lgroup = ("shift_date", "shift", "line")
    L.add(table("Shift table per line", [
        t_influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE", "line", lsh, lgroup,
                       measurement="oee_shift"), "A", "table"),
        t_influx(ratio("run_s", "planned_busy_s", "availability", "line", lsh, lgroup,
                       measurement="oee_shift"), "B", "table"),
        # one oee_shift point per line and shift: the engine's own rebuild for the shift
        t_influx('SELECT max("automation_rate") AS "automation rate" FROM "oee_shift" WHERE '
                 + _where("line", lsh) + _group(lgroup, False), "C", "table"),
        t_influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                       ("small_stops", "small stops"), ("fault_s", "fault min", "/60")],
                      "line", lsh, lgroup, measurement="oee_shift"), "D", "table"),
    ], "One row per line and closed shift.",
        transformations=[*merge_organize({}),
                         {"id": "sortBy", "options": {"sort": [{"field": "shift_date",
                                                                "desc": True}]}}],
        overrides=pct_override("OEE", "availability", "automation rate")), 12, 9)

    return dashboard("lineside-plant", "lineside · Plant overview",
                     "OEE, losses, machine states and automation of one plant.",
                     plant_vars(), L, links=LINKS)


# ----------------------------------------------------------------- machine
def machine_drilldown() -> dict:
    L = Layout()
    m = (SITE, LINE, STAGE, MACHINE)
    oee_th = pct_target(OEE_TARGET)
    L.row("$machine")
    for title, num, den, th in (("OEE", "ideal_good_s", "counted_planned_busy_s", oee_th),
                                ("Availability", "run_s", "planned_busy_s", pct_target(0.85)),
                                ("Performance", "ideal_s", "counted_run_s", pct_target(0.95)),
                                ("Quality", "good_count", "total_count", pct_target(0.99)),
                                ("Automatic share of run", "auto_ideal_units",
                                 "run_ideal_units",
                                 thresholds(("red", None), ("green", AUTOMATION_TARGET)))):
        L.add(stat(title, [t_influx(ratio(num, den, title, "machine", m))], th=th,
                   description=f"sum({num}) / sum({den}) over the time range."), 4, 5)
    L.add(stat("Units", [t_influx(sums([("good_count", "good")], "machine", m), "A"),
                         t_influx(sums([("reject_count", "rejects")], "machine", m), "B"),
                         t_influx(sums([("small_stops", "small stops")], "machine", m),
                                  "C")],
               unit="short", th=thresholds(("blue", None)), decimals=0), 4, 5)
    L.add(state_timeline("State", m), 24, 5)
    L.add(timeseries("OEE, availability, performance, quality", [
        t_influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE", "machine", m, by_time=True),
                 "A", alias="OEE"),
        t_influx(ratio("run_s", "planned_busy_s", "availability", "machine", m, by_time=True),
                 "B", alias="availability"),
        t_influx(ratio("ideal_s", "counted_run_s", "performance", "machine", m, by_time=True),
                 "C", alias="performance"),
        t_influx(ratio("good_count", "total_count", "quality", "machine", m, by_time=True),
                 "D", alias="quality"),
    ], minmax=(0, None)), 12, 8)
    L.add(panel("piechart", "Where the time went", [t_influx(sums(
        [("run_s", "producing", "/3600"), ("fault_s", "fault", "/3600"),
         ("setup_s", "setup", "/3600"), ("starved_s", "starved", "/3600"),
         ("blocked_s", "blocked", "/3600"), ("idle_s", "idle", "/3600"),
         ("unknown_s", "no data", "/3600"), ("planned_down_s", "planned down", "/3600")],
        "machine", m), fmt="table")], "Scheduled time by state (hours).", unit="h",
        options={"reduceOptions": {"calcs": ["sum"], "fields": "", "values": False},
                 "pieType": "donut", "legend": {"showLegend": True, "displayMode": "table",
                                                "placement": "right", "values": ["value"]}},
        overrides=[{"matcher": {"id": "byName", "options": s},
                    "properties": [{"id": "color", "value": {"mode": "fixed",
                                                             "fixedColor": c}}]}
                   for s, c in (("producing", "green"), ("fault", "red"), ("setup", "blue"),
                                ("starved", "orange"), ("blocked", "purple"),
                                ("idle", "yellow"), ("no data", "#808080"),
                                ("planned down", "dark-blue"))]), 6, 8)
    L.add(timeseries("Units per interval", [t_influx(sums(
        [("good_count", "good"), ("reject_count", "rejects")], "machine", m, by_time=True,
        fill0=True))], unit="short", bars=True, stack=True), 6, 8)
    L.add(timeseries("Process values", [t_influx(
        'SELECT last("value") FROM "signal" WHERE ' + _where("machine", m)
        + ' GROUP BY time($__interval), "signal" fill(previous)', alias="$tag_signal")],
        unit="none", description="Raw numeric signals recorded on change (deadband)."),
        12, 8)
    L.add(table("State changes", [t_influx(
        'SELECT "state", "prev_state", "prev_duration_s", "code", "reason" FROM '
        '"machine_state" WHERE ' + _where("machine", m) + ' ORDER BY time DESC LIMIT 200',
        fmt="table")], "Newest first; prev_duration_s is how long the previous state "
        "lasted.", overrides=[{"matcher": {"id": "byName", "options": "state"},
                                "properties": [{"id": "mappings", "value": state_mappings()},
                                               {"id": "custom.cellOptions",
                                                "value": {"type": "color-text"}}]},
                               {"matcher": {"id": "byName", "options": "prev_duration_s"},
                                "properties": [{"id": "unit", "value": "s"}]}]), 12, 8)
    msh = (SITE, LINE, STAGE, MACHINE, SHIFT)
    g = ("shift_date", "shift")
    L.add(table("Shifts", [
        t_influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE", "machine", msh, g,
                       measurement="oee_shift"), "A", "table"),
        t_influx(ratio("run_s", "planned_busy_s", "availability", "machine", msh, g,
                       measurement="oee_shift"), "B", "table"),
        t_influx(ratio("ideal_s", "counted_run_s", "performance", "machine", msh, g,
                       measurement="oee_shift"), "C", "table"),
        t_influx(ratio("good_count", "total_count", "quality", "machine", msh, g,
                       measurement="oee_shift"), "D", "table"),
        t_influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                       ("small_stops", "small stops"), ("fault_s", "fault min", "/60")],
                      "machine", msh, g, measurement="oee_shift"), "E", "table"),
    ], transformations=[*merge_organize({}),
                        {"id": "sortBy", "options": {"sort": [{"field": "shift_date",
                                                               "desc": True}]}}],
        overrides=pct_override("OEE", "availability", "performance", "quality")), 24, 8)
    return dashboard("lineside-machine", "lineside · Machine",
                     "One machine: OEE, states, counts, process values, shifts.",
                     plant_vars(machine_multi=False), L, links=LINKS)


# ------------------------------------------------------------------ agent health
def agent_health() -> dict:
    L = Layout()
    inst = 'instance=~"$instance"'
    dev = f'{inst}, device=~"$device"'
    snk = f'{inst}, sink=~"$sink"'
    up_map = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red"},
                                            "1": {"text": "UP", "color": "green"}}}]
    L.row("Agent")
    L.add(stat("Agent scraped", [t_prom(f'up{{job=~"lineside.*", {inst}}}', instant=True,
                                        legend="{{instance}}")], unit="none",
               th=thresholds(("red", None), ("green", 1)), decimals=0), 4, 4)
    L.add(stat("Version", [t_prom(f"lineside_build_info{{{inst}}}", instant=True,
                                  legend="{{version}}")], unit="none",
               th=thresholds(("blue", None)), decimals=0), 4, 4)
    L.add(stat("Uptime", [t_prom(f"time() - lineside_start_time_seconds{{{inst}}}",
                                 instant=True, legend="{{instance}}")], unit="s",
               th=thresholds(("blue", None)), decimals=0), 4, 4)
    L.add(stat("Devices up", [t_prom(f"sum(lineside_device_up{{{inst}}})", "A", "up",
                                     instant=True),
                              t_prom(f"count(lineside_device_up{{{inst}}})", "B", "configured",
                                     instant=True)],
               unit="none", th=thresholds(("blue", None)), decimals=0), 4, 4)
    L.add(stat("Config", [t_prom(f"lineside_config_loaded{{{inst}}}", "A", "loaded",
                                 instant=True),
                          t_prom(f"lineside_config_last_reload_successful{{{inst}}}", "B",
                                 "last reload ok", instant=True)],
               unit="none", th=thresholds(("red", None), ("green", 1)), decimals=0), 4, 4)
    L.add(stat("Engine samples/s", [t_prom(
        f"sum(rate(lineside_engine_samples_total{{{inst}}}[$__rate_interval]))",
        instant=True)], unit="short", th=thresholds(("blue", None))), 4, 4)

    L.row("Devices")
    p = panel("state-timeline", "Device up", [t_prom(f"lineside_device_up{{{dev}}}",
                                                     legend="{{device}}")],
              "1 when the device's last poll cycle read its signals.", mappings=up_map,
              custom={"fillOpacity": 80, "lineWidth": 0},
              options={"mergeValues": True, "showValue": "never", "rowHeight": 0.8,
                       "legend": {"showLegend": False}})
    L.add(p, 12, 8)
    L.add(timeseries("Poll duration p95", [t_prom(
        "histogram_quantile(0.95, sum by (device, le) "
        f"(rate(lineside_device_poll_duration_seconds_bucket{{{dev}}}[$__rate_interval])))",
        legend="{{device}}")], unit="s", datasource=PROM), 12, 8)
    L.add(timeseries("Errors by kind", [t_prom(
        f"sum by (device, kind) (rate(lineside_device_errors_total{{{dev}}}"
        "[$__rate_interval]))", legend="{{device}} {{kind}}")], unit="reqps",
        datasource=PROM), 12, 8)
    L.add(timeseries("Age of the last good sample", [t_prom(
        f"lineside_device_last_good_sample_age_seconds{{{dev}}}", legend="{{device}}")],
        unit="s", datasource=PROM,
        th=thresholds(("green", None), ("orange", 60), ("red", 300))), 12, 8)

    L.row("Delivery")
    L.add(timeseries("Queue depth (points)", [t_prom(
        f"lineside_sink_queue_points{{{snk}}}", legend="{{sink}}")], unit="short",
        datasource=PROM), 8, 8)
    L.add(timeseries("Queue fill (bytes / bound)", [t_prom(
        f"lineside_sink_queue_bytes{{{snk}}} / lineside_sink_queue_max_bytes{{{snk}}}",
        legend="{{sink}}")], unit="percentunit", datasource=PROM, minmax=(0, 1),
        th=thresholds(("green", None), ("orange", 0.5), ("red", 0.8))), 8, 8)
    L.add(panel("state-timeline", "Sink up", [t_prom(f"lineside_sink_up{{{snk}}}",
                                                     legend="{{sink}}")],
                mappings=up_map, custom={"fillOpacity": 80, "lineWidth": 0},
                options={"mergeValues": True, "showValue": "never", "rowHeight": 0.8,
                         "legend": {"showLegend": False}}), 8, 8)
    L.add(timeseries("Points written / failed writes retried, per second", [
        t_prom(f"sum by (sink) (rate(lineside_sink_points_written_total{{{snk}}}"
               "[$__rate_interval]))", "A", "{{sink}} written"),
        t_prom(f"sum by (sink) (rate(lineside_sink_write_retries_total{{{snk}}}"
               "[$__rate_interval]))", "B", "{{sink}} write retries"),
    ], unit="short", datasource=PROM), 12, 8)
    L.add(timeseries("Points lost: dropped (queue full) and dead-lettered", [
        t_prom(f"sum by (sink, measurement) (increase(lineside_sink_points_dropped_total"
               f"{{{snk}}}[$__rate_interval]))", "A", "{{sink}} dropped {{measurement}}"),
        t_prom(f"sum by (sink) (increase(lineside_sink_points_dead_lettered_total{{{snk}}}"
               "[$__rate_interval]))", "B", "{{sink}} dead-lettered"),
    ], unit="short", bars=True, datasource=PROM,
        description="Anything here is data that did not reach the sink: see the "
        "LinesideDataDropped and LinesideDeadLetters alerts."), 12, 8)

    L.row("Engine")
    L.add(timeseries("Buckets closed / late samples", [
        t_prom(f"sum(increase(lineside_engine_buckets_closed_total{{{inst}}}"
               "[$__rate_interval]))", "A", "buckets closed"),
        t_prom(f"sum(increase(lineside_engine_late_samples_total{{{inst}}}"
               "[$__rate_interval]))", "B", "late samples"),
    ], unit="short", datasource=PROM), 24, 7)

    L.row("Process")
    L.add(timeseries("Memory (RSS)", [t_prom(f"process_resident_memory_bytes{{{inst}}}",
                                             legend="{{instance}}")],
                     unit="bytes", datasource=PROM,
                     description="Resident memory of the agent process; compare with the "
                     "unit's MemoryHigh/MemoryMax."), 8, 7)
    L.add(timeseries("CPU (cores)", [t_prom(
        f"rate(process_cpu_seconds_total{{{inst}}}[$__rate_interval])",
        legend="{{instance}}")], unit="short", datasource=PROM,
        description="User + system CPU seconds per second: 1 = one core busy."), 8, 7)
    L.add(timeseries("Open file descriptors / limit", [t_prom(
        f"process_open_fds{{{inst}}} / process_max_fds{{{inst}}}", legend="{{instance}}")],
        unit="percentunit", datasource=PROM, minmax=(0, 1),
        th=thresholds(("green", None), ("orange", 0.5), ("red", 0.8)),
        description="Sockets to PLCs and sinks, queue files: a share that keeps growing "
        "is a leak."), 8, 7)

    variables = [
        var_datasource("prometheus"),
        var_query("instance", "Agent", "label_values(lineside_build_info, instance)", ds=PROM),
        var_query("device", "Device",
                  'label_values(lineside_device_up{instance=~"$instance"}, device)', ds=PROM),
        var_query("sink", "Sink",
                  'label_values(lineside_sink_up{instance=~"$instance"}, sink)', ds=PROM),
    ]
    for v in variables[1:]:
        v["query"] = {"query": v["query"], "refId": "PrometheusVariableQueryEditor-VariableQuery"}
    return dashboard("lineside-agent", "lineside · Agent health",
                     "The agent's own metrics (Prometheus): devices, delivery, engine.",
                     variables, L, time_from="now-6h", links=LINKS)


# --------------------------------------------------------- critical control points
CCP = "\"ccp\" =~ /^$ccp$/"
CCP_KIND = "\"ccp_kind\" =~ /^$ccp_kind$/"


def ccp_board() -> dict:
    """HACCP critical control points (docs/haccp.md): every figure from the additive
    `ccp` / `ccp_shift` fields, deviations from the `ccp_deviation` end events."""
    L = Layout()
    f = (SITE, CCP, CCP_KIND)
    g = ("ccp",)
    L.row("Critical control points over the time range")
    L.add(stat("Deviations", [t_influx(sums([("deviations", "deviations")], "ccp", f, g,
                                            measurement="ccp"), alias="$tag_ccp")],
               unit="short", decimals=0,
               th=thresholds(("green", None), ("red", 1)),
               description="Limit deviations that started in the time range, per CCP."), 8, 5)
    L.add(stat("Loss of monitoring", [t_influx(sums([("lost_s", "lost", "/60")], "ccp", f, g,
                                                    measurement="ccp"), alias="$tag_ccp")],
               unit="m", decimals=1, th=thresholds(("green", None), ("orange", 0.01)),
               description="Minutes without a good reading for longer than the monitoring "
                           "interval, per CCP."), 8, 5)
    L.add(stat("Within critical limits", [t_influx(ratio(
        "within_s", "monitored_s", "within", "ccp", f, g, measurement="ccp"),
        alias="$tag_ccp")], th=thresholds(("red", None), ("orange", 0.99), ("green", 1)),
        description="sum(within_s) / sum(monitored_s): share of the monitored time "
                    "inside the critical limits (absent when nothing was monitored)."), 8, 5)
    L.add(timeseries("Monitored value (mean per interval)", [t_influx(ratio(
        "value_s", "monitored_s", "mean", "ccp", f, g, by_time=True, measurement="ccp"),
        alias="$tag_ccp")], unit="celsius",
        description="sum(value_s) / sum(monitored_s) per interval: the time-weighted mean "
                    "of the held value."), 12, 8)
    L.add(timeseries("Time per interval", [t_influx(sums(
        [("deviation_s", "deviation"), ("lost_s", "lost"), ("excursion_s", "short excursion"),
         ("warning_s", "warning")], "ccp", f, by_time=True, measurement="ccp",
        fill0=True))], unit="s", bars=True, stack=True,
        description="Seconds in deviation, in loss of monitoring, in excursions too short to "
                    "count and outside the operating (warning) limits."), 12, 8)
    L.add(table("Deviations", [t_influx(
        'SELECT "start_ns" / 1000000 AS "start", "duration_s", "peak", "limit", "side", '
        '"state", "shift", "end_reason" FROM "ccp_deviation" WHERE '
        + _where("ccp", f, "\"event\" = 'end'")
        + ' GROUP BY "ccp", "kind" ORDER BY time DESC LIMIT 500', fmt="table")],
        "Closed deviations ending in the time range, newest first (`lineside haccp` prints "
        "the signed record).", transformations=merge_organize({"Time": "end"}, ()),
        overrides=[{"matcher": {"id": "byName", "options": "start"},
                    "properties": [{"id": "unit", "value": "dateTimeAsIso"}]},
                   {"matcher": {"id": "byName", "options": "duration_s"},
                    "properties": [{"id": "unit", "value": "s"}]}]), 24, 8)
    L.add(table("Shift records", [t_influx(sums(
        [("deviations", "deviations"), ("losses", "losses"),
         ("deviation_s", "deviation min", "/60"), ("lost_s", "lost min", "/60"),
         ("monitored_s", "monitored min", "/60")], "ccp", f,
        ("shift_date", "shift", "ccp"), measurement="ccp_shift"), fmt="table")],
        "Per shift and CCP, from the `ccp_shift` records.",
        transformations=[*merge_organize({}),
                         {"id": "sortBy", "options": {"sort": [{"field": "shift_date",
                                                                "desc": True}]}}]), 24, 8)
    variables = [
        var_datasource("influxdb"),
        var_query("site", "Site", 'SHOW TAG VALUES FROM "ccp" WITH KEY = "site"'),
        var_query("ccp_kind", "Kind", 'SHOW TAG VALUES FROM "ccp" WITH KEY = "ccp_kind" '
                  'WHERE "site" =~ /^$site$/'),
        var_query("ccp", "CCP", 'SHOW TAG VALUES FROM "ccp" WITH KEY = "ccp" '
                  'WHERE "site" =~ /^$site$/ AND "ccp_kind" =~ /^$ccp_kind$/'),
    ]
    return dashboard("lineside-ccp", "lineside · Critical control points",
                     "HACCP critical control points: deviations, loss of monitoring, "
                     "monitored values, shift records.", variables, L, links=LINKS)


# ---- the bureau's board (docs/bureau.md): reads what the uplink delivers, with its
# own variables (region, enterprise) and the rebuild rules of docs/design.md.

# Grafana's "All" is the allValue `.*`; a selection becomes `(a|b)`.
B_W = '"region" =~ /^$region$/ AND "enterprise" =~ /^$enterprise$/'
B_F = f"AND {B_W}"
# The enterprise rate by docs/design.md's rebuild rules (lineside.report.influxql).
B_ENT = influxql.site_rate(B_W, ("enterprise",))
# OEE: Σ ideal_good_s / Σ counted_planned_busy_s of the line-level oee points (lines
# without counters do not count as zero output), absent when nothing was planned.
B_OEE_SUMS = ('SELECT sum("ideal_good_s") AS "n", sum("counted_planned_busy_s") AS "d" '
            f'FROM "oee" WHERE "level" = \'line\' {B_F} AND $timeFilter')


def _b_oee(group: str = "") -> str:
    g = f" GROUP BY {group}" if group else ""
    return f'SELECT "n" / "d" AS "oee" FROM ({B_OEE_SUMS}{g}) WHERE "d" > 0{g}'


B_THRESHOLDS = {"mode": "absolute", "steps": [{"color": "red", "value": None},
                                            {"color": "green", "value": 0.6}]}
B_PCT = {"defaults": {"unit": "percentunit", "min": 0, "max": 1, "decimals": 1,
                    "thresholds": B_THRESHOLDS, "color": {"mode": "thresholds"}},
       "overrides": []}
B_STAT = {"reduceOptions": {"calcs": ["lastNotNull"]}, "colorMode": "none"}


def _b_target(q: str, fmt: str = "table", alias: str | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"refId": "A", "datasource": INFLUX, "rawQuery": True, "query": q,
                         "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return t


def _b_panels() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def panel(title: str, typ: str, pos: tuple[int, int, int, int], target: dict[str, Any],
              desc: str = "", **extra: Any) -> None:
        x, y, w, h = pos
        p: dict[str, Any] = {"id": len(out) + 1, "title": title, "type": typ,
                             "datasource": INFLUX, "gridPos": {"x": x, "y": y, "w": w, "h": h},
                             "targets": [target]}
        if desc:
            p["description"] = desc
        p.update(extra)
        out.append(p)

    panel("企业数 已上报 / Enterprises reporting", "stat", (0, 0, 4, 4),
          _b_target(f'SELECT count("rate") FROM ({B_ENT}) WHERE $timeFilter'),
          "Enterprises with run time in the range. Registered enterprises that sent nothing "
          "are listed by `lineside report` (it knows the registry).", options=B_STAT)
    panel("达标企业 / Meeting 60%", "stat", (4, 0, 4, 4),
          _b_target(f'SELECT count("rate") FROM ({B_ENT}) WHERE $timeFilter AND "rate" >= 0.6'),
          options=B_STAT)
    panel("平均自动化率 / District mean rate", "stat", (8, 0, 5, 4),
          _b_target(f'SELECT mean("rate") FROM ({B_ENT}) WHERE $timeFilter'),
          "Mean of the enterprise rates (each from summed fields).", fieldConfig=B_PCT,
          options={"reduceOptions": {"calcs": ["lastNotNull"]}})
    panel("设备综合效率 / OEE (all enterprises)", "stat", (13, 0, 5, 4),
          _b_target(_b_oee()),
          "Σ ideal_good_s / Σ counted_planned_busy_s of every line-level oee point in "
          "range (lines without counters left out).",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 1}, "overrides": []},
          options={"reduceOptions": {"calcs": ["lastNotNull"]}})
    panel("产量 / Output (good units)", "stat", (18, 0, 6, 4),
          _b_target(f'SELECT sum("good_count") FROM "oee" WHERE $timeFilter AND '
                  f'"level" = \'line\' {B_F}'), options=B_STAT)
    panel("企业自动化率与60%目标 / Automation rate per enterprise vs 60%", "bargauge",
          (0, 4, 12, 9), _b_target(B_ENT),
          "Per enterprise, rebuilt from the stage sums: stage Σ auto_ideal_units / Σ "
          "run_ideal_units, line = stages weighted by weight, enterprise = lines weighted "
          "by planned busy time (docs/design.md).", fieldConfig=B_PCT,
          options={"orientation": "horizontal", "displayMode": "basic",
                   "reduceOptions": {"values": True, "calcs": [], "fields": "/^rate$/"}},
          transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}])
    panel("环节热力图 / Stage-kind heat map", "table", (12, 4, 12, 9),
          _b_target(influxql.site_rate(B_W, ("enterprise", "stage_kind"))),
          "Per enterprise and stage kind: the enterprise rule over that kind's stages only; "
          "red below 60%.",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 0,
                                    "thresholds": B_THRESHOLDS,
                                    "custom": {"cellOptions": {"type": "color-background"}}},
                       "overrides": []},
          transformations=[{"id": "groupingToMatrix", "options": {
              "columnField": "stage_kind", "rowField": "enterprise", "valueField": "rate"}}])
    panel("自动化率走势 / Daily automation rate", "timeseries", (0, 13, 12, 8),
          _b_target(influxql.site_rate(B_W, ("enterprise",), "1d, -8h"),
                  fmt="time_series", alias="$tag_enterprise"),
          "Per day (Asia/Shanghai days): the enterprise rate of that day.",
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1,
                                    "thresholds": B_THRESHOLDS,
                                    "custom": {"thresholdsStyle": {"mode": "dashed"}}},
                       "overrides": []})
    panel("设备综合效率 / OEE per enterprise", "bargauge", (12, 13, 12, 8),
          _b_target(_b_oee('"enterprise"')),
          fieldConfig={"defaults": {"unit": "percentunit", "min": 0, "max": 1, "decimals": 1},
                       "overrides": []},
          options={"orientation": "horizontal",
                   "reduceOptions": {"values": True, "calcs": [], "fields": "/^oee$/"}})
    panel("数字化覆盖率 / Digitized coverage", "table", (0, 21, 12, 7),
          _b_target(f'SELECT mean("digitized") AS "digitized" FROM "automation" WHERE '
                  f'$timeFilter AND "level" = \'stage\' {B_F} GROUP BY "enterprise"'),
          "Time-weighted share of stages with live data (Σ digitized / count of the stage "
          "points).",
          fieldConfig={"defaults": {"unit": "percentunit", "decimals": 0}, "overrides": []})
    panel("最近上报 / Last data received", "table", (12, 21, 12, 7),
          _b_target(f'SELECT last("run_s") AS "run_s" FROM "automation" WHERE $timeFilter {B_F} '
                  'AND "level" = \'line\' GROUP BY "enterprise", "region"'),
          "Time of the newest automation point per enterprise and region tag: a silent "
          "gateway stops advancing here; a second region for one enterprise is a "
          "tagging problem (lineside report flags it).")
    return out


def bureau_board() -> dict[str, Any]:
    """The bureau's board: what a bureau uplink delivers (docs/bureau.md, section 5)."""
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
            {"name": "region", "label": "地区 / Region", "type": "query", "datasource": INFLUX,
             "query": 'SHOW TAG VALUES FROM "automation" WITH KEY = "region"',
             "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
            {"name": "enterprise", "label": "企业 / Enterprise", "type": "query",
             "datasource": INFLUX,
             "query": 'SHOW TAG VALUES FROM "automation" WITH KEY = "enterprise" '
                      'WHERE "region" =~ /^$region$/',
             "multi": True, "includeAll": True, "allValue": ".*", "refresh": 2,
             "current": {"text": "All", "value": "$__all"}},
        ]},
        "panels": _b_panels(),
    }


BOARDS = {"plant-overview.json": plant_overview, "machine.json": machine_drilldown,
          "agent-health.json": agent_health, "ccp.json": ccp_board, "bureau.json": bureau_board}


def render() -> dict[str, str]:
    return {name: json.dumps(fn(), indent=2, ensure_ascii=False) + "\n"
            for name, fn in BOARDS.items()}


def main(argv: list[str]) -> int:
    out = render()
    if "--check" in argv:
        stale = [n for n, text in out.items()
                 if not (OUT / n).exists() or (OUT / n).read_text() != text]
        if stale:
            print("out of date (run deploy/grafana/build_dashboards.py):", *stale)
            return 1
        return 0
    OUT.mkdir(exist_ok=True)
    for name, text in out.items():
        (OUT / name).write_text(text)
        print("wrote", OUT / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

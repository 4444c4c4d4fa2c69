"""The plant overview board (`lineside-plant`, docs/deploy.md)."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import dashboard as db

from boards import kit
from boards.kit import Grid, influx, influx_each, pct_target, steps
from boards.panels import (
    barchart_panel,
    bargauge_panel,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
)
from boards.queries import (
    APQ,
    LINE,
    MACHINE,
    RATIOS,
    SHIFT,
    SITE,
    STAGE,
    by,
    group,
    label,
    ratio,
    ratios,
    sums,
    where,
)
from boards.site import OEE_TARGET, BoardSite
from lineside.report import influxql


def plant_variables(site: BoardSite, machine_multi: bool = True) -> list[Any]:
    t = site.t
    return [
        kit.datasource_variable("influxdb", t._("Data source")),
        kit.tag_variable("site", t._("Site"), "oee"),
        kit.tag_variable("line", t._("Line"), "oee", (SITE,)),
        kit.tag_variable("stage", t._("Stage"), "oee", (SITE, LINE)),
        kit.tag_variable("machine", t._("Machine"), "oee", (SITE, LINE, STAGE),
                         multi=machine_multi, include_all=machine_multi),
        kit.tag_variable("shift", t._("Shift"), "oee_shift", (SITE,)),
        *kit.names_variables({"line": "oee", "stage": "oee", "machine": "oee"}, t),
    ]


def ccp_deviations(site: BoardSite, filters: tuple[str, ...]) -> Any:
    """A mark where each CCP deviation (limit or monitoring) began, named by its CCP."""
    return kit.annotation(
        site.t.pgettext("board", "CCP deviations"),
        'SELECT "state", "shift" FROM "ccp_deviation" WHERE '
        + where(None, filters, "\"event\" = 'start'") + group(by("ccp", "kind"), False),
        "red", text="ccp_name", tags="kind")


def downtime_by_reason(site: BoardSite, filters: tuple[str, ...]) -> Any:
    """The operator station's Pareto (docs/station.md): minutes per reason of the stops
    that started in the range, on their latest reasons, `unclassified` among them."""
    return barchart_panel(site.t._("Downtime by reason (minutes)"), [influx(
        sums([("seconds", "minutes", "/60"), ("stops", "stops")], "machine", filters,
             ("reason", "reason_name"), measurement="downtime_reason"), fmt="table")],
        "The operator station's reasons (docs/station.md): Σ seconds of downtime_reason "
        "by reason over the stops that started in the range, each on its latest reason "
        "(reclassifications are −/+ entries, so the sums are exact); `unclassified` is "
        "the share nobody has explained yet. Empty without a station: section.", "m",
        [kit.transformation("organize", {"excludeByName": {"Time": True, "reason": True,
                                                           "stops": True}}),
         kit.sort_by("minutes")])


def plant_annotations(site: BoardSite) -> list[Any]:
    """Closed shifts (at their start) and CCP deviations (at theirs) on every graph."""
    return [
        kit.grafana_annotations(),
        kit.annotation(site.t._("Shifts"), 'SELECT "planned_busy_s", "shift" FROM "oee_shift" '
                       f'WHERE {where("site", (SITE,))}', "blue", text="shift"),
        ccp_deviations(site, (SITE,)),
    ]


def plant_overview(site: BoardSite) -> db.Dashboard:
    t = site.t
    d = kit.dashboard("lineside-plant", t._("lineside · Plant overview"),
                  "OEE, losses, machine states and automation of one plant.",
                      plant_variables(site), plant_annotations(site))
    g = Grid(d)
    sites = (SITE,)
    lines = (SITE, LINE)
    stages = (SITE, LINE, STAGE)
    machines = (SITE, LINE, STAGE, MACHINE)
    oee_th, a_th = pct_target(OEE_TARGET), pct_target(0.85)
    p_th, q_th = pct_target(0.95), pct_target(0.99)
    target, pct = site.automation_target, site.target_pct
    auto_th = steps(("red", None), ("green", target))

    g.row(t._("Site"))
    g.add(stat_panel(t._("OEE"), [influx(ratio("ideal_good_s", "counted_planned_busy_s", "OEE",
                                          "line", sites))], th=oee_th,
                     description="sum(ideal_good_s) / sum(counted_planned_busy_s) of the "
                     "site's lines over the time range (ISO 22400: A x P x Q); lines without "
                     "counters are left out."), 4, 5)
    g.add(stat_panel(t._("Availability"), [influx(ratio("run_s", "planned_busy_s", "Availability",
                                                   "line", sites))], th=a_th,
                     description="sum(run_s) / sum(planned_busy_s) of the site's lines"), 4, 5)
    g.add(stat_panel(t._("Performance"), [influx(ratio("ideal_s", "counted_run_s", "Performance",
                                                  "line", sites))], th=p_th,
                     description="sum(ideal_s) / sum(counted_run_s) of the site's lines; "
                     "above 100% means the ideal rate in the configuration is too low."), 4, 5)
    g.add(stat_panel(t._("Quality"), [influx(ratio("good_count", "total_count", "Quality", "line",
                                              sites))], th=q_th,
                     description="sum(good_count) / sum(total_count) of the site's lines"),
          4, 5)
    g.add(stat_panel(t._("Automation rate (target {target})").format(target=pct),
                     [influx(influxql.site_rate(SITE, alias="Automation"))], th=auto_th,
                     description="Rebuilt from the stage sums (docs/design.md): stage sum("
                     "auto_ideal_units) / sum(run_ideal_units), line = stages weighted by "
                     "weight, site = lines weighted by planned busy time. Target: "
                     f"{pct} (metrics.automation_target)."), 4, 5)
    g.add(stat_panel(t._("Output"), [influx(sums([("good_count", "good")], "line", sites), "A"),
                                influx(sums([("reject_count", "rejects")], "line", sites), "B")],
                     unit="short", th=steps(("blue", None)), decimals=0,
                     description="Good and rejected units of the lines' output stages."), 4, 5)

    g.row(t._("Lines and stages"))
    ln, sg = by("line"), by("line", "stage")
    g.add(bargauge_panel(t._("OEE per line"), [influx(ratio(
        "ideal_good_s", "counted_planned_busy_s", "OEE", "line", lines, ln),
        alias=label("line"))], oee_th,
        "A line's OEE is its output stage's (docs/design.md). Ratio of sums."), 6, 8)
    g.add(bargauge_panel(t._("Availability / performance / quality per line"), influx_each(
        ratios(APQ, "line", lines, ln), aliases=[label("line", n) for n in APQ]),
        a_th, "Each a ratio of sums over the range, absent when its denominator is 0."), 8, 8)
    g.add(bargauge_panel(t._("OEE per stage"), [influx(ratio(
        "ideal_good_s", "counted_planned_busy_s", "OEE", "stage", stages, sg),
        alias=label("stage"))], oee_th,
        "Parallel machines of a stage are summed before dividing."), 10, 8)
    g.add(timeseries_panel(t._("OEE per line"), [influx(ratio(
        "ideal_good_s", "counted_planned_busy_s", "OEE", "line", lines, ln, by_time=True),
        alias=label("line"))], th=oee_th, minmax=(0, None),
        description="Per interval: sum(ideal_good_s) / sum(planned_busy_s) of the buckets "
        "in it; gaps where nothing was planned."), 12, 8)
    per_stage = t._("Automation rate per stage (target {target})").format(target=pct)
    g.add(bargauge_panel(per_stage, [
        influx(influxql.stage_rate(" AND ".join(stages), ("stage_name",),
                                   alias="automation"), "A", alias=label("stage"))],
        auto_th, "sum(auto_ideal_units) / sum(run_ideal_units) of the stage's automation "
        "points: producing time in automatic mode weighted by ideal rate. Stages done by "
        "hand count 0 while their line runs."), 12, 8)
    per_line = t._("Automation rate per line against {target}").format(target=pct)
    g.add(timeseries_panel(per_line, [influx(
        influxql.line_rate(" AND ".join(lines), ("line_name",), interval="$__interval",
                           alias="automation"), alias=label("line"))], th=auto_th,
        minmax=(0, 1), description="Per interval, rebuilt from the stage sums: the stages' "
        "rates weighted by their weight (docs/design.md)."), 12, 8)
    g.add(bargauge_panel(t._("Availability / performance / quality per stage"), influx_each(
        ratios(APQ, "stage", stages, sg), aliases=[label("stage", n) for n in APQ]),
        a_th, "Parallel machines summed, then divided; a stage done by hand has none."), 12, 8)

    g.row(t._("Machines"))
    g.add(table_panel(t._("Current state of every machine"), [influx(
        'SELECT last("state") AS "state" FROM "machine_state" WHERE "level" = \'machine\' '
        'AND ' + " AND ".join(machines) + ' AND time > now() - 30d'
        + group(by("line", "stage", "machine"), False), fmt="table")],
        "The last state change of each machine (within 30 days); Time is when it entered "
        "that state. A row opens the machine's board.",
        links=kit.machine_link("${__data.fields.machine}", "${__data.fields.line}",
                               "${__data.fields.stage}"),
        overrides=[kit.field_override("state", mappings=kit.state_mappings(site.state_names),
                                      custom__cellOptions={"type": "color-background"})],
        transformations=[kit.transformation("organize", {
            "indexByName": {"line": 0, "stage": 1, "machine": 2, "state": 3, "Time": 4},
            "renameByName": {"Time": "since"}})]), 8, 12)
    g.add(state_timeline_panel(t._("State timeline"), [influx(
        'SELECT "state" FROM "machine_state" WHERE ' + where("machine", machines)
        + group(by("machine"), False), alias=label("machine"))],
        "Every state change (measurement machine_state). A machine's row opens its board.",
        links=kit.machine_link("${__field.labels.machine}"),
        state_names=site.state_names), 16, 12)

    g.row(t._("Losses"))
    loss_cols = [("fault_s", "fault", "/3600"), ("setup_s", "setup", "/3600"),
                 ("starved_s", "starved", "/3600"), ("blocked_s", "blocked", "/3600"),
                 ("idle_s", "idle", "/3600"), ("unknown_s", "no data", "/3600"),
                 ("speed_loss_s", "speed loss", "/3600"),
                 ("reject_loss_s", "reject loss", "/3600")]
    g.add(barchart_panel(t._("Loss Pareto (hours of planned busy time)"), [influx(
        sums(loss_cols, "line", lines), fmt="table")],
        "Where planned busy time went, summed over the selected lines' output stages: "
        "stops by state, then speed loss (run time beyond the ideal) and reject loss.", "h",
        [kit.transformation("reduce", {"reducers": ["sum"], "mode": "seriesToRows",
                                       "includeTimeField": False}),
         kit.sort_by("Total")]), 8, 9)
    g.add(downtime_by_reason(site, machines), 8, 9)
    g.add(table_panel(t._("Small stops per machine"), [influx(
        sums([("small_stops", "small stops"), ("small_stop_s", "minutes", "/60")],
             "machine", machines, by("line", "machine")), fmt="table")],
        "Stops shorter than the small-stop threshold (default 2 min): part of the "
        "availability loss, counted separately. A row opens the machine's board.",
        links=kit.machine_link("${__data.fields.machine}", "${__data.fields.line}"),
        transformations=[kit.transformation("organize", {"excludeByName": {"Time": True}}),
                         kit.sort_by("small stops")]), 8, 9)
    g.add(timeseries_panel(t._("Small stops per line"), [influx(
        sums([("small_stops", "small stops")], "line", lines, ln, by_time=True, fill0=True),
        alias=label("line"))], unit="short", bars=True, stack=True), 8, 9)
    g.add(timeseries_panel(t._("Rejects per line"), [influx(
        sums([("reject_count", "rejects")], "line", lines, ln, by_time=True, fill0=True),
        alias=label("line"))], unit="short", bars=True, stack=True), 12, 8)
    g.add(timeseries_panel(t._("Reject rate per line"), [influx(
        ratio("reject_count", "total_count", "reject rate", "line", lines, ln, by_time=True),
        alias=label("line"))], minmax=(0, None),
        description="sum(reject_count) / sum(total_count) per interval."), 12, 8)

    g.row(t._("Shifts"))
    sh, shift_group = (SITE, SHIFT), ("shift_date", "shift")
    g.add(table_panel(t._("Site OEE per shift"), [
        *influx_each(ratios(RATIOS, "line", sh, shift_group, measurement="oee_shift"),
                     "table"),
        influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                     ("planned_busy_s", "planned busy h", "/3600")], "line", sh, shift_group,
                    measurement="oee_shift"), "E", "table"),
    ], "Closed shifts (measurement oee_shift), newest first; sums over the site's lines.",
        transformations=[*kit.merge_organize({}), kit.sort_by("shift_date")],
        overrides=kit.pct_overrides("OEE", "availability", "performance", "quality")), 12, 9)
    lsh, lgroup = (SITE, LINE, SHIFT), ("shift_date", "shift", *ln)
    g.add(table_panel(t._("Shift table per line"), [
        *influx_each(ratios(("OEE", "availability"), "line", lsh, lgroup,
                            measurement="oee_shift"), "table"),
        # one oee_shift point per line and shift: the engine's own rebuild for the shift
        influx('SELECT max("automation_rate") AS "automation rate" FROM "oee_shift" WHERE '
               + where("line", lsh) + group(lgroup, False), "C", "table"),
        influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                     ("small_stops", "small stops"), ("fault_s", "fault min", "/60")],
                    "line", lsh, lgroup, measurement="oee_shift"), "D", "table"),
    ], "One row per line and closed shift.",
        transformations=[*kit.merge_organize({}), kit.sort_by("shift_date")],
        overrides=kit.pct_overrides("OEE", "availability", "automation rate")), 12, 9)
    return d


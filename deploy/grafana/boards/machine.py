"""The machine board (`lineside-machine`, docs/deploy.md): one machine."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from boards import kit
from boards.kit import Grid, influx, influx_each, pct_target, steps
from boards.panels import (
    piechart_panel,
    stat_panel,
    state_timeline_panel,
    table_panel,
    timeseries_panel,
)
from boards.plant import downtime_by_reason, plant_annotations, plant_variables
from boards.queries import (
    LINE,
    MACHINE,
    RATIOS,
    SHIFT,
    SITE,
    STAGE,
    label,
    ratio,
    ratios,
    sums,
    where,
)
from boards.site import OEE_TARGET, BoardSite


def machine_drilldown(site: BoardSite) -> db.Dashboard:
    t = site.t
    d = kit.dashboard("lineside-machine", t._("lineside · Machine"),
                      "One machine: OEE, states, counts, process values, shifts.",
                      plant_variables(site, machine_multi=False), plant_annotations(site))
    g = Grid(d)
    m = (SITE, LINE, STAGE, MACHINE)
    g.row("$machine")
    for title, alias, num, den, th in (
            (t._("OEE"), "OEE", "ideal_good_s", "counted_planned_busy_s",
             pct_target(OEE_TARGET)),
            (t._("Availability"), "Availability", "run_s", "planned_busy_s",
             pct_target(0.85)),
            (t._("Performance"), "Performance", "ideal_s", "counted_run_s", pct_target(0.95)),
            (t._("Quality"), "Quality", "good_count", "total_count", pct_target(0.99)),
            (t._("Automatic share of run"), "Automatic share of run", "auto_ideal_units",
             "run_ideal_units", steps(("red", None), ("green", site.automation_target)))):
        g.add(stat_panel(title, [influx(ratio(num, den, alias, "machine", m))], th=th,
                         description=f"sum({num}) / sum({den}) over the time range."), 4, 5)
    g.add(stat_panel(t._("Units"), [influx(sums([("good_count", "good")], "machine", m), "A"),
                               influx(sums([("reject_count", "rejects")], "machine", m), "B"),
                               influx(sums([("small_stops", "small stops")], "machine", m),
                                      "C")],
                     unit="short", th=steps(("blue", None)), decimals=0), 4, 5)
    g.add(state_timeline_panel(t._("State"), [influx(
        'SELECT "state" FROM "machine_state" WHERE ' + where("machine", m)
        + ' GROUP BY "machine", "machine_name"', alias=label("machine"))],
        state_names=site.state_names), 24, 5)
    g.add(timeseries_panel(t._("OEE, availability, performance, quality"), influx_each(
        ratios(RATIOS, "machine", m, by_time=True), aliases=RATIOS), minmax=(0, None)),
        12, 8)
    colors = (("producing", "green"), ("fault", "red"), ("setup", "blue"),
              ("starved", "orange"), ("blocked", "purple"), ("idle", "yellow"),
              ("no data", "#808080"), ("planned down", "dark-blue"))
    g.add(piechart_panel(t._("Where the time went"), [influx(sums(
        [("run_s", "producing", "/3600"), ("fault_s", "fault", "/3600"),
         ("setup_s", "setup", "/3600"), ("starved_s", "starved", "/3600"),
         ("blocked_s", "blocked", "/3600"), ("idle_s", "idle", "/3600"),
         ("unknown_s", "no data", "/3600"), ("planned_down_s", "planned down", "/3600")],
        "machine", m), fmt="table")], "Scheduled time by state (hours).", "h",
        [kit.field_override(s, color={"mode": "fixed", "fixedColor": c}) for s, c in colors]),
        6, 8)
    g.add(downtime_by_reason(site, m), 6, 8)
    g.add(timeseries_panel(t._("Units per interval"), [influx(sums(
        [("good_count", "good"), ("reject_count", "rejects")], "machine", m, by_time=True,
        fill0=True))], unit="short", bars=True, stack=True), 6, 8)
    g.add(timeseries_panel(t._("Process values"), [influx(
        'SELECT last("value") FROM "signal" WHERE ' + where("machine", m)
        + ' GROUP BY time($__interval), "signal" fill(previous)', alias="$tag_signal")],
        unit="none", description="Raw numeric signals recorded on change (deadband)."), 12, 8)
    g.add(table_panel(t._("State changes"), [influx(
        'SELECT "state", "prev_state", "prev_duration_s", "code", "reason" FROM '
        '"machine_state" WHERE ' + where("machine", m) + ' ORDER BY time DESC LIMIT 200',
        fmt="table")], "Newest first; prev_duration_s is how long the previous state "
        "lasted.", overrides=[
            kit.field_override("state", mappings=kit.state_mappings(site.state_names),
                               custom__cellOptions={"type": "color-text"}),
            kit.field_override("prev_state", mappings=kit.state_mappings(site.state_names)),
            kit.field_override("prev_duration_s", unit="s")]), 12, 8)
    msh, sg = (SITE, LINE, STAGE, MACHINE, SHIFT), ("shift_date", "shift")
    g.add(table_panel(t._("Shifts"), [
        *influx_each(ratios(RATIOS, "machine", msh, sg, measurement="oee_shift"), "table"),
        influx(sums([("good_count", "good"), ("reject_count", "rejects"),
                     ("small_stops", "small stops"), ("fault_s", "fault min", "/60")],
                    "machine", msh, sg, measurement="oee_shift"), "E", "table"),
    ], transformations=[*kit.merge_organize({}), kit.sort_by("shift_date")],
        overrides=kit.pct_overrides("OEE", "availability", "performance", "quality")), 24, 8)
    return d

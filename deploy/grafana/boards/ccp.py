"""The critical control points board (`lineside-ccp`, docs/haccp.md): every figure from
the additive `ccp` / `ccp_shift` fields, deviations from the `ccp_deviation` events."""

from __future__ import annotations

import re

from grafana_foundation_sdk.builders import dashboard as db

from boards import kit
from boards.kit import Grid, influx, steps
from boards.panels import stat_panel, table_panel, timeseries_panel
from boards.plant import ccp_deviations
from boards.queries import CCP, CCP_KIND, SITE, by, label, ratio, sums, where
from boards.site import BoardSite, grafana_unit


def unit_overrides(site: BoardSite) -> list[kit.Built]:
    """Each CCP's series in its configured unit (a board shows °C beside bar), found by
    the id or the name its legend shows."""
    return [kit.Built(kit.dm.DashboardFieldConfigSourceOverrides(
        matcher=kit.dm.MatcherConfig(id_val="byRegexp",
                                     options=f"^({re.escape(cid)}|{re.escape(name)})$"),
        properties=[kit.dm.DynamicConfigValue(id_val="unit", value=grafana_unit(unit))]))
        for cid, (name, unit) in site.ccps.items()]


def ccp_board(site: BoardSite) -> db.Dashboard:
    t = site.t
    variables = [
        kit.datasource_variable("influxdb", t._("Data source")),
        kit.tag_variable("site", t._("Site"), "ccp"),
        kit.tag_variable("ccp_kind", t._("Kind"), "ccp", (SITE,)),
        kit.tag_variable("ccp", t._("CCP"), "ccp", (SITE, CCP_KIND)),
        *kit.names_variables({"ccp": "ccp"}, t),
    ]
    f = (SITE, CCP, CCP_KIND)
    d = kit.dashboard("lineside-ccp", t._("lineside · Critical control points"),
                      "HACCP critical control points: deviations, loss of monitoring, "
                      "monitored values, shift records.", variables,
                      [kit.grafana_annotations(), ccp_deviations(site, f)])
    g = Grid(d)
    c = by("ccp")
    units = {u for _, u in site.ccps.values()}
    one_unit = grafana_unit(units.pop()) if len(units) == 1 else "none"
    g.row(t._("Critical control points over the time range"))
    g.add(stat_panel(t._("Deviations"), [influx(sums([("deviations", "deviations")], "ccp", f, c,
                                                measurement="ccp"), alias=label("ccp"))],
                     unit="short", decimals=0, th=steps(("green", None), ("red", 1)),
                     description="Limit deviations that started in the time range, per CCP."),
          8, 5)
    g.add(stat_panel(t._("Loss of monitoring"), [influx(sums([("lost_s", "lost", "/60")], "ccp", f,
                                                        c, measurement="ccp"),
                                                   alias=label("ccp"))],
                     unit="m", decimals=1, th=steps(("green", None), ("orange", 0.01)),
                     description="Minutes without a good reading for longer than the "
                     "monitoring interval, per CCP."), 8, 5)
    g.add(stat_panel(t._("Within critical limits"), [influx(ratio(
        "within_s", "monitored_s", "within", "ccp", f, c, measurement="ccp"),
        alias=label("ccp"))], th=steps(("red", None), ("orange", 0.99), ("green", 1)),
        description="sum(within_s) / sum(monitored_s): share of the monitored time inside "
        "the critical limits (absent when nothing was monitored)."), 8, 5)
    g.add(timeseries_panel(t._("Monitored value (mean per interval)"), [influx(ratio(
        "value_s", "monitored_s", "mean", "ccp", f, c, by_time=True, measurement="ccp"),
        alias=label("ccp"))], unit=one_unit, overrides=unit_overrides(site),
        description="sum(value_s) / sum(monitored_s) per interval: the time-weighted mean "
        "of the held value, in each CCP's configured unit (ccps[].unit)."), 12, 8)
    g.add(timeseries_panel(t._("Time per interval"), [influx(sums(
        [("deviation_s", "deviation"), ("lost_s", "lost"), ("excursion_s", "short excursion"),
         ("warning_s", "warning")], "ccp", f, by_time=True, measurement="ccp",
        fill0=True))], unit="s", bars=True, stack=True,
        description="Seconds in deviation, in loss of monitoring, in excursions too short to "
        "count and outside the operating (warning) limits."), 12, 8)
    g.add(table_panel(t._("Closed deviations"), [influx(
        'SELECT "start_ns" / 1000000 AS "start", "duration_s", "peak", "limit", "side", '
        '"state", "shift", "end_reason" FROM "ccp_deviation" WHERE '
        + where("ccp", f, "\"event\" = 'end'")
        + ' GROUP BY "ccp", "ccp_name", "machine_name", "kind" ORDER BY time DESC LIMIT 500',
        fmt="table")],
        "Closed deviations ending in the time range, newest first (`lineside haccp` prints "
        "the signed record).", transformations=kit.merge_organize({"Time": "end"}, ()),
        overrides=[kit.field_override("start", unit="dateTimeAsIso"),
                   kit.field_override("duration_s", unit="s"),
                   kit.field_override("state", mappings=kit.state_mappings(site.state_names))]),
        24, 8)
    g.add(table_panel(t._("Shift records"), [influx(sums(
        [("deviations", "deviations"), ("losses", "losses"),
         ("deviation_s", "deviation min", "/60"), ("lost_s", "lost min", "/60"),
         ("monitored_s", "monitored min", "/60")], "ccp", f,
        ("shift_date", "shift", *c), measurement="ccp_shift"), fmt="table")],
        "Per shift and CCP, from the `ccp_shift` records.",
        transformations=[*kit.merge_organize({}), kit.sort_by("shift_date")]), 24, 8)
    return d

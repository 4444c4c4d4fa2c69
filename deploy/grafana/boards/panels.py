"""Panels as the boards use them, on the SDK's panel builders: one function per kind
with the options lineside's boards share (percent units, thresholds against targets,
legends as tables, links to the machine board)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import barchart, bargauge, piechart, stat, statetimeline
from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import table as tb
from grafana_foundation_sdk.builders import timeseries as ts
from grafana_foundation_sdk.builders.dashboard import ThresholdsConfig
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import piechart as pcm

from boards.kit import INFLUX, Built, state_mappings

Targets = Sequence[Any]


def _common(p: Any, title: str, targets: Targets, description: str = "",
            unit: str | None = None, th: ThresholdsConfig | None = None,
            ds: dm.DataSourceRef = INFLUX, decimals: int | None = None,
            minmax: tuple[float | None, float | None] | None = None,
            links: list[Built] | None = None, overrides: list[Built] | None = None,
            transformations: list[dm.DataTransformerConfig] | None = None,
            mappings: list[Any] | None = None) -> Any:
    p.title(title).datasource(ds).targets(list(targets))
    if description:
        p.description(description)
    if unit:
        p.unit(unit)
    if th is not None:
        p.thresholds(th).color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
    if decimals is not None:
        p.decimals(decimals)
    if minmax:
        if minmax[0] is not None:
            p.min(minmax[0])
        if minmax[1] is not None:
            p.max(minmax[1])
    if links:
        p.data_links(links)
    if overrides:
        p.overrides(overrides)
    if transformations:
        p.transformations(transformations)
    if mappings:
        p.mappings(mappings)
    return p


def _reduce(calcs: list[str], values: bool = False, fields: str = "") -> cb.ReduceDataOptions:
    return cb.ReduceDataOptions().calcs(calcs).values(values).fields(fields)


def stat_panel(title: str, targets: Targets, unit: str = "percentunit",
               th: ThresholdsConfig | None = None, description: str = "",
               decimals: int | None = 1, ds: dm.DataSourceRef = INFLUX,
               color: cm.BigValueColorMode = cm.BigValueColorMode.BACKGROUND,
               minmax: tuple[float | None, float | None] | None = None) -> stat.Panel:
    p = (stat.Panel().reduce_options(_reduce(["lastNotNull"])).color_mode(color)
         .graph_mode(cm.BigValueGraphMode.NONE)
         .text_mode(cm.BigValueTextMode.VALUE_AND_NAME if len(targets) > 1
                    else cm.BigValueTextMode.AUTO)
         .justify_mode(cm.BigValueJustifyMode.AUTO).orientation(cm.VizOrientation.AUTO))
    return _common(p, title, targets, description, unit, th, ds, decimals, minmax)


def bargauge_panel(title: str, targets: Targets, th: ThresholdsConfig | None,
                   description: str = "", unit: str = "percentunit",
                   minmax: tuple[float | None, float | None] = (0, 1),
                   decimals: int | None = None,
                   reduce: cb.ReduceDataOptions | None = None,
                   transformations: list[dm.DataTransformerConfig] | None = None
                   ) -> bargauge.Panel:
    p = (bargauge.Panel().reduce_options(reduce or _reduce(["lastNotNull"]))
         .orientation(cm.VizOrientation.HORIZONTAL)
         .display_mode(cm.BarGaugeDisplayMode.GRADIENT).show_unfilled(True)
         .value_mode(cm.BarGaugeValueMode.COLOR).name_placement(cm.BarGaugeNamePlacement.LEFT))
    return _common(p, title, targets, description, unit, th, decimals=decimals,
                   minmax=minmax, transformations=transformations)


def timeseries_panel(title: str, targets: Targets, unit: str = "percentunit",
                     description: str = "", th: ThresholdsConfig | None = None,
                     bars: bool = False, stack: bool = False,
                     minmax: tuple[float | None, float | None] | None = None,
                     ds: dm.DataSourceRef = INFLUX,
                     overrides: list[Built] | None = None) -> ts.Panel:
    p = (ts.Panel().draw_style(cm.GraphDrawStyle.BARS if bars else cm.GraphDrawStyle.LINE)
         .line_width(1).fill_opacity(60 if bars else 10).span_nulls(False)
         .show_points(cm.VisibilityMode.NEVER)
         .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL if stack
                                            else cm.StackingMode.NONE).group("A"))
         .interval("1m")
         .legend(cb.VizLegendOptions().show_legend(True).display_mode(cm.LegendDisplayMode.TABLE)
                 .placement(cm.LegendPlacement.RIGHT).calcs([]))
         .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI)
                  .sort(cm.SortOrder.DESCENDING)))
    if th is not None:
        p.thresholds_style(cb.GraphThresholdsStyleConfig().mode(
            cm.GraphThresholdsStyleMode.LINE_AND_AREA))
    return _common(p, title, targets, description, unit, th, ds, minmax=minmax,
                   overrides=overrides)


def table_panel(title: str, targets: Targets, description: str = "",
                transformations: list[dm.DataTransformerConfig] | None = None,
                overrides: list[Built] | None = None, unit: str | None = None,
                links: list[Built] | None = None, decimals: int | None = None,
                th: ThresholdsConfig | None = None,
                cell: Any = None) -> tb.Panel:
    p = (tb.Panel().show_header(True).cell_height(cm.TableCellHeight.SM)
         .footer(cb.TableFooterOptions().show(False).reducer(["sum"]).fields("")))
    if cell is not None:
        p.cell_options(cell)
    return _common(p, title, targets, description, unit, th, decimals=decimals,
                   links=links, overrides=overrides, transformations=transformations)


def state_timeline_panel(title: str, targets: Targets, description: str = "",
                         links: list[Built] | None = None, legend: bool = True,
                         mappings: list[Any] | None = None,
                         state_names: dict[str, str] | None = None,
                         ds: dm.DataSourceRef = INFLUX) -> statetimeline.Panel:
    p = (statetimeline.Panel().fill_opacity(80).line_width(0).merge_values(True)
         .show_value(cm.VisibilityMode.NEVER).align_value(cm.TimelineValueAlignment.LEFT)
         .row_height(0.8)
         .legend(cb.VizLegendOptions().show_legend(legend)
                 .display_mode(cm.LegendDisplayMode.LIST)
                 .placement(cm.LegendPlacement.BOTTOM)))
    return _common(p, title, targets, description, ds=ds, links=links,
                   mappings=mappings if mappings is not None else state_mappings(state_names))


def barchart_panel(title: str, targets: Targets, description: str, unit: str,
                   transformations: list[dm.DataTransformerConfig]) -> barchart.Panel:
    p = (barchart.Panel().orientation(cm.VizOrientation.HORIZONTAL).x_tick_label_rotation(0)
         .show_value(cm.VisibilityMode.AUTO)
         .legend(cb.VizLegendOptions().show_legend(False)))
    return _common(p, title, targets, description, unit, transformations=transformations)


def piechart_panel(title: str, targets: Targets, description: str, unit: str,
                   overrides: list[Built]) -> piechart.Panel:
    p = (piechart.Panel().reduce_options(_reduce(["sum"])).pie_type(pcm.PieChartType.DONUT)
         .legend(piechart.PieChartLegendOptions().show_legend(True)
                 .display_mode(cm.LegendDisplayMode.TABLE)
                 .placement(cm.LegendPlacement.RIGHT)
                 .values([pcm.PieChartLegendValues.VALUE])))
    return _common(p, title, targets, description, unit, overrides=overrides)

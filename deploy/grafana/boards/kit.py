"""The pieces every board is built from, on grafana-foundation-sdk's builders
(Grafana Labs' typed models of the dashboard schema): datasource references, queries,
thresholds, the grid, variables, links, annotations.

The SDK has builders for Prometheus queries but none for InfluxDB's, so an InfluxQL
target is a raw query object (`Influx`), and so is an annotation's query (the SDK
types an annotation's `target` as Grafana's built-in filter; Grafana 11 keeps the
datasource's query there). Everything else goes through the builders.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.runtime import UnknownDataquery
from grafana_foundation_sdk.models import dashboard as dm

from lineside.i18n import Translator

# What deploy/grafana/provisioning/datasources/lineside.yaml provisions: the default of
# each board's datasource variable. One variable name per type: links between boards
# carry variables along, and a Prometheus uid must never land in an InfluxDB variable.
PROVISIONED = {"influxdb": ("lineside-influxdb", "lineside InfluxDB"),
               "prometheus": ("lineside-prometheus", "lineside Prometheus")}
DS_VARIABLE = {"influxdb": "datasource", "prometheus": "prometheus"}
INFLUX = dm.DataSourceRef(type_val="influxdb", uid="${datasource}")
PROM = dm.DataSourceRef(type_val="prometheus", uid="${prometheus}")
MACHINE_BOARD = ("lineside-machine", "lineside-machine")  # uid, URL slug

STATE_COLORS = {
    "producing": "green", "idle": "yellow", "starved": "orange", "blocked": "purple",
    "fault": "red", "setup": "blue", "cleaning": "light-blue", "maintenance": "dark-blue",
    "unknown": "#808080",
}


class Built(cogbuilder.Builder[Any]):
    """A model made by hand, where a builder method wants a builder."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def build(self) -> Any:
        return self.model


class Raw(cogbuilder.Builder[UnknownDataquery]):
    """A query the SDK has no model for, as Grafana stores it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def build(self) -> UnknownDataquery:
        return UnknownDataquery(dict(self.data))


def influx(query: str, ref: str = "A", fmt: str = "time_series", alias: str = "") -> Raw:
    t: dict[str, Any] = {"refId": ref, "datasource": {"type": "influxdb",
                                                      "uid": "${datasource}"},
                         "query": query, "rawQuery": True, "resultFormat": fmt}
    if alias:
        t["alias"] = alias
    return Raw(t)


def influx_each(queries: Iterable[str], fmt: str = "time_series",
                aliases: Iterable[str] | None = None) -> list[Raw]:
    """One target per query, refIds A, B, C, ... in order."""
    names = list(aliases) if aliases is not None else None
    return [influx(q, chr(ord("A") + i), fmt, names[i] if names else "")
            for i, q in enumerate(queries)]


def prom(expr: str, ref: str = "A", legend: str = "", instant: bool = False
         ) -> prometheus.Dataquery:
    q = (prometheus.Dataquery().ref_id(ref).datasource(PROM).expr(expr)
         .legend_format(legend or "__auto"))
    return q.instant() if instant else q.range()


def steps(*pairs: tuple[str, float | None]) -> db.ThresholdsConfig:
    return (db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE)
            .steps([dm.Threshold(color=c, value=v) for c, v in pairs]))


def pct_target(target: float) -> db.ThresholdsConfig:
    """Red below 85% of the target, orange up to it, green from it."""
    return steps(("red", None), ("orange", round(target * 0.85, 4)), ("green", target))


class Grid:
    """Left-to-right, top-to-bottom placement on Grafana's 24-column grid, panel ids in
    order (the SDK's own placement overflows a row instead of wrapping)."""

    def __init__(self, board: db.Dashboard) -> None:
        self.board = board
        self.x = self.y = self.row_h = 0
        self.next_id = 1

    def add(self, panel: Any, w: int, h: int) -> None:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel.id(self.next_id).grid_pos(dm.GridPos(h=h, w=w, x=self.x, y=self.y))
        self.next_id += 1
        self.board.with_panel(panel)
        self.x += w
        self.row_h = max(self.row_h, h)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.board.with_row(db.Row(title).id(self.next_id)
                            .grid_pos(dm.GridPos(h=1, w=24, x=0, y=self.y)))
        self.next_id += 1
        self.y += 1


def datasource_variable(kind: str, label: str = "Data source") -> db.DatasourceVariable:
    """Any datasource of this type, the provisioned one by default (Grafana falls back to
    its default one of the type when that is absent)."""
    uid, name = PROVISIONED[kind]
    return (db.DatasourceVariable(DS_VARIABLE[kind]).label(label).type(kind)
            .current(dm.VariableOption(selected=False, text=name, value=uid)))


def query_variable(name: str, label: str, query: str, multi: bool = True,
                   include_all: bool = True, ds: dm.DataSourceRef = INFLUX,
                   all_value: str | None = None) -> db.QueryVariable:
    v = (db.QueryVariable(name).label(label).datasource(ds).query(query)
         .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dm.VariableSort.ALPHABETICAL_ASC)
         .multi(multi).include_all(include_all))
    if all_value is not None:
        v.all_value(all_value)
    return v


def tag_variable(name: str, label: str, measurement: str, within: tuple[str, ...] = (),
                 **kw: Any) -> db.QueryVariable:
    """The values of tag `name` in `measurement`, narrowed by the variables before it
    (`within`: the filters of boards/queries.py, `"site" =~ /^$site$/`)."""
    query = f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{name}"'
    if within:
        query += " WHERE " + " AND ".join(within)
    return query_variable(name, label, query, **kw)


def names_variables(entities: dict[str, str], t: Translator) -> list[Any]:
    """The `names` switch (names or ids in legends) and, per entity (-> the measurement
    to read its tag keys from), the hidden tag key it selects: `line_name` or `line`.
    The ids value is `()` (an empty group in the key's regex): Grafana's custom
    variables have no empty value."""
    names, ids = t.pgettext("board", "names"), t.pgettext("board", "ids")
    out: list[Any] = [db.CustomVariable("names").label(t._("Legends"))
                      .values(f"{names} : _name, {ids} : ()")
                      .current(dm.VariableOption(selected=True, text=names, value="_name"))]
    for e, measurement in entities.items():
        out.append(db.QueryVariable(f"{e}_label").datasource(INFLUX)
                   .query(f'SHOW TAG KEYS FROM "{measurement}"').regex(f"/^{e}${{names}}$/")
                   .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
                   .hide(dm.VariableHide.HIDE_VARIABLE))
    return out


def board_links() -> list[db.DashboardLink]:
    return [db.DashboardLink("lineside").type(dm.DashboardLinkType.DASHBOARDS)
            .tags(["lineside"]).as_dropdown(True).include_vars(True).keep_time(True)
            .icon("external link").target_blank(False).tooltip("").url("")]


def machine_link(machine: str, line: str = "$__all", stage: str = "$__all"
                 ) -> list[Built]:
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
    return [Built(dm.DashboardLink(title=f"Machine board: {machine}", url=url,
                                   target_blank=False))]


def state_mappings(names: dict[str, str] | None = None) -> list[dm.ValueMap]:
    """Machine states coloured, shown in the board's language."""
    names = names or {}
    return [dm.ValueMap(options={s: dm.ValueMappingResult(color=c, index=i,
                                                          text=names.get(s, s))
                                 for i, (s, c) in enumerate(STATE_COLORS.items())})]


def annotation(name: str, query: str, color: str, text: str, tags: str = "") -> dm.AnnotationQuery:
    """An InfluxQL annotation: each row of `query` (table format) marks its time, with
    the `text` column as its text and `tags` as its tags."""
    target: dict[str, Any] = {"refId": "Anno", "query": query, "rawQuery": True,
                              "resultFormat": "table", "textColumn": text,
                              "fromAnnotations": True}
    if tags:
        target["tagsColumn"] = tags
    a = (db.AnnotationQuery().name(name).datasource(INFLUX).enable(True).hide(False)
         .icon_color(color).build())
    a.target = UnknownDataquery(target)  # type: ignore[assignment]
    return a


def grafana_annotations() -> dm.AnnotationQuery:
    """Grafana's own annotations and alerts, as every new board has them."""
    return (db.AnnotationQuery().name("Annotations & Alerts").built_in(1)
            .datasource(dm.DataSourceRef(type_val="grafana", uid="-- Grafana --"))
            .enable(True).hide(True).icon_color("rgba(0, 211, 255, 1)")
            .type("dashboard").build())


def field_override(name: str, **props: Any) -> Built:
    """Field config for the field (column, series) called `name`; `custom__x` sets
    `custom.x`."""
    return Built(dm.DashboardFieldConfigSourceOverrides(
        matcher=dm.MatcherConfig(id_val="byName", options=name),
        properties=[dm.DynamicConfigValue(id_val=k.replace("__", "."), value=v)
                    for k, v in props.items()]))


def pct_overrides(*names: str) -> list[Built]:
    return [field_override(n, unit="percentunit", decimals=1) for n in names]


def transformation(kind: str, options: dict[str, Any]) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=kind, options=options)


def merge_organize(rename: dict[str, str], exclude: tuple[str, ...] = ("Time",)
                   ) -> list[dm.DataTransformerConfig]:
    return [transformation("merge", {}),
            transformation("organize", {"excludeByName": dict.fromkeys(exclude, True),
                                        "renameByName": rename})]


def sort_by(field: str, desc: bool = True) -> dm.DataTransformerConfig:
    return transformation("sortBy", {"sort": [{"field": field, "desc": desc}]})


def dashboard(uid: str, title: str, description: str, variables: list[Any],
              annotations: list[dm.AnnotationQuery], time_from: str = "now-24h",
              tags: tuple[str, ...] = ("lineside",), timezone: str = "browser",
              refresh: str = "1m") -> db.Dashboard:
    """A read-only board with lineside's tag, its links to the other boards, its
    variables and annotations."""
    d = (db.Dashboard(title).uid(uid).description(description).tags(list(tags))
         .timezone(timezone).readonly().tooltip(dm.DashboardCursorSync.CROSSHAIR)
         .refresh(refresh).time(time_from, "now").links(board_links()))
    for v in variables:
        d.with_variable(v)
    for a in annotations:
        d.annotation(Built(a))
    return d

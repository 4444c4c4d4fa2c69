"""Every InfluxQL query of every provisioned dashboard, run against real InfluxDB 1.6.

The database is filled with real engine output: the simulated factory of
config/demo.yaml (with two one-hour shifts instead of its eight-hour ones, so a whole
shift closes in a few seconds of accelerated time) sampled every 2 s into the engine.
Template variables are resolved the way Grafana does: their own queries run first (so
they are tested too), multi-value selections become `(a|b)` regexes, "All" expands to
every value or to the variable's allValue.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.config.plant import Calendar, Shift, iter_machines
from lineside.engine.core import Engine
from lineside.i18n import translator
from lineside.points import Point
from lineside.samples import Quality, Sample
from lineside.simulator.factory import Factory
from lineside.sinks.lineproto import to_lines
from lineside.sinks.uplink import prepare_for_uplink

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "deploy" / "grafana" / "dashboards"
DB = "lineside_dashboards"
# The bureau's board reads what a bureau uplink delivers (sinks/uplink.py), not plant data.
BUREAU_DB = "lineside_bureau"
BOARD_DB = {"bureau.json": BUREAU_DB}
STEP_S = 2.0
SHIFTS = ("alpha", "beta")
PROVISIONED_UIDS = {"lineside-influxdb", "lineside-prometheus"}


class PlantData:
    def __init__(self, points: list[Point], t_start: float, t0: float, t_end: float) -> None:
        self.points, self.t_start, self.t0, self.t_end = points, t_start, t0, t_end

    def shift_point(self, shift: str, level: str, **tags: str) -> Point:
        found = [p for p in self.points if p.measurement == "oee_shift"
                 and p.tags.get("shift") == shift and p.tags.get("level") == level
                 and all(p.tags.get(k) == v for k, v in tags.items())]
        assert len(found) == 1, (shift, level, tags, len(found))
        return found[0]


def simulate() -> PlantData:
    cfg = load_config(ROOT / "config" / "demo.yaml")
    tz = dt.timezone(dt.timedelta(hours=0))
    # Yesterday 00:00 UTC: inside `now() - 30d` of the current-state panel, in the past.
    today = dt.datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    t0_utc = today - dt.timedelta(days=1)
    local = t0_utc.astimezone(__import__("zoneinfo").ZoneInfo(cfg.site.timezone))
    h = local.hour
    cal = Calendar(shifts=[
        Shift(name="alpha", start=dt.time(h), end=dt.time((h + 1) % 24)),
        Shift(name="beta", start=dt.time((h + 1) % 24), end=dt.time((h + 2) % 24)),
    ])
    # with the demo's operator station: the engine writes downtime_reason points
    station = yaml.safe_load((ROOT / "config" / "demo-station.yaml").read_text("utf-8"))
    cfg = LinesideConfig.model_validate({**cfg.model_dump(), "calendar": cal.model_dump(),
                                         "station": station})
    t0 = t0_utc.timestamp()
    t_start, t_end = t0 - 600, t0 + 2 * 3600 + 180
    factory = Factory.from_config(cfg, seed=11, start_ts=t_start)
    engine = Engine(cfg, t_start)
    points: list[Point] = []
    t = t_start
    while t < t_end:
        t += STEP_S
        factory.advance(t)
        points += engine.feed([Sample(k, v, Quality.GOOD, t)
                               for k, v in factory.values().items()])
        points += engine.tick(t)
    return PlantData(points, t_start, t0, t_end)


@pytest.fixture(scope="module")
def plant(influxdb1) -> tuple[object, PlantData]:
    data = simulate()
    site = load_config(ROOT / "config" / "demo.yaml").site
    bureau = prepare_for_uplink(data.points, site.enterprise_id, site.region)
    for db, points in ((DB, data.points), (BUREAU_DB, bureau)):
        influxdb1.create_db(db)
        lines = to_lines(points)
        for i in range(0, len(lines), 20000):
            body = ("\n".join(lines[i:i + 20000]) + "\n").encode()
            req = urllib.request.Request(f"{influxdb1.url}/write?db={db}&precision=ns", body,
                                         method="POST")
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 204
    return influxdb1, data


# ------------------------------------------------------------------ Grafana emulation
def load_boards() -> dict[str, dict]:
    return {p.name: json.loads(p.read_text()) for p in sorted(BOARDS.glob("*.json"))}


def is_influx(ds: object, board: dict) -> bool:
    if not isinstance(ds, dict):
        return False
    if ds.get("type") == "influxdb":
        return True
    uid = str(ds.get("uid", ""))
    return uid.startswith("$") and any(v["type"] == "datasource" and v.get("query") == "influxdb"
                                       for v in board["templating"]["list"])


def influx_targets(board: dict) -> list[tuple[str, dict]]:
    out = []

    def walk(panels: list[dict]) -> None:
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                ds = t.get("datasource") or p.get("datasource")
                if is_influx(ds, board) and t.get("query"):
                    out.append((f"{p['title']} [{t['refId']}]", t))

    walk(board["panels"])
    return out


def regex_escape(v: str) -> str:
    # what Grafana's InfluxDB datasource does for regex-interpolated values
    return re.sub(r"([\\/^$.|?*+()\[\]{}])", r"\\\1", v)


def fmt_values(values: list[str]) -> str:
    vals = [regex_escape(v) for v in values]
    return vals[0] if len(vals) == 1 else "(" + "|".join(vals) + ")"


def interpolate(q: str, variables: dict[str, str], t_from: float, t_to: float,
                interval: str = "1m") -> str:
    q = q.replace("$timeFilter", f"time >= {int(t_from * 1000)}ms and time <= {int(t_to * 1000)}ms")
    q = q.replace("$__interval", interval)
    for name in sorted(variables, key=len, reverse=True):
        q = q.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    assert "$" not in q.replace("$/", "").replace("^$", ""), f"unresolved variable in {q}"
    return q


def custom_options(query: str) -> dict[str, str]:
    """A custom variable's options, text -> value, parsed as Grafana parses them."""
    out = {}
    for text in re.findall(r"(?:\\,|[^,])+", query):
        m = re.match(r"^\s*(.+)\s:\s(.+)$", text.replace("\\,", ","))
        out[(m[1] if m else text).strip()] = (m[2] if m else text).strip()
    return out


def variable_regex(regex: str) -> re.Pattern[str] | None:
    """A variable's `/.../` filter as Python's regex (Grafana applies it to each value)."""
    return re.compile(regex[1:regex.rindex("/")]) if regex else None


def resolve_variables(board: dict, ifx, mode: str, db: str = DB,
                      names: str = "names") -> dict[str, str]:
    """mode 'all': every value (or allValue); 'first': the first value of each; `names`:
    the option of the names-or-ids switch."""
    resolved: dict[str, str] = {}
    for v in board["templating"]["list"]:
        if v["type"] == "datasource":
            continue
        if v["type"] == "custom":
            options = custom_options(v["query"])
            values = list(options.values())
            if v["name"] == "names":  # its texts are in the board's language
                assert values == ["_name", "()"], options
                resolved["names"] = values[0] if names == "names" else values[1]
            else:
                resolved[v["name"]] = values[0]
            continue
        if v["type"] in ("constant", "textbox"):
            resolved[v["name"]] = str(v.get("query", ""))
            continue
        assert v["type"] == "query", v
        if not is_influx(v.get("datasource"), board):
            continue
        q = v["query"] if isinstance(v["query"], str) else v["query"]["query"]
        q = interpolate(q, resolved, 0, 0)
        rows = ifx.query(q, db=db)
        keep = variable_regex(interpolate(v.get("regex") or "", resolved, 0, 0))
        values = sorted({r[-1] for s in rows for r in s["values"]
                         if keep is None or keep.search(r[-1])})
        assert values, f"variable {v['name']}: {q} returned nothing"
        if v["name"].endswith("_label"):  # the tag key a legend shows: one, never All
            assert len(values) == 1, (v["name"], values)
            resolved[v["name"]] = values[0]
            continue
        if mode == "all" and v.get("includeAll"):
            resolved[v["name"]] = v.get("allValue") or fmt_values(values)
        else:
            resolved[v["name"]] = fmt_values(values[:1])
    return resolved


def non_null(series: list[dict]) -> list:
    return [x for s in series for row in s["values"] for x in row[1:] if x is not None]


BOARD_FILES = sorted(p.name for p in BOARDS.glob("*.json"))
INFLUX_BOARDS = [n for n in BOARD_FILES if influx_targets(json.loads((BOARDS / n).read_text()))]


def test_dashboards_are_generated_and_current():
    res = subprocess.run([sys.executable, str(ROOT / "deploy" / "grafana" / "build_dashboards.py"),
                          "--check"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert {"plant-overview.json", "machine.json", "agent-health.json"} <= set(BOARD_FILES)


@pytest.mark.parametrize("name", BOARD_FILES)
def test_dashboard_structure(name):
    board = json.loads((BOARDS / name).read_text())
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    assert board.get("uid") and board.get("title")
    if name in ("plant-overview.json", "machine.json"):
        names = {v["name"] for v in board["templating"]["list"]}
        assert names >= {"site", "line", "stage", "machine", "shift"}


def datasource_refs(node: object, where: str = "$") -> list[tuple[str, dict]]:
    """Every `datasource` reference in a board: panels, queries, variables."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "datasource" and isinstance(v, dict):
                found.append((where, v))
            else:
                found += datasource_refs(v, f"{where}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += datasource_refs(v, f"{where}[{i}]")
    return found


@pytest.mark.parametrize("name", BOARD_FILES)
def test_no_fixed_datasource_uid(name):
    """Every reference goes through the board's one datasource variable, so the board
    imports into a Grafana whose datasources have other uids; its default is the
    provisioned datasource, so the provisioned set-up needs no click."""
    board = json.loads((BOARDS / name).read_text())
    ds_vars = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert len(ds_vars) == 1
    var, kind = ds_vars[0]["name"], ds_vars[0]["query"]
    refs = datasource_refs(board["panels"]) + datasource_refs(board["templating"]["list"])
    assert len(refs) > 10
    fixed = [(w, r) for w, r in refs if r.get("uid") != f"${{{var}}}" or r["type"] != kind]
    assert not fixed, fixed
    default = ds_vars[0].get("current", {}).get("value")
    assert default in (*PROVISIONED_UIDS, None)
    if default is not None:  # the uid provisioning gives the datasource of this type
        provisioned = (ROOT / "deploy" / "grafana" / "provisioning" / "datasources"
                       / "lineside.yaml").read_text()
        assert re.search(rf"uid: {default}\n\s+type: {kind}\n", provisioned), default


def test_one_datasource_variable_name_per_type():
    """Links between boards carry their variables along: a variable name must mean the
    same datasource type on every board, or a Prometheus uid lands in an InfluxDB
    variable."""
    seen: dict[str, set[str]] = {}
    for board in load_boards().values():
        for v in board["templating"]["list"]:
            if v["type"] == "datasource":
                seen.setdefault(v["name"], set()).add(v["query"])
    assert seen and all(len(kinds) == 1 for kinds in seen.values()), seen


@pytest.mark.parametrize(("mode", "names"), [("all", "names"), ("first", "names"),
                                             ("all", "ids")])
@pytest.mark.parametrize("name", INFLUX_BOARDS)
def test_every_query_returns_data(plant, name, mode, names):
    """'all': every query returns data; 'first' (one site/line/stage/machine/shift):
    every panel does (a panel may split a selection between queries, e.g. automated and
    manual stages). With names or ids in the legends."""
    ifx, data = plant
    board = json.loads((BOARDS / name).read_text())
    db = BOARD_DB.get(name, DB)
    variables = resolve_variables(board, ifx, mode, db, names)
    errors: list[str] = []
    with_data: dict[str, list[bool]] = {}
    queries: dict[str, str] = {}
    for title, target in influx_targets(board):
        q = interpolate(target["query"], variables, data.t_start, data.t_end)
        queries[title] = q
        try:
            series = ifx.query(q, db=db)
        except RuntimeError as e:
            errors.append(f"{title}: {e}")
            continue
        with_data.setdefault(title.rsplit(" [", 1)[0], []).append(bool(non_null(series)))
        if mode == "all" and not non_null(series):
            errors.append(f"no data: {title}: {q}")
    if mode == "first":
        errors += [f"panel without data: {panel}" for panel, ok in with_data.items()
                   if not any(ok)]
    assert len(queries) >= 5
    assert not errors, "\n".join(errors)


def legend_tag(alias: str, variables: dict[str, str]) -> str | None:
    """The tag a `$tag_...` alias names once Grafana has put the variables in."""
    for name, value in variables.items():
        alias = alias.replace(f"${{{name}}}", value)
    m = re.fullmatch(r"\$tag_(\S+)(?: .*)?", alias)
    return m[1] if m else None


@pytest.mark.parametrize("names", ["names", "ids"])
@pytest.mark.parametrize("name", INFLUX_BOARDS)
def test_legends_show_names_or_ids(plant, name, names):
    """Every legend names its series by a tag the series has: the configured name in
    "names" mode (卤牛肉 for the demo's braised-beef line), the id in "ids" mode."""
    ifx, data = plant
    board = json.loads((BOARDS / name).read_text())
    db = BOARD_DB.get(name, DB)
    variables = resolve_variables(board, ifx, "all", db, names)
    cfg = load_config(ROOT / "config" / "demo.yaml")
    configured = {ln.id: ln.name for ln in cfg.lines} | {
        pm.machine.id: pm.machine.name for pm in iter_machines(cfg.lines)} | {
        c.id: c.name for c in cfg.ccps} | {cfg.site.enterprise_id: cfg.site.enterprise_name}
    checked = 0
    for title, target in influx_targets(board):
        tag = legend_tag(target.get("alias", ""), variables)
        if tag is None or tag == "signal":
            continue
        series = ifx.query(interpolate(target["query"], variables, data.t_start,
                                       data.t_end), db=db)
        assert series, title
        for s_ in series:
            shown = (s_.get("tags") or {}).get(tag)
            assert shown, (title, tag, s_.get("tags"))
            entity = tag.removesuffix("_name")
            ident = s_["tags"][entity]
            want = configured.get(ident) or ident if names == "names" else ident
            if entity in ("line", "machine", "ccp", "enterprise"):
                assert shown == want, (title, s_["tags"])
        checked += 1
    assert checked >= {"bureau.json": 1, "machine.json": 1}.get(name, 2), checked
    if name == "plant-overview.json" and names == "names":
        q = interpolate(panel_target(name, "OEE per line")["query"], variables,
                        data.t_start, data.t_end)
        assert "Braised beef (卤牛肉)" in {r["line_name"] for r in ifx.rows(q, db=DB)}


@pytest.mark.parametrize("name", INFLUX_BOARDS)
def test_annotation_queries_return_rows(plant, name):
    """Shifts and CCP deviations marked on the boards: each annotation query runs and
    finds its events in the simulated plant, with the text column it names."""
    ifx, data = plant
    board = json.loads((BOARDS / name).read_text())
    db = BOARD_DB.get(name, DB)
    variables = resolve_variables(board, ifx, "all", db)
    annotations = [a for a in board["annotations"]["list"]
                   if a.get("datasource", {}).get("type") == "influxdb"]
    if name == "bureau.json":
        assert not annotations
        return
    assert {a["name"] for a in annotations} >= {TR.pgettext("board", "CCP deviations")}
    for a in annotations:
        t = a["target"]
        rows = ifx.rows(interpolate(t["query"], variables, data.t_start, data.t_end), db=db)
        assert rows, a["name"]
        text = interpolate(t["textColumn"], variables, 0, 0)
        assert all(r.get(text) for r in rows), (a["name"], text, rows[:2])


TR = translator(load_config(ROOT / "config" / "demo.yaml").site.locale)


def shown(title: str) -> str:
    """A panel's English title as the committed boards (the demo's locale) show it; a
    percentage in it is the target the title was formatted with."""
    m = re.fullmatch(r"(.*?)(\d+(?:\.\d+)?%)(.*)", title)
    if m:
        return TR._(f"{m[1]}{{target}}{m[3]}").format(target=m[2])
    return TR._(title)


def panel_target(board: str, title: str, ref: str = "A") -> dict:
    b = json.loads((BOARDS / board).read_text())
    for p in b["panels"]:
        if p["title"] == shown(title):
            return next(t for t in p["targets"] if t["refId"] == ref)
    raise KeyError(title)


def plant_vars(ifx, **override: str) -> dict[str, str]:
    board = json.loads((BOARDS / "plant-overview.json").read_text())
    v = resolve_variables(board, ifx, "all")
    v.update({k: regex_escape(x) for k, x in override.items()})
    return v


@pytest.mark.parametrize("shift", SHIFTS)
def test_shift_oee_panels_equal_engine_shift_totals(plant, shift):
    ifx, data = plant
    engine_site = data.shift_point(shift, "site")
    start = engine_site.ts_ns / 1e9
    want = engine_site.fields["oee"]
    assert 0 < want < 1.5

    # the shift table reads oee_shift
    q = interpolate(panel_target("plant-overview.json", "Site OEE per shift")["query"],
                    plant_vars(ifx, shift=shift), data.t_start, data.t_end)
    rows = ifx.rows(q, db=DB)
    assert len(rows) == 1 and rows[0]["shift"] == shift
    assert rows[0]["OEE"] == pytest.approx(want, rel=1e-9)

    # the OEE stat over exactly the shift sums the 60 s buckets: the same number
    q = interpolate(panel_target("plant-overview.json", "OEE")["query"], plant_vars(ifx),
                    start, start + 3600 - 0.001)
    (row,) = ifx.rows(q, db=DB)
    assert row["OEE"] == pytest.approx(want, rel=1e-6)

    # per line, both panels against the engine's line totals
    lines_q = panel_target("plant-overview.json", "Shift table per line")["query"]
    per_line = {r["line"]: r["OEE"] for r in ifx.rows(
        interpolate(lines_q, plant_vars(ifx, shift=shift), data.t_start, data.t_end), db=DB)}
    bars_q = panel_target("plant-overview.json", "OEE per line")["query"]
    bars = {r["line"]: r["OEE"] for r in ifx.rows(
        interpolate(bars_q, plant_vars(ifx), start, start + 3600 - 0.001), db=DB)}
    engine_lines = {p.tags["line"]: p.fields.get("oee") for p in data.points
                    if p.measurement == "oee_shift" and p.tags.get("shift") == shift
                    and p.tags.get("level") == "line"}
    assert engine_lines and set(per_line) == {k for k, v in engine_lines.items() if v is not None}
    for line, oee in per_line.items():
        assert oee == pytest.approx(engine_lines[line], rel=1e-9), line
        assert bars[line] == pytest.approx(engine_lines[line], rel=1e-6), line


def test_machine_panel_equals_engine_machine_shift_total(plant):
    ifx, data = plant
    shift_pts = [p for p in data.points if p.measurement == "oee_shift"
                 and p.tags.get("shift") == "alpha" and p.tags.get("level") == "machine"
                 and p.fields.get("availability") is not None]
    target = shift_pts[0]
    board = json.loads((BOARDS / "machine.json").read_text())
    v = resolve_variables(board, ifx, "all")
    v["machine"] = regex_escape(target.tags["machine"])
    start = target.ts_ns / 1e9
    for title, field in (("Availability", "availability"), ("OEE", "oee")):
        q = interpolate(panel_target("machine.json", title)["query"], v, start,
                        start + 3600 - 0.001)
        (row,) = ifx.rows(q, db=DB)
        assert row[title] == pytest.approx(target.fields[field], rel=1e-6), title


def test_ratio_with_nothing_planned_is_absent_not_zero(plant):
    """Before the first shift nothing is scheduled: the OEE stat shows no value."""
    ifx, data = plant
    q = panel_target("plant-overview.json", "OEE")["query"]
    before = interpolate(q, plant_vars(ifx), data.t_start, data.t0 - 0.001)
    assert ifx.query(before, db=DB) == []
    # while the data exists: the denominator is summed to 0 there
    raw = ifx.rows(f"SELECT sum(\"planned_busy_s\") AS d, count(\"planned_busy_s\") AS n "
                   f"FROM \"oee\" WHERE \"level\" = 'site' AND time >= {int(data.t_start)}s "
                   f"AND time < {int(data.t0)}s", db=DB)
    assert raw and raw[0]["d"] == 0 and raw[0]["n"] > 0


def test_ratio_is_not_a_mean_of_bucket_ratios(plant):
    """Sum-then-divide differs from the mean of per-bucket OEE; the panel does the former."""
    ifx, data = plant
    start, end = data.t0, data.t0 + 2 * 3600 - 0.001
    q = interpolate(panel_target("plant-overview.json", "OEE")["query"], plant_vars(ifx),
                    start, end)
    (panel_row,) = ifx.rows(q, db=DB)
    site = [p for p in data.points if p.measurement == "oee" and p.tags.get("level") == "site"
            and start * 1e9 <= p.ts_ns <= end * 1e9]
    summed = (sum(p.fields["ideal_good_s"] for p in site)
              / sum(p.fields["planned_busy_s"] for p in site))
    assert panel_row["OEE"] == pytest.approx(summed, rel=1e-9)


# ------------------------------------------------------------------ data links
def link_panels(board: dict) -> list[dict]:
    return [p for p in board["panels"] if p.get("fieldConfig", {}).get("defaults", {})
            .get("links")]


def grafana_link(url: str, variables: dict[str, list[str]], fields: dict[str, str],
                 t_from_ms: int, t_to_ms: int) -> str:
    """A data link URL the way Grafana fills it in for one row or series."""
    def sub(m: re.Match[str]) -> str:
        expr = m.group(1)
        if expr == "__url_time_range":
            return f"from={t_from_ms}&to={t_to_ms}"
        if expr.startswith(("__data.fields.", "__field.labels.")):
            return urllib.parse.quote(fields[expr.rsplit(".", 1)[1]])
        name, _, fmt = expr.partition(":")
        assert fmt == "queryparam", expr
        return "&".join(f"var-{name}={urllib.parse.quote(v)}" for v in variables[name])

    out = re.sub(r"\$\{([^}]+)\}", sub, url)
    assert "${" not in out, out
    return out


def test_plant_rows_and_state_timeline_link_to_the_machine_board(plant):
    """Each link, filled in from a real row of its panel, opens the machine board on that
    machine over the same time range, with variables the machine board has and a machine
    its own variable query offers."""
    import urllib.parse

    ifx, data = plant
    boards = {b["uid"]: b for b in load_boards().values()}
    plant_board = boards["lineside-plant"]
    panels = link_panels(plant_board)
    assert {p["title"] for p in panels} >= {shown("Current state of every machine"),
                                            shown("State timeline"),
                                            shown("Small stops per machine")}
    t_from, t_to = int(data.t_start * 1000), int(data.t_end * 1000)
    plant_values = resolve_variables(plant_board, ifx, "all")
    checked = 0
    for p in panels:
        (target,) = p["targets"]
        series = ifx.query(interpolate(target["query"], plant_values, data.t_start,
                                       data.t_end), db=DB)
        assert series, p["title"]
        for link in p["fieldConfig"]["defaults"]["links"]:
            for s in series[:3]:
                # table rows see tags as fields; a series sees them as labels
                fields = dict(s.get("tags") or {})
                url = grafana_link(link["url"], {"site": ["$__all"],
                                                 "datasource": ["my-influx"]},
                                   fields, t_from, t_to)
                parsed = urllib.parse.urlsplit(url)
                uid = parsed.path.split("/")[2]
                assert uid == "lineside-machine", url
                params = urllib.parse.parse_qs(parsed.query)
                assert params["from"] == [str(t_from)] and params["to"] == [str(t_to)]
                target_board = boards[uid]
                names = {v["name"] for v in target_board["templating"]["list"]}
                given = {k[4:]: v for k, v in params.items() if k.startswith("var-")}
                assert set(given) <= names, (url, set(given) - names)
                assert given["machine"] == [fields["machine"]]
                assert given["datasource"] == ["my-influx"]  # the one the user picked
                # the machine board's own variables, resolved with what the link sets
                chosen = {k: (".*" if v == ["$__all"] else fmt_values(v))
                          for k, v in given.items() if k not in ("machine", "datasource")}
                offered = machine_options(target_board, ifx, chosen)
                assert fields["machine"] in offered, (url, offered)
                checked += 1
    assert checked >= 6


def machine_options(board: dict, ifx, chosen: dict[str, str]) -> list[str]:
    resolved: dict[str, str] = {}
    for v in board["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = interpolate(v["query"], resolved, 0, 0)
        values = sorted({r[1] for s in ifx.query(q, db=DB) for r in s["values"]})
        if v["name"] == "machine":
            return values
        resolved[v["name"]] = chosen.get(v["name"], fmt_values(values[:1]))
    raise AssertionError("no machine variable")

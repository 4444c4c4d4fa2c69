"""End to end: three simulated enterprises → uplinks → a real InfluxDB 1.6 → the report.

- cd-beef-01 (config/bureau-examples/above-target.yaml): automatic equipment, above 60%;
- ms-dumpling-02 (below-target.yaml): mechanized and manual stages, below 60%;
- ls-dairy-03 (silent.yaml): registered, sends nothing: listed as missing.

Each runs simulator → engine → SinkSet (its bureau sink: influxdb-v1, a user with WRITE
only) for two simulated hours; the bureau InfluxDB runs with authentication. The report
(custom period = the second hour, previous = the first) must equal the figures computed
by docs/design.md's formulas from each engine's own points (all levels, before the uplink),
every bureau dashboard query must return data, and nothing but allowed aggregates may
reach the bureau database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from lineside import report as report_pkg
from lineside.cli import report as cli
from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.samples import Quality, Sample
from lineside.simulator.factory import Factory
from lineside.sinks.settings import InfluxV1Sink
from lineside.sinks.sinkset import SinkSet
from lineside.sinks.uplink import (
    UPLINK_AUTOMATION_TAG_KEYS,
    UPLINK_MEASUREMENTS,
    UPLINK_TAG_KEYS,
)
from tests.fixtures.influxdb import InfluxDB1

pytestmark = [pytest.mark.server, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "bureau-examples"
REGISTRY = EXAMPLES / "registry.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "bureau.json"

T0 = int(dt.datetime(2026, 11, 24, 2, 30, tzinfo=dt.UTC).timestamp())  # 10:30 Shanghai
HOUR = 3600
P_FROM, P_TO = T0 + HOUR, T0 + 2 * HOUR  # the report's period; the previous is the 1st hour
ADMIN = ("admin", "admin-pw")
READER = ("bureau_reader", "reader-pw")
ROGUE = ("xx-rogue-99", "rogue-pw")  # registered nowhere, has WRITE


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def influxql(url: str, q: str, auth: tuple[str, str] | None, db: str | None = None
             ) -> dict:
    """POST /query; returns the first statement's result (raises on HTTP errors)."""
    params = {"q": q}
    if db:
        params["db"] = db
    req = urllib.request.Request(f"{url}/query", data=urllib.parse.urlencode(params).encode(),
                                 method="POST")
    if auth:
        req.add_header("Authorization",
                       "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    with urllib.request.urlopen(req, timeout=30) as r:
        res = json.loads(r.read())["results"][0]
    if "error" in res:
        raise RuntimeError(f"{q!r}: {res['error']}")
    return res


@dataclass
class Enterprise:
    cfg: LinesideConfig
    points: list[Point]  # everything its engine emitted, all levels


@dataclass
class World:
    url: str
    ents: dict[str, Enterprise]
    registry: Path


def _simulate(cfg: LinesideConfig, seed: int) -> list[Point]:
    fac = Factory.from_config(cfg, seed, T0)
    eng = Engine(cfg, T0)
    pts: list[Point] = []
    for t in range(T0 + 1, T0 + 2 * HOUR + 1):  # a 1 s poll, as the agent's default
        fac.advance(t)
        pts += eng.feed([Sample(k, v, Quality.GOOD, float(t))
                         for k, v in fac.values().items()])
        pts += eng.tick(t)
    return pts


# Points no bureau may ever receive, offered to the uplink on top of the real ones.
def _forbidden(eid: str) -> list[Point]:
    ts = (T0 + 90) * 10**9
    base = {"enterprise": eid, "site": "x"}
    return [
        Point("automation", {**base, "machine": "dice1"}, {"run_s": 1.0}, ts),
        Point("automation", {**base, "level": "machine"}, {"run_s": 1.0}, ts),
        Point("automation", {**base, "level": "enterprise"}, {"note": "secret recipe"}, ts),
        Point("oee", {**base, "line": "L1", "stage": "dice", "level": "stage"},
              {"run_s": 1.0}, ts),
        Point("oee", {**base, "line": "L1", "machine": "dice1", "level": "line"},
              {"run_s": 1.0}, ts),
        Point("recipe", {**base, "level": "site"}, {"salt_g": 12.0}, ts),
        Point("signal", {**base, "signal": "kettle1.broth_temp"}, {"value": 92.5}, ts),
        Point("machine_state", {**base, "machine": "dice1"}, {"state": "fault"}, ts),
    ]


async def _deliver(cfg: LinesideConfig, points: list[Point], identity: tuple[str, str]
                   ) -> None:
    sinks = SinkSet(cfg.sinks, cfg.state_dir, identity=identity)
    try:
        for i in range(0, len(points), 2000):  # as the agent: many small enqueues
            sinks.enqueue(points[i:i + 2000])
        assert await sinks.flush(60), "the uplink did not drain within 60 s"
    finally:
        await sinks.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    base = tmp_path_factory.mktemp("bureau-e2e")
    srv = InfluxDB1(base / "influx")
    conf = Path(srv.argv[-1])
    conf.write_text(conf.read_text().replace("auth-enabled = false", "auth-enabled = true"))
    srv.start()
    try:
        url = srv.url
        # With auth on and no user yet, only creating the first admin is allowed.
        influxql(url, f"CREATE USER {ADMIN[0]} WITH PASSWORD '{ADMIN[1]}' "
                      "WITH ALL PRIVILEGES", None)
        for stmt in ('CREATE DATABASE "bureau"', 'CREATE DATABASE "plant"',
                     f"CREATE USER \"{READER[0]}\" WITH PASSWORD '{READER[1]}'",
                     f'GRANT READ ON "bureau" TO "{READER[0]}"',
                     f"CREATE USER \"{ROGUE[0]}\" WITH PASSWORD '{ROGUE[1]}'",
                     f'GRANT WRITE ON "bureau" TO "{ROGUE[0]}"'):
            influxql(url, stmt, ADMIN)
        ents: dict[str, Enterprise] = {}
        for i, (name, seed) in enumerate((("above-target", 11), ("below-target", 12),
                                          ("silent", 13))):
            cfg = load_config(EXAMPLES / f"{name}.yaml")
            eid = cfg.site.enterprise_id
            pw_env = f"LINESIDE_TEST_BUREAU_PW_{i}"
            os.environ[pw_env] = f"pw-{eid}"
            influxql(url, f"CREATE USER \"{eid}\" WITH PASSWORD 'pw-{eid}'", ADMIN)
            influxql(url, f'GRANT WRITE ON "bureau" TO "{eid}"', ADMIN)
            sinks = []
            for s in cfg.sinks:
                if s.role == "bureau":
                    sinks.append(s.model_copy(update={"url": url, "password_env": pw_env}))
                elif i == 0:  # the first one also has a plant InfluxDB: it gets everything
                    os.environ["LINESIDE_TEST_PLANT_PW"] = ADMIN[1]
                    sinks.append(InfluxV1Sink(type="influxdb-v1", id="plant", url=url,
                                              database="plant", username=ADMIN[0],
                                              password_env="LINESIDE_TEST_PLANT_PW"))
                else:
                    sinks.append(s)
            cfg = cfg.model_copy(update={"sinks": sinks, "state_dir": base / eid})
            if name == "silent":  # registered, configured, but its gateway never sends
                ents[eid] = Enterprise(cfg, [])
                continue
            pts = _simulate(cfg, seed)
            offered = pts + (_forbidden(eid) if i == 0 else [])
            asyncio.run(_deliver(cfg, offered, (eid, cfg.site.region)))
            ents[eid] = Enterprise(cfg, pts)
        # a gateway writing under an id the bureau never registered
        req = urllib.request.Request(
            f"{url}/write?db=bureau&precision=s",
            data=(f"automation,enterprise={ROGUE[0]},region=999999,site=s1,line=L1,stage=c,"
                  f"stage_kind=cutting,level=stage run_s=60,auto_run_s=60,run_ideal_units=60,"
                  f"auto_ideal_units=60,weight=1,line_planned_busy_s=60 {P_FROM + 60}"
                  ).encode(), method="POST")
        req.add_header("Authorization", "Basic " + base64.b64encode(
            f"{ROGUE[0]}:{ROGUE[1]}".encode()).decode())
        urllib.request.urlopen(req, timeout=10).close()
        yield World(url, ents, REGISTRY)
    finally:
        srv.stop()


# --------------------------------------------------------------------- expectations


def _in(p: Point, lo: int, hi: int) -> bool:
    return lo * 10**9 <= p.ts_ns < hi * 10**9


def engine_figures(e: Enterprise, lo: int, hi: int) -> dict:
    """docs/design.md's formulas applied to the engine's own machine/stage/line totals."""
    cfg = e.cfg
    mach: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])  # auto_iu, run_iu
    line_tot: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    line_run_all: dict[str, float] = defaultdict(float)
    dig: list[float] = []
    for p in e.points:
        if not _in(p, lo, hi):
            continue
        lvl = p.tags.get("level")
        if p.measurement == "oee" and lvl == "machine":
            m = mach[p.tags["machine"]]
            m[0] += float(p.fields["auto_ideal_units"])
            m[1] += float(p.fields["run_ideal_units"])
            line_run_all[p.tags["line"]] += float(p.fields["run_s"])
        elif p.measurement == "oee" and lvl == "line":
            for k in ("planned_busy_s", "counted_planned_busy_s", "ideal_good_s",
                      "good_count"):
                line_tot[p.tags["line"]][k] += float(p.fields[k])
        elif p.measurement == "automation" and lvl == "stage":
            dig.append(float(p.fields["digitized"]))
    def rate_of(kind: str | None) -> float | None:
        """The enterprise rule over its stages (of `kind` only, when given)."""
        num_e = den_e = 0.0
        for line in cfg.lines:
            num = den = 0.0
            for st in line.stages:
                if kind is not None and st.kind != kind:
                    continue
                if st.manual and not st.machines:
                    r = 0.0 if line_run_all[line.id] > 0 else None
                else:
                    a = sum(mach[m.id][0] for m in st.machines)
                    w = sum(mach[m.id][1] for m in st.machines)
                    r = a / w if w > 0 else None
                if r is not None:
                    num += st.weight * r
                    den += st.weight
            pbt = line_tot[line.id]["planned_busy_s"]
            if den and pbt > 0:
                num_e += num / den * pbt
                den_e += pbt
        return num_e / den_e if den_e else None

    kinds = {st.kind for line in cfg.lines for st in line.stages}
    tot_pbt = sum(v["planned_busy_s"] for v in line_tot.values())
    return {
        "rate": rate_of(None),
        "kinds": {k: rate_of(k) for k in kinds if rate_of(k) is not None},
        "oee": (sum(v["ideal_good_s"] for v in line_tot.values())
                / sum(v["counted_planned_busy_s"] for v in line_tot.values())),
        "good": sum(v["good_count"] for v in line_tot.values()),
        "pbt": tot_pbt,
        "digitized": sum(dig) / len(dig),
    }


def _report(world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict:
    os.environ["LINESIDE_TEST_READER_PW"] = READER[1]
    p = argparse.ArgumentParser()
    cli.add_arguments(p)
    args = p.parse_args([
        "--registry", str(world.registry), "--url", world.url, "--db", "bureau",
        "--user", READER[0], "--password-env", "LINESIDE_TEST_READER_PW",
        "--from", _iso(P_FROM), "--to", _iso(P_TO), "--tz", "Asia/Shanghai",
        "--format", "json", "--html", str(tmp_path / "r.html"), "--csv",
        str(tmp_path / "r.csv")])
    assert cli.run(args) == 0
    return json.loads(capsys.readouterr().out)


# --------------------------------------------------------------------------- tests


def test_report_equals_engine_totals(world: World, capsys, tmp_path: Path):
    rep = _report(world, capsys, tmp_path)
    by_id = {e["id"]: e for e in rep["enterprises"]}
    approx = {"rel": 1e-6, "abs": 1e-6}  # fields are rounded to 6 decimals on the wire
    for eid, ent in world.ents.items():
        got = by_id[eid]
        if not ent.points:
            assert got["status"] == "missing" and got["automation_rate"] is None
            assert got["meets_target"] is None
            continue
        exp = engine_figures(ent, P_FROM, P_TO)
        prev = engine_figures(ent, T0, P_FROM)
        assert got["status"] == "reporting"
        assert got["automation_rate"] == pytest.approx(exp["rate"], **approx), eid
        assert got["previous_rate"] == pytest.approx(prev["rate"], **approx), eid
        assert got["oee"] == pytest.approx(exp["oee"], **approx), eid
        assert got["good_count"] == pytest.approx(exp["good"], **approx), eid
        assert got["planned_busy_s"] == pytest.approx(exp["pbt"], **approx), eid
        assert got["digitized"] == pytest.approx(exp["digitized"], **approx), eid
        assert set(got["stage_kinds"]) == set(exp["kinds"]), eid
        for k, r in exp["kinds"].items():
            assert got["stage_kinds"][k]["rate"] == pytest.approx(r, **approx), (eid, k)
    above, below = by_id["cd-beef-01"], by_id["ms-dumpling-02"]
    assert above["meets_target"] is True and above["automation_rate"] > 0.6
    assert below["meets_target"] is False and below["automation_rate"] < 0.6
    d = rep["district"]
    assert (d["registered"], d["reporting"], d["missing"], d["meeting"]) == (3, 2, 1, 1)
    # the JSON report carries 6 decimals: compare at that precision
    assert d["mean_rate"] == pytest.approx(
        (above["automation_rate"] + below["automation_rate"]) / 2, abs=2e-6)
    assert d["weighted_rate"] == pytest.approx(
        (above["automation_rate"] * above["good_count"]
         + below["automation_rate"] * below["good_count"])
        / (above["good_count"] + below["good_count"]), abs=2e-6)
    assert {"thawing", "mixing", "other"} <= {h["kind"] for h in d["hold_backs"]}
    # the rogue writer is flagged, kept out of the district figures
    assert any(ROGUE[0] in f and "not in the registry" in f for f in rep["flags"])
    assert by_id[ROGUE[0]]["status"] == "unregistered"
    schema = json.loads((Path(report_pkg.__file__).parent / "schema.json").read_text())
    try:
        import jsonschema
    except ImportError:  # not a runtime dependency; test_render says so when missing
        jsonschema = None
    if jsonschema is not None:
        jsonschema.validate(rep, schema)
    # the other outputs were written too
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2 and "成都川味卤牛肉有限公司" in page
    assert "ms-dumpling-02" in (tmp_path / "r.csv").read_text(encoding="utf-8")


def test_only_allowed_aggregates_reach_the_bureau(world: World):
    """Whatever was offered (real points of every level + forged ones), the bureau
    database holds only automation and line/site oee, with allowed tags and no text."""
    url = world.url
    meas = {v[0] for s in influxql(url, "SHOW MEASUREMENTS", ADMIN, "bureau")["series"]
            for v in s["values"]}
    assert meas <= UPLINK_MEASUREMENTS and "automation" in meas and "oee" in meas
    assert "oee_shift" in meas  # ms-dumpling-02's shift a closed at 12:00
    for m in meas:
        keys = {v[0] for s in influxql(url, f'SHOW TAG KEYS FROM "{m}"', ADMIN,
                                       "bureau")["series"] for v in s["values"]}
        allowed = UPLINK_AUTOMATION_TAG_KEYS if m == "automation" else UPLINK_TAG_KEYS
        assert keys <= allowed, (m, keys - allowed)
        fields = influxql(url, f'SHOW FIELD KEYS FROM "{m}"', ADMIN, "bureau")["series"]
        assert fields, m
        assert all(v[1] != "string" for s in fields for v in s["values"]), m
    for m in ("oee", "oee_shift"):
        levels = {v[1] for s in influxql(url, f'SHOW TAG VALUES FROM "{m}" WITH KEY = '
                                              '"level"', ADMIN, "bureau")["series"]
                  for v in s["values"]}
        assert levels <= {"line", "site"}, (m, levels)
    # every uplink point carries its enterprise's registered identity
    regions = influxql(url, 'SHOW TAG VALUES FROM "oee" WITH KEY = "region"', ADMIN,
                       "bureau")["series"]
    assert {v[1] for s in regions for v in s["values"]} == {"510116", "511402"}
    # ... while the plant database of the same enterprise received the detail
    plant = {v[0] for s in influxql(url, "SHOW MEASUREMENTS", ADMIN, "plant")["series"]
             for v in s["values"]}
    assert {"signal", "machine_state", "oee", "automation"} <= plant


def test_enterprise_credentials_cannot_read(world: World):
    eid = "cd-beef-01"
    with pytest.raises((urllib.error.HTTPError, RuntimeError)) as ei:
        influxql(world.url, "SELECT * FROM automation LIMIT 1", (eid, f"pw-{eid}"), "bureau")
    msg = str(ei.value)
    if isinstance(ei.value, urllib.error.HTTPError):
        msg += ei.value.read().decode()
    assert "not authorized" in msg or "403" in msg


def _dashboard_queries() -> list[tuple[str, str]]:
    d = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    out = [(f"variable {v['name']}", v["query"]) for v in d["templating"]["list"]
           if v.get("type") == "query"]
    for p in d["panels"]:
        for t in p.get("targets", []):
            out.append((p["title"], t["query"]))
    return out


def _substitute(q: str) -> str:
    tf = f"time >= {P_FROM}s AND time < {P_TO}s"
    q = q.replace("$timeFilter", tf).replace("$region", ".*").replace("$enterprise", ".*")
    assert not re.search(r"\$[A-Za-z_{]", q), q  # every variable substituted
    return q


def test_every_dashboard_query_returns_data(world: World):
    queries = _dashboard_queries()
    assert len(queries) >= 10
    empty = []
    for title, q in queries:
        res = influxql(world.url, _substitute(q), READER, "bureau")
        first = 0 if q.startswith("SHOW TAG KEYS") else 1  # no time column: tag keys only
        vals = [v for s in res.get("series", []) for row in s["values"] for v in row[first:]
                if v is not None]
        if not vals:
            empty.append(title)
    assert not empty, f"panels without data: {empty}"


def test_dashboard_matches_the_report(world: World, capsys, tmp_path: Path):
    """The dashboard's rate and heat map equal the report's (one rebuild rule)."""
    rep = {e["id"]: e for e in _report(world, capsys, tmp_path)["enterprises"]}
    queries = dict(_dashboard_queries())
    rate_q = next(q for t, q in queries.items() if "vs 60%" in t)
    heat_q = next(q for t, q in queries.items() if "heat map" in t)
    for s in influxql(world.url, _substitute(rate_q), READER, "bureau")["series"]:
        eid = s["tags"]["enterprise"]
        if eid in rep and rep[eid]["automation_rate"] is not None:
            assert s["values"][0][1] == pytest.approx(rep[eid]["automation_rate"], rel=1e-6)
    n = 0
    for s in influxql(world.url, _substitute(heat_q), READER, "bureau")["series"]:
        eid, kind = s["tags"]["enterprise"], s["tags"]["stage_kind"]
        if eid in rep and rep[eid]["status"] == "reporting":
            assert s["values"][0][1] == pytest.approx(
                rep[eid]["stage_kinds"][kind]["rate"], rel=1e-6, abs=1e-9), (eid, kind)
            n += 1
    assert n >= 7
    assert re.search(r"GROUP BY time\(1d, -8h\)", "\n".join(queries.values()))

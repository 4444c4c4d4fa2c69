"""One automation rate and one OEE wherever they are read (docs/design.md, "Rebuilding
the figures"), against real InfluxDB 1.6.

A hypothesis property builds small random plants — repeated stage kinds, manual stages,
weights, parallel machines with different ideal rates, automatic machines with and
without an auto/manual switch, lines without counters — runs the engine over random
sample streams, writes its points to InfluxDB (the plant database, and what the bureau
uplink lets through), and checks that the engine's shift figures, `lineside report`'s
and the dashboard panels' agree to 1e-6: over the whole shift and over an arbitrary
sub-range (the engine's figure for the sub-range comes from a second engine whose shift
is that sub-range: the buckets inside it are the same). The same plant split by line
across two agents, writing into one database, must give the same figures.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.config.models import LinesideConfig
from lineside.engine import rollup
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.report.aggregate import build_report
from lineside.report.data import Period, Registered
from lineside.report.query import Source, load_rows
from lineside.report.render import to_dict
from lineside.samples import Quality, Sample
from lineside.sinks.lineproto import to_lines
from lineside.sinks.uplink import prepare_for_uplink
from tests.bureau.sample import english_csv
from tests.deploy.test_dashboards import shown
from tests.engine.plant import MON, at

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
BOARDS = ROOT / "deploy" / "grafana" / "dashboards"
STEP_S = 5.0
SHIFT = ("08:00", "08:30")
TOL = 1e-6
REG = [Registered("ent1", "Test Foods", "510114")]
_db_ids = itertools.count()


# ------------------------------------------------------------------------ plants
@st.composite
def plants(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Lines of 1-4 stages; kinds from three so they repeat; ~1 stage in 4 by hand."""
    lines = []
    n_machines = 0
    for li in range(draw(st.integers(1, 3))):
        counters = draw(st.booleans())
        stages = []
        for si in range(draw(st.integers(1, 4))):
            stage: dict[str, Any] = {
                "id": f"S{si}", "name": f"工段 {si}",  # names ride beside (design.md)
                "kind": draw(st.sampled_from(["cutting", "frying", "packaging"])),
                "weight": draw(st.sampled_from([0.5, 1.0, 2.0])),
            }
            if draw(st.integers(0, 3)) == 0:
                stage["manual"] = True
            else:
                ms = []
                for _ in range(draw(st.integers(1, 2))):
                    auto = draw(st.sampled_from(["automatic", "automatic", "mechanized",
                                                 "manual"]))
                    sig = ["running"]
                    if auto == "automatic" and draw(st.booleans()):
                        sig.append("auto_mode")
                    if counters:
                        sig.append("good")
                    ms.append({"id": f"M{n_machines}", "name": f"和面机{n_machines}",
                               "automation": auto,
                               "ideal_rate": draw(st.sampled_from([30, 60, 90, 120])),
                               "source": "plc1", "state": {"map": "signals"},
                               "signals": {s: {"address": i} for i, s in enumerate(sig)}})
                    n_machines += 1
                stage["machines"] = ms
            stages.append(stage)
        lines.append({"id": f"L{li}", "name": f"卤牛肉 {li}", "stages": stages})
    return lines


def config(lines: list[dict[str, Any]], shift: tuple[str, str] = SHIFT,
           gateway: str | None = None) -> LinesideConfig:
    site: dict[str, Any] = {"enterprise_id": "ent1", "enterprise_name": "Test Foods",
                            "site_id": "s1", "region": "510114"}
    if gateway:
        site["gateway_id"] = gateway
    return LinesideConfig(
        site=site, devices=[{"id": "plc1", "type": "modbus-tcp", "host": "127.0.0.1"}],
        lines=lines, calendar={"shifts": [{"name": "A", "start": shift[0],
                                           "end": shift[1]}]})


def streams(lines: list[dict[str, Any]], seed: int) -> list[tuple[float, list[Sample]]]:
    """Every machine's signals polled every STEP_S from 07:59 to 08:31: runs and stops,
    auto and manual spells, units at up to 120% of the ideal rate."""
    rnd = random.Random(seed)
    ms = [m for ln in lines for s in ln["stages"] for m in s.get("machines", [])]
    state = {m["id"]: [rnd.random() < 0.6, rnd.random() < 0.6, 0] for m in ms}
    out = []
    t = at("07:59")
    while t <= at("08:31"):
        batch = []
        for m in ms:
            run, auto, good = state[m["id"]]
            if rnd.random() < 0.12:
                run = not run
            if rnd.random() < 0.08:
                auto = not auto
            if run:
                good += rnd.randint(0, int(m["ideal_rate"] * STEP_S / 60 * 1.2))
            state[m["id"]] = [run, auto, good]
            vals = {"running": run, "auto_mode": auto, "good": good}
            batch += [Sample(f"{m['id']}.{k}", vals[k], Quality.GOOD, t)
                      for k in m["signals"]]
        out.append((t, batch))
        t += STEP_S
    return out


def run(cfg: LinesideConfig, batches: list[tuple[float, list[Sample]]]) -> list[Point]:
    eng = Engine(cfg, at("07:59"))
    pts: list[Point] = []
    for t, b in batches:
        pts += eng.feed(b)
        pts += eng.tick(t)
    return pts + eng.tick(at("08:31") + 60)


# ------------------------------------------------------------------ the figures
@dataclass
class Figures:
    site_rate: float | None
    site_oee: float | None
    site_perf: float | None = None
    lines: dict[str, float] = field(default_factory=dict)  # line -> automation rate
    stages: dict[tuple[str, str], float] = field(default_factory=dict)  # -> automation rate
    line_oee: dict[str, float] = field(default_factory=dict)
    kinds: dict[str, float] = field(default_factory=dict)  # stage kind -> rate


def _field(points: list[Point], level: str, name: str, *key: str) -> dict:
    return {(p.tags[key[0]] if len(key) == 1 else tuple(p.tags[k] for k in key)):
            p.fields[name] for p in points
            if p.tags["level"] == level and name in p.fields}


def engine_figures(points: list[Point], lines: list[dict[str, Any]]) -> Figures:
    """The engine's shift figures; a stage kind's rate is the enterprise rule applied to
    the engine's own shift figures of that kind's stages (the engine states none)."""
    shift = [p for p in points if p.measurement == "oee_shift"]
    (site,) = [p.fields for p in shift if p.tags["level"] == "site"]
    stages = _field(shift, "stage", "automation_rate", "line", "stage")
    pbt = _field(shift, "line", "planned_busy_s", "line")
    kinds = {}
    for k in {sg["kind"] for ln in lines for sg in ln["stages"]}:
        r = rollup.site_rate((pbt[ln["id"]], rollup.line_rate(
            (sg["weight"], stages.get((ln["id"], sg["id"]))) for sg in ln["stages"]
            if sg["kind"] == k)) for ln in lines)
        if r is not None:
            kinds[k] = r
    return Figures(
        site.get("automation_rate"), site.get("oee"), site.get("performance"),  # type: ignore[arg-type]
        _field(shift, "line", "automation_rate", "line"), stages,
        _field(shift, "line", "oee", "line"), kinds)


def write(ifx, db: str, points: list[Point]) -> None:
    ifx.create_db(db)
    body = ("\n".join(to_lines(points)) + "\n").encode()
    req = urllib.request.Request(f"{ifx.url}/write?db={db}&precision=ns", body, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204


def report_figures(ifx, db: str, lo: float, hi: float
                   ) -> tuple[Figures, dict[str, float | None]]:
    """The report's figures, and the site rate and OEE as its JSON and CSV print them."""
    period = Period("custom", dt.datetime.fromtimestamp(lo, dt.UTC),
                    dt.datetime.fromtimestamp(hi, dt.UTC))
    rows = load_rows(Source(ifx.url, db), period)
    rep = build_report(REG, rows, [], period, period)
    (e,) = rep.enterprises
    js = to_dict(rep)["enterprises"][0]
    row = next(r for r in english_csv(rep) if r["Enterprise ID"] == "ent1")
    rate, oee = row["Automation rate (%)"], row["OEE (%)"]  # percent, 4 decimals
    printed = {"JSON rate": js["automation_rate"], "JSON OEE": js["oee"],
               "CSV rate": float(rate) / 100 if rate else None,
               "CSV OEE": float(oee) / 100 if oee else None}
    return Figures(e.automation_rate, e.oee,
                   lines={lf.line: lf.rate for lf in e.lines if lf.rate is not None},
                   kinds={k: kf.rate for k, kf in e.kinds.items() if kf.rate is not None}
                   ), printed


def panel_query(board: str, title: str, ref: str = "A") -> str:
    b = json.loads((BOARDS / board).read_text())
    p = next(p for p in b["panels"] if p["title"] == shown(title))
    return next(t for t in p["targets"] if t["refId"] == ref)["query"]


def run_panel(ifx, db: str, q: str, lo: float, hi: float) -> list[dict]:
    """Grafana's substitutions: every variable 'All', the range [lo, hi) as
    $timeFilter (inclusive end, so hi - 1 ms), one interval covering the range."""
    q = q.replace("$timeFilter", f"time >= {int(lo * 1000)}ms and time <= "
                                 f"{int(hi * 1000) - 1}ms")
    q = q.replace("$__interval", "1d")
    for var in ("site", "line", "stage", "machine", "shift", "region", "enterprise"):
        q = q.replace(f"${var}", ".*")
    return ifx.rows(q, db=db)


def only(rows: list[dict], col: str) -> float | None:
    assert len(rows) <= 1, rows
    return rows[0][col] if rows else None


def dashboard_figures(ifx, plant_db: str, bureau_db: str, lo: float, hi: float,
                      whole_shift: bool) -> list[tuple[str, Figures]]:
    p, b = "plant-overview.json", "bureau.json"

    def q(title: str, db: str = plant_db, board: str = p, ref: str = "A") -> list[dict]:
        return run_panel(ifx, db, panel_query(board, title, ref), lo, hi)

    out = [("plant dashboard", Figures(
        only(q("Automation rate (target 60%)"), "Automation"), only(q("OEE"), "OEE"),
        only(q("Performance"), "Performance"),
        {r["line"]: r["automation"] for r in q("Automation rate per line against 60%")},
        {(r["line"], r["stage"]): r["automation"]
         for r in q("Automation rate per stage (target 60%)")},
        {r["line"]: r["OEE"] for r in q("OEE per line")}))]
    if whole_shift:  # the shift tables read the oee_shift points, dated at shift start
        out.append(("plant shift tables", Figures(
            None, only(q("Site OEE per shift"), "OEE"),
            lines={r["line"]: r["automation rate"]
                   for r in q("Shift table per line", ref="C")
                   if r["automation rate"] is not None})))
    daily = q("自动化率走势 / Daily automation rate", bureau_db, b)
    out.append(("bureau dashboard", Figures(
        only(q("企业自动化率与60%目标 / Automation rate per enterprise vs 60%", bureau_db, b),
             "rate"),
        only(q("设备综合效率 / OEE per enterprise", bureau_db, b), "oee"),
        kinds={r["stage_kind"]: r["rate"]
               for r in q("环节热力图 / Stage-kind heat map", bureau_db, b)})))
    out.append(("bureau district cards", Figures(
        only(q("平均自动化率 / District mean rate", bureau_db, b), "mean"), None)))
    out.append(("bureau daily trend", Figures(only(daily, "rate"), None)))
    return out


def close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL


def _same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(close(a[k], b[k]) for k in a)


# What each reader shows (the report and the bureau board have no performance, ...).
SHOWS = {"lineside report": ("site_rate", "site_oee", "lines", "kinds"),
         "plant dashboard": ("site_rate", "site_oee", "site_perf", "lines", "stages",
                             "line_oee"),
         "plant shift tables": ("site_oee", "lines"),
         "bureau dashboard": ("site_rate", "site_oee", "kinds"),
         "bureau district cards": ("site_rate",),
         "bureau daily trend": ("site_rate",)}


def check(name: str, want: Figures, got: Figures) -> list[str]:
    errs = []
    for f in SHOWS[name]:
        w, g = getattr(want, f), getattr(got, f)
        if not (_same(w, g) if isinstance(w, dict) else close(w, g)):
            errs.append(f"{name}: {f} {g} != engine {w}")
    return errs


# ------------------------------------------------------------------ the property
def _has_machines(lines: list[dict[str, Any]]) -> bool:
    return any(sg.get("machines") for ln in lines for sg in ln["stages"])


def _split(lines: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    k = max(1, len(lines) // 2)
    return [lines[:k], lines[k:]] if len(lines) > 1 else [lines]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=plants().filter(_has_machines), seed=st.integers(0, 2**32 - 1),
       sub=st.tuples(st.integers(0, 29), st.integers(1, 30)).filter(lambda t: t[0] < t[1]))
def test_engine_report_and_dashboards_agree(influxdb1, lines, seed, sub):
    batches = streams(lines, seed)
    whole = run(config(lines), batches)
    a, b = sub
    sub_shift = (f"08:{a:02d}", f"08:{b:02d}")
    ranges = {"shift": (engine_figures(whole, lines), at("08:00"), at("08:30")),
              f"sub-range {sub_shift}": (engine_figures(run(config(lines, sub_shift),
                                                                batches), lines),
                                         at(sub_shift[0]), at(sub_shift[1]))}
    split = [run(config(part), batches) for part in _split(lines)]
    dbs = []
    errors: list[str] = []
    try:
        for label, parts in (("one agent", [whole]), ("agents split by line", split)):
            n = next(_db_ids)
            plant_db, bureau_db = f"rebuild_{n}", f"rebuild_{n}_bureau"
            dbs += [plant_db, bureau_db]
            write(ifx := influxdb1, plant_db, [p for pts in parts for p in pts])
            write(ifx, bureau_db, [p for pts in parts
                                   for p in prepare_for_uplink(pts, "ent1", "510114")])
            for rname, (want, lo, hi) in ranges.items():
                rep, printed = report_figures(ifx, bureau_db, lo, hi)
                found = [("lineside report", rep),
                         *dashboard_figures(ifx, plant_db, bureau_db, lo, hi,
                                            rname == "shift")]
                for name, got in found:
                    errors += [f"{label}, {rname}: {e}" for e in check(name, want, got)]
                for what, v in printed.items():
                    w = want.site_rate if what.endswith("rate") else want.site_oee
                    if not close(v, w):
                        errors.append(f"{label}, {rname}: report {what} {v} != engine {w}")
    finally:
        for db in dbs:
            influxdb1.query(f'DROP DATABASE "{db}"', post=True)
    assert not errors, "\n".join(errors)
    # the engine's agents each wrote their own site-level series (tag gateway)
    if len(split) > 1:
        gws = {p.tags["gateway"] for pts in split for p in pts
               if p.measurement == "oee_shift" and p.tags["level"] == "site"}
        assert len(gws) == 2


def test_shift_figures_are_not_the_old_readers_numbers():
    """The issue's line: six stages, two cutting stages, a manual packaging stage beside
    an equipped one. Worked by hand over one hour (ideal rate 60/min everywhere, every
    machine producing the whole hour; automatic share per stage: wash 1, cut1 0.5, cut2
    1, fry 0.8, pack 0.2, plate by hand 0): the line rate is 3.5 / 6 = 0.5833, not a
    mean over kinds (0.6875) nor of time shares per kind."""
    def m(mid: str) -> dict[str, Any]:
        return {"id": mid, "automation": "automatic", "ideal_rate": 60, "source": "plc1",
                "state": {"map": "signals"},
                "signals": {"running": {"address": 0}, "auto_mode": {"address": 1}}}
    stages = [("wash", "cleaning", 1.0), ("cut1", "cutting", 0.5), ("cut2", "cutting", 1.0),
              ("fry", "frying", 0.8), ("pack", "packaging", 0.2)]
    line = {"id": "L1", "stages": [{"id": s, "kind": k, "machines": [m(f"M{s}")]}
                                   for s, k, _ in stages]
            + [{"id": "plate", "kind": "packaging", "manual": True}]}
    cfg = config([line], ("08:00", "09:00"))
    samples = []
    t = at("08:00")
    while t < at("09:00"):
        for s, _, share in stages:
            samples += [Sample(f"M{s}.running", True, Quality.GOOD, t),
                        Sample(f"M{s}.auto_mode", (t - MON - 8 * 3600) < share * 3600,
                               Quality.GOOD, t)]
        t += STEP_S
    eng = Engine(cfg, at("08:00"))
    pts = eng.feed(samples) + eng.tick(at("09:00") + 1)
    (ln,) = [p for p in pts if p.measurement == "oee_shift" and p.tags["level"] == "line"]
    assert ln.fields["automation_rate"] == pytest.approx(3.5 / 6, abs=1e-9)
    stage_pts = [p for p in pts if p.measurement == "automation" and p.tags["level"] == "stage"]
    assert {p.tags["stage"] for p in stage_pts} == {"wash", "cut1", "cut2", "fry", "pack",
                                                     "plate"}

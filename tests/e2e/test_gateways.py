"""One plant across two gateways (docs/design.md, "One plant, several gateways").

The simulated factory runs under two `lineside run` processes — lines L1, L2 on one
(gateway id left to its default, the first line's id), L3, L4 on the other (gateway id
`hall-b`) — writing to one plant database and, through their bureau uplinks, to one
bureau database; and at the same time under one `lineside run` with every line, into
databases of its own. Buckets are 10 s so a few close in well under a minute; all of
them run on simulated time, SPEED times the real clock (LINESIDE_CLOCK): the times below
are simulated ones.

- the two agents never overwrite each other: every bucket has one site-level point per
  gateway;
- in each set-up, the site / enterprise figures over a range are the same (1e-6) in the
  report, the bureau dashboard and the plant dashboard; over one bucket they equal the
  engine's own enterprise and site points of the single agent;
- the two set-ups give the same figures. They poll the simulator at their own instants,
  so a state change can land up to one poll interval (1 s) apart: the rates may differ
  by that jitter, never by a factor (double counting would double the output).
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from lineside.config.loader import load_config
from tests.bureau.test_rebuild import panel_query, run_panel
from tests.e2e.agent_proc import (
    CLI,
    Proc,
    SimTime,
    demo_data,
    http_get,
    metric,
    start_simulator,
)
from tests.fixtures.common import free_port, wait_for

pytestmark = [pytest.mark.server]

SPEED = 4.0  # three agents on the demo plant: 4 polls of every device a second each
BUCKET_S = 10
SPLIT = {"g1": (["L1", "L2"], None), "g2": (["L3", "L4", "L5"], "hall-b"),
         "one": (["L1", "L2", "L3", "L4", "L5"], None)}
DBS = {"g1": "gw_two", "g2": "gw_two", "one": "gw_one"}
TOL = 1e-6
# Two set-ups polling at different instants (see module doc): a few points of rate
JITTER = 0.05


def _agent(tmp: Path, name: str, mb: int, ua: int, influx: str, env: dict[str, str]
           ) -> tuple[Proc, str]:
    lines, gateway = SPLIT[name]
    d = tmp / name
    d.mkdir()
    db = DBS[name]
    data = demo_data(d, mb, ua, [
        {"id": "plant", "type": "influxdb-v1", "url": influx, "database": db,
         "flush_interval_s": 0.5},
        {"id": "bureau", "type": "influxdb-v1", "role": "bureau", "url": influx,
         "database": f"{db}_bureau", "flush_interval_s": 0.5}],
        http={"listen": f"127.0.0.1:{free_port()}"})
    data["metrics"]["bucket_s"] = BUCKET_S
    data["lines"] = [ln for ln in data["lines"] if ln["id"] in lines]
    used = {m["source"] for ln in data["lines"] for st in ln["stages"]
            for m in st.get("machines", [])}
    data["devices"] = [dv for dv in data["devices"] if dv["id"] in used]
    # what names another gateway's lines or machines stays with that gateway
    kept = {m["id"] for ln in data["lines"] for st in ln["stages"]
            for m in st.get("machines", [])}
    cal = data.get("calendar", {})
    cal["planned_downtime"] = [w for w in cal.get("planned_downtime", [])
                               if not w.get("lines") or set(w["lines"]) <= set(lines)]
    data["ccps"] = [c for c in data.get("ccps", []) if c["machine"] in kept]
    if gateway:
        data["site"]["gateway_id"] = gateway
    path = d / "agent.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    load_config(path)
    proc = Proc([*CLI, "run", str(path)], d / "agent.log", env=env).start()
    return proc, f"http://{data['http']['listen']}/metrics"


def _report(tmp: Path, influx: str, db: str, lo: float, hi: float) -> dict:
    cfg = load_config(tmp / "one" / "agent.yaml")
    reg = tmp / "registry.yaml"
    reg.write_text(yaml.safe_dump({"enterprises": [{
        "id": cfg.site.enterprise_id, "name": cfg.site.enterprise_name,
        "region": cfg.site.region}]}, allow_unicode=True))
    iso = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) for t in (lo, hi)]
    res = subprocess.run([*CLI, "report", "--registry", str(reg), "--url", influx, "--db",
                          db, "--from", iso[0], "--to", iso[1], "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    (e,) = json.loads(res.stdout)["enterprises"]
    return e


def _figures(ifx, tmp: Path, db: str, lo: float, hi: float) -> dict[str, dict]:
    """Rate, OEE and output of the site over [lo, hi), as each reader shows them."""
    rep = _report(tmp, ifx.url, f"{db}_bureau", lo, hi)

    def one(board: str, title: str, col: str, d: str) -> float | None:
        rows = run_panel(ifx, d, panel_query(board, title), lo, hi)
        assert len(rows) <= 1, rows
        return rows[0][col] if rows else None

    b, p = "bureau.json", "plant-overview.json"
    return {
        "report": {"rate": rep["automation_rate"], "oee": rep["oee"],
                   "good": rep["good_count"]},
        "bureau dashboard": {
            "rate": one(b, "企业自动化率与60%目标 / Automation rate per enterprise vs 60%",
                        "rate", f"{db}_bureau"),
            "oee": one(b, "设备综合效率 / OEE per enterprise", "oee", f"{db}_bureau"),
            "good": one(b, "产量 / Output (good units)", "sum", f"{db}_bureau")},
        "plant dashboard": {
            "rate": one(p, "Automation rate (target 60%)", "Automation", db),
            "oee": one(p, "OEE", "OEE", db), "good": one(p, "Output", "good", db)},
    }


def _agree(figs: dict[str, dict], tol: float) -> list[str]:
    ref = figs["report"]
    errs = []
    for reader, f in figs.items():
        for k, v in f.items():
            if ref[k] is None or v is None or not math.isclose(v, ref[k], abs_tol=tol):
                errs.append(f"{reader} {k} = {v}, report {ref[k]}")
    return errs


def test_two_gateways_give_the_figures_of_one(tmp_path: Path, influxdb1) -> None:
    for db in ("gw_two", "gw_one"):
        influxdb1.create_db(db)
        influxdb1.create_db(f"{db}_bureau")
    clock = SimTime(SPEED)
    sim, mb, ua = start_simulator(tmp_path, env=clock.env)
    agents: dict[str, tuple[Proc, str]] = {}
    try:
        for name in SPLIT:
            agents[name] = _agent(tmp_path, name, mb, ua, influxdb1.url, clock.env)
        for name, (_proc, url) in agents.items():
            wait_for(lambda u=url: (metric(http_get(u)[1], "lineside_engine_samples_total")
                                    or 0) > 0, timeout=40, what=f"agent {name} polling")
        # one whole bucket after every agent polls, then three to compare
        lo = (math.floor(clock.wall() / BUCKET_S) + 2) * BUCKET_S
        hi = lo + 3 * BUCKET_S
        while clock.wall() < hi + 3:  # the bucket grace for in-flight polls
            time.sleep(0.2)
            for proc, _ in agents.values():
                assert proc.proc is not None and proc.proc.poll() is None, \
                    proc.output()[-2000:]
        for proc, _ in agents.values():
            proc.signal(signal.SIGTERM)
        for name, (proc, _) in agents.items():
            assert proc.wait(timeout=30) == 0, (name, proc.output()[-2000:])
    finally:
        for proc, _ in agents.values():
            proc.stop()
        sim.stop()

    # never overwritten: one site-level series per gateway, a point each per bucket
    rng = f"time >= {lo}s AND time < {hi}s"
    for db, gws in (("gw_two", {"L1", "hall-b"}), ("gw_one", {"L1"})):
        rows = influxdb1.rows(f"SELECT count(\"run_s\") AS n FROM \"oee\" WHERE "
                              f"\"level\" = 'site' AND {rng} GROUP BY \"gateway\"", db=db)
        assert {r["gateway"] for r in rows} == gws, db
        assert all(r["n"] == 3 for r in rows), rows
        ent = influxdb1.rows(f"SELECT count(\"run_s\") AS n FROM \"automation\" WHERE "
                             f"\"level\" = 'enterprise' AND {rng} GROUP BY \"gateway\"",
                             db=f"{db}_bureau")
        assert {r["gateway"] for r in ent} == gws and all(r["n"] == 3 for r in ent), ent

    figs = {db: _figures(influxdb1, tmp_path, db, lo, hi) for db in ("gw_two", "gw_one")}
    # within a set-up: every reader the same figures
    for db, f in figs.items():
        errs = _agree(f, TOL)
        assert not errs, (db, errs)
    # across set-ups: the same plant, polled at other instants
    two, one = figs["gw_two"]["report"], figs["gw_one"]["report"]
    assert one["rate"] is not None and 0 < one["rate"] < 1
    assert abs(two["rate"] - one["rate"]) <= JITTER, (two, one)
    assert abs(two["oee"] - one["oee"]) <= JITTER, (two, one)
    assert one["good"] > 0 and abs(two["good"] / one["good"] - 1) <= 0.15, (two, one)

    # over one bucket the single agent's own enterprise and site points say the same
    for b in range(lo, hi, BUCKET_S):
        (ent,) = influxdb1.rows(f"SELECT \"automation_rate\" FROM \"automation\" WHERE "
                                f"\"level\" = 'enterprise' AND time = {b}s", db="gw_one")
        (site,) = influxdb1.rows(f"SELECT \"oee\" FROM \"oee\" WHERE \"level\" = 'site' "
                                 f"AND time = {b}s", db="gw_one")
        f = _figures(influxdb1, tmp_path, "gw_one", b, b + BUCKET_S)
        assert not _agree(f, TOL)
        assert f["report"]["rate"] == pytest.approx(ent["automation_rate"], abs=TOL)
        assert f["report"]["oee"] == pytest.approx(site["oee"], abs=TOL)

"""Lots and deviations end to end (issue 27): a Modbus PLC scripted with batch numbers
changing on a timeline and a pasteurizer's holding temperature dropping below its limit
three times, the real `lineside run` polling it and writing to InfluxDB 1.6, then the
corrective actions, dispositions and verifications entered with `lineside haccp
action|dispose|verify-action`. The PLC script, the agent and its records run on
simulated time, SPEED times the wall clock (LINESIDE_CLOCK, CONTRIBUTING.md).

The test computes each deviation's affected lots from its own script and the margins
(docs/lots.md: the lots that ran at some instant of [start - before, end + after]), with
two simulated seconds (two thirds of a real one) between any scripted change and a
window's edge so that polling cannot move a lot across it, and asserts that InfluxDB
holds exactly those `ccp_lot` records; that the entries appear in `lineside haccp` and
`lineside lot`; and that one of them altered in the database makes `lineside haccp
verify` exit 1 naming it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineside.config.loader import load_config
from lineside.haccp.record import parse_points
from lineside.points import Point
from lineside.station.users import UserStore
from tests.e2e.agent_proc import CLI, Proc, SimTime
from tests.e2e.hostile_peers import ModbusPlc
from tests.fixtures.common import free_port, wait_for
from tests.haccp.test_influx import write

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(150)]

SPEED = 3.0
# The script, in simulated seconds after its start: batch numbers and the spells below
# 72 °C.
LOTS = [(0.0, 1001), (10.0, 1002), (20.0, 1003)]
LOW = [(3.0, 5.0), (8.0, 12.0), (23.0, 24.0)]
BEFORE, AFTER = 5.0, 2.0  # the CCP's lot margins
END = 27.0  # the last window's end (24 + AFTER) and a little
CLEAR = 2.0  # simulated seconds between a scripted change and a window's edge


def expected_lots() -> list[set[str]]:
    """Per scripted deviation, the lots whose span meets its widened window."""
    spans = [(a, LOTS[i + 1][0] if i + 1 < len(LOTS) else None, str(lot))
             for i, (a, lot) in enumerate(LOTS)]
    out = []
    for a, b in LOW:
        lo, hi = a - BEFORE, b + AFTER
        out.append({lot for s, e, lot in spans if s <= hi and (e is None or e > lo)})
    return out


def test_expected_lots_of_the_script() -> None:
    # what the script was written for: a deviation inside one lot, one spanning a lot
    # change, one whose margin before pulls in the lot before
    assert expected_lots() == [{"1001"}, {"1001", "1002"}, {"1002", "1003"}]
    edges = [t for t, _ in LOTS[1:]]
    for a, b in LOW:  # every scripted change a second or more from a window's edge
        assert all(abs(t - x) >= CLEAR for t in edges for x in (a - BEFORE, b + AFTER))


def plant(tmp: Path, plc_port: int, influx: str, db: str) -> tuple[Path, dict[str, Any]]:
    d: dict[str, Any] = {
        "site": {"enterprise_id": "e1", "enterprise_name": "Dairy", "site_id": "s1",
                 "region": "510114", "timezone": "UTC", "locale": "en"},
        "state_dir": str(tmp / "state"),
        "http": {"listen": f"127.0.0.1:{free_port()}"},
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1",
                     "port": plc_port, "interval_s": 0.5, "timeout_s": 1.5}],
        "calendar": {"shifts": [{"name": "day", "start": "00:00", "end": "23:59"}]},
        "lines": [{"id": "L1", "stages": [{"id": "S1", "kind": "heating", "machines": [
            {"id": "past", "name": "Pasteurizer", "automation": "automatic",
             "ideal_rate": 60, "source": "plc", "lot_signal": "batch",
             "signals": {"running": {"table": "coil", "address": 0, "type": "bool"},
                         "hold_temp": {"address": 0, "type": "int16", "scale": 0.1},
                         "batch": {"address": 2, "type": "uint32"}}}]}]}],
        "ccps": [{"id": "hold", "name": "Holding tube", "kind": "pasteurization",
                  "hazard": "survival of pathogens below 72 °C", "machine": "past",
                  "signal": "hold_temp", "unit": "°C", "critical": {"min": 72.0},
                  "min_duration_s": 0, "monitoring_interval_s": 20,
                  "lot_margin_before_s": BEFORE, "lot_margin_after_s": AFTER}],
        "corrective_actions": [{"id": "reprocess", "name": "Held and re-pasteurized"}],
        "sinks": [{"id": "plant", "type": "influxdb-v1", "url": influx, "database": db,
                   "flush_interval_s": 0.2}],
    }
    path = tmp / "plant.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), "utf-8")
    load_config(path)
    return path, d


def cli(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=None if password is None else password + "\n",
                          capture_output=True, text=True, timeout=60)


def records(influx: Any, db: str, measurement: str) -> list[Any]:
    q = urllib.parse.urlencode({"db": db, "epoch": "ns",
                                "q": f'SELECT * FROM "{measurement}" GROUP BY *'})
    with urllib.request.urlopen(f"{influx.url}/query?{q}", timeout=10) as r:
        return parse_points(json.loads(r.read()))


async def play(plc: ModbusPlc, clock: SimTime, t0: float) -> None:
    """The script from simulated t0 on: batch numbers and the holding temperature, each
    at its simulated time."""
    events = sorted([(t, "batch", lot) for t, lot in LOTS[1:]]
                    + [(a, "temp", 70.0) for a, _ in LOW] + [(b, "temp", 74.0) for _, b in LOW])
    for t, what, v in events:
        await asyncio.sleep(max(0.0, clock.clock.real_at(t0 + t) - time.time()))
        if what == "batch":
            plc.set("holding", 2, v, "uint32")
        else:
            plc.set("holding", 0, round(v * 10), "int16")


async def test_scripted_lots_and_deviations_through_lineside_run(tmp_path: Path,
                                                                 influxdb1: Any) -> None:
    db = f"lots_run_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    plc = await ModbusPlc(free_port()).start()
    plc.set("coil", 0, True)
    plc.set("holding", 0, 740, "int16")  # 74.0 °C
    plc.set("holding", 2, LOTS[0][1], "uint32")
    cfg_path, _ = plant(tmp_path, plc.port, influxdb1.url, db)
    users = UserStore(tmp_path / "state")
    users.add("wang", "qa", "wang-password")  # a QA user too: the author rule, not the role
    users.add("chen", "qa", "chen-password")
    clock = SimTime(SPEED)
    agent = Proc([*CLI, "run", str(cfg_path)], tmp_path / "agent.log", env=clock.env).start()
    try:
        def lot_started() -> bool:
            return bool(influxdb1.rows('SELECT * FROM "lot" WHERE "lot" = \'1001\'', db=db))

        await asyncio.to_thread(wait_for, lot_started, timeout=30, what="the first lot")
        t0 = clock.wall() + 1.5
        await play(plc, clock, t0)
        await asyncio.sleep(max(0.0, clock.clock.real_at(t0 + END) - time.time()))

        def lots_by_deviation() -> dict[int, set[str]]:
            out: dict[int, set[str]] = {}
            for r in records(influxdb1, db, "ccp_lot"):
                out.setdefault(int(r.fields["deviation_start_ns"]), set()).add(r.tags["lot"])
            return out

        want = expected_lots()
        await asyncio.to_thread(
            wait_for, lambda: sum(map(len, lots_by_deviation().values())) >= sum(map(len, want)),
            timeout=20, what="the ccp_lot records")
        got = lots_by_deviation()
        devs = sorted(got)
        # each recorded deviation is a scripted one (its start within a poll or two)
        assert [round(s / 1e9 - t0, 1) for s in devs] == pytest.approx(
            [a for a, _ in LOW], abs=CLEAR - 0.5)
        assert [got[s] for s in devs] == want
        starts = {r.ts_ns for r in records(influxdb1, db, "ccp_deviation")
                  if r.tags["event"] == "start"}
        assert starts == set(devs)  # no other deviation, e.g. a loss of monitoring
        d1, d2, d3 = (f"s1:hold:limit:{s}" for s in devs)

        # -- entries, as a person enters them: two rounds (an action before its check;
        # the refusals are tests/lots')
        def entry(*args: str, by: str) -> subprocess.CompletedProcess[str]:
            return cli("haccp", *args, "--config", str(cfg_path), "--by", by,
                       "--password-stdin", password=f"{by}-password")

        first = await asyncio.gather(*(asyncio.to_thread(entry, *a, by="wang") for a in (
            ("action", "--deviation", d1, "--corrective", "reprocess", "--text", "re-run"),
            ("action", "--deviation", d2, "--corrective", "reprocess"),
            ("dispose", "--deviation", d2, "--lot", "1001", "--disposition", "hold"),
            ("dispose", "--deviation", d2, "--lot", "1002", "--disposition", "release",
             "--justification", "lab test negative"),
            ("dispose", "--deviation", d3, "--lot", "1003", "--disposition", "rework"))))
        assert [p.returncode for p in first] == [0] * 5, [p.stderr for p in first]
        second = entry("verify-action", "--deviation", d2, "--text", "checked", by="chen")
        assert second.returncode == 0, second.stderr

        await asyncio.to_thread(wait_for, lambda: len(records(influxdb1, db, "ccp_action")) == 6,
                                timeout=20, what="six ccp_action records")
        # the record, the lot's record and the chain, read at once
        day = dt.datetime.fromtimestamp(devs[0] / 1e9, dt.UTC).date().isoformat()
        rec, lot, ok = await asyncio.gather(
            asyncio.to_thread(cli, "haccp", "--url", influxdb1.url, "--db", db, "--day", day,
                              "--tz", "UTC", "--config", str(cfg_path), "--format", "json"),
            asyncio.to_thread(cli, "lot", "1002", "--url", influxdb1.url, "--db", db,
                              "--config", str(cfg_path), "--format", "json"),
            asyncio.to_thread(cli, "haccp", "verify", "--url", influxdb1.url, "--db", db))
        assert rec.returncode == 0, rec.stderr
        shown = {d["id"]: d for d in json.loads(rec.stdout)["deviations"]}
        assert set(shown) == {d1, d2, d3}

        def disp(d: dict[str, Any]) -> dict[str, str | None]:
            return {x["lot"]: x["disposition"] and x["disposition"]["disposition"]
                    for x in d["lots"]}

        assert [(a["by"], a["action"]) for a in shown[d1]["actions"]] == [("wang", "reprocess")]
        assert disp(shown[d1]) == {"1001": None} and shown[d1]["verification"] is None
        assert disp(shown[d2]) == {"1001": "hold", "1002": "release"}
        assert shown[d2]["verification"]["by"] == "chen"
        assert disp(shown[d3]) == {"1002": None, "1003": "rework"}
        assert shown[d3]["actions"] == []

        assert lot.returncode == 0, lot.stderr
        by_dev = {d["id"]: d for d in json.loads(lot.stdout)["deviations"]}
        assert set(by_dev) == {d2, d3}
        assert by_dev[d2]["disposition"]["disposition"] == "release"
        assert by_dev[d2]["verification"]["by"] == "chen"
        assert [a["by"] for a in by_dev[d2]["actions"]] == ["wang"]
        assert by_dev[d3]["disposition"] is None

        assert ok.returncode == 0, ok.stdout + ok.stderr
        # someone releases the held lot 1001 in the database
        (held,) = [r for r in records(influxdb1, db, "ccp_action")
                   if r.tags.get("lot") == "1001"]
        write(influxdb1, db, [Point("ccp_action", held.tags, {"disposition": "release"},
                                    held.ts_ns)])
        bad = cli("haccp", "verify", "--url", influxdb1.url, "--db", db)
        said = bad.stdout + bad.stderr
        assert bad.returncode == 1, said
        assert f"seq {held.seq}" in said and "ccp_action" in said and "lot=1001" in said
        assert "altered" in said
    finally:
        agent.stop()
        await plc.stop()

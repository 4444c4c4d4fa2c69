"""End to end: simulator -> `lineside run` -> InfluxDB 1.6 -> `lineside haccp`.

Three CCPs on a small plant (fryer oil, pasteurizer holding tube, cold room), float32
temperatures over Modbus TCP polled every second. The simulator plays its CCP script
(lineside/simulator/ccp.py) from an origin the test chooses, so the ground truth
of every deviation is known; the record must show each exactly once, start and end
within one poll interval of the truth. The agent is then SIGKILLed and restarted: the
gap is a loss of monitoring of every CCP and the chain goes on without a fork
(`verify` intact). Then one stored record is altered and `lineside haccp verify` must
fail naming it.

Simulator and agent run on simulated time, SPEED times the real clock (LINESIDE_CLOCK):
every figure below is in simulated seconds, the timestamps stored are simulated ones.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from lineside.config.loader import load_config
from lineside.simulator.ccp import truth_deviations
from tests.e2e.agent_proc import CLI, Proc, SimTime, start_agent
from tests.fixtures.common import free_port, port_open, wait_for

pytestmark = [pytest.mark.server]
SPEED = 5.0  # a scripted 80 s in 16
START_S = 8.0  # real seconds the simulator and the agent get to start polling
POLL_S = 1.0
BUCKET_S = 5  # summaries are written once their bucket is over: short ones for the test
SLACK_S = 0.35  # the simulator refreshes its registers every 0.1 s; scheduling jitter


def _machine(mid: str, base: int, temp: str) -> dict:
    return {"id": mid, "automation": "automatic", "ideal_rate": 60, "source": "plc",
            "signals": {"running": {"table": "coil", "address": base, "type": "bool"},
                        "fault": {"table": "coil", "address": base + 1, "type": "bool"},
                        temp: {"table": "input", "address": base * 10, "type": "float32"}}}


def plant(tmp: Path, influx_url: str, db: str, port: int) -> dict:
    return {
        "site": {"enterprise_id": "sc-beef-01", "enterprise_name": "Beef", "site_id": "cd-1",
                 "region": "510114"},
        "state_dir": str(tmp / "state"),
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1", "port": port,
                     "interval_s": POLL_S}],
        "lines": [{"id": "beef", "stages": [
            {"id": "frying", "kind": "frying", "machines": [_machine("fryer-1", 1, "oil_temp")]},
            {"id": "heating", "kind": "heating",
             "machines": [_machine("past-1", 3, "hold_temp")]},
            {"id": "store", "kind": "other", "machines": [_machine("cold-1", 5, "room_temp")]},
        ]}],
        "ccps": [
            {"id": "fryer-oil", "kind": "frying", "hazard": "Undercooked beef",
             "machine": "fryer-1", "signal": "oil_temp", "unit": "°C",
             "critical": {"min": 165, "max": 185}, "operating": {"min": 170, "max": 180},
             "min_duration_s": 5, "monitoring_interval_s": 3},
            {"id": "pasteurizer", "kind": "pasteurization", "hazard": "Surviving pathogens",
             "machine": "past-1", "signal": "hold_temp", "unit": "°C",
             "critical": {"min": 72}, "monitoring_interval_s": 3},
            {"id": "cold-room", "kind": "cold_storage", "hazard": "Listeria growth",
             "machine": "cold-1", "signal": "room_temp", "unit": "°C",
             "critical": {"max": 4}, "min_duration_s": 6, "monitoring_interval_s": 3},
        ],
        "sinks": [{"id": "plant", "type": "influxdb-v1", "url": influx_url, "database": db,
                   "flush_interval_s": 0.5}],
        "http": {"listen": f"127.0.0.1:{free_port()}"},
        "metrics": {"bucket_s": BUCKET_S},
    }


def haccp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "haccp", *args], capture_output=True, text=True, timeout=60)


def test_scripted_deviations_reach_the_record_once_and_verify_finds_an_alteration(
        tmp_path: Path, influxdb1) -> None:
    db = "e2e_haccp"
    influxdb1.create_db(db)
    clock = SimTime(SPEED)
    span = START_S * SPEED + 160  # the simulated seconds this test covers
    now = clock.wall()
    if (now + span) % 86400 < span:  # the record is of one UTC day: do not straddle midnight
        clock.sleep_until(now + span - (now + span) % 86400 + 1)
    mb = free_port()
    data = plant(tmp_path, influxdb1.url, db, mb)
    cfg_path = tmp_path / "plant.yaml"
    cfg_path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    cfg = load_config(cfg_path)
    # the script's first event comes FIRST_S (8 s) after the origin: the agent polls by then
    origin = math.floor(clock.wall() + START_S * SPEED) - 8
    sim = Proc([*CLI, "simulate", "--config", str(cfg_path), "--modbus-port", str(mb),
                "--opcua-port", str(free_port()), "--ccp-origin", str(origin)],
               tmp_path / "simulate.log", env=clock.env).start()
    agent = None
    http_port = int(data["http"]["listen"].rpartition(":")[2])
    try:
        wait_for(lambda: port_open(mb), timeout=30, what="simulator port")
        agent = start_agent(tmp_path, cfg_path, env=clock.env)
        wait_for(lambda: port_open(http_port), timeout=30, what="agent's metrics port")
        assert clock.wall() < origin + 6, "the agent started too late for the script"
        truth = truth_deviations(cfg.ccps, origin, origin, origin + 80)
        assert {(d.ccp, d.kind) for d in truth} == {
            (c, k) for c in ("fryer-oil", "pasteurizer", "cold-room")
            for k in ("limit", "monitoring")} and len(truth) == 6
        last_end = max(d.end for d in truth)
        # until the bucket holding the last end is closed (bucket-close job: 2 s grace)
        clock.sleep_until((last_end // BUCKET_S + 1) * BUCKET_S + 3.5)
        # SIGKILL, and back: the chain must go on from where it was, without a fork
        t_kill = clock.wall()
        agent.signal(signal.SIGKILL)
        agent.wait(timeout=30)
        # down for longer than the monitoring interval (3 s), however fast the restart:
        # a gap shorter than the interval is, rightly, no loss of monitoring
        clock.sleep(4.5)
        agent = start_agent(tmp_path, cfg_path, env=clock.env)
        wait_for(lambda: port_open(http_port), timeout=30, what="agent's metrics port")
        clock.sleep_until((clock.wall() // BUCKET_S + 2) * BUCKET_S + 3.5)
        agent.signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent.output()[-3000:]
    finally:
        if agent is not None:
            agent.stop()
        sim.stop()

    day = dt.datetime.fromtimestamp(origin, dt.UTC).date().isoformat()
    src = ["--url", influxdb1.url, "--db", db]
    out = haccp(*src, "--day", day, "--format", "json", "--config", str(cfg_path))
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    got = [d for d in rec["deviations"] if origin <= d["start_ns"] / 1e9 < t_kill - 10]
    for t in truth:
        mine = [d for d in got if d["ccp"] == t.ccp and d["kind"] == t.kind
                and abs(d["start_ns"] / 1e9 - t.start) <= POLL_S + SLACK_S]
        assert len(mine) == 1, (t, got)
        (d,) = mine
        assert d["end_ns"] is not None, d
        assert abs(d["end_ns"] / 1e9 - t.end) <= POLL_S + SLACK_S, (t, d)
    assert len(got) == len(truth), (truth, got)  # nothing else: no short one, no noise
    # the kill: each CCP lost monitoring once, from its last committed state until the
    # first reading after the restart (the engine state of the last seconds died with it)
    after = [d for d in rec["deviations"] if d["start_ns"] / 1e9 >= t_kill - 10]
    assert sorted((d["ccp"], d["kind"]) for d in after) == [
        ("cold-room", "monitoring"), ("fryer-oil", "monitoring"), ("pasteurizer", "monitoring")]
    assert all(d["end_ns"] is not None and d["end_ns"] / 1e9 > t_kill for d in after), after
    by_ccp = {c["ccp"]: c for c in rec["ccps"]}
    assert by_ccp["cold-room"]["deviations"] == 1 and by_ccp["cold-room"]["losses"] == 2
    assert by_ccp["cold-room"]["excursion_s"] > 0  # the 6 s excursion that did not count
    assert by_ccp["fryer-oil"]["hazard"] == "Undercooked beef"

    state = tmp_path / "state"
    ok = haccp("verify", *src, "--state-dir", str(state))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "chain intact" in ok.stdout  # across the SIGKILL: no seq twice, none missing

    # alter one stored deviation: same series and time, a shorter duration
    (series,) = influxdb1.query(
        "SELECT * FROM ccp_deviation WHERE ccp = 'cold-room' AND kind = 'limit' "
        "AND event = 'end' GROUP BY *", db=db)
    victim = dict(zip(series["columns"], series["values"][0], strict=True))
    tags = ",".join(f"{k}={v}" for k, v in sorted(series["tags"].items()) if v)
    line = f"ccp_deviation,{tags} duration_s=1.0 {victim['time']}"
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(
        f"{influxdb1.url}/write?db={db}", data=line.encode(), method="POST"), timeout=10)
    bad = haccp("verify", *src, "--state-dir", str(state))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"BROKEN at record seq {int(victim['seq'])} (ccp_deviation ccp=cold-room, " \
           f"kind=limit, event=end" in bad.stdout, bad.stdout
    assert "altered" in bad.stdout

    page = haccp(*src, "--day", day, "--format", "html", "--config", str(cfg_path),
                 "-o", str(tmp_path / "record.html"))
    assert page.returncode == 0, page.stderr
    html = (tmp_path / "record.html").read_text()
    assert "cold-room" in html and "Listeria growth" in html and "关键控制点" in html

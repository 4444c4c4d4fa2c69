"""`lineside haccp action|verify-action` with the real agent running (issue 27): the
entries reach the engine through the state folder, the agent writes them as chained
`ccp_action` records to InfluxDB 1.6, and a verification by the action's author is
refused by the agent with its reason. The answers name the action and the deviation as
people know them (configured names, kind, start in plant time), in en and zh-CN; ids
only where one must be typed (an unknown --corrective lists the configured ones)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from lineside.config.models import LinesideConfig
from lineside.engine.actions import deviation_id
from lineside.engine.emit import ns
from lineside.runtime.clock import ScaledClock
from lineside.samples import Quality, Sample
from lineside.station.users import UserStore
from tests.fixtures.common import wait_for
from tests.station.agent_thread import AgentThread, plant_config

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]
SPEED = 5.0  # the agent on simulated time: each entry waits for its housekeeping


def entry(cfg_path: Path, *args: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", *args, "--config",
                           str(cfg_path), "--password-stdin"], input=password + "\n",
                          capture_output=True, text=True, timeout=60)


def test_entries_through_the_running_agent(tmp_path: Path, influxdb1: Any) -> None:
    db = f"lots_entries_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    d = plant_config(tmp_path / "state", influxdb1.url, db, locale="en").model_dump(
        mode="json", exclude_none=True)
    d["lines"][0]["stages"][0]["machines"][0]["signals"]["temp"] = {
        "address": 5, "type": "int16"}
    d["ccps"] = [{"id": "oil", "name": "炸油温度", "kind": "frying", "hazard": "undercooking",
                  "machine": "M1",
                  "signal": "temp", "critical": {"min": 160.0},
                  "monitoring_interval_s": 7200}]
    d["devices"][0]["interval_s"] = 3600  # check: polled more often than the CCP needs
    d["corrective_actions"] = [{"id": "reheat", "name": "复热至 175 °C"},
                               {"id": "discard", "name": "Oil changed"}]
    cfg = LinesideConfig(**d)
    cfg_path = tmp_path / "plant.yaml"
    cfg_path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    store = UserStore(cfg.state_dir)
    store.add("wang", "qa", "wang-password")
    store.add("chen", "qa", "chen-password")
    a = AgentThread(cfg, ScaledClock(SPEED)).start()  # housekeeping every second
    try:
        def temp(v: float) -> float:
            t = a.agent.clock()
            a.call(a.agent.on_samples, [Sample("M1.temp", v, Quality.GOOD, t)])
            return t

        a.plc("M1", running=True)
        temp(170.0)
        start = temp(150.0)  # below 160: a deviation at once
        time.sleep(0.2 / SPEED)  # 0.2 simulated seconds
        temp(170.0)
        a.call(a.agent.tick)
        dev = deviation_id("s1", "oil", "limit", ns(start))
        since = dt.datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).strftime(
            "%Y-%m-%d %H:%M")  # the deviation's start in plant time
        # an action that is not configured: refused before the password, with the ids
        # one may type beside their names
        for locale, head in (("en", "unknown corrective action boil"),
                             ("zh-CN", "未知的纠偏措施 boil")):
            bad = entry(cfg_path, "action", "--deviation", dev, "--corrective", "boil",
                        "--by", "wang", "--locale", locale, password="wang-password")
            assert bad.returncode == 2, bad.stderr
            assert head in bad.stderr
            assert "\n  reheat  复热至 175 °C\n  discard  Oil changed" in bad.stderr
        ok = entry(cfg_path, "action", "--deviation", dev, "--corrective", "reheat",
                   "--text", "oil reheated", "--by", "wang", "--locale", "en",
                   password="wang-password")
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout == ("corrective action “复热至 175 °C” for the deviation of 炸油温度 "
                             f"(beyond a critical limit since {since}) recorded by wang\n")
        own = entry(cfg_path, "verify-action", "--deviation", dev, "--by", "wang",
                    "--locale", "zh-CN", password="wang-password")
        assert own.returncode == 1
        # the agent's reason in the reader's language
        assert "代理拒绝：纠偏措施的记录人不能验证该措施" in own.stderr
        other = entry(cfg_path, "verify-action", "--deviation", dev, "--by", "chen",
                      "--locale", "zh-CN", password="chen-password")
        assert other.returncode == 0, other.stderr
        assert other.stdout == f"炸油温度的偏差（{since} 起超出关键限值）的验证已由 chen 记录\n"

        def rows() -> list[dict[str, Any]]:
            return influxdb1.rows('SELECT * FROM "ccp_action"', db=db)

        wait_for(lambda: len(rows()) == 2, timeout=30, what="two ccp_action records")
        got = sorted((r["entry"], r["by"], r["seq"] > 0) for r in rows())
        assert got == [("action", "wang", True), ("verification", "chen", True)]
        # and `lineside haccp` shows them beside the deviation (the plant's day)
        wait_for(lambda: len(influxdb1.rows('SELECT * FROM "ccp_deviation"', db=db)) == 2,
                 timeout=30, what="the deviation's start and end")
        day = dt.datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).date().isoformat()
        rec = subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", "--url",
                              influxdb1.url, "--db", db, "--config", str(cfg_path), "--day",
                              day, "--format", "json"], capture_output=True, text=True,
                             timeout=60)
        assert rec.returncode == 0, rec.stderr
        (d,) = json.loads(rec.stdout)["deviations"]
        assert d["id"] == dev
        assert [(a["action"], a["text"], a["by"]) for a in d["actions"]] == \
            [("reheat", "oil reheated", "wang")]
        assert d["verification"]["by"] == "chen"
    finally:
        a.stop()

"""`lineside haccp` and the bureau's CCP figures against a real InfluxDB 1.6.

A hand-computed story (tests/engine/test_ccp.py's cold room) goes through the engine
and the chain into InfluxDB; the shift record must show the engine's shift summary and
deviations, `verify` must pass, and the bureau's report query must sum the uplink's
`ccp_bureau` points to the engine's figures.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from lineside.engine.core import Engine
from lineside.haccp.chain import link_all
from lineside.report.data import Period
from lineside.report.query import Source, ccp_query, fetch, parse_answer
from lineside.sinks.lineproto import to_lines
from lineside.sinks.uplink import prepare_for_uplink
from tests.engine.plant import LINK_DOWN, at, pick, poll
from tests.engine.test_ccp import RUN, ccp_cfg

pytestmark = pytest.mark.server
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "example.yaml"


def write(influx, db: str, points) -> None:
    influx.create_db(db)
    body = ("\n".join(to_lines(points)) + "\n").encode()
    req = urllib.request.Request(f"{influx.url}/write?db={db}&precision=ns", body,
                                 method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204


def haccp(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", *args],
                          capture_output=True, text=True, timeout=60)


def test_shift_record_equals_the_engine_and_the_bureau_gets_its_sums(influxdb1) -> None:
    # above 4 °C 06:10-06:25 (min duration 600 s: a deviation), link down 06:40-06:41
    config = ccp_cfg(min_duration_s=600)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
                    ("06:25", {"temp": 3.0}), ("06:40", LINK_DOWN),
                    ("06:41", {**RUN, "temp": 3.0})], "07:00")
    eng = Engine(config, samples[0].ts)
    points, _, _ = link_all(eng.feed(samples) + eng.tick(at("07:00")))
    write(influxdb1, "haccp_plant", points)
    src = ["--url", influxdb1.url, "--db", "haccp_plant"]

    out = haccp(*src, "--shift", "A", "--date", "2026-11-30", "--format", "json")
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert (rec["start"], rec["end"]) == ("2026-11-30T06:00:00+00:00",
                                          "2026-11-30T07:00:00+00:00")
    (engine_shift,) = pick(points, "ccp_shift")
    (row,) = rec["ccps"]
    for k in ("monitored_s", "within_s", "deviation_s", "lost_s", "deviations", "losses",
              "min", "max"):
        assert row[k] == pytest.approx(engine_shift.fields[k]), k
    assert row["mean"] == pytest.approx(engine_shift.fields["mean"])
    assert [(d["kind"], d["start"], d["end"]) for d in rec["deviations"]] == [
        ("limit", "2026-11-30 06:10:00", "2026-11-30 06:25:00"),
        ("monitoring", "2026-11-30 06:40:04", "2026-11-30 06:41:00")]
    day = json.loads(haccp(*src, "--day", "2026-11-30", "--format", "json").stdout)
    assert day["ccps"][0]["deviation_s"] == pytest.approx(900)  # the buckets add up
    assert len(day["deviations"]) == 2
    ok = haccp("verify", *src)
    assert ok.returncode == 0 and "chain intact" in ok.stdout, ok.stdout + ok.stderr

    # plant time and language from the configuration (config/example.yaml: Asia/Shanghai,
    # zh-CN) unless --tz / --locale say otherwise
    cfg = ["--config", str(EXAMPLE)]
    plant = json.loads(haccp(*src, "--day", "2026-11-30", "--format", "json", *cfg).stdout)
    assert plant["tz"] == "Asia/Shanghai"
    assert dt.datetime.fromisoformat(plant["start"]) == dt.datetime(2026, 11, 29, 16,
                                                                    tzinfo=dt.UTC)
    assert plant["deviations"][0]["start"] == "2026-11-30 14:10:00"  # 06:10 UTC
    utc = json.loads(haccp(*src, "--day", "2026-11-30", "--format", "json", *cfg,
                           "--tz", "UTC").stdout)
    assert utc["tz"] == "UTC"
    assert dt.datetime.fromisoformat(utc["start"]) == dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    zh = haccp(*src, "--day", "2026-11-30", *cfg).stdout
    assert "HACCP 关键控制点监控记录" in zh and "Asia/Shanghai (UTC+08:00)" in zh
    assert "超出关键限值" in zh and "监控中断" in zh
    en = haccp(*src, "--day", "2026-11-30", *cfg, "--locale", "en").stdout
    assert "HACCP monitoring record" in en and "beyond a critical limit" in en

    # the bureau: only the per-kind aggregates leave; the report's query sums them
    site = config.site
    bureau = prepare_for_uplink(points, site.enterprise_id, site.region)
    assert {p.measurement for p in bureau} >= {"ccp_bureau"}
    assert not {p.measurement for p in bureau} & {"ccp", "ccp_shift", "ccp_deviation"}
    write(influxdb1, "haccp_bureau", bureau)
    period = Period("day", dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
                    dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "UTC")
    (r,) = parse_answer("ccp_bureau", fetch(Source(influxdb1.url, "haccp_bureau"),
                                            ccp_query(period)))
    assert r.tags["ccp_kind"] == "cold_storage"
    assert (r.values["deviations"], r.values["deviation_s"], r.values["losses"],
            r.values["lost_s"]) == (1, 900, 1, 56)

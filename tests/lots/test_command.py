"""`lineside lot start|end` with the real agent running (issue 27): the command hands the
lot to the agent through its state folder, the agent writes the `lot` points to a real
InfluxDB 1.6 and records the command in its sample log, whose replay gives the same
lot; a command the agent refuses exits 1 with its reason. The agent runs on simulated
time, SPEED times the wall clock (runtime/clock.py): a command waits for its
housekeeping, every 5 simulated seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lineside.cli.main import main
from lineside.engine.replay import replay
from lineside.runtime.clock import ScaledClock
from lineside.samplelog import read_samples
from tests.fixtures.common import wait_for
from tests.station.agent_thread import AgentThread, plant_config

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]
SPEED = 5.0


@pytest.fixture
def agent(tmp_path: Path, influxdb1: Any) -> Iterator[tuple[AgentThread, Path]]:
    db = f"lots_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    cfg = plant_config(tmp_path / "state", influxdb1.url, db, locale="en")
    cfg = cfg.model_copy(update={"record_samples": tmp_path / "samples.jsonl"})
    path = tmp_path / "plant.yaml"  # what `lineside lot --config` reads
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_none=True),
                                   allow_unicode=True), encoding="utf-8")
    a = AgentThread(cfg, ScaledClock(SPEED)).start()
    a.db = db  # type: ignore[attr-defined]
    try:
        yield a, path
    finally:
        a.stop()


def lot(*argv: str) -> int:
    """`lineside lot ...` in a thread of its own, as a second process would run it while
    the agent works."""
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(main(["lot", *argv])))
    t.start()
    t.join(60)
    return rc[0]


def test_a_lot_started_and_ended_by_command_reaches_influxdb_and_replays(
        agent: tuple[AgentThread, Path], influxdb1: Any, capsys: Any) -> None:
    a, cfg_path = agent
    a.plc("M1", running=True)
    t0 = a.agent.clock()
    assert lot("start", "B-1126", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang") == 0
    time.sleep(1.0 / SPEED)  # a simulated second
    assert lot("end", "B-1126", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang") == 0
    t1 = a.agent.clock()
    assert "lot B-1126 ended on machine M1" in capsys.readouterr().out
    # the same lot cannot end twice: the agent refuses it, the command says why
    assert lot("end", "B-1126", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang") == 1
    assert "not running there" in capsys.readouterr().err
    # a machine the configuration does not have: refused before the agent is asked
    assert lot("start", "B-1", "--machine", "M9", "--config", str(cfg_path)) == 2

    def rows() -> list[dict[str, Any]]:
        return influxdb1.rows('SELECT * FROM "lot" WHERE "event" = \'end\'', db=a.db)

    wait_for(lambda: rows(), timeout=30, what="the lot's end point in InfluxDB")
    (end,) = rows()
    assert (end["machine"], end["lot"], end["by"], end["source"]) == \
        ("M1", "B-1126", "zhang", "command")
    assert 0.9 <= end["span_s"] <= t1 - t0
    # the sample log holds both commands; its replay writes the same lot
    a.call(a.agent._sample_log.flush)
    log = Path(a.agent.cfg.record_samples)
    replayed = [p for p in replay(a.agent.cfg, read_samples(log))
                if p.measurement == "lot" and p.tags["event"] == "end"]
    assert [(p.tags["lot"], p.fields["span_s"]) for p in replayed] == \
        [("B-1126", end["span_s"])]
    # the answers in the reader's language (the site's, or --locale)
    assert lot("start", "B-1127", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang", "--locale", "zh-CN") == 0
    assert "批次 B-1127 已在设备 M1开始" in capsys.readouterr().out
    assert lot("end", "B-1127", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang", "--locale", "zh-CN") == 0
    assert lot("end", "B-1127", "--machine", "M1", "--config", str(cfg_path),
               "--by", "zhang", "--locale", "zh-CN") == 1
    assert "代理拒绝" in capsys.readouterr().err

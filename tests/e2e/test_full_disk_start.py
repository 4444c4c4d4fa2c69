"""`lineside run` restarted on a full state_dir (a 4 MB tmpfs filled to the last byte)
after a clean stop or a SIGKILL: it starts, polls and computes, holds in memory what its
queue and HACCP chain files refuse, says so in `/readyz` (not `/healthz`), and once space
returns opens them and writes everything behind what they had. Nothing the first run
had queued is lost, no bucket gets a second set of values, points made while the disk
was full are in the queue, and the chain verifies from genesis (issue 23;
docs/delivery.md).

Before, the queue raised `QueueError` on open and the agent did not start at all (after
a clean stop: SQLite needs to create the -wal and -shm files; a kill leaves them).
Simulator and agent run on simulated time, SPEED times the wall clock.
"""

from __future__ import annotations

import json
import shutil
import signal
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from lineside.haccp.chain import CHAIN_FIELDS, RECORD_MEASUREMENTS, Record, verify
from lineside.sinks.chainstore import ChainStore
from lineside.sinks.pipeline import CHAIN_FILE
from lineside.sinks.queue import DiskQueue
from tests.e2e.agent_proc import (
    SimTime,
    agent_config,
    http_get,
    metric,
    start_agent,
    start_simulator,
)
from tests.e2e.lineproto import parse_line
from tests.fixtures.common import wait_for
from tests.fixtures.disk import fill, tmpfs

pytestmark = [pytest.mark.server]
SPEED = 4.0
BUCKET = 2


def queued(state: Path) -> list[str]:
    q = DiskQueue(state / "queue-keep.db", name="keep")
    try:
        assert not q.quarantined
        return [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
    finally:
        q.close()


def polls(body: str, devices: list[str]) -> dict[str, float]:
    return {d: metric(body, "lineside_device_polls_total", device=d) or 0.0 for d in devices}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_an_agent_restarted_on_a_full_state_dir_starts_and_loses_nothing(
        tmp_path: Path, stop: signal.Signals) -> None:
    clock = SimTime(SPEED)
    state = tmp_path / "state"
    with tmpfs(state):
        sim, mb, ua = start_simulator(tmp_path, env=clock.env)
        agent = None
        try:
            cfg, data = agent_config(tmp_path, mb, ua, [{"id": "keep", "type": "local"}])
            data["metrics"]["bucket_s"] = BUCKET
            for ccp in data["ccps"]:  # every CCP writes a record every bucket
                ccp["min_duration_s"] = 0
            cfg.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
            base = f"http://{data['http']['listen']}"
            devices = [d["id"] for d in data["devices"]]

            def closed() -> float:
                return metric(http_get(f"{base}/metrics")[1],
                              "lineside_engine_buckets_closed_total") or 0.0

            agent = start_agent(tmp_path, cfg, env=clock.env)
            wait_for(lambda: closed() >= 3, timeout=60, what="three buckets closed")
            agent.signal(stop)  # a kill: -wal left, records maybe linked but not queued
            assert agent.wait(timeout=30) == (0 if stop == signal.SIGTERM else -stop)
            shutil.copytree(state, tmp_path / "stopped")  # what the first run left
            filler = fill(state)

            agent = start_agent(tmp_path, cfg, env=clock.env)
            wait_for(lambda: http_get(f"{base}/healthz")[0] == 200, timeout=30,
                     what="the agent up on a full disk")
            full_from = clock.wall()

            def held() -> float:
                return metric(http_get(f"{base}/metrics")[1], "lineside_sink_memory_points",
                              sink="keep") or 0.0

            wait_for(lambda: held() > 0, timeout=30, what="points held in memory")
            first = polls(http_get(f"{base}/metrics")[1], devices)
            clock.sleep(3 * BUCKET)
            body = http_get(f"{base}/metrics")[1]
            later = polls(body, devices)
            code, ready = http_get(f"{base}/readyz")
            healthz = http_get(f"{base}/healthz")[0]
            disk_writable = metric(body, "lineside_sink_disk_writable", sink="keep")
            full_to = clock.wall()
            filler.unlink()
            wait_for(lambda: json.loads(http_get(f"{base}/readyz")[1])["checks"]["disk"]["ok"],
                     timeout=30, what="/readyz: the disk takes writes again")
            after_held = held()
            clock.sleep(BUCKET)
            agent.signal(signal.SIGTERM)
            assert agent.wait(timeout=30) == 0, agent.output()[-3000:]
            log = agent.output()
        finally:
            if agent is not None:
                agent.stop()
            sim.stop()
        before = queued(tmp_path / "stopped")
        after = queued(state)
        store = ChainStore(state / CHAIN_FILE)
        try:
            head = store.head()
        finally:
            store.close()

    if stop == signal.SIGTERM:  # (a kill leaves -wal and -shm: the file opens)
        assert "refuses the queue file at start" in log
    # it polled while the disk was full, and said where the trouble is
    assert later and all(later[d] > first[d] for d in devices), (first, later)
    assert healthz == 200 and code == 503 and disk_writable == 0
    disk = json.loads(ready)["checks"]["disk"]
    assert "keep" in disk["refusing_writes"] and disk["haccp_chain"], disk
    assert after_held == 0
    # nothing the first run had queued is lost
    assert before and not set(before) - set(after)
    # points made while the disk was full were written once space returned
    made_full = {parse_line(ln)[0][0] for ln in after
                 if full_from * 1e9 < parse_line(ln)[0][2] < full_to * 1e9}
    assert {"signal", "oee"} <= made_full, made_full
    # no bucket computed twice with other values (the engine resumed from its state)
    versions: dict[tuple[object, ...], set[str]] = defaultdict(set)
    records: dict[tuple[object, ...], dict[str, object]] = {}
    for ln in after:
        key, fields = parse_line(ln)
        if key[0] == "signal":
            continue
        own = {k: v for k, v in fields.items() if k not in CHAIN_FIELDS}
        versions[key].add(json.dumps(own, sort_keys=True, default=str))
        if key[0] in RECORD_MEASUREMENTS:
            records[key] = fields
    # a clean stop writes the open bucket and shift provisionally (docs/engine.md): the
    # restarted engine finishes them from its state, so they are rewritten, by design
    provisional = set()
    if stop == signal.SIGTERM:
        keys = [parse_line(ln)[0] for ln in before]
        last = max(k[2] for k in keys if k[0] == "oee")
        provisional = {k for k in keys if k[0] == "oee_shift" or (k[0] == "oee" and k[2] == last)}
    twice = {k: v for k, v in versions.items() if len(v) > 1 and k not in provisional}
    assert versions and not twice, list(twice.items())[:3]
    # every record linked once, one chain from genesis to the store's head
    assert len(records) >= 8 and head[0] == len(records)
    verdict = verify([Record(m, dict(tags), f, ts) for (m, tags, ts), f in records.items()],
                     from_genesis=True, head=head)
    assert verdict.ok, verdict

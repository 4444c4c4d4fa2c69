"""The agent under libfaketime: the wall clock stepped back an hour, then forward an hour.

The agent process runs with libfaketime reading its offset from a file on every call
(FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1) and the monotonic clock left alone
(DONT_FAKE_MONOTONIC=1): what an NTP step does to a gateway. The simulator and InfluxDB
1.6 run on the real clock. A second, `local` sink keeps every point the agent enqueued,
in order, so a bucket written twice would show (InfluxDB keeps only the last write).

The documented rule (docs/engine.md, "When the clock jumps"): a step is a cut; the open
bucket closes with what it saw, the engine resumes in a fresh bucket on the new time,
the time of the jump is in no bucket, a closed bucket is never written again, and no
point is stamped later than the agent's clock.

It stays on the real clock (the step is real) and waits on what the agent did (a step
counted, a bucket stored), not for fixed times. Both steps are taken PHASE s into a
bucket, so the bucket open at each step must close with less than a whole bucket.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from lineside.samplelog import read_samples
from lineside.sinks.queue import DiskQueue
from tests.e2e.agent_proc import agent_config, http_get, metric, start_agent, start_simulator
from tests.e2e.lineproto import parse_line
from tests.fixtures.common import require_package_file, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]  # real time: waits for buckets

BUCKET = 5  # s; the hour is a whole number of buckets (the grid survives the steps)
STEP = 3600
PHASE = 0.6  # s into a bucket: the poll at its start (every 1 s, on the grid) is in
BACK_S = 2 * BUCKET  # on the hour set back: 2 buckets, and nothing real-stamped over
# (t_back + 2, t_fwd - BUCKET): 3 s


def _faketime() -> str:
    # the preload library; its directory is per architecture, so ask dpkg where it is
    return require_package_file("libfaketime", "libfaketime.so.1")


def _at_phase(after: float) -> float:
    """Sleep until PHASE s into the first bucket starting at or after `after`."""
    while True:
        target = -(-after // BUCKET) * BUCKET + PHASE
        time.sleep(max(0.0, target - time.time()))
        now = time.time()
        if now - target < 0.3:  # late under load: take the next bucket
            return now
        after = now


def test_clock_stepped_back_and_forward_while_running(tmp_path: Path, influxdb1) -> None:
    lib = _faketime()
    influxdb1.create_db("e2e_clock")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    sim, mb, ua = start_simulator(tmp_path)
    try:
        cfg, data = agent_config(
            tmp_path, mb, ua,
            [{"id": "plant", "type": "influxdb-v1", "url": influxdb1.url,
              "database": "e2e_clock", "flush_interval_s": 0.5},
             {"id": "keep", "type": "local"}],
            record_samples=str(tmp_path / "samples.log"))
        data_metrics = data["metrics"]
        assert data_metrics.get("bucket_s", 60) == 60  # the demo's; shortened below
        import yaml

        data["metrics"]["bucket_s"] = BUCKET
        cfg.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
        url = f"http://{data['http']['listen']}"
        agent = start_agent(tmp_path, cfg, env={
            "LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": str(offset),
            "FAKETIME_NO_CACHE": "1", "DONT_FAKE_MONOTONIC": "1"})

        def steps() -> float:
            return metric(http_get(url + "/metrics")[1], "lineside_clock_steps_total") or 0

        def buckets(lo: float, hi: float) -> set[str]:
            """Machine buckets InfluxDB holds starting in [lo, hi)."""
            return {r["time"] for r in influxdb1.rows(
                f"SELECT run_s FROM oee WHERE level='machine' AND time >= {int(lo * 1e9)} "
                f"AND time < {int(hi * 1e9)}", db="e2e_clock")}

        try:
            wait_for(lambda: (metric(http_get(url + "/metrics")[1],
                                     "lineside_engine_samples_total") or 0) > 200,
                     timeout=40, what="agent polling")
            t0 = time.time()
            wait_for(lambda: buckets(0, t0 + 60), timeout=30, interval=0.5,
                     what="a bucket stored")
            t_back = _at_phase(time.time())
            offset.write_text(f"-{STEP}\n")  # NTP sets back a clock that was an hour ahead
            back_grid = t_back // BUCKET * BUCKET
            health = []
            deadline = time.monotonic() + 60
            while True:  # BACK_S at least, until the step is seen and a bucket stored
                health.append(http_get(url + "/healthz")[0])
                if (len(health) >= 10 and time.time() + 1 >= back_grid + BACK_S
                        and steps() == 1
                        and buckets(back_grid - STEP, back_grid - STEP + 600)):
                    break
                assert time.monotonic() < deadline, agent.output()[-3000:]
                time.sleep(0.5)
            t_fwd = _at_phase(max(time.time(), back_grid + BACK_S))
            offset.write_text("+0\n")  # and an hour forward again
            # until the bucket the agent resumed in (open at the step) is stored
            fwd_grid = t_fwd // BUCKET * BUCKET
            # (every 0.5 s, InfluxDB first: /metrics costs the agent's loop a little)
            wait_for(lambda: bool(buckets(fwd_grid, fwd_grid + BUCKET)) and steps() == 2,
                     timeout=30, interval=0.5, what="the bucket after the forward step")
            body = http_get(url + "/metrics")[1]
            agent.signal(signal.SIGTERM)
            assert agent.wait(timeout=40) == 0, agent.output()[-3000:]
            t_end = time.time()
        finally:
            agent.stop()
    finally:
        sim.stop()
    out = agent.output()
    assert len(health) >= 10 and set(health) == {200}, health
    assert metric(body, "lineside_clock_steps_total") == 2, out[-3000:]
    assert out.count("wall clock stepped") == 2, out[-3000:]

    # 1. polling never paused two intervals: each polled device's cycles, in the order
    #    the engine got them, are one interval apart once the two steps are taken out,
    #    after each device's first 3 s (the agent's start-up, connections being made on
    #    a loaded machine, is tests/runtime/test_scheduling's matter, not a step's)
    polled = {d["id"] for d in data["devices"] if d.get("mode", "poll") == "poll"}
    by_dev: dict[str, list[float]] = {}
    for s in read_samples(tmp_path / "samples.log"):
        dev = _device_of(s.signal, data)
        if dev in polled and (not by_dev.get(dev) or by_dev[dev][-1] != s.ts):
            by_dev.setdefault(dev, []).append(s.ts)
    assert set(by_dev) == polled
    for dev, ts in by_dev.items():
        i0 = next(i for i, t in enumerate(ts) if t >= ts[0] + 3)
        assert ts[i0] < t_back - 2, (dev, ts[0], t_back)  # polling before the first step
        ts = ts[i0:]
        gaps = [b - a for a, b in itertools.pairwise(ts)]
        gaps = [g - round(g / STEP) * STEP for g in gaps]
        assert max(gaps) <= 2.0 + 0.25, (dev, max(gaps))

    # 2. no bucket written twice, no point in the future, no bucket in the skipped hour
    q = DiskQueue(Path(data["state_dir"]) / "queue-keep.db", name="keep")
    try:
        lines = [ln for chunk in q.iter_chunks() for ln in chunk.decode().split("\n")]
    finally:
        q.close()
    points = [parse_line(ln) for ln in lines]
    oee = Counter(k for k, _ in points if k[0] == "oee")
    assert oee and max(oee.values()) == 1, oee.most_common(3)
    ccp = Counter(k for k, _ in points if k[0] in ("ccp", "ccp_bureau"))  # (the CCPs too)
    assert ccp and max(ccp.values()) == 1, ccp.most_common(3)
    stamps = [k[2] / 1e9 for k, _ in points]
    assert max(stamps) <= t_end + 1
    # past the clock: nothing stamped on the real time while the agent's clock was an hour
    # behind (the CCP summaries included: they follow the steps as the machines do)
    ahead = [(k[0], k[2] / 1e9) for k, _ in points if t_back + 2 < k[2] / 1e9 < t_fwd - BUCKET]
    assert not ahead, ahead[:5]
    first_real = min(t for t in stamps if t > t_back - STEP / 2)  # the agent's first point
    gap = [k for k, _ in points if k[0] in ("oee", "ccp")
           and t_fwd - STEP + BUCKET + 1 < k[2] / 1e9 < first_real - BUCKET]
    assert not gap, gap[:3]  # the hour skipped forward holds no bucket (of unknown)

    # 3. figures at each step: the bucket open at the step closed with what it saw
    for t_step in (t_back, t_fwd - STEP):
        start = int(t_step) // BUCKET * BUCKET
        at_step = [f for k, f in points if k[0] == "oee" and k[2] == start * 10**9
                   and ("level", "machine") in k[1]]
        assert at_step, start
        assert all(f["scheduled_s"] <= t_step - start + 1.5 for f in at_step), at_step[:2]
        assert all(f.get("unknown_s", 0) <= t_step - start + 1.5 for f in at_step)
    # InfluxDB has the same buckets, each once with the queued values
    rows = influxdb1.rows("SELECT count(run_s) FROM oee WHERE level='machine'", db="e2e_clock")
    assert rows and rows[0]["count"] == sum(
        1 for k in oee if ("level", "machine") in k[1])


def _device_of(signal_key: str, data: dict) -> str:
    machine = signal_key.split(".", 1)[0]
    for ln in data["lines"]:
        for st in ln["stages"]:
            for m in st["machines"]:
                if m["id"] == machine:
                    return str(m["source"])
    return ""

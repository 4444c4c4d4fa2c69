"""Safety supervision for the bureau (issue 27): per CCP kind, the deviations still
without a corrective action 24 h after they started and the lots on hold, as counts
beside `ccp_bureau`; the bureau's queue (a real SinkSet) holds no lot id, product,
person or free text."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lineside.engine.core import Engine
from lineside.samplelog import read_samples
from lineside.sinks.settings import LocalSink, QueueConfig
from lineside.sinks.sinkset import SinkSet
from tests.lots.test_actions import CASE, ENTRIES, LATER, _cfg, _entry

DAY = 86400.0
DEV_START = 1796019300.0  # 06:15 on 2026-11-30


def _story(with_action: bool) -> list[Any]:
    """The case's deviation; lot 1201 put on hold; with or without an action; then the
    clock runs on past 24 h after the deviation's start."""
    cfg = _cfg()
    samples = list(read_samples(CASE / "samples.jsonl"))
    eng = Engine(cfg, samples[0].ts)
    out = eng.feed(samples) + eng.tick(LATER)
    out += eng.feed([_entry(LATER + 1, "dispose", "wang", "supervisor", lot="1201",
                            disposition="hold")])
    if with_action:
        out += eng.feed([ENTRIES[1]])
    for t in range(int(LATER) + 60, int(DEV_START + DAY) + 120, 60):
        out += eng.tick(float(t))
    return out


def _figures(out: list[Any]) -> dict[int, tuple[int, int]]:
    return {p.ts_ns // 10**9: (p.fields["unanswered_24h"], p.fields["lots_on_hold"])
            for p in out if p.measurement == "haccp_bureau"}


def test_a_deviation_without_an_action_counts_from_24_hours_after_its_start() -> None:
    got = _figures(_story(with_action=False))
    # the bucket 06:14-06:15 the next day ends exactly 24 h after the start: counted;
    # the one before not yet; lot 1201 on hold from its disposition on
    assert got[int(DEV_START + DAY) - 120] == (0, 1)
    assert got[int(DEV_START + DAY) - 60] == (1, 1)
    assert got[int(DEV_START + DAY)] == (1, 1)
    assert _figures(_story(with_action=True))[int(DEV_START + DAY)] == (0, 1)


def test_the_bureau_queue_carries_counts_and_no_lot_product_or_text(tmp_path: Path) -> None:
    out = _story(with_action=True)
    q = QueueConfig(fsync="off")
    sinks = SinkSet([LocalSink(type="local", id="plant", queue=q),
                     LocalSink(type="local", id="bureau", role="bureau", queue=q)],
                    tmp_path, identity=("ent1", "510114"))
    try:
        sinks.enqueue(out)
        lines = [ln for chunk in sinks.sinks["bureau"].queue.iter_chunks()
                 for ln in chunk.decode().split("\n") if ln]
    finally:
        asyncio.run(sinks.close())
    kinds = {ln.split(",", 1)[0] for ln in lines}
    assert "haccp_bureau" in kinds and "ccp_bureau" in kinds
    assert not kinds & {"lot", "ccp_lot", "ccp_action", "ccp_deviation", "ccp"}
    held = [ln for ln in lines if ln.startswith("haccp_bureau,")][-1]
    assert "lots_on_hold=1i" in held and "unanswered_24h=0i" in held
    for ln in lines:  # no lot tag, no names, no person, no text of any entry
        tags = ln.split(" ", 1)[0]
        assert ",lot=" not in tags and "_name=" not in tags.replace("enterprise_name=", "")
        for word in ("wang", "chen", "reprocess", "pasteurized", "hold", "1201", "1202"):
            assert word not in ln.split(" ")[0] + ln.split(" ")[1], (word, ln)

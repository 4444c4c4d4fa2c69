"""One hostile value never stops delivery (issue 23, docs/delivery.md "Hostile values").

A real engine on the demo plant, real queue and chain files. An OPC UA Double of 1e308 on
a CCP's signal used to overflow the bucket's ∫ value dt to inf and stop every delivery;
the engine now takes it as BAD, and a record that still reaches the chain with a value it
cannot hold goes to the chain's dead-letter file while every other point (its batch's
`oee`, the next buckets' records) is queued, counted in `lineside_points_refused_total`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.haccp.chain import CHAIN_FIELDS
from lineside.points import Point
from lineside.runtime.hub import Agent, AgentOptions
from lineside.runtime.metrics import AgentMetrics
from lineside.samples import Quality, Sample
from lineside.sinks.chainstore import REFUSED_FILE, read_refused
from lineside.sinks.lineproto import measurement_of, split_unescaped
from lineside.sinks.queue import DiskQueue
from lineside.sinks.sinkset import SinkSet
from tests.e2e.agent_proc import demo_data

T0 = 1_796_018_400.0


def field_of(line: str, key: str) -> str | None:
    fields = split_unescaped(split_unescaped(line, " ", quotes=True)[1], ",", quotes=True)
    return next((kv.partition("=")[2] for kv in fields if kv.startswith(f"{key}=")), None)


def lines(state: Path) -> list[str]:
    q = DiskQueue(state / "queue-keep.db", name="keep")
    try:
        return [ln for c in q.iter_chunks() for ln in c.decode().split("\n")]
    finally:
        q.close()  # a bucket boundary (the demo's buckets are 60 s)


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    data = demo_data(tmp_path, 1, 2, [{"id": "keep", "type": "local"}])
    cfg = LinesideConfig.model_validate(data)
    a = Agent(cfg, options=AgentOptions(http=False), clock=lambda: T0 + 10_000)
    a.wire(SinkSet(cfg.sinks, Path(cfg.state_dir)), Engine(cfg, T0))
    return a


def test_a_record_the_chain_cannot_hold_is_set_aside_and_everything_else_flows(
        agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    seen: list[Point] = []
    agent.add_listener(seen.extend)

    def produce(start: int, end: int) -> None:
        for i in range(start, end):  # the fryer producing; 1e308 °C for 5 s (BAD now)
            v = 1e308 if 5 <= i < 10 else 175.0
            agent.on_samples([Sample("L4-fry1.oil_temp", v, Quality.GOOD, T0 + i),
                              Sample("L4-fry1.state", 6, Quality.GOOD, T0 + i)])
            agent.tick(T0 + i)

    produce(0, 125)  # two buckets closed
    (rec, *_) = [p for p in seen if p.measurement == "ccp" and p.tags["ccp"] == "L4-fry1-oil"]
    # a record reaching the chain with a sum gone to inf (what 1e308 did before the
    # engine's plausible ranges), in one batch with a bucket's oee point
    bad = Point("ccp", rec.tags, {**{k: v for k, v in rec.fields.items()
                                     if k not in CHAIN_FIELDS}, "value_s": float("inf")},
                rec.ts_ns + 600_000_000_000)
    side = Point("oee", {"machine": "L4-fry1", "level": "machine"}, {"oee": 0.5}, bad.ts_ns)
    agent.delivery.deliver([bad, side])
    produce(125, 185)  # the next bucket's records chain on

    state = Path(agent.cfg.state_dir)
    (entry,) = read_refused(state / REFUSED_FILE)
    assert entry["field"] == "value_s" and entry["record"][3] == bad.ts_ns
    q = lines(state)
    assert f"oee,level=machine,machine=L4-fry1 oee=0.5 {side.ts_ns}" in q
    seqs = [field_of(ln, "seq") for ln in q
            if measurement_of(ln) in ("ccp", "ccp_shift", "ccp_deviation")]
    assert seqs == [f"{i}i" for i in range(1, len(seqs) + 1)]  # no gap where set aside
    fryer = [ln for ln in q if ln.startswith("ccp,") and "ccp=L4-fry1-oil," in ln]
    assert [ln.rsplit(" ", 1)[1] for ln in fryer] == [  # its three buckets, not the bad one
        str(int((T0 + 60 * k) * 1e9)) for k in (0, 1, 2)]
    assert agent.delivery.refusals.counts[("chain", "non_finite")] == 1
    m = AgentMetrics()
    m.update_refusals(agent.delivery.refusals.counts)
    assert m.registry.get_sample_value("lineside_points_refused_total",
                                       {"stage": "chain", "reason": "non_finite"}) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR
                and "refused by the chain" not in r.getMessage()]


def test_hostile_signal_values_never_reach_a_queue_and_the_good_ones_all_do(
        agent: Agent) -> None:
    """The engine takes them as BAD (docs/engine.md, plausible values): no point of them."""
    inf = float("inf")
    for i, v in enumerate([inf, float("nan"), 2**64 - 1, -inf, 1e308] * 3):
        agent.on_samples([Sample("L4-fry1.oil_temp", v, Quality.GOOD, T0 + i)])
        agent.on_samples([Sample("L4-fry1.oil_temp", 170.0 + i, Quality.GOOD,
                                 T0 + i + 0.5)])
    temps = [ln for ln in lines(Path(agent.cfg.state_dir))
             if ln.startswith("signal,") and "signal=oil_temp" in ln]
    assert [field_of(ln, "value") for ln in temps] == [str(170 + i) for i in range(15)]
    assert not agent.delivery.refusals.counts  # nothing left for the later stages


def test_what_the_line_protocol_refuses_is_counted_and_logged_once_per_series(
        agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    """Points that reach delivery by another way than a sample (a code of 2^64-1 in a
    state change, a non-finite value): the rest of each point and batch goes on."""
    tags = {"machine": "L4-fry1", "level": "machine"}
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            agent.delivery.deliver([
                Point("machine_state", tags, {"state": "idle", "code": 2**64 - 1},
                      int(T0 * 1e9) + i),
                Point("signal", {**tags, "signal": "oil_temp"}, {"value": float("inf")},
                      int(T0 * 1e9) + i),
                Point("signal", {**tags, "signal": "oil_temp"}, {"value": 171.0},
                      int(T0 * 1e9) + i + 1)])
    counts = agent.delivery.refusals.counts
    assert counts == {("lineproto", "int_range"): 3, ("lineproto", "non_finite"): 3}
    logged = [r.getMessage() for r in caplog.records if "lineproto refused" in r.getMessage()]
    assert len(logged) == 2, logged  # once per series and field, not once per point
    assert "machine=L4-fry1" in logged[0] and "(device " in logged[0]
    assert "field code = integer 18446744073709551615 (int_range)" in logged[0]
    assert "field value = float inf (non_finite)" in logged[1]
    q = lines(Path(agent.cfg.state_dir))
    assert sum(ln.startswith("machine_state,") and 'state="idle"' in ln
               and "code=" not in ln for ln in q) == 3
    assert sum(ln.startswith("signal,") and "value=171 " in ln for ln in q) == 3

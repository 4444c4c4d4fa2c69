"""Records the chain cannot hold: kept in the dead-letter file, never linked, named by
`haccp verify` (docs/haccp.md, "Records the chain refuses")."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lineside.haccp.chain import verify
from lineside.points import Point, Refusal
from lineside.sinks.chainstore import REFUSED_FILE, ChainStore, read_refused
from tests.haccp.test_chain import T0, as_read, bucket
from tests.haccp.test_influx import haccp, write

HOSTILE = [("value_s", math.inf, "non_finite"), ("mean", math.nan, "non_finite"),
           ("max", -math.inf, "non_finite"), ("deviations", 2**64 - 1, "int_range"),
           ("side", "high\nlow", "newline")]


@pytest.mark.parametrize(("field", "value", "reason"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_a_record_the_chain_cannot_hold_is_kept_aside_and_the_chain_goes_on(
        tmp_path: Path, field: str, value: object, reason: str) -> None:
    store = ChainStore(tmp_path / "haccp-chain.db")
    try:
        bad = bucket(1, **{field: value})  # type: ignore[arg-type]
        oee = Point("oee", {"machine": "m1"}, {"oee": 0.5}, T0)
        refused: list[Refusal] = []
        out = store.link([bucket(0), bad, oee, bucket(2)], refused=refused)
        # the other records are chained without a gap, the other points pass
        assert [(p.measurement, p.ts_ns, p.fields.get("seq")) for p in out] == [
            ("ccp", T0, 1), ("oee", T0, None), ("ccp", bucket(2).ts_ns, 2)]
        assert verify(as_read([p for p in out if p.measurement == "ccp"]),
                      from_genesis=True, head=store.head()).ok
        assert refused == [Refusal(bad, field, reason)] and store.refused == 1
        (entry,) = read_refused(tmp_path / REFUSED_FILE)
        assert (entry["field"], entry["reason"]) == (field, reason)
        m, tags, fields, ts = entry["record"]  # type: ignore[misc]
        assert (m, tags, ts) == (bad.measurement, dict(bad.tags), bad.ts_ns)
        kept = fields[field]
        assert kept == value or (isinstance(value, float) and math.isnan(kept))
        assert store.unqueued() == [p for p in out if p.measurement == "ccp"]
    finally:
        store.close()


def test_a_refused_timestamp_is_kept_aside_too(tmp_path: Path) -> None:
    store = ChainStore(tmp_path / "haccp-chain.db")
    try:
        late = Point("ccp", {"ccp": "cold"}, {"span_s": 1.0}, 2**63)  # beyond InfluxDB's
        refused: list[Refusal] = []
        assert store.link([late], refused=refused) == []
        assert refused == [Refusal(late, None, "timestamp")] and store.head()[0] == 0
    finally:
        store.close()



@pytest.mark.server
def test_verify_names_every_refused_record_and_exits_3(influxdb1, tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = ChainStore(state / "haccp-chain.db")
    try:
        out = store.link([bucket(0), bucket(1, value_s=math.inf), bucket(2),
                          bucket(3, mean=math.nan)])
        out += store.link([bucket(3, mean=math.nan)])  # computed again: named once
        store.mark_enqueued()
    finally:
        store.close()
    write(influxdb1, "haccp_refused", out)
    src = ["--url", influxdb1.url, "--db", "haccp_refused"]
    plain = haccp("verify", *src)  # without the agent's state: the stored chain only
    assert plain.returncode == 0 and "chain intact" in plain.stdout, plain.stdout
    res = haccp("verify", *src, "--state-dir", str(state))
    assert res.returncode == 3, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert "2 records, seq 1..2: chain intact" in lines[0]
    refused = [ln for ln in lines if "REFUSED" in ln]
    assert len(refused) == 2, lines
    assert "ccp=cold at 2026-11-30T06:01:00+00:00" in refused[0]
    assert "field value_s is float inf (non_finite)" in refused[0]
    assert "field mean is float nan (non_finite)" in refused[1]
    assert lines[-1] == "haccp verify: 2 record(s) refused by the agent's chain"
    assert "Traceback" not in res.stderr

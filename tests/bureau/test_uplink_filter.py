"""The bureau uplink's allow-list: only aggregates leave, whatever the point looks like."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.points import Point
from lineside.sinks.uplink import (
    UPLINK_AUTOMATION_TAG_KEYS,
    UPLINK_MEASUREMENTS,
    UPLINK_OEE_LEVELS,
    UPLINK_TAG_KEYS,
    allowed_on_uplink,
    prepare_for_uplink,
    tag_for_uplink,
    uplink_refusal,
    uplink_tag_problems,
)

T = 1_764_000_000_000_000_000
BASE = {"enterprise": "E1", "site": "S1"}


def pt(m: str, tags: dict[str, str], fields: dict | None = None) -> Point:
    return Point(m, {**BASE, **tags}, fields or {"run_s": 60.0}, T)


# (name, point, allowed)
CASES = [
    ("automation, enterprise level", pt("automation", {"region": "510114", "gateway": "g1",
                                                       "level": "enterprise"}), True),
    ("automation, line level", pt("automation", {"line": "L1", "region": "510114",
                                                 "level": "line"}), True),
    ("automation, stage level", pt("automation", {"line": "L1", "stage": "cut1",
                                                  "stage_kind": "cutting", "level": "stage"}),
     True),
    ("automation without a level", pt("automation", {"line": "L1"}), False),
    ("automation at the old stage-kind level", pt("automation", {
        "line": "L1", "stage_kind": "cutting", "level": "stage_kind"}), False),
    ("oee site of one gateway", pt("oee", {"level": "site", "gateway": "g1"}), True),
    ("oee line", pt("oee", {"line": "L1", "level": "line"}), True),
    ("oee site", pt("oee", {"level": "site"}), True),
    ("oee_shift line", pt("oee_shift", {"line": "L1", "level": "line", "shift": "A",
                                        "shift_date": "2026-11-28"}), True),
    ("oee stage", pt("oee", {"line": "L1", "stage": "fry", "level": "stage"}), False),
    ("oee machine", pt("oee", {"line": "L1", "stage": "fry", "machine": "F1",
                               "level": "machine"}), False),
    ("oee without level", pt("oee", {"line": "L1"}), False),
    ("oee claiming line level but naming a machine",
     pt("oee", {"line": "L1", "machine": "F1", "level": "line"}), False),
    ("oee_shift stage", pt("oee_shift", {"stage": "fry", "level": "stage", "shift": "A"}),
     False),
    ("oee with shift tags", pt("oee", {"level": "line", "shift": "A"}), False),
    ("signal", pt("signal", {"signal": "F1.temp", "machine": "F1"}, {"value": 180.0}),
     False),
    ("machine_state", pt("machine_state", {"machine": "F1"}, {"state": "fault"}), False),
    ("unknown measurement", pt("recipe", {"level": "site"}), False),
    ("automation carrying a machine tag", pt("automation", {"machine": "F1"}), False),
    ("automation carrying a signal tag", pt("automation", {"signal": "F1.x"}), False),
    ("automation at machine level", pt("automation", {"level": "machine"}), False),
    ("automation with a string field", pt("automation", {}, {"note": "oven 3 broke"}),
     False),
    ("oee with a string field", pt("oee", {"level": "line"}, {"reason": "x", "run_s": 1.0}),
     False),
    ("automation with NaN", pt("automation", {}, {"run_s": float("nan")}), False),
    ("automation without fields", Point("automation", BASE, {}, T), False),
    ("empty machine tag is no tag", pt("oee", {"level": "line", "machine": ""}), True),
]


@pytest.mark.parametrize(("name", "point", "allowed"), CASES, ids=[c[0] for c in CASES])
def test_allow_list(name, point, allowed):
    assert allowed_on_uplink(point) is allowed
    reason = uplink_refusal(point)
    assert (reason is None) is allowed
    if reason:
        assert point.measurement in reason or "measurement" in reason


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
values = st.one_of(st.floats(allow_nan=True), st.integers(), st.booleans(), st.text(max_size=5))


@settings(max_examples=400, deadline=None)
@given(
    m=st.one_of(st.sampled_from(["automation", "oee", "oee_shift", "signal",
                                 "machine_state"]), names),
    tags=st.dictionaries(st.one_of(st.sampled_from(sorted(UPLINK_TAG_KEYS | {
        "machine", "stage", "signal", "state"})), names), st.text(max_size=4), max_size=6),
    fields=st.dictionaries(names, values, max_size=5),
)
def test_property_nothing_but_aggregates(m, tags, fields):
    """Whatever a point looks like, if it passes it is an aggregate with numeric fields."""
    p = Point(m, tags, fields, T)
    if not allowed_on_uplink(p):
        return
    assert m in UPLINK_MEASUREMENTS
    assert not tags.get("machine") and not tags.get("signal")
    if m == "automation":  # stage sums leave (the bureau rebuilds rates from them)
        assert {k for k, v in tags.items() if v} <= UPLINK_AUTOMATION_TAG_KEYS
        assert tags.get("level") in ("stage", "line", "enterprise")
    else:
        assert {k for k, v in tags.items() if v} <= UPLINK_TAG_KEYS
        assert not tags.get("stage")
        assert tags.get("level") in UPLINK_OEE_LEVELS
    assert fields and all(not isinstance(v, str) for v in fields.values())


def test_tagging_sets_the_registered_identity():
    p = pt("oee", {"level": "line", "enterprise": "someone-else"})
    q = tag_for_uplink(p, "E1", "510114")
    assert q.tags["enterprise"] == "E1" and q.tags["region"] == "510114"
    assert q.fields == p.fields and q.ts_ns == p.ts_ns
    assert uplink_tag_problems(q.tags, "E1", "510114") == []
    probs = uplink_tag_problems({"enterprise": "E2", "region": "1"}, "E1", "510114")
    assert len(probs) == 2
    assert uplink_tag_problems({}, "E1", "510114") == ["missing tag 'enterprise'",
                                                       "missing tag 'region'"]


def test_prepare_filters_then_tags():
    pts = [pt("automation", {"level": "line", "line": "L1"}),
           pt("signal", {"signal": "a.b"}, {"value": 1.0}),
           pt("oee", {"level": "machine", "machine": "M"}), pt("oee", {"level": "site"})]
    out = prepare_for_uplink(pts, "E1", "510114")
    assert [p.measurement for p in out] == ["automation", "oee"]
    assert all(p.tags["region"] == "510114" for p in out)

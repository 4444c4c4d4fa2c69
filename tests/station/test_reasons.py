"""Reasons are data (docs/station.md): stops and classifications in, a ledger of
`downtime_reason` points out, whose sums are the downtime Pareto over any range."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.engine.emit import ns
from lineside.engine.reasons import EVENT_SIGNAL, MEASUREMENT, classify_event
from lineside.engine.replay import replay
from lineside.samplelog import SampleLog, read_samples
from lineside.samples import Quality, Sample
from lineside.sinks.lineproto import to_line
from tests.engine.plant import MON, cfg, machine
from tests.station.tree import TREE, plant, station

T0 = MON + 8 * 3600
CFG = plant()
# Machine states as the PLC shows them: (running, fault, fault_code)
PRODUCING, IDLE = (True, False, 0), (False, False, 0)


def FAULT(code: int) -> tuple[bool, bool, int]:
    return (False, True, code)


def states(mid: str, rows: list[tuple[float, tuple[bool, bool, int]]]) -> list[Sample]:
    """The samples of a machine that shows each row's state from its time on, read
    every 5 s (the machines go stale after 10 s of silence)."""
    out: list[Sample] = []
    for (t, row), nxt in zip(rows, [*rows[1:], (rows[-1][0] + 5, None)], strict=True):
        while t < nxt[0]:
            for name, v in zip(("running", "fault", "fault_code"), row, strict=True):
                out.append(Sample(f"{mid}.{name}", v, Quality.GOOD, t))
            t += 5
    return out


def classify(t: float, mid: str, start: float, reason: str, by: str = "li") -> Sample:
    return Sample(EVENT_SIGNAL, classify_event(mid, ns(start), reason, by), Quality.GOOD, t)


def reason_points(pts: list[Any]) -> list[Any]:
    return [p for p in pts if p.measurement == MEASUREMENT]


def pareto(pts: list[Any], a: float = 0, b: float = 1e12) -> dict[str, float]:
    """Σ seconds by reason over the entries stamped in [a, b): what InfluxQL's
    SUM(seconds) GROUP BY reason gives; reasons that sum to nothing left out."""
    out: dict[str, float] = defaultdict(float)
    for p in reason_points(pts):
        if ns(a) <= p.ts_ns < ns(b):
            out[p.tags["reason"]] += p.fields["seconds"]
    return {k: round(v, 6) for k, v in out.items() if round(v, 6) != 0}


def run(samples: list[Sample], end: float, config: LinesideConfig = CFG) -> list[Any]:
    eng = Engine(config, samples[0].ts)
    pts = eng.feed(sorted(samples, key=lambda s: s.ts))
    return pts + eng.tick(end)


def story() -> list[Sample]:
    """M1: 10 min fault code 12 (the table says motor), 6 min idle, 1 min fault code 7
    (shorter than min_stop_s: no stop), producing until 08:40. An operator explains the
    idle stop as `material` at 08:30; a supervisor makes it `changeover` at 08:35."""
    m1 = states("M1", [(T0, PRODUCING), (T0 + 300, FAULT(12)), (T0 + 900, IDLE),
                       (T0 + 1260, PRODUCING), (T0 + 1500, FAULT(7)),
                       (T0 + 1560, PRODUCING), (T0 + 2400, PRODUCING)])
    m2 = states("M2", [(T0, PRODUCING), (T0 + 2400, PRODUCING)])
    events = [classify(T0 + 1800, "M1", T0 + 900, "material"),
              classify(T0 + 2100, "M1", T0 + 900, "changeover", by="wang")]
    return sorted(m1 + m2 + events, key=lambda s: s.ts)


def test_a_stop_is_written_on_its_reason_and_a_reclassification_appends() -> None:
    pts = reason_points(run(story(), T0 + 2400))
    rows = [(p.ts_ns - ns(T0), p.tags["reason"], p.tags.get("loss"), p.fields["seconds"],
             p.fields["stops"], p.fields["by"], p.fields["entry"]) for p in pts]
    assert rows == [
        # the fault: code 12 -> motor through the fault-code table, at its end
        (ns(300) + 1, "motor", "breakdown", 600.0, 1, "plc", "stop"),
        # the idle stop: nobody has explained it when it ends
        (ns(900) + 1, "unclassified", None, 360.0, 1, "engine", "stop"),
        # the operator: off unclassified, onto material
        (ns(900) + 2, "unclassified", None, -360.0, -1, "li", "retract"),
        (ns(900) + 3, "material", "setup", 360.0, 1, "li", "assign"),
        # the supervisor: off material, onto changeover; nothing written is changed
        (ns(900) + 4, "material", "setup", -360.0, -1, "wang", "retract"),
        (ns(900) + 5, "changeover", "setup", 360.0, 1, "wang", "assign"),
    ]
    assert pts[0].fields["fault_code"] == 12 and pts[0].fields["state"] == "fault"
    assert pts[0].tags["machine"] == "M1" and pts[0].tags["reason_name"] == "电机过载"
    assert pts[0].tags["category"] == "mech"
    # The Pareto: every stop once, on its latest reason; 08:25 fault of 60 s is none.
    assert pareto(pts) == {"motor": 600.0, "changeover": 360.0}
    # ... and over a range: the stops that start in it.
    assert pareto(pts, T0, T0 + 600) == {"motor": 600.0}
    assert pareto(pts, T0 + 600, T0 + 2400) == {"changeover": 360.0}


def test_a_stop_classified_while_it_lasts_is_written_once_on_that_reason() -> None:
    samples = states("M1", [(T0, PRODUCING), (T0 + 60, IDLE), (T0 + 600, PRODUCING),
                            (T0 + 900, PRODUCING)])
    samples.append(classify(T0 + 300, "M1", T0 + 60, "belt"))
    pts = reason_points(run(samples, T0 + 900))
    assert [(p.tags["reason"], p.fields["seconds"], p.fields["by"]) for p in pts] == [
        ("belt", 540.0, "li")]


def test_the_operator_wins_over_the_fault_code_table() -> None:
    samples = states("M1", [(T0, PRODUCING), (T0 + 60, FAULT(12)), (T0 + 600, PRODUCING),
                            (T0 + 900, PRODUCING)])
    samples.append(classify(T0 + 300, "M1", T0 + 60, "belt"))
    assert pareto(run(samples, T0 + 900)) == {"belt": 540.0}


@pytest.mark.parametrize(("event", "why"), [
    (classify_event("M1", ns(T0 + 901), "material", "li"), "no such stop"),
    (classify_event("M1", ns(T0 + 900), "teatime", "li"), "unknown reason"),
    (classify_event("M1", ns(T0 + 900), "unclassified", "li"), "unknown reason"),
    (classify_event("M1", ns(T0 + 900), "material", ""), "no user"),
    ("{not json", "not a classification"),
])
def test_an_event_that_names_no_stop_or_reason_changes_nothing(event: str, why: str) -> None:
    samples = states("M1", [(T0, PRODUCING), (T0 + 900, IDLE), (T0 + 1260, PRODUCING),
                            (T0 + 1400, PRODUCING)])
    samples.append(Sample(EVENT_SIGNAL, event, Quality.GOOD, T0 + 1300))
    eng = Engine(CFG, T0)
    pts = eng.feed(sorted(samples, key=lambda s: s.ts)) + eng.tick(T0 + 1400)
    assert pareto(pts) == {"unclassified": 360.0}
    assert eng.reasons is not None and eng.reasons.events_refused == 1
    assert why in (eng.reasons.refusal(event, T0 + 1400) or "")


def test_a_stop_older_than_reclassify_days_is_closed_to_changes() -> None:
    samples = states("M1", [(T0, PRODUCING), (T0 + 60, IDLE), (T0 + 600, PRODUCING),
                            (T0 + 660, PRODUCING)])
    late = T0 + 7 * 86400 + 61
    samples.append(classify(late, "M1", T0 + 60, "belt"))
    eng = Engine(CFG, T0)
    pts = eng.feed(samples) + eng.tick(late + 1)
    assert pareto(pts) == {"unclassified": 540.0}
    assert eng.reasons is not None and eng.reasons.events_refused == 1


def test_without_a_station_section_no_reason_point_is_written() -> None:
    bare = CFG.model_copy(update={"station": None})
    pts = run(story(), T0 + 2400, bare)
    assert reason_points(pts) == []
    assert any(p.fields.get("needs_reason") for p in pts)  # the flag stays as it was


def test_replay_of_the_sample_log_reproduces_every_reason_point(tmp_path: Path) -> None:
    """The agent records classifications in the sample log like any sample; `replay`
    gives the live run's line protocol byte for byte."""
    samples = story()
    eng = Engine(CFG, samples[0].ts)
    live: list[Any] = []
    log_path = tmp_path / "samples.jsonl.gz"
    with SampleLog(log_path) as log:
        for i in range(0, len(samples), 7):  # the agent's poll cycles
            chunk = samples[i:i + 7]
            log.write(chunk)
            live += eng.feed(chunk)
            live += eng.tick(chunk[-1].ts)
    replayed = list(replay(CFG, read_samples(log_path)))
    live_lines = [to_line(p) for p in live if p.measurement == MEASUREMENT]
    assert len(live_lines) == 6
    assert live_lines == [to_line(p) for p in replayed if p.measurement == MEASUREMENT]


def test_the_reason_tree_is_checked() -> None:
    dup = [*TREE, {"id": "x", "name": "x", "reasons": [
        {"id": "motor", "name": "again", "loss": "breakdown"}]}]
    with pytest.raises(ValidationError, match="used more than once"):
        plant(categories=dup)
    with pytest.raises(ValidationError, match="unknown reason 'nope'"):
        plant(fault_codes=[{"code": 1, "reason": "nope"}])
    with pytest.raises(ValidationError, match="loss"):
        plant(categories=[{"id": "c", "name": "c", "reasons": [
            {"id": "r", "name": "r", "loss": "coffee"}]}])
    with pytest.raises(ValidationError, match="tls_cert and tls_key"):
        plant(tls_cert="/etc/cert.pem")


# ------------------------------------------------------------ any history, any range
CHANGES = st.lists(st.tuples(st.sampled_from(["M1", "M2"]),
                             st.sampled_from([PRODUCING, IDLE, FAULT(12), FAULT(7)]),
                             st.sampled_from([30, 60, 90, 150, 300, 600])),
                   min_size=1, max_size=25)
REASONS = [r["id"] for c in TREE for r in c["reasons"]]


@st.composite
def histories(draw: Any) -> list[Sample]:
    """Two machines changing state, and classification events at random moments for
    random stops (real ones and not), some of them reclassifications."""
    rows: dict[str, list[tuple[float, Any]]] = {"M1": [(T0, PRODUCING)],
                                                "M2": [(T0, PRODUCING)]}
    clock = {"M1": T0, "M2": T0}
    for mid, state, dur in draw(CHANGES):
        clock[mid] += dur
        rows[mid].append((clock[mid], state))
    end = max(clock.values()) + 300
    samples: list[Sample] = []
    for mid, r in rows.items():
        samples += states(mid, [*r, (end, PRODUCING)])
    # Mostly the starts of stops on their own machine; any row start now and then.
    starts = [(m, t) for m, r in rows.items() for t, row in r if row != PRODUCING] \
        or [("M1", T0)]
    for _ in range(draw(st.integers(0, 12))):
        mid, start = draw(st.sampled_from(starts))
        if draw(st.integers(0, 5)) == 0:
            mid, start = draw(st.sampled_from(["M1", "M2"])), draw(st.sampled_from(
                [t for r in rows.values() for t, _ in r]))
        when = draw(st.floats(start, end))
        samples.append(classify(round(when), mid, start,
                                draw(st.sampled_from(REASONS)),
                                draw(st.sampled_from(["li", "wang"]))))
    return sorted(samples, key=lambda s: s.ts)


def final_stops(eng: Engine) -> list[Any]:
    assert eng.reasons is not None
    return list(eng.reasons.stops.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.floats(0, 1), st.floats(0, 1))
def test_sums_over_any_range_are_the_stops_of_that_range_on_their_last_reason(
        samples: list[Sample], a: float, b: float) -> None:
    end = samples[-1].ts + 1
    eng = Engine(CFG, T0)
    pts = eng.feed(samples) + eng.tick(end)
    lo, hi = sorted((T0 + a * (end - T0), T0 + b * (end - T0)))
    expected: dict[str, float] = defaultdict(float)
    for s in final_stops(eng):
        if lo <= s.start < hi:
            expected[s.reason] += s.seconds
    assert pareto(pts, lo, hi) == {k: round(v, 6) for k, v in expected.items() if v}
    # Each stop counts once: the `stops` field sums to the number of stops.
    n = sum(p.fields["stops"] for p in reason_points(pts))
    assert n == len(final_stops(eng))
    # No two entries of a series share a timestamp (InfluxDB would keep only the last).
    keys = [(tuple(sorted(p.tags.items())), p.ts_ns) for p in reason_points(pts)]
    assert len(keys) == len(set(keys))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.floats(0, 1))
def test_reason_points_survive_a_restart_from_the_snapshot(samples: list[Sample],
                                                           where: float) -> None:
    end = samples[-1].ts + 1
    whole = run(samples, end)
    split = int(where * len(samples))
    eng = Engine(CFG, T0)
    pts = eng.feed(samples[:split])
    eng = Engine(CFG, 0.0, snapshot=json.loads(json.dumps(eng.snapshot(), allow_nan=False)))
    pts += eng.feed(samples[split:]) + eng.tick(end)
    assert [to_line(p) for p in reason_points(whole)] == \
        [to_line(p) for p in reason_points(pts)]


def test_a_machine_scoped_fault_code_applies_to_that_machine_only() -> None:
    config = plant(fault_codes=[{"code": 7, "reason": "belt", "machines": ["M2"]}])
    samples = states("M1", [(T0, PRODUCING), (T0 + 60, FAULT(7)), (T0 + 600, PRODUCING),
                            (T0 + 660, PRODUCING)])
    samples += states("M2", [(T0, PRODUCING), (T0 + 60, FAULT(7)), (T0 + 600, PRODUCING),
                             (T0 + 660, PRODUCING)])
    pts = reason_points(run(sorted(samples, key=lambda s: s.ts), T0 + 700, config))
    assert sorted((p.tags["machine"], p.tags["reason"]) for p in pts) == [
        ("M1", "unclassified"), ("M2", "belt")]


def test_station_config_is_optional() -> None:
    bare = cfg([{"id": "L1", "stages": [{"id": "S1", "kind": "frying",
                                          "machines": [machine("M1", "running")]}]}])
    assert bare.station is None
    assert plant().station is not None and station()["min_stop_s"] == 120

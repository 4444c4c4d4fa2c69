"""The action book forgets closed deviations (engine/actions.py, docs/haccp.md "When a
deviation is closed"): ten simulated days of a pasteurizer with a deviation every six
hours, answered in four ways, through the engine. The bureau's `unanswered_24h` and
`lots_on_hold` must equal what the script gives (computed here without the engine's
book), entries must be refused exactly from the closing instant on, the book must hold
only the deviations still open, and a restart every hour or a replay must change
nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineside.config.ccp import CorrectiveAction
from lineside.config.loader import load_config
from lineside.engine.actions import EVENT_SIGNAL, OPEN_NS, deviation_id, entry_event
from lineside.engine.core import Engine
from lineside.engine.replay import replay
from lineside.points import Point
from lineside.samples import Quality, Sample

CASE = Path(__file__).resolve().parents[1] / "cases" / "deviation-spanning-a-lot-change"
T0 = 1796018400  # 06:00 UTC
DAY, H = 86400, 3600
DAYS = 10
BUCKET = 600
OPEN_S = OPEN_NS // 1_000_000_000


def _cfg() -> Any:
    cfg = load_config(CASE / "config.yaml")
    return cfg.model_copy(update={
        "corrective_actions": [CorrectiveAction(id="reprocess")],
        "metrics": cfg.metrics.model_copy(update={"bucket_s": BUCKET})})


@dataclass
class Dev:
    start: int
    end: int
    lots: list[str]
    entries: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return deviation_id("s1", "hold", "limit", self.start * 1_000_000_000)


def _lot(t: int) -> str:
    return str(1000 + (t - T0) // (2 * H))  # a new batch every two hours


def _script() -> tuple[list[Dev], list[Sample]]:
    """Deviations 5 min long every 6 h (at :15 past, so some span a lot change) and the
    entries of each, in four manners by index: settled at once, held then released after
    three days, never answered, answered and held but never verified."""
    devs: list[Dev] = []
    for k, start in enumerate(range(T0 + 1800 + 300, T0 + DAYS * DAY - 12 * H, 6 * H)):
        end = start + 300 + (5400 if k % 3 == 0 else 0)  # every third spans a lot change
        lots = sorted({_lot(start), _lot(end - 1)})
        d = Dev(start, end, lots)
        act = ("action", "wang", {"action": "reprocess", "role": "supervisor"})
        a = end + 1800 + 7
        if k % 4 == 0:
            d.entries += [(a, *act)] + [
                (a + 10 + i, "dispose", "wang", {"lot": lot, "disposition": "release",
                                                 "justification": "lab negative",
                                                 "role": "supervisor"})
                for i, lot in enumerate(lots)] + [(a + 3600, "verify", "chen", {"role": "qa"})]
        elif k % 4 == 1:
            d.entries += [(a, *act)] + [
                (a + 10 + i, "dispose", "wang", {"lot": lot, "disposition": "hold",
                                                 "role": "supervisor"})
                for i, lot in enumerate(lots)] + [(a + 3600, "verify", "chen", {"role": "qa"})]
            d.entries += [(a + 3 * DAY + i, "dispose", "wang",
                           {"lot": lot, "disposition": "destroy", "role": "supervisor"})
                          for i, lot in enumerate(lots)]
        elif k % 4 == 3:
            d.entries += [(a, *act), (a + 10, "dispose", "wang",
                                      {"lot": lots[0], "disposition": "hold",
                                       "role": "supervisor"})]
        devs.append(d)
    samples: list[Sample] = []
    last = max(e[0] for d in devs for e in d.entries)  # readings go on past every entry
    for t in range(T0, last + H, 300):
        cold = any(d.start <= t < d.end for d in devs)
        samples.append(Sample("past.hold_temp", 70.0 if cold else 72.5, Quality.GOOD, t))
        samples.append(Sample("past.batch", int(_lot(t)), Quality.GOOD, t))
        if t == T0:
            samples.append(Sample("past.running", True, Quality.GOOD, t))
    for d in devs:
        for at, kind, by, extra in d.entries:
            ex = {k: v for k, v in extra.items() if k != "role"}
            samples.append(Sample(EVENT_SIGNAL, entry_event(kind, d.id, by, extra["role"], **ex),
                                  Quality.GOOD, float(at)))
    samples.sort(key=lambda s: s.ts)
    return devs, samples


def _run(cfg: Any, samples: list[Sample], restart_every: int | None = None
         ) -> tuple[Engine, list[Point]]:
    eng = Engine(cfg, samples[0].ts)
    out: list[Point] = []
    last = samples[0].ts
    for s in samples:
        if restart_every and s.ts - last >= restart_every:
            eng = Engine(cfg, eng.now, snapshot=json.loads(json.dumps(eng.snapshot())))
            last = s.ts
        out += eng.feed([s])
    out += eng.feed([])  # the book drops what the last bucket closed at its next feed
    return eng, out


def _expected(devs: list[Dev], end: int) -> tuple[int, int]:
    """(unanswered_24h, lots_on_hold) at a bucket's end, from the script alone."""
    late = held = 0
    for d in devs:
        if d.start >= end:
            continue
        done = [e for e in d.entries if e[0] < end]
        if d.start + DAY <= end and not any(e[1] == "action" for e in done):
            late += 1
        latest: dict[str, str] = {}
        for _, kind, _, extra in done:
            if kind == "dispose":
                latest[extra["lot"]] = extra["disposition"]
        held += sum(1 for v in latest.values() if v == "hold")
    return late, held


def test_the_bureau_figures_stay_exact_while_closed_deviations_are_dropped() -> None:
    cfg = _cfg()
    devs, samples = _script()
    eng, out = _run(cfg, samples)
    bureau = [p for p in out if p.measurement == "haccp_bureau"]
    assert len(bureau) > DAYS * DAY // BUCKET
    wrong = [(p.ts_ns, p.fields, _expected(devs, p.ts_ns // 1_000_000_000 + BUCKET))
             for p in bureau
             if (p.fields["unanswered_24h"], p.fields["lots_on_hold"])
             != _expected(devs, p.ts_ns // 1_000_000_000 + BUCKET)]
    assert wrong == []
    last = bureau[-1].fields
    assert last["unanswered_24h"] > 0 and last["lots_on_hold"] > 0  # both kinds were dropped
    # every entry of the script was taken: none came after its deviation closed
    assert eng.actions is not None
    assert eng.actions.events_refused == 0
    assert eng.actions.events_applied == sum(len(d.entries) for d in devs)
    # the book holds exactly the deviations not yet closed at the last bucket's end
    end = bureau[-1].ts_ns // 1_000_000_000 + BUCKET

    def closed(d: Dev, k: int) -> bool:
        listed = d.end <= end
        settled = (k % 4 == 0 and end > d.end + 1800 + 7 + 3600) or \
            (k % 4 == 1 and end >= d.end + 1800 + 7 + 3 * DAY + len(d.lots))
        held = k % 4 == 3  # a lot on hold keeps it open however old
        return listed and ((d.start + OPEN_S <= end and not held) or settled)

    assert sorted(eng.actions.deviations) == sorted(
        d.id for k, d in enumerate(devs) if not closed(d, k))
    assert len(eng.actions.deviations) < len(devs) // 2


def test_an_entry_is_taken_until_the_deviation_is_a_week_old_and_refused_from_then() -> None:
    cfg = _cfg()
    devs, samples = _script()
    d = devs[2]  # never answered
    assert d.entries == []
    until = float(d.start + OPEN_S + 2 * BUCKET)
    base = [s for s in samples if s.ts <= until]

    def act(at: float) -> Sample:
        return Sample(EVENT_SIGNAL, entry_event("action", d.id, "wang", "supervisor",
                                                action="reprocess"), Quality.GOOD, at)

    eng, out = _run(cfg, sorted([*base, act(d.start + OPEN_S - 1)], key=lambda s: s.ts))
    assert eng.actions is not None
    assert [p.fields["at_ns"] for p in out if p.measurement == "ccp_action"
            and p.tags["ccp"] == "hold" and p.ts_ns // 1_000_000_000 == d.start] == [
        (d.start + OPEN_S - 1) * 1_000_000_000]
    eng, out = _run(cfg, sorted([*base, act(d.start + OPEN_S)], key=lambda s: s.ts))
    assert eng.actions is not None
    assert not any(p.measurement == "ccp_action" and p.ts_ns // 1_000_000_000 == d.start
                   for p in out)
    assert d.id not in eng.actions.deviations  # dropped, and the command is told why
    assert "closed" in (eng.actions.refusal(act(until).value) or "")


def test_a_settled_deviation_takes_no_more_entries() -> None:
    cfg = _cfg()
    devs, samples = _script()
    d = devs[0]  # released and verified
    v = d.entries[-1][0]
    again = Sample(EVENT_SIGNAL, entry_event("dispose", d.id, "wang", "supervisor",
                                             lot=d.lots[0], disposition="hold"),
                   Quality.GOOD, float(v + 1))
    eng, _ = _run(cfg, sorted([*(s for s in samples if s.ts <= v + 2 * BUCKET), again],
                              key=lambda s: s.ts))
    assert eng.actions is not None
    assert eng.actions.events_refused == 1
    assert d.id not in eng.actions.deviations
    assert "closed" in (eng.actions.refusal(again.value) or "")


def test_restarts_every_hour_and_a_replay_write_the_same_records() -> None:
    cfg = _cfg()
    _, samples = _script()
    keep = ("ccp_action", "haccp_bureau", "ccp_lot", "ccp_deviation")
    _, live = _run(cfg, samples)
    _, restarted = _run(cfg, samples, restart_every=H)
    replayed = list(replay(cfg, samples))
    want = [p for p in live if p.measurement in keep]
    assert len(want) > 1000
    assert [p for p in restarted if p.measurement in keep] == want
    assert sorted((p for p in replayed if p.measurement in keep),
                  key=lambda p: (p.measurement, p.ts_ns, sorted(p.tags.items()))) == sorted(
        want, key=lambda p: (p.measurement, p.ts_ns, sorted(p.tags.items())))

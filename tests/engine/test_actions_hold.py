"""A lot on hold keeps its deviation open however old (engine/actions.py, docs/haccp.md
"When a deviation is closed"): lab results take their time, and a lot held past the age
limit must still be released in the record, its `lots_on_hold` dropping then. The age
limit (`deviation_open_days`) closes only deviations without a lot on hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.config.schema import config_schema
from lineside.engine.actions import EVENT_SIGNAL, entry_event
from lineside.engine.replay import replay
from lineside.samples import Quality, Sample
from tests.engine.test_actions_prune import (
    BUCKET,
    CASE,
    DAY,
    T0,
    Dev,
    H,
    _cfg,
    _expected,
    _lot,
    _run,
)

START = T0 + 2 * H + 900  # 08:15, five minutes below 72 °C
HELD_S = 10 * DAY  # the lab's answer comes ten days later


def _script(release_at: int, open_days: float = 7) -> tuple[Any, Dev, list[Sample]]:
    """One deviation, answered and its lot held an hour after it ended, released
    `release_at` seconds after its start; readings every 5 min for a day beyond."""
    cfg = _cfg()
    cfg = cfg.model_copy(update={"deviation_open_days": open_days})
    d = Dev(START, START + 300, [_lot(START)])
    a = d.end + H
    d.entries = [(a, "action", "wang", {"action": "reprocess", "role": "supervisor"}),
                 (a + 10, "dispose", "wang", {"lot": d.lots[0], "disposition": "hold",
                                              "role": "supervisor"}),
                 (START + release_at, "dispose", "wang",
                  {"lot": d.lots[0], "disposition": "release",
                   "justification": "lab negative", "role": "supervisor"})]
    samples = [Sample("past.running", True, Quality.GOOD, T0)]
    for t in range(T0, START + release_at + DAY, 300):
        samples.append(Sample("past.hold_temp", 70.0 if d.start <= t < d.end else 72.5,
                              Quality.GOOD, t))
        samples.append(Sample("past.batch", int(_lot(t)), Quality.GOOD, t))
    for at, kind, by, extra in d.entries:
        ex = {k: v for k, v in extra.items() if k != "role"}
        samples.append(Sample(EVENT_SIGNAL, entry_event(kind, d.id, by, extra["role"], **ex),
                              Quality.GOOD, float(at)))
    samples.sort(key=lambda s: s.ts)
    return cfg, d, samples


def test_a_lot_held_ten_days_is_released_and_the_count_drops_at_its_bucket() -> None:
    cfg, d, samples = _script(HELD_S)
    eng, out = _run(cfg, samples)
    assert eng.actions is not None
    assert eng.actions.events_refused == 0
    assert eng.actions.events_applied == 3
    released = [p for p in out if p.measurement == "ccp_action"
                and p.fields.get("disposition") == "release"]
    assert [p.fields["at_ns"] for p in released] == [(START + HELD_S) * 1_000_000_000]
    bureau = [p for p in out if p.measurement == "haccp_bureau"]
    held = [(p.ts_ns // 1_000_000_000 + BUCKET, p.fields["lots_on_hold"]) for p in bureau]
    assert held and held == [(end, _expected([d], end)[1]) for end, _ in held]
    # one lot on hold from the hold's bucket for ten days; none from the release's bucket
    release_bucket = (START + HELD_S) // BUCKET * BUCKET + BUCKET
    assert [h for end, h in held if end == release_bucket] == [0]
    assert [h for end, h in held if end == release_bucket - BUCKET] == [1]
    assert sum(1 for _, h in held if h == 1) == (release_bucket - BUCKET - (d.end + H + 10)
                                                 ) // BUCKET + 1
    assert all(p.fields["unanswered_24h"] == 0 for p in bureau)
    # released, past the age limit and never verified: closed and dropped, refused now
    assert d.id not in eng.actions.deviations
    verify = entry_event("verify", d.id, "chen", "qa")
    assert "closed" in (eng.actions.refusal(verify) or "")


def test_a_held_deviation_takes_entries_past_the_age_limit_until_released() -> None:
    cfg, d, samples = _script(HELD_S)
    cut = [s for s in samples if s.ts < START + HELD_S - H]  # nine days and 23 h on
    eng, _ = _run(cfg, cut)
    assert eng.actions is not None
    assert d.id in eng.actions.deviations  # still open: its lot is on hold
    verify = entry_event("verify", d.id, "chen", "qa")
    assert eng.actions.refusal(verify, (START + HELD_S - H) * 1_000_000_000) is None
    # the book holds what is real: the one deviation with a lot on hold
    assert list(eng.actions.deviations) == [d.id]


def test_the_age_limit_is_configured_and_closes_a_deviation_without_a_lot_on_hold() -> None:
    """Two days: the release after 49 h closes it at once (past the limit, nothing on
    hold); an entry a second before the release is still taken."""
    cfg, d, samples = _script(49 * H, open_days=2)
    late = Sample(EVENT_SIGNAL, entry_event("verify", d.id, "chen", "qa"), Quality.GOOD,
                  float(START + 49 * H - 1))
    eng, _ = _run(cfg, sorted([*samples, late], key=lambda s: s.ts))
    assert eng.actions is not None
    assert (eng.actions.events_applied, eng.actions.events_refused) == (4, 0)
    after = Sample(EVENT_SIGNAL, entry_event("dispose", d.id, "wang", "supervisor",
                                             lot=d.lots[0], disposition="hold"),
                   Quality.GOOD, float(START + 49 * H + 1))
    eng, _ = _run(cfg, sorted([*samples, after], key=lambda s: s.ts))
    assert eng.actions is not None
    assert (eng.actions.events_applied, eng.actions.events_refused) == (3, 1)
    assert "2 days" in (eng.actions.refusal(after.value) or "")


def test_restarts_and_a_replay_across_the_release_write_the_same_records() -> None:
    cfg, _, samples = _script(HELD_S)
    keep = ("ccp_action", "haccp_bureau", "ccp_lot", "ccp_deviation")
    _, live = _run(cfg, samples)
    _, restarted = _run(cfg, samples, restart_every=DAY // 2)  # one at the release's day
    want = [p for p in live if p.measurement in keep]
    assert len(want) > HELD_S // BUCKET
    assert [p for p in restarted if p.measurement in keep] == want

    def key(p: Any) -> tuple[Any, ...]:
        return (p.measurement, p.ts_ns, sorted(p.tags.items()))
    assert sorted((p for p in replay(cfg, samples) if p.measurement in keep), key=key) \
        == sorted(want, key=key)


@pytest.mark.parametrize("days", [0, 0.5, 400, "week"])
def test_check_refuses_an_age_limit_out_of_range(tmp_path: Path, days: Any) -> None:
    doc = yaml.safe_load((CASE / "config.yaml").read_text())
    doc["deviation_open_days"] = days
    f = tmp_path / "c.yaml"
    f.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as e:  # as `lineside check` reports it
        load_config(f)
    assert "deviation_open_days" in str(e.value)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, config_schema())
    doc["deviation_open_days"] = 30
    f.write_text(json.dumps(doc))
    assert load_config(f).deviation_open_days == 30
    jsonschema.validate(doc, config_schema())

"""Lots (issue 27, docs/lots.md): the engine's lot book, affected lots of a deviation,
determinism, restarts. The hand arithmetic is in the case folders (tests/cases/lot-*,
lots-*, deviation-spanning-a-lot-change, margin-pulls-in-the-previous-lot); here what a
case folder cannot say: which points are *not* written, and that live = replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.engine.core import Engine
from lineside.engine.lots import EVENT_SIGNAL, LotBook, lot_event, lot_id
from lineside.engine.replay import replay
from lineside.samplelog import read_samples
from lineside.samples import Quality, Sample

CASES = Path(__file__).resolve().parents[1] / "cases"


def _case(name: str, **ccp: Any) -> tuple[Any, list[Sample]]:
    cfg = load_config(CASES / name / "config.yaml")
    if ccp:
        cfg = cfg.model_copy(update={"ccps": [c.model_copy(update=ccp) for c in cfg.ccps]})
    return cfg, list(read_samples(CASES / name / "samples.jsonl"))


def _affected(points: list[Any]) -> list[tuple[str, str]]:
    return sorted((p.tags["ccp"], p.tags["lot"]) for p in points if p.measurement == "ccp_lot")


def test_a_deviation_spanning_a_lot_change_lists_both_lots_and_no_other() -> None:
    cfg, samples = _case("deviation-spanning-a-lot-change")
    assert _affected(list(replay(cfg, samples))) == [("hold", "1201"), ("hold", "1202")]


def test_the_margin_pulls_in_the_previous_lot_and_not_the_one_before() -> None:
    cfg, samples = _case("margin-pulls-in-the-previous-lot")
    assert _affected(list(replay(cfg, samples))) == [("hold", "1201"), ("hold", "1202")]
    # without the margin, the lot of the deviation alone
    cfg, samples = _case("margin-pulls-in-the-previous-lot", lot_margin_before_s=0.0,
                         lot_margin_after_s=0.0)
    assert _affected(list(replay(cfg, samples))) == [("hold", "1202")]


@pytest.mark.parametrize("name", ["deviation-spanning-a-lot-change",
                                  "margin-pulls-in-the-previous-lot",
                                  "lots-from-the-batch-register",
                                  "lot-of-a-machine-without-counters"])
def test_poll_by_poll_gives_the_points_of_one_replay(name: str) -> None:
    """The agent feeds one poll at a time, `replay` thousands of samples at once: the
    lot and affected-lot points are the same (a record must not depend on the chunk)."""
    cfg, samples = _case(name)
    def key(p: Any) -> tuple[Any, ...]:
        return p.measurement, p.ts_ns, sorted(p.tags.items())

    whole = sorted((p for p in replay(cfg, samples) if p.measurement in ("lot", "ccp_lot")),
                   key=key)
    eng = Engine(cfg, samples[0].ts)
    polls: list[Any] = []
    for s in samples:
        polls += eng.feed([s])
    polls += eng.tick(samples[-1].ts)
    assert sorted((p for p in polls if p.measurement in ("lot", "ccp_lot")), key=key) == whole
    assert whole


def test_a_lot_open_across_a_restart_counts_both_halves() -> None:
    cfg, samples = _case("lots-from-the-batch-register")
    whole = [p for p in replay(cfg, samples) if p.measurement == "lot"]
    cut = next(i for i, s in enumerate(samples) if s.ts >= 1796019600.0)  # inside 1201
    eng = Engine(cfg, samples[0].ts)
    first = eng.feed(samples[:cut])
    snap = json.loads(json.dumps(eng.snapshot()))  # as the agent stores it
    eng2 = Engine(cfg, samples[cut].ts, snapshot=snap)
    second = eng2.feed(samples[cut:]) + eng2.tick(samples[-1].ts)
    assert [p for p in first + second if p.measurement == "lot"] == whole


def _book() -> LotBook:
    return LotBook({"M1": {"machine": "M1"}, "M2": {"machine": "M2"}},
                   {"L1": ["M1", "M2"]}, {"M1": (0,)}, [])


@pytest.mark.parametrize(("event", "why"), [
    (lot_event("start", "B-1", machine="M9", by="zhang"), "no machine 'M9'"),
    (lot_event("start", "B-1", line="L9", by="zhang"), "no line 'L9'"),
    (lot_event("start", "", machine="M1", by="zhang"), "not a lot id"),
    (lot_event("start", "0", machine="M1", by="zhang"), "not a lot id"),
    (lot_event("start", "B-1", machine="M1"), "no user"),
    (lot_event("start", "B-1", by="zhang"), "name a machine or a line"),
    (lot_event("end", "B-1", machine="M1", by="zhang"), "not running there"),
    ('{"action":"pause","lot":"B-1","machine":"M1","by":"x"}', "unknown action"),
    ("not json", "not a lot command"),
])
def test_a_command_that_would_change_nothing_is_refused(event: str, why: str) -> None:
    book = _book()
    out: list[Any] = []
    assert why in (book.refusal(event) or "")
    assert not book.apply(event, 100.0, out)
    assert out == [] and book.events_refused == 1


def test_a_line_lot_runs_on_every_machine_and_a_new_lot_ends_the_one_before() -> None:
    book, out = _book(), []
    assert book.apply(lot_event("start", "A", line="L1", by="zhang"), 100.0, out)
    book.count("M1", 0, 30)
    assert book.apply(lot_event("start", "B", machine="M1", by="li"), 160.0, out)
    ends = [(p.tags["machine"], p.tags["lot"], p.fields) for p in out
            if p.tags["event"] == "end"]
    assert ends == [("M1", "A", {"start_ns": 100_000_000_000, "span_s": 60.0,
                                 "source": "command", "by": "zhang", "good_count": 30})]
    assert {m: x.lot for m, x in book.open.items()} == {"M1": "B", "M2": "A"}
    # ending the line's lot ends it where it still runs (M2), not M1's own lot
    assert book.apply(lot_event("end", "A", line="L1", by="zhang"), 200.0, out)
    assert {m: x.lot for m, x in book.open.items()} == {"M1": "B"}


@pytest.mark.parametrize(("value", "lot"), [
    (1201, "1201"), (1201.0, "1201"), (0, ""), (" B-7\x00\x00", "B-7"), ("", ""),
    (True, None), (12.5, None), ("x" * 65, None)])
def test_what_a_lot_signal_value_means(value: Any, lot: str | None) -> None:
    assert lot_id(value) == lot


def test_a_lot_signal_that_is_a_role_or_unknown_is_a_configuration_error(
        tmp_path: Path) -> None:
    text = (CASES / "lots-from-the-batch-register" / "config.yaml").read_text()
    for wrong, msg in (("lot_signal: good", "is a role signal"),
                       ("lot_signal: batch_no", "is not one of this machine's signals")):
        p = tmp_path / "c.yaml"
        p.write_text(text.replace("lot_signal: batch", wrong))
        with pytest.raises(ConfigError, match=msg):
            load_config(p)


def test_a_bad_read_of_the_lot_signal_ends_no_lot() -> None:
    cfg, samples = _case("lots-from-the-batch-register")
    eng = Engine(cfg, samples[0].ts)
    eng.feed(samples[:7])
    assert eng.lots.open["fryer"].lot == "1201"
    eng.feed([Sample("fryer.batch", None, Quality.BAD, samples[7].ts)])
    assert eng.lots.open["fryer"].lot == "1201"
    assert EVENT_SIGNAL == "@lot"

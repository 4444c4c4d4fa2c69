"""Counters combinations, products, process values, late samples, view, replay CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from lineside.cli.replay import add_arguments, run
from lineside.engine.core import Engine
from lineside.engine.replay import replay
from lineside.samplelog import SampleLog, read_samples
from lineside.samples import Quality
from tests.engine.plant import MON, S, at, cfg, machine, one_machine_line, pick, poll, shift

ONE_HOUR = [shift("A", "06:00-07:00")]


# counters the machine has -> rows (count values) -> expected total, good, reject
COUNTER_TABLE: list[tuple[tuple[str, ...], dict[str, int], tuple[int, int, int]]] = [
    (("good", "reject"), {"good": 900, "reject": 100}, (1000, 900, 100)),
    (("good", "total"), {"good": 900, "total": 1000}, (1000, 900, 100)),
    (("total", "reject"), {"total": 1000, "reject": 100}, (1000, 900, 100)),
    (("good",), {"good": 900}, (900, 900, 0)),
    (("total",), {"total": 1000}, (1000, 1000, 0)),  # no reject information
]


@pytest.mark.parametrize(("counters", "end_values", "expected"), COUNTER_TABLE,
                         ids=["+".join(c[0]) for c in COUNTER_TABLE])
def test_counter_combinations(counters: tuple[str, ...], end_values: dict[str, int],
                              expected: tuple[int, int, int]) -> None:
    c = cfg([one_machine_line("running", *counters)], ONE_HOUR)
    rows = [("06:00", {"running": True, **{k: 0 for k in counters}}), ("06:59", end_values)]
    from tests.engine.plant import run as run_engine

    _, pts = run_engine(c, poll(rows, "07:00", poll_s=10), "07:00")
    (sh,) = pick(pts, "oee_shift", level="machine")
    f = sh.fields
    assert (f["total_count"], f["good_count"], f["reject_count"]) == expected


def test_increment_counters_and_product_table() -> None:
    # Per-cycle increments; product 2 runs at 30/min (2 s per unit), others at 60/min.
    c = cfg([one_machine_line("running", "good", "product", counters={"mode": "increment"},
                              products={2: 30.0})], ONE_HOUR)
    eng = Engine(c, at("06:00"))
    samples = []
    for i in range(3600):
        t = at("06:00") + i
        samples += [S("M1.running", True, t), S("M1.product", 1 if i < 1800 else 2, t),
                    S("M1.good", 1 if i < 1800 else (1 if i % 2 == 0 else 0), t)]
    pts = eng.feed(samples) + eng.tick(at("07:00"))
    (sh,) = pick(pts, "oee_shift", level="machine")
    # 1800 units x 1 s + 900 units x 2 s = 3600 s of ideal time in 3600 s of running
    assert sh.fields["total_count"] == 2700
    assert sh.fields["ideal_s"] == pytest.approx(3600.0)
    assert sh.fields["performance"] == pytest.approx(1.0)


def test_planned_downtime_only_for_its_line() -> None:
    lines = [one_machine_line("running", line="L1"),
             {"id": "L2", "stages": [{"id": "S2", "kind": "mixing",
                                      "machines": [machine("M2", "running")]}]}]
    c = cfg(lines, ONE_HOUR, calendar={"planned_downtime": [
        {"lines": ["L2"], "start": "06:00", "end": "06:30", "reason": "CIP"}]})
    rows = [("06:00", {"M1.running": True, "M2.running": True})]
    from tests.engine.plant import run as run_engine

    _, pts = run_engine(c, poll(rows, "07:00", poll_s=5), "07:00")
    m1 = pick(pts, "oee_shift", level="machine", machine="M1")[0].fields
    m2 = pick(pts, "oee_shift", level="machine", machine="M2")[0].fields
    assert (m1["planned_down_s"], m1["run_s"]) == (0, 3600)
    assert (m2["planned_down_s"], m2["run_s"]) == (1800, 1800)
    site = pick(pts, "oee_shift", level="site")[0].fields
    assert site["planned_busy_s"] == 5400 and site["availability"] == 1.0


def test_no_shifts_means_around_the_clock() -> None:
    c = cfg([one_machine_line("running")], [])
    eng = Engine(c, MON)
    pts = eng.feed([S("M1.running", True, MON + i) for i in range(0, 180, 2)])
    pts += eng.tick(MON + 180)
    buckets = pick(pts, "oee", level="machine")
    assert [b.fields["scheduled_s"] for b in buckets] == [60, 60, 60]
    assert not pick(pts, "oee_shift")
    v = eng.view(MON + 180)
    assert v.period.startswith("since") and v.figures.availability == pytest.approx(1.0)


def test_process_values_on_change_with_deadband() -> None:
    c = cfg([one_machine_line("running", "oil_temp", "batch")],
            metrics={"signal_deadband": 0.5})
    eng = Engine(c, MON)
    temps = [180.0, 180.2, 180.4, 180.6, 181.2, 181.2, 179.0]
    pts = eng.feed([S("M1.oil_temp", v, MON + i) for i, v in enumerate(temps)]
                   + [S("M1.batch", "B01", MON + 7), S("M1.batch", "B01", MON + 8),
                      S("M1.batch", "B02", MON + 9),
                      S("M1.oil_temp", None, MON + 10, Quality.BAD)])
    sig = pick(pts, "signal")
    assert [p.fields.get("value") for p in sig if p.tags["signal"] == "oil_temp"] == \
        [180.0, 180.6, 181.2, 179.0]
    assert [p.fields["text"] for p in sig if p.tags["signal"] == "batch"] == ["B01", "B02"]
    assert sig[0].tags["machine"] == "M1" and sig[0].tags["level"] == "machine"


def test_late_and_unknown_samples_are_counted_not_fatal() -> None:
    c = cfg([one_machine_line("running")], ONE_HOUR)
    eng = Engine(c, at("06:00"))
    eng.feed([S("M1.running", True, at("06:00")), S("M1.running", True, at("06:01:05"))])
    eng.feed([S("M1.running", False, at("06:00:30")), S("nope.x", 1, at("06:01:06"))])
    assert eng.stats.late_samples == 1  # its bucket (06:00) was already closed
    assert eng.stats.unknown_signals == 1
    assert eng.stats.samples_in == 4
    assert eng.stats.buckets_closed == 1


def test_view_shows_current_shift() -> None:
    c = cfg([one_machine_line("running", "auto_mode", "good", automation="automatic")],
            ONE_HOUR, metrics={"stale_after_s": 120})  # polled every 30 s
    eng = Engine(c, at("06:00"))
    eng.feed([S("M1.running", True, at("06:00")), S("M1.auto_mode", True, at("06:00")),
              S("M1.good", 0, at("06:00"))])
    eng.feed([S("M1.running", True, at("06:00:30")), S("M1.auto_mode", False, at("06:00:30")),
              S("M1.good", 27, at("06:00:30"))])
    eng.feed([S("M1.running", False, at("06:01")), S("M1.auto_mode", False, at("06:01")),
              S("M1.good", 54, at("06:01"))])
    v = eng.view(at("06:01:01"))
    m = v.lines[0].stages[0].machines[0]
    assert v.period == "shift A 2026-11-30"
    assert (m.state, m.auto, m.figures.good) == ("idle", False, 54)
    assert m.figures.automation_rate == pytest.approx(0.5)
    assert m.figures.availability == pytest.approx(60 / 61)
    assert m.figures.performance == pytest.approx(54 / 60)


def test_close_open_gives_provisional_points_that_later_ones_overwrite() -> None:
    c = cfg([one_machine_line("running")], ONE_HOUR)
    eng = Engine(c, at("06:00"))
    eng.feed([S("M1.running", True, at("06:00") + i) for i in range(30)])
    prov = eng.close_open(at("06:00:30"))
    (b,) = pick(prov, "oee", level="machine")
    assert b.ts_ns == int(at("06:00")) * 10**9 and b.fields["run_s"] == 30
    snap = json.loads(json.dumps(eng.snapshot()))
    eng2 = Engine(c, at("06:00:30"), snapshot=snap)
    pts = eng2.feed([S("M1.running", True, at("06:00:30") + i) for i in range(31)])
    (b2,) = pick(pts, "oee", level="machine")
    assert b2.ts_ns == b.ts_ns and b2.fields["run_s"] == 60


def test_snapshot_survives_a_config_with_a_new_machine() -> None:
    c1 = cfg([one_machine_line("running")], ONE_HOUR)
    eng = Engine(c1, at("06:00"))
    eng.feed([S("M1.running", True, at("06:00") + i) for i in range(10)])
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [
        machine("M1", "running"), machine("M9", "running")]}]}
    c2 = cfg([line], ONE_HOUR)
    eng2 = Engine(c2, at("06:00:10"), snapshot=json.loads(json.dumps(eng.snapshot())))
    pts = eng2.feed([S("M1.running", True, at("06:00:10") + i) for i in range(60)])
    m1 = pick(pts, "oee", level="machine", machine="M1")[0].fields
    m9 = pick(pts, "oee", level="machine", machine="M9")[0].fields
    assert m1["run_s"] == 60
    # observed from the snapshot's last instant (06:00:09), unknown until it reports
    assert (m9["unknown_s"], m9["scheduled_s"]) == (51, 51)


def test_sample_log_roundtrip_and_replay_cli(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    c = cfg([one_machine_line("running", "good", "oil_temp")], ONE_HOUR)
    rows = [("06:00", {"running": True, "good": 0, "oil_temp": 180.5}),
            ("06:30", {"running": False, "good": 1700, "oil_temp": 171.0})]
    samples = [*poll(rows, "06:05", poll_s=1), S("M1.oil_temp", None, at("06:05"), Quality.BAD)]
    log = tmp_path / "samples.jsonl.gz"
    with SampleLog(log) as w:
        w.write(samples[:100])
        w.write(samples[100:])
    back = list(read_samples(log))
    assert back == samples
    cfg_path = tmp_path / "plant.json"  # YAML is a superset of JSON
    cfg_path.write_text(c.model_dump_json(exclude_none=True))
    outs = []
    for i in range(2):
        p = argparse.ArgumentParser()
        add_arguments(p)
        out = tmp_path / f"out{i}.lp"
        args = p.parse_args([str(log), str(cfg_path), "-o", str(out), "--until",
                             "2026-11-30T06:10:00+00:00"])
        assert run(args) == 0
        outs.append(out.read_text())
    assert outs[0] == outs[1] and outs[0]
    lines = outs[0].splitlines()
    assert any(ln.startswith("oee,enterprise=ent1,enterprise_name=") and ",level=machine," in ln
               for ln in lines)
    assert any(ln.startswith("machine_state,") for ln in lines)
    assert sum(ln.startswith("oee,") and "level=machine" in ln for ln in lines) == 10
    p = argparse.ArgumentParser()
    add_arguments(p)
    assert run(p.parse_args([str(tmp_path / "missing.jsonl"), str(cfg_path)])) == 2
    capsys.readouterr()


def test_holiday_in_an_around_the_clock_calendar() -> None:
    from lineside.engine.calendar import Timeline

    c = cfg([one_machine_line("running")], [], calendar={"holidays": ["2026-12-01"]})
    tl = Timeline(c.calendar, "UTC")
    assert tl.status(at("12:00")).scheduled
    assert not tl.status(at("+1 12:00")).scheduled
    assert tl.next_change(at("23:00")) == at("+1 00:00")
    assert tl.status(at("+2 00:00")).scheduled


@pytest.mark.parametrize(("planned", "slot"), [(["cleaning", "maintenance"], "planned_down_s"),
                                                ([], "setup_s")])
def test_cleaning_is_planned_unless_configured_otherwise(planned: list[str], slot: str) -> None:
    c = cfg([one_machine_line("running", "mode")], ONE_HOUR,
            metrics={"planned_states": planned})
    rows = [("06:00", {"running": True, "mode": 1}), ("06:20", {"running": False, "mode": 5}),
            ("06:50", {"running": True, "mode": 1})]
    from tests.engine.plant import run as run_engine

    _, pts = run_engine(c, poll(rows, "07:00", poll_s=2), "07:00")
    (sh,) = pick(pts, "oee_shift", level="machine")
    assert sh.fields[slot] == 1800 and sh.fields["run_s"] == 1800


def test_a_machine_without_counters_has_no_performance_or_quality() -> None:
    c = cfg([one_machine_line("running")], ONE_HOUR)
    from tests.engine.plant import run as run_engine

    _, pts = run_engine(c, poll([("06:00", {"running": True})], "07:00", poll_s=5), "07:00")
    for level in ("machine", "stage", "line", "site"):
        (f,) = [p.fields for p in pick(pts, "oee_shift", level=level)]
        assert f["availability"] == 1.0
        assert not {"performance", "quality", "oee"} & set(f), level


def test_subscribed_machines_are_not_stale_in_silence_but_unknown_on_bad() -> None:
    # OPC UA subscriptions only send changes; the driver emits BAD itself on a lost link.
    line = {"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": [
        {**machine("M1", "running"), "source": "ua1",
         "signals": {"running": {"node": "ns=2;s=M1.Running"}}}]}]}
    c = cfg([line], ONE_HOUR, devices=[{"id": "ua1", "type": "opcua",
                                        "endpoint": "opc.tcp://127.0.0.1:4840",
                                        "mode": "subscribe"}])
    eng = Engine(c, at("06:00"))
    pts = eng.feed([S("M1.running", True, at("06:00"))])
    pts += eng.tick(at("06:05"))  # five quiet minutes: still producing
    pts += eng.feed([S("M1.running", None, at("06:05"), Quality.BAD)])
    pts += eng.feed([S("M1.running", True, at("06:06"))])
    pts += eng.tick(at("06:07"))
    ev = [(p.fields["state"], p.ts_ns // 10**9 - int(at("06:00"))) for p in
          pick(pts, "machine_state")]
    assert ev == [("producing", 0), ("unknown", 300), ("producing", 360)]


def test_replay_counts_with_the_widths_the_live_engine_learned(tmp_path: Path) -> None:
    # An OPC UA UInt16 counter (no declared type): the agent wrote the width it learned
    # at connect into the log; the replay counts the wrap as the live engine did:
    # 65530 -> 4 is a rollover of 10 units at 16 bits (at 32 bits a reset: 4 units).
    c = cfg([{"id": "L1", "stages": [{"id": "S1", "kind": "packaging", "machines": [
        {"id": "P1", "automation": "automatic", "ideal_rate": 60, "source": "opc1",
         "signals": {"running": {"node": "ns=2;s=P1.Run"},
                     "good": {"node": "ns=2;s=P1.Good"}}}]}]}], ONE_HOUR,
        devices=[{"id": "opc1", "type": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840",
                  "mode": "poll"}])
    samples = [S(k, v, at("06:00") + i * 5) for i, good in enumerate((65_530, 4, 9))
               for k, v in (("P1.running", True), ("P1.good", good))]
    log = tmp_path / "samples.jsonl"
    with SampleLog(log) as w:
        w.write_widths({"P1.good": 16})
        w.write(samples)
    widths: dict[str, int] = {}
    pts = list(replay(c, read_samples(log, widths), until=at("07:00"), widths=widths))
    assert widths == {"P1.good": 16}
    (sh,) = pick(pts, "oee_shift", machine="P1")
    assert sh.fields["good_count"] == 10 + 5
    plain = list(replay(c, read_samples(log), until=at("07:00")))
    assert pick(plain, "oee_shift", machine="P1")[0].fields["good_count"] == 4 + 5


def test_stale_silence_is_unknown_from_the_deadline() -> None:
    c = cfg([one_machine_line("running")], [shift("A", "06:00-06:10")])
    eng = Engine(c, at("06:00"))
    pts = eng.feed([S("M1.running", True, at("06:00")), S("M1.running", True, at("06:01"))])
    pts += eng.tick(at("06:10"))
    ev = [(p.fields["state"], p.ts_ns // 10**9 - int(at("06:00"))) for p in
          pick(pts, "machine_state")]
    # A gap longer than stale_after_s (10 s) is unknown from 10 s after the last read.
    assert ev == [("producing", 0), ("unknown", 10), ("producing", 60), ("unknown", 70)]
    (sh,) = pick(pts, "oee_shift", level="machine")
    assert (sh.fields["run_s"], sh.fields["unknown_s"]) == (20, 580)
    assert pick(pts, "machine_state")[-1].fields["reason"] == "stale"


@pytest.mark.parametrize("t", ["Infinity", "-Infinity", "NaN", "1e300", "-1"])
def test_a_sample_log_line_with_an_impossible_timestamp_is_skipped_and_named(
        tmp_path: Path, t: str, caplog: pytest.LogCaptureFixture) -> None:
    log = tmp_path / "s.jsonl"
    log.write_text('{"t":1700000000.0,"s":"m1.state","v":6,"q":0}\n'
                   f'{{"t":{t},"s":"m1.state","v":4,"q":0}}\n')
    with caplog.at_level("WARNING"):
        back = list(read_samples(log))
    assert [s.ts for s in back] == [1700000000.0]
    assert f"{log}:2: not a sample" in caplog.text and "outside 1970..2262" in caplog.text

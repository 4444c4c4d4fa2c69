"""truth_oee on a hand-made truth (numbers worked out by hand), the truth file, calendar."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest

from lineside.config.models import LinesideConfig
from lineside.simulator.factory import Factory, TruthRow
from lineside.simulator.schedule import CalendarIndex, busy_at
from lineside.simulator.truth import Truth, TruthWriter, load_truth, truth_oee

TZ = ZoneInfo("Asia/Shanghai")


def _ts(hh: int, mm: int, ss: int = 0) -> int:
    return int(dt.datetime(2026, 11, 30, hh, mm, ss, tzinfo=TZ).timestamp())  # a Monday


def _cfg(**calendar: object) -> LinesideConfig:
    def machine(mid: str, automation: str, auto: bool) -> dict:
        sig = {"running": {"address": 0, "type": "bool", "bit": 0}}
        if auto:
            sig["auto_mode"] = {"address": 0, "type": "bool", "bit": 1}
        return {"id": mid, "automation": automation, "ideal_rate": 60, "source": "plc",
                "signals": sig}

    return LinesideConfig.model_validate({
        "site": {"enterprise_id": "e", "enterprise_name": "E", "site_id": "s",
                 "region": "510114", "timezone": "Asia/Shanghai"},
        "calendar": calendar or {
            "shifts": [{"name": "a", "start": "08:00", "end": "09:00",
                        "breaks": [{"start": "08:30", "end": "08:40"}]}],
            "planned_downtime": [{"reason": "sanitation", "lines": ["L"],
                                  "start": "08:50", "end": "08:55"}],
        },
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1"}],
        "lines": [{"id": "L", "stages": [{"id": "S", "kind": "packaging", "machines": [
            machine("M", "automatic", True), machine("IDLE", "automatic", False),
            machine("MAN", "manual", False)]}]}],
    })


def _hand_truth() -> Truth:
    """M: the timeline of the docstring of test_truth_oee_by_hand; IDLE idles; MAN = M."""
    plan = [  # (from, to, state, auto, seconds per unit)
        (_ts(7, 59), _ts(8, 0), "producing", True, 1),  # before the shift: not counted
        (_ts(8, 0), _ts(8, 10), "producing", True, 2),
        (_ts(8, 10), _ts(8, 20), "producing", False, 2),  # manual mode
        (_ts(8, 20), _ts(8, 25), "fault", True, 0),
        (_ts(8, 25), _ts(8, 30), "cleaning", True, 0),  # planned
        (_ts(8, 30), _ts(8, 40), "idle", True, 0),  # break: not scheduled
        (_ts(8, 40), _ts(8, 50), "producing", True, 1),
        (_ts(8, 50), _ts(8, 55), "idle", True, 0),  # planned downtime window
        (_ts(8, 55), _ts(9, 0, 1), "starved", True, 0),
    ]
    truth = Truth()
    good = rej = made = 0
    for a, b, state, auto, per in plan:
        for s in range(a, b):
            rows = [TruthRow("M", state, auto, good, rej, 1, 0),
                    TruthRow("IDLE", "idle", True, 0, 0, 1, 0),
                    TruthRow("MAN", state, False, good, rej, 1, 0)]
            truth.on_second(s, rows)
            if per and (s - a) % per == per - 1:  # a unit completes during [s, s+1)
                made += 1
                if s >= _ts(8, 0) and rej < 10:
                    rej += 1
                else:
                    good += 1
    return truth


def test_truth_oee_by_hand() -> None:
    """Shift 08:00-09:00 (3600 s), break 08:30-08:40: scheduled 3000 s.
    Planned down: cleaning 300 s + downtime window 300 s -> planned busy 2400 s.
    Run: 1200 s (08:00-08:20) + 600 s (08:40-08:50) = 1800 s -> A = 0.75.
    Units in the shift: 600 (one per 2 s) + 600 (one per s) = 1200, 10 rejected.
    Ideal 1 s/unit: ideal 1200 s -> P = 1200/1800; Q = 1190/1200;
    OEE = 1190/2400 = A*P*Q. Auto run: 600 + 600 = 1200 s of 1800 s.
    """
    r = truth_oee(_hand_truth(), _cfg(), _ts(7, 59), _ts(9, 0))
    m = r["M"]
    assert m["planned_busy_s"] == 2400 and m["run_s"] == 1800
    assert (m["good"], m["reject"]) == (1190, 10)
    assert m["availability"] == pytest.approx(0.75)
    assert m["performance"] == pytest.approx(1200 / 1800)
    assert m["quality"] == pytest.approx(1190 / 1200)
    assert m["oee"] == pytest.approx(1190 / 2400)
    assert m["oee"] == pytest.approx(m["availability"] * m["performance"] * m["quality"])
    assert m["automation_rate"] == pytest.approx(1200 / 1800)
    # Declared manual: no automatic production whatever its mode says.
    assert r["MAN"]["automation_rate"] == 0.0 and r["MAN"]["oee"] == m["oee"]
    # Idle all shift: availability 0, the other ratios absent (zero denominators).
    idle = r["IDLE"]
    assert idle["availability"] == 0.0 and idle["planned_busy_s"] == 2700
    assert idle["performance"] is None and idle["quality"] is None
    assert idle["automation_rate"] is None and idle["oee"] == 0.0


def test_truth_oee_windows() -> None:
    truth = _hand_truth()
    cfg = _cfg()
    first = truth_oee(truth, cfg, _ts(8, 0), _ts(8, 20))["M"]
    assert first["run_s"] == 1200 and first["planned_busy_s"] == 1200
    assert first["good"] + first["reject"] == 600
    assert truth_oee(truth, cfg, _ts(8, 30), _ts(8, 40))["M"]["planned_busy_s"] == 0
    assert truth_oee(truth, cfg, _ts(8, 30), _ts(8, 40))["M"]["availability"] is None


def test_truth_file_round_trip(tmp_path, demo_cfg) -> None:
    path = tmp_path / "truth.csv"
    mem, writer = Truth(), TruthWriter(path)
    t0 = 1795741200.0  # 2026-11-29 09:00 local
    Factory.from_config(demo_cfg, seed=4, start_ts=t0, recorders=[mem, writer]).advance(
        t0 + 900)
    writer.close()
    head = path.read_text().splitlines()[0]
    assert head == "ts,machine,state,auto,good,reject,product,fault_code"
    back = load_truth(path)
    assert (back.t0, back.n) == (mem.t0, mem.n) == (int(t0), 901)
    for mid, mt in mem.machines.items():
        assert back.machines[mid].state == mt.state and back.machines[mid].good == mt.good
        assert back.machines[mid].reject == mt.reject and back.machines[mid].auto == mt.auto
    assert truth_oee(back, demo_cfg, t0, t0 + 900) == truth_oee(mem, demo_cfg, t0, t0 + 900)


def test_demo_day_oee_is_plausible(demo_cfg, demo_day) -> None:
    from tests.simulator.conftest import DAY0

    _, truth = demo_day
    multi = {m.id for ln in demo_cfg.lines for st in ln.stages for m in st.machines
             if m.products}
    uncounted = {m.id for ln in demo_cfg.lines for st in ln.stages for m in st.production
                 if "reject" not in m.signals and "total" not in m.signals}
    assert uncounted == {"L1-wash1", "L2-mix1", "L3-vwash1", "L3-mix1", "L4-thaw1", "L4-wash1"}
    r = truth_oee(truth, demo_cfg, DAY0, DAY0 + 86400)
    assert len(r) == 26
    for mid, m in r.items():
        assert m["planned_busy_s"] > 0.8 * 86400 - 1200 - 4 * 3600, mid
        assert 0.45 < m["availability"] < 0.95, (mid, m)
        assert 0.8 < m["performance"] <= 1.0, (mid, m)
        assert 0.95 < m["quality"] < 1.0 or (m["quality"] == 1.0 and mid in uncounted), mid
        # OEE is ideal_good_s / planned_busy_s; it equals A*P*Q exactly with one ideal
        # cycle, and nearly so when products with different rates reject differently.
        apq = m["availability"] * m["performance"] * m["quality"]
        assert m["oee"] == pytest.approx(apq, rel=1e-3 if mid in multi else 1e-9)


def test_calendar_index_agrees_with_the_plain_predicate() -> None:
    cal = _cfg(
        shifts=[
            {"name": "day", "start": "07:30", "end": "16:00", "weekdays": ["mon", "tue", "wed"],
             "breaks": [{"start": "12:00", "end": "12:45"}]},
            {"name": "night", "start": "22:00", "end": "06:00", "overnight": True,
             "breaks": [{"start": "23:30", "end": "23:45"}, {"start": "03:00", "end": "03:30"}]},
        ],
        holidays=["2026-12-01"],
        planned_downtime=[
            {"start": "05:00", "end": "05:40", "weekdays": ["tue"]},
            {"start": "2026-12-02T13:00:00", "end": "2026-12-02T14:30:00", "lines": ["L"]},
            {"start": "2026-12-02T13:00:00", "end": "2026-12-02T18:00:00", "lines": ["X"]},
        ],
    ).calendar
    idx = CalendarIndex(cal, TZ, "L")
    rnd = random.Random(1)
    t0 = _ts(0, 0) - 3600
    for k in range(0, 4 * 86400, 97):
        t = t0 + k + rnd.random()
        assert idx.busy(t) == busy_at(cal, TZ, "L", t), dt.datetime.fromtimestamp(t, TZ)
        nxt = idx.next_change(t)
        assert busy_at(cal, TZ, "L", nxt) != idx.busy(t)
        assert busy_at(cal, TZ, "L", (t + nxt) / 2) == idx.busy(t)
    # Holiday Tuesday: the day shift does not start, the night shift of Monday still ends.
    assert not busy_at(cal, TZ, "L", _ts(10, 0) + 86400)
    assert busy_at(cal, TZ, "L", _ts(4, 0) + 86400)


def test_reference_command_prints_the_truth_oee(tmp_path, demo_cfg, capsys) -> None:
    import json

    from lineside.simulator.reference import main

    path = tmp_path / "truth.csv"
    writer = TruthWriter(path)
    t0 = 1795741200.0
    mem = Truth()
    Factory.from_config(demo_cfg, seed=4, start_ts=t0, recorders=[mem, writer]).advance(
        t0 + 300)
    writer.close()
    assert main([str(path), "--json", "--end", str(t0 + 300)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["machines"] == json.loads(json.dumps(truth_oee(mem, demo_cfg, t0, t0 + 300)))
    assert main([str(path)]) == 0
    table = capsys.readouterr().out
    assert "L4-pack1" in table and "OEE" in table


def test_a_truth_file_cut_mid_second_loses_only_that_second(tmp_path, demo_cfg) -> None:
    """A simulator killed while writing leaves a partial last second: it is dropped."""
    path = tmp_path / "truth.csv"
    writer = TruthWriter(path)
    Factory.from_config(demo_cfg, seed=2, start_ts=1795741200.0, recorders=[writer]).advance(
        1795741200.0 + 20)
    writer.close()
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-5]) + "\n")  # 5 machines short of the last second
    cut = load_truth(path)
    assert cut.n == 20 and all(len(mt.state) == 20 for mt in cut.machines.values())
    with pytest.raises(ValueError, match="not a lineside truth file"):
        (tmp_path / "x.csv").write_text("a,b\n")
        load_truth(tmp_path / "x.csv")

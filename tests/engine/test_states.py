"""State maps and precedence, as a table: PLC values in, canonical state out."""

from __future__ import annotations

from typing import Any

import pytest

from lineside.config.plant import Machine
from lineside.engine.core import Engine
from lineside.engine.states import STATES, StateMap
from tests.engine.plant import MON, S, cfg, one_machine_line, pick

# (map, signals shown by the PLC, expected state)
TABLE: list[tuple[str, dict[str, Any], str]] = [
    # PackML StateCurrent; transient states take the state they lead to
    ("packml", {"state": 6}, "producing"),
    ("packml", {"state": 3}, "producing"),  # Starting -> Execute
    ("packml", {"state": 4}, "idle"),
    ("packml", {"state": 2}, "idle"),  # Stopped
    ("packml", {"state": 17}, "idle"),  # Complete
    ("packml", {"state": 5}, "starved"),  # Suspended, no blocked signal
    ("packml", {"state": 5, "blocked": True}, "blocked"),
    ("packml", {"state": 5, "starved": True, "blocked": False}, "starved"),
    ("packml", {"state": 11}, "fault"),  # Held
    ("packml", {"state": 9}, "fault"),  # Aborted
    ("packml", {"state": 10}, "fault"),  # Holding -> Held
    ("packml", {"state": 0}, "unknown"),  # Undefined
    ("packml", {"state": 99}, "unknown"),  # not a PackML state
    ("packml", {"state": 4, "mode": 2}, "maintenance"),  # UnitMode Maintenance
    ("packml", {"state": 4, "mode": 4}, "setup"),
    ("packml", {"state": 2, "mode": 5}, "cleaning"),
    ("packml", {"state": 6, "mode": 1}, "producing"),  # Production mode
    # Weihenstephan WS_Cur_State: bits, tested as flags; WS_Cur_Prog for programs
    ("weihenstephan", {"state": 128}, "producing"),  # Operating
    ("weihenstephan", {"state": 8}, "starved"),  # Lack
    ("weihenstephan", {"state": 32}, "starved"),  # LackBranchLine
    ("weihenstephan", {"state": 16}, "blocked"),  # Tailback
    ("weihenstephan", {"state": 64}, "blocked"),  # TailbackBranchLine
    ("weihenstephan", {"state": 1024}, "fault"),  # EquipmentFailure
    ("weihenstephan", {"state": 2048}, "fault"),  # ExternalFailure
    ("weihenstephan", {"state": 4096}, "fault"),  # EmergencyStop
    ("weihenstephan", {"state": 4}, "idle"),  # Prepared
    ("weihenstephan", {"state": 1}, "idle"),  # Stopped
    ("weihenstephan", {"state": 0}, "unknown"),  # no bit: PLC just booted
    ("weihenstephan", {"state": 128 | 16}, "blocked"),  # flags: blocked beats operating
    ("weihenstephan", {"state": 128 | 1024}, "fault"),  # fault beats everything running
    ("weihenstephan", {"state": 16 | 8}, "blocked"),  # blocked beats starved
    ("weihenstephan", {"state": 1, "program": 8}, "cleaning"),
    ("weihenstephan", {"state": 1, "program": 16}, "setup"),  # Changeover
    ("weihenstephan", {"state": 1, "program": 32}, "maintenance"),
    ("weihenstephan", {"state": 1, "program": 1 | 8}, "cleaning"),  # program bits as flags
    ("weihenstephan", {"state": 1024, "program": 32}, "maintenance"),  # planned beats fault
    # OPC 40001-1 MachineryItemState / MachineryOperationMode
    ("machinery", {"state": 3}, "producing"),  # Executing
    ("machinery", {"state": 2}, "idle"),  # NotExecuting
    ("machinery", {"state": 2, "starved": True}, "starved"),
    ("machinery", {"state": 1}, "fault"),  # OutOfService
    ("machinery", {"state": 0}, "unknown"),  # NotAvailable
    ("machinery", {"state": 2, "mode": 2}, "setup"),
    ("machinery", {"state": 2, "mode": 1}, "maintenance"),
    # boolean signals: fault over blocked over starved over producing over idle
    ("signals", {"running": True}, "producing"),
    ("signals", {"running": False}, "idle"),
    ("signals", {"running": True, "starved": True}, "starved"),
    ("signals", {"running": True, "blocked": True, "starved": True}, "blocked"),
    ("signals", {"running": True, "fault": True, "blocked": True}, "fault"),
    ("signals", {"running": 1, "fault": 0}, "producing"),  # integers as booleans
    ("signals", {"running": False, "mode": 5}, "cleaning"),
    # custom map
    ("custom", {"state": 10}, "producing"),
    ("custom", {"state": 20}, "fault"),
    ("custom", {"state": 30}, "unknown"),  # not in the table
]
CUSTOM = {10: "producing", 20: "fault", 40: "idle"}


def _machine(smap: str, signals: dict[str, Any]) -> Machine:
    names = set(signals) | ({"state"} if smap != "signals" else set())
    return Machine(id="M1", automation="automatic", ideal_rate=60, source="plc1",
                   state={"map": smap, **({"custom": CUSTOM} if smap == "custom" else {})},
                   signals={n: {"address": i} for i, n in enumerate(sorted(names))})


@pytest.mark.parametrize(("smap", "signals", "expected"), TABLE,
                         ids=[f"{t[0]}-{t[1]}" for t in TABLE])
def test_state_table(smap: str, signals: dict[str, Any], expected: str) -> None:
    m = _machine(smap, signals)
    order = ["state", "running", "fault", "starved", "blocked", "mode", "program", "fault_code"]
    raw = [signals.get(k) for k in order]
    assert STATES[StateMap(m).derive(raw)] == expected


def test_same_instant_samples_give_one_change() -> None:
    # running drops and fault rises in the same poll: one change to fault, no idle blip.
    c = cfg([one_machine_line("running", "fault", "fault_code",
                              reasons={7: "knife jam"})])
    eng = Engine(c, MON)
    pts = eng.feed([S("M1.running", True, MON), S("M1.fault", False, MON),
                    S("M1.fault_code", 0, MON)])
    pts += eng.feed([S("M1.running", False, MON + 5), S("M1.fault", True, MON + 5),
                     S("M1.fault_code", 7, MON + 5)])
    pts += eng.tick(MON + 6)
    ev = [p.fields for p in pick(pts, "machine_state")]
    assert [e["state"] for e in ev] == ["producing", "fault"]
    assert ev[1]["reason"] == "knife jam" and ev[1]["fault_code"] == 7
    assert ev[1]["prev_state"] == "producing" and ev[1]["prev_duration_s"] == 5.0


def test_long_fault_needs_a_reason() -> None:
    c = cfg([one_machine_line("running", "fault")])
    eng = Engine(c, MON)
    samples = []
    for i in range(0, 400):
        f = 10 <= i < 350  # a 340 s fault: longer than reason_after_s (300 s)
        samples += [S("M1.running", not f, MON + i), S("M1.fault", f, MON + i)]
    pts = eng.feed(samples)
    back = pick(pts, "machine_state")[-1].fields
    assert back["state"] == "producing" and back["prev_state"] == "fault"
    assert back["needs_reason"] is True and back["prev_duration_s"] == 340


def test_bad_quality_becomes_unknown_after_staleness() -> None:
    from lineside.samples import Quality

    c = cfg([one_machine_line("running")])
    eng = Engine(c, MON)
    pts = eng.feed([S("M1.running", True, MON)])
    pts += eng.feed([S("M1.running", None, MON + i, Quality.BAD) for i in range(1, 30)])
    ev = pick(pts, "machine_state")
    assert [p.fields["state"] for p in ev] == ["producing", "unknown"]
    assert ev[1].fields["reason"] == "bad quality" and ev[1].ts_ns == int(MON + 10) * 10**9

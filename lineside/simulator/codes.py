"""How the simulator encodes a canonical state into the codes a PLC shows.

These are the simulator's choices where docs/design.md's state table leaves room; they are
documented in docs/simulator.md so the engine's maps can be checked against them.
"""

from __future__ import annotations

from lineside.config.plant import Machine

STATES = ("producing", "idle", "starved", "blocked", "fault", "setup", "cleaning",
          "maintenance")
PLANNED_KINDS = ("setup", "cleaning", "maintenance")

# PackML StateCurrent. `off_shift` marks idle outside scheduled time (Stopped).
PACKML = {"producing": 6, "idle": 4, "off_shift": 2, "starved": 5, "blocked": 5,
          "fault": 11, "fault_major": 9, "setup": 4, "cleaning": 2, "maintenance": 2}
# Unit mode (PackML UnitMode style), used with the packml and signals maps.
UNIT_MODE = {"production": 1, "maintenance": 2, "manual": 3, "setup": 4, "cleaning": 5}
# Weihenstephan WS_Cur_State bits and WS_Cur_Prog program bits.
WS_STATE = {"producing": 128, "idle": 4, "off_shift": 1, "starved": 8, "blocked": 16,
            "fault": 1024, "fault_external": 2048, "setup": 1, "cleaning": 1,
            "maintenance": 1}
WS_PROG = {"production": 1, "cleaning": 8, "setup": 16, "maintenance": 32}
# OPC 40001-1 MachineryItemState and MachineryOperationMode.
MACHINERY_STATE = {"producing": 3, "idle": 2, "starved": 2, "blocked": 2, "fault": 1,
                   "setup": 2, "maintenance": 2}
MACHINERY_MODE = {"production": 3, "setup": 2, "maintenance": 1}


def expressible_states(m: Machine) -> set[str]:
    """Canonical states this machine's configured signals can show.

    The simulator never puts a machine into a state its PLC could not report, so the
    ground truth is always recoverable from the signals.
    """
    sig = set(m.signals)
    out = {"producing", "idle"}
    kind = m.state.map if "state" in sig else "signals"
    if kind == "signals":
        if "running" not in sig:
            return {"idle"} if "fault" not in sig else {"idle", "fault"}
        if "fault" in sig:
            out.add("fault")
        out |= {s for s in ("starved", "blocked") if s in sig}
        if "mode" in sig:
            out |= set(PLANNED_KINDS)
    elif kind == "packml":
        out.add("fault")
        out |= {s for s in ("starved", "blocked") if s in sig}
        if "mode" in sig:
            out |= set(PLANNED_KINDS)
    elif kind == "weihenstephan":
        out |= {"fault", "starved", "blocked"}
        if "program" in sig:
            out |= set(PLANNED_KINDS)
    elif kind == "machinery":
        out.add("fault")
        out |= {s for s in ("starved", "blocked") if s in sig}
        if "mode" in sig:
            out |= {"setup", "maintenance"}
    else:  # custom
        out = {s for s in m.state.custom.values() if s in STATES}
    return out

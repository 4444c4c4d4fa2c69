"""Canonical machine states and the maps from PLC state codes to them.

States are small ints (index into `STATES`) so the hot path compares ints, not strings.
`PRECEDENCE` decides when several sources speak at once (a state code, boolean flags,
a mode or program): the highest wins. See docs/engine.md, "States".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lineside.config.plant import STATES, Machine
from lineside.engine.roles import (
    R_BLOCKED,
    R_FAULT,
    R_MODE,
    R_PROGRAM,
    R_RUNNING,
    R_STARVED,
    R_STATE,
)

if TYPE_CHECKING:
    from lineside.engine.modes import ModeTable

PRODUCING, IDLE, STARVED, BLOCKED, FAULT, SETUP, CLEANING, MAINTENANCE, UNKNOWN = range(9)
assert STATES == ("producing", "idle", "starved", "blocked", "fault", "setup", "cleaning",
                  "maintenance", "unknown")
SIDX = {name: i for i, name in enumerate(STATES)}

# Highest first. Planned activities outrank faults (an e-stop pressed during maintenance
# is part of the maintenance); a fault outranks waiting; waiting outranks running (a
# running bit that stays on while the infeed is empty is not production); `unknown`
# from a map (code 0 / NotAvailable) loses to any real information.
PRECEDENCE = (MAINTENANCE, CLEANING, SETUP, FAULT, BLOCKED, STARVED, PRODUCING, IDLE, UNKNOWN)
RANK = [0] * 9
for _r, _s in enumerate(PRECEDENCE):
    RANK[_s] = len(PRECEDENCE) - _r  # higher is stronger

# PackML StateCurrent (ISA-TR88.00.02). Transient states take the state they lead to.
PACKML: dict[int, int] = {
    0: UNKNOWN,  # Undefined
    1: IDLE,  # Clearing -> Stopped
    2: IDLE,  # Stopped
    3: PRODUCING,  # Starting -> Execute
    4: IDLE,  # Idle
    5: STARVED,  # Suspended: starved unless a `blocked` signal says blocked
    6: PRODUCING,  # Execute
    7: IDLE,  # Stopping -> Stopped
    8: FAULT,  # Aborting
    9: FAULT,  # Aborted
    10: FAULT,  # Holding -> Held
    11: FAULT,  # Held
    12: PRODUCING,  # Unholding -> Execute
    13: STARVED,  # Suspending -> Suspended
    14: PRODUCING,  # Unsuspending -> Execute
    15: IDLE,  # Resetting -> Idle
    16: IDLE,  # Completing -> Complete
    17: IDLE,  # Complete
}

# Weihenstephan WS_Cur_State: a bit field, tested as flags (several bits may be set;
# the strongest by PRECEDENCE wins). 0 (no bit) is unknown: a PLC right after boot.
WEIHENSTEPHAN_BITS: tuple[tuple[int, int], ...] = (
    (1, IDLE),  # Stopped
    (2, PRODUCING),  # Starting -> Operating
    (4, IDLE),  # Prepared
    (8, STARVED),  # Lack
    (16, BLOCKED),  # Tailback
    (32, STARVED),  # LackBranchLine
    (64, BLOCKED),  # TailbackBranchLine
    (128, PRODUCING),  # Operating
    (256, IDLE),  # Stopping -> Stopped
    (512, FAULT),  # Aborting
    (1024, FAULT),  # EquipmentFailure
    (2048, FAULT),  # ExternalFailure
    (4096, FAULT),  # EmergencyStop
    (32768, IDLE),  # Idle
)

# OPC 40001-1 MachineryItemState.
MACHINERY: dict[int, int] = {0: UNKNOWN, 1: FAULT, 2: IDLE, 3: PRODUCING}

# `program` signal default: Weihenstephan WS_Cur_Prog bits (8 Clean, 16 Changeover,
# 32 Maintenance); matched exactly first, then single-bit keys as flags.
DEFAULT_PROGRAMS: dict[int, int] = {8: CLEANING, 16: SETUP, 32: MAINTENANCE}


def as_int(v: object) -> int | None:
    """A code as an int (bool, int, finite float or numeric text), else None."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v == v:
        return int(v)
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            return None
    return None


def _truthy(v: object) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "on", "yes", "auto", "automatic")
    return bool(v)


class StateMap:
    """Turns one machine's latest role values into (state, code)."""

    __slots__ = ("codes", "flags", "kind", "modes", "programs")

    def __init__(self, m: Machine, modes: ModeTable | None = None) -> None:
        from lineside.engine.modes import ModeTable  # modes.py imports this module

        src = m.state
        kind = src.map if "state" in m.signals or src.map == "signals" else "signals"
        self.kind = kind
        self.codes: dict[int, int] | None = None
        self.flags: tuple[tuple[int, int], ...] | None = None
        if kind == "packml":
            self.codes = PACKML
        elif kind == "machinery":
            self.codes = MACHINERY
        elif kind == "custom":
            self.codes = {int(k): SIDX[v] for k, v in src.custom.items()}
        elif kind == "weihenstephan":
            self.flags = WEIHENSTEPHAN_BITS
        self.modes = modes if modes is not None else ModeTable(m)
        self.programs = ({int(k): SIDX[v] for k, v in src.programs.items()}
                         if src.programs is not None else DEFAULT_PROGRAMS)

    def base(self, code: object, running: object) -> int:
        """State from the code (code maps) or from `running` (signals map)."""
        if self.kind == "signals":
            return PRODUCING if running is not None and _truthy(running) else IDLE
        c = as_int(code)
        if c is None:
            return UNKNOWN
        if self.flags is not None:
            best = UNKNOWN
            for bit, st in self.flags:
                if c & bit and RANK[st] > RANK[best]:
                    best = st
            return best
        assert self.codes is not None
        return self.codes.get(c, UNKNOWN)

    def derive(self, raw: list[object]) -> int:
        """raw: the state-deciding role values in role order (engine/roles.py)."""
        best = self.base(raw[R_STATE], raw[R_RUNNING])
        rb = RANK[best]
        # Boolean flags add to any map (they disambiguate PackML Suspended and OPC 40001
        # NotExecuting, and carry the whole state for the `signals` map).
        for idx, st in ((R_FAULT, FAULT), (R_BLOCKED, BLOCKED), (R_STARVED, STARVED)):
            v = raw[idx]
            if v is not None and _truthy(v) and RANK[st] > rb:
                best, rb = st, RANK[st]
        cand: int | None
        if raw[R_MODE] is not None:  # the mode table's planned state (engine/modes.py)
            cand = self.modes.state(raw[R_MODE])
            if cand is not None and RANK[cand] > rb:
                best, rb = cand, RANK[cand]
        prog = as_int(raw[R_PROGRAM])
        if prog is not None:
            cand = self.programs.get(prog)
            if cand is None:
                for bit, s in self.programs.items():
                    if bit > 0 and bit & (bit - 1) == 0 and prog & bit and (
                            cand is None or RANK[s] > RANK[cand]):
                        cand = s
            if cand is not None and RANK[cand] > rb:
                best, rb = cand, RANK[cand]
        return best

    def code_of(self, raw: list[object]) -> int | None:
        return None if self.kind == "signals" else as_int(raw[R_STATE])


__all__ = [
    "BLOCKED", "CLEANING", "FAULT", "IDLE", "MAINTENANCE", "PRECEDENCE", "PRODUCING", "SETUP",
    "SIDX", "STARVED", "STATES", "UNKNOWN", "StateMap",
]

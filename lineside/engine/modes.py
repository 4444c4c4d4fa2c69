"""Mode tables: a `mode` (or `auto_mode`) value -> automatic, manual or a planned state.

A machine's mode table (`state.modes`, default per state map) says, for each value a
PLC shows, whether the machine runs automatically, manually, or is in a planned state
(setup, cleaning, maintenance). The same table serves OPC UA and Modbus: numbers are
matched as numbers, texts (a Modbus `map`, an OPC UA string or enumeration name) by
name, case-insensitive. See docs/engine.md, "Modes".
"""

from __future__ import annotations

from lineside.config.plant import Machine
from lineside.engine.states import CLEANING, MAINTENANCE, SETUP, SIDX

AUTO, MANUAL = 100, 101  # outcomes besides the state indexes

# PackML UnitMode (ISA-TR88.00.02): 1 Production, 2 Maintenance, 3 Manual; 4 and 5 are
# the usual user-defined Changeover and Sanitation modes.
PACKML_MODES: dict[int, int] = {1: AUTO, 2: MAINTENANCE, 3: MANUAL, 4: SETUP, 5: CLEANING}
# OPC 40001-1 MachineryOperationMode: 0 None, 1 Maintenance, 2 Setup, 3 Processing (it has
# no manual value: a machine in manual shows its state through a `mode` of its own table).
MACHINERY_MODES: dict[int, int] = {1: MAINTENANCE, 2: SETUP, 3: AUTO}
DEFAULT_MODES: dict[str, dict[int, int]] = {
    "packml": PACKML_MODES, "signals": PACKML_MODES, "machinery": MACHINERY_MODES,
    "weihenstephan": {}, "custom": {},
}
# Names understood in every table (the standards' own words and the usual ones).
NAMES: dict[str, int] = {
    "production": AUTO, "processing": AUTO, "automatic": AUTO, "auto": AUTO,
    "manual": MANUAL, "hand": MANUAL,
    "maintenance": MAINTENANCE, "setup": SETUP, "changeover": SETUP,
    "cleaning": CLEANING, "clean": CLEANING, "sanitation": CLEANING, "cip": CLEANING,
}
OUTCOMES: dict[str, int] = {**SIDX, "automatic": AUTO, "manual": MANUAL}
_TRUE = frozenset(("1", "true", "on", "yes"))
_FALSE = frozenset(("0", "false", "off", "no"))


def _key(v: object) -> int | str | None:
    """A PLC value as a table key: integral numbers as int, other text lower-cased."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v == v and v.is_integer() else None
    if isinstance(v, str):
        t = v.strip()
        try:
            return int(t)
        except ValueError:
            return t.lower()
    return None


class ModeTable:
    """One machine's table; `decides` is True when it names automatic or manual."""

    __slots__ = ("decides", "table")

    def __init__(self, m: Machine) -> None:
        src = m.state
        if src.modes is not None:
            table: dict[int | str, int] = {
                (k.strip().lower() if isinstance(k, str) else k): OUTCOMES[v]
                for k, v in src.modes.items()}
        else:
            table = {k: v for k, v in DEFAULT_MODES[src.map].items()}  # int codes only
        self.decides = any(o in (AUTO, MANUAL) for o in table.values())
        for name, o in NAMES.items():
            table.setdefault(name, o)
        self.table = table

    def outcome(self, value: object) -> int | None:
        """AUTO, MANUAL, a state index, or None when the table does not list the value."""
        k = _key(value)
        return None if k is None else self.table.get(k)

    def state(self, value: object) -> int | None:
        """The planned state a `mode` value puts the machine in, if any."""
        o = self.outcome(value)
        return o if o is not None and o < AUTO else None

    def mode_auto(self, value: object) -> bool | None:
        """Auto/manual from a `mode` value: None when this value decides nothing.

        A table that names automatic or manual decides: a value it does not list is not
        automatic (False), and so is a planned state. A table of planned states only
        leaves auto/manual to `auto_mode` and the machine's declaration (None).
        """
        o = self.outcome(value)
        if o == AUTO:
            return True
        if o == MANUAL:
            return False
        return False if self.decides else None

    def auto_mode(self, value: object) -> bool | None:
        """Auto/manual from an `auto_mode` value; None when it cannot be read.

        Booleans, 0/1 and on/off words as such; any other code through the table, so a
        PackML UnitMode wired to `auto_mode` reads 3 Manual as manual.
        """
        if isinstance(value, bool):
            return value
        k = _key(value)
        if k == 0 or k == 1:
            return k == 1
        if isinstance(k, str):
            if k in _TRUE:
                return True
            if k in _FALSE:
                return False
        o = None if k is None else self.table.get(k)
        if o == AUTO:
            return True
        if o is None:
            return None
        return False

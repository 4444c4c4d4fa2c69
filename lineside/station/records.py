"""The lots and deviations pages as plain data (pure): from the engine's lot book and
action book, and the records the station kept of what each entry said (memory.py).

A lot here is one lot id on one line: its machines' runs of that id together, from the
first start to the last end (open while any machine still runs it), with each machine's
counts. A deviation lists its affected lots (the engine's `ccp_lot` records) with their
latest disposition, its corrective actions and its verification.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineside.engine.actions import ActionBook, Deviation
from lineside.engine.lots import COUNT_FIELDS, LotBook

MAX_ROWS = 50  # the newest lots and deviations a page lists


@dataclass(slots=True)
class MachineRun:
    name: str
    counts: dict[str, int]  # the counters the machine has: good_count, ... (none: {})


@dataclass(slots=True)
class DeviationRef:
    id: str
    anchor: str
    ccp_name: str
    start: float


@dataclass(slots=True)
class LotRow:
    line: str
    line_name: str
    lot: str
    start: float
    end: float | None  # None while it runs
    machines: list[MachineRun] = field(default_factory=list)
    deviations: list[DeviationRef] = field(default_factory=list)
    disposition: str = ""  # the latest of any deviation that affected it


@dataclass(slots=True)
class Entry:
    kind: str  # action, disposition, verification
    by: str
    at: float
    action: str = ""  # its configured name
    text: str = ""
    lot: str = ""
    disposition: str = ""
    justification: str = ""


@dataclass(slots=True)
class DeviationRow:
    id: str
    anchor: str
    ccp_name: str
    machine_name: str
    line_name: str
    kind: str  # limit | monitoring
    start: float
    end: float | None  # None: not ended, or ended before the station learned it
    lots: list[tuple[str, str]]  # affected lot -> its latest disposition ("" none yet)
    actions: list[Entry]
    dispositions: list[Entry]
    verification: Entry | None
    authors: list[str]
    verified_by: str

    @property
    def status(self) -> str:
        """open (no action), unverified (actions, no verification), verified."""
        if self.verified_by:
            return "verified"
        return "unverified" if self.authors else "open"


def anchor(deviation_id: str) -> str:
    return "dev-" + deviation_id.replace(":", "-")


def lot_rows(lots: LotBook, actions: ActionBook | None, machines: dict[str, tuple[str, str]],
             line_names: dict[str, str]) -> list[LotRow]:
    """Newest first; `machines`: id -> (name, line id)."""
    rows: dict[tuple[str, str], LotRow] = {}
    for x in [*lots.ended, *lots.open.values()]:
        name, line = machines.get(x.machine, (x.machine, ""))
        row = rows.get((line, x.lot))
        if row is None:
            row = rows[(line, x.lot)] = LotRow(line, line_names.get(line, line), x.lot,
                                               x.start, x.end)
        row.start = min(row.start, x.start)
        if x.end is not None:  # the open ones: below
            row.end = x.end if row.end is None else max(row.end, x.end)
        counts = {COUNT_FIELDS[k]: x.counts[k] for k in lots.counted.get(x.machine, ())}
        run = next((r for r in row.machines if r.name == name), None)
        if run is None:
            row.machines.append(MachineRun(name, counts))
        else:  # a lot resumed on the machine: one lot
            for k, v in counts.items():
                run.counts[k] = run.counts.get(k, 0) + v
    # a lot still open on any machine is open
    for x in lots.open.values():
        rows[(machines.get(x.machine, ("", ""))[1], x.lot)].end = None
    if actions is not None:
        for key, d in actions.deviations.items():
            line = d.tags.get("line", "")
            for lot in d.lots:
                row = rows.get((line, lot))
                if row is not None:
                    row.deviations.append(DeviationRef(key, anchor(key),
                                                       d.tags.get("ccp_name", ""),
                                                       d.start_ns / 1e9))
                    if lot in d.dispositions:
                        row.disposition = d.dispositions[lot]
    out = sorted(rows.values(), key=lambda r: (-r.start, r.line, r.lot))[:MAX_ROWS]
    for r in out:
        r.deviations.sort(key=lambda d: d.start)
    return out


def current_lots(lots: LotBook, line_machines: dict[str, list[str]]) -> dict[str, list[str]]:
    """Line id -> the lot ids running on its machines now (usually one)."""
    out: dict[str, list[str]] = {}
    for line, ms in line_machines.items():
        ids = sorted({lots.open[m].lot for m in ms if m in lots.open})
        out[line] = ids
    return out


def deviation_rows(actions: ActionBook, records: dict[str, list[dict[str, Any]]],
                   ends: dict[str, float]) -> list[DeviationRow]:
    """Newest first."""
    items = sorted(actions.deviations.items(), key=lambda kv: -kv[1].start_ns)[:MAX_ROWS]
    return [_deviation(key, d, records.get(key, []), ends.get(key), actions.actions)
            for key, d in items]


def _deviation(key: str, d: Deviation, recs: list[dict[str, Any]], end: float | None,
               names: dict[str, str]) -> DeviationRow:
    acts, disps, ver = [], [], None
    for r in sorted(recs, key=lambda r: int(r["seq"])):
        e = Entry(str(r["entry"]), str(r.get("by", "")), int(r.get("at_ns", 0)) / 1e9,
                  names.get(str(r.get("action", "")), str(r.get("action", ""))),
                  str(r.get("text", "")), str(r.get("lot", "")),
                  str(r.get("disposition", "")), str(r.get("justification", "")))
        if e.kind == "action":
            acts.append(e)
        elif e.kind == "disposition":
            disps.append(e)
        else:
            ver = e
    t = d.tags
    return DeviationRow(key, anchor(key), t.get("ccp_name", t.get("ccp", "")),
                        t.get("machine_name", t.get("machine", "")),
                        t.get("line_name", t.get("line", "")), t.get("kind", ""),
                        d.start_ns / 1e9, end,
                        [(lot, d.dispositions.get(lot, "")) for lot in sorted(d.lots)],
                        acts, disps, ver, list(d.authors), d.verified_by)

"""The lots and deviations pages as plain data (pure): from the engine's lot book and
action book, and the records the station kept of what each entry said (memory.py).

A lot here is one lot id on one line: its machines' runs of that id together, from the
first start to the last end (open while any machine still runs it), with each machine's
counts. A deviation lists its affected lots (the engine's `ccp_lot` records) with their
latest disposition, its corrective actions and its verification: from the engine's
book while it is open (entries are taken), from the station's memory once the engine
has closed and dropped it (docs/haccp.md, "When a deviation is closed").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lineside.engine.actions import ActionBook
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
    open: bool  # the engine still takes entries

    @property
    def status(self) -> str:
        """open (no action), unverified (actions, no verification), verified, or closed
        (by age, unverified: no entry is taken any more)."""
        if self.verified_by:
            return "verified"
        if not self.open:
            return "closed"
        return "unverified" if self.authors else "open"


@dataclass(slots=True)
class Known:
    """One deviation as the pages know it (the engine's book, else the memory)."""

    tags: dict[str, str]
    start_ns: int
    lots: dict[str, str]  # affected lot -> its latest disposition ("" none yet)
    authors: list[str]
    verified_by: str
    open: bool


def known(book: ActionBook | None, remembered: dict[str, dict[str, Any]],
          records: dict[str, list[dict[str, Any]]], now_ns: int) -> dict[str, Known]:
    """Every deviation the engine's book holds or the station remembers, by id; open:
    the engine would still take an entry at `now_ns` (its own rule, actions.py)."""
    out: dict[str, Known] = {}
    for key, m in remembered.items():
        recs = sorted(records.get(key, []), key=lambda r: int(r["seq"]))
        lots = {str(lot): "" for lot in m.get("lots", [])}
        for r in recs:
            if r["entry"] == "disposition" and r.get("lot") in lots:
                lots[str(r["lot"])] = str(r.get("disposition", ""))
        out[key] = Known(
            {str(k): str(v) for k, v in m.get("tags", {}).items()}, int(m["start_ns"]), lots,
            [str(r.get("by", "")) for r in recs if r["entry"] == "action"],
            next((str(r.get("by", "")) for r in recs if r["entry"] == "verification"), ""),
            False)
    if book is not None:
        for key, d in book.deviations.items():
            out[key] = Known(d.tags, d.start_ns,
                             {lot: d.dispositions.get(lot, "") for lot in d.lots},
                             list(d.authors), d.verified_by,
                             not (d.settled(now_ns) or d.aged(now_ns)))
    return out


def anchor(deviation_id: str) -> str:
    return "dev-" + deviation_id.replace(":", "-")


def lot_rows(lots: LotBook, deviations: dict[str, Known],
             machines: dict[str, tuple[str, str]], line_names: dict[str, str]) -> list[LotRow]:
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
    for key, d in sorted(deviations.items(), key=lambda kv: kv[1].start_ns):
        line = d.tags.get("line", "")
        for lot, disp in d.lots.items():
            row = rows.get((line, lot))
            if row is not None:
                row.deviations.append(DeviationRef(key, anchor(key),
                                                   d.tags.get("ccp_name", ""),
                                                   d.start_ns / 1e9))
                if disp:
                    row.disposition = disp
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


def deviation_rows(deviations: dict[str, Known], records: dict[str, list[dict[str, Any]]],
                   ends: dict[str, float], names: dict[str, str]) -> list[DeviationRow]:
    """Newest first; `names`: configured corrective action id -> name."""
    items = sorted(deviations.items(), key=lambda kv: -kv[1].start_ns)[:MAX_ROWS]
    return [_deviation(key, d, records.get(key, []), ends.get(key), names)
            for key, d in items]


def _deviation(key: str, d: Known, recs: list[dict[str, Any]], end: float | None,
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
                        d.start_ns / 1e9, end, sorted(d.lots.items()),
                        acts, disps, ver, d.authors, d.verified_by, d.open)

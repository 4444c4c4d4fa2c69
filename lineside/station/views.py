"""What the pages show, as plain data from the engine's ledger and view (pure).

The Pareto here sums the stops the ledger keeps (`reclassify_days`) by their latest
reason: the same sums as `downtime_reason` points in InfluxDB over the same range
(docs/station.md), since every point is one of these stops' entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from lineside.config.station import UNCLASSIFIED, Station
from lineside.engine.reasons import ReasonLedger, Stop


@dataclass(frozen=True, slots=True)
class StopRow:
    machine: str
    machine_name: str
    line: str
    start: float
    start_ns: int
    seconds: float  # so far while it lasts
    ongoing: bool
    fault_code: int | None
    text: str
    reason: str
    reason_name: str
    by: str


@dataclass(frozen=True, slots=True)
class ParetoRow:
    reason: str
    name: str
    category: str
    loss: str
    seconds: float
    stops: int
    share: float | None


@dataclass(frozen=True, slots=True)
class Pareto:
    rows: tuple[ParetoRow, ...]  # by seconds, largest first; unclassified among them
    total_s: float
    unclassified_s: float
    classified_share: float | None  # of the stop time; None without stops


@dataclass(frozen=True, slots=True)
class LineFigures:
    id: str
    name: str
    oee: float | None
    availability: float | None
    performance: float | None
    quality: float | None


@dataclass(frozen=True, slots=True)
class ClosedShift:
    name: str
    date: str
    start: float
    end: float  # when its points came (the close, give or take the agent's tick)
    lines: dict[str, tuple[float | None, ...]]  # line id -> OEE, A, P, Q


@dataclass(frozen=True, slots=True)
class Handover:
    label: str  # for the reader
    period: str  # as the engine names it ("shift day 2026-12-07"), for the journal
    start: float
    end: float
    lines: list[LineFigures]


def closed_shift(points: Sequence[Any], now: float) -> ClosedShift | None:
    """The shift the line-level `oee_shift` points among `points` close, if any (the
    provisional points of a shutdown carry the same tags: the latest wins)."""
    found: ClosedShift | None = None
    for p in points:
        if p.measurement != "oee_shift" or p.tags.get("level") != "line":
            continue
        f = p.fields
        if found is None:
            found = ClosedShift(p.tags["shift"], p.tags["shift_date"], p.ts_ns / 1e9, now, {})
        found.lines[p.tags["line"]] = tuple(
            f.get(k) for k in ("oee", "availability", "performance", "quality"))
    return found


def reason_name(station: Station, rid: str, unclassified: str) -> str:
    found = station.reason(rid)
    return found[1].name if found else (unclassified if rid == UNCLASSIFIED else rid)


def stop_rows(ledger: ReasonLedger, now: float, machines: dict[str, tuple[str, str]],
              unclassified: str, line: str | None = None, since: float | None = None
              ) -> list[StopRow]:
    """Stops newest first; `machines`: id -> (name, line id)."""
    out: list[StopRow] = []
    for s in ledger.recent(now):
        name, lid = machines.get(s.machine, (s.machine, ""))
        if (line is not None and lid != line) or (since is not None and s.start < since):
            continue
        out.append(_row(s, now, name, lid, ledger, unclassified))
    return sorted(out, key=lambda r: -r.start)


def _row(s: Stop, now: float, name: str, line: str, ledger: ReasonLedger,
         unclassified: str) -> StopRow:
    ongoing = s.end is None
    reason, by = s.reason, s.by
    if ongoing and (plc := ledger.table_reason(s)) is not None:
        reason, by = plc, "plc"  # what the PLC's code will give it: not awaiting anyone
    return StopRow(s.machine, name, line, s.start, s.start_ns,
                   now - s.start if ongoing else s.seconds, ongoing, s.fault_code, s.text,
                   reason, reason_name(ledger.cfg, reason, unclassified), by)


def pareto(ledger: ReasonLedger, start: float, end: float, unclassified: str,
           machines: set[str] | None = None) -> Pareto:
    """The ended stops' time in [start, end), by their latest reason: each part of a stop
    cut at a shift change counts where it starts, the stop itself (its count) where its
    first part does — the sums of the `downtime_reason` points over the same range."""
    secs: dict[str, float] = {}
    count: dict[str, int] = {}
    for s in ledger.stops.values():
        if machines is not None and s.machine not in machines:
            continue
        for i, (start_ns, seconds) in enumerate(s.parts()):
            if start <= start_ns / 1e9 < end:
                secs[s.reason] = secs.get(s.reason, 0.0) + seconds
                count[s.reason] = count.get(s.reason, 0) + (i == 0)
    total = sum(secs.values())
    rows = []
    for rid, v in sorted(secs.items(), key=lambda kv: (-kv[1], kv[0])):
        found = ledger.cfg.reason(rid)
        cat, loss = (found[0].name, found[1].loss) if found else ("", "")
        rows.append(ParetoRow(rid, reason_name(ledger.cfg, rid, unclassified), cat, loss,
                              round(v, 6), count[rid], v / total if total else None))
    un = secs.get(UNCLASSIFIED, 0.0)
    return Pareto(tuple(rows), round(total, 6), round(un, 6),
                  (total - un) / total if total else None)


def local_day(now: float, tz: str) -> tuple[float, float]:
    """The plant's calendar day around `now`, as epoch seconds [start, end)."""
    z = ZoneInfo(tz)
    d = dt.datetime.fromtimestamp(now, z).date()
    a = dt.datetime.combine(d, dt.time(), z)
    b = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), z)
    return a.timestamp(), b.timestamp()


def parse_local(value: str, tz: str) -> float:
    """An `<input type=datetime-local>` value in the plant's zone -> epoch seconds."""
    d = dt.datetime.fromisoformat(value)
    if d.tzinfo is None:
        d = d.replace(tzinfo=ZoneInfo(tz))
    return d.timestamp()


def clock(t: float, tz: str, seconds: bool = False) -> str:
    return dt.datetime.fromtimestamp(t, ZoneInfo(tz)).strftime(
        "%m-%d %H:%M:%S" if seconds else "%m-%d %H:%M")


def minutes(s: float) -> str:
    return f"{s / 60:.1f}"


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"

"""A lot's traceability record (`lineside lot LOT`, docs/lots.md): where and when it ran,
its counts, the deviations that affected it with their corrective actions, this lot's
disposition and the verification. Queries and assembly here; reading InfluxDB and
printing are the command's (lineside/cli/lot.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lineside.haccp.chain import Record
from lineside.haccp.lotccp import CcpDuring
from lineside.haccp.record import Entry, _s

COUNTS = ("good_count", "reject_count", "total_count")


def lot_queries(lot: str, site: str | None = None) -> list[str]:
    """The lot's own points and the affected-lot records naming it."""
    w = f'"lot" = {_s(lot)}' + (f' AND "site" = {_s(site)}' if site else "")
    return [f'SELECT * FROM "lot" WHERE {w} GROUP BY *',
            f'SELECT * FROM "ccp_lot" WHERE {w} GROUP BY *']


def deviation_queries(affected: list[Record]) -> list[str]:
    """The entries (actions, dispositions, verification) and the end of each deviation
    that affected the lot: entries are stamped at its start + a sequence number (ns)."""
    out = []
    for r in affected:
        start = int(r.fields["deviation_start_ns"])
        w = (f'"ccp" = {_s(r.tags["ccp"])} AND "kind" = {_s(r.tags["kind"])} AND '
             f'"site" = {_s(r.tags.get("site", ""))}')
        out.append(f'SELECT * FROM "ccp_action" WHERE {w} AND time >= {start} AND '
                   f'time < {start + 1000} GROUP BY *')
    return out


@dataclass
class Run:
    """The lot on one machine, from start to end."""

    line: str
    stage: str
    machine: str
    machine_name: str
    start_ns: int
    end_ns: int | None  # None: still running (no end point yet)
    span_s: float | None
    counts: dict[str, int]
    # what the machine made (from its OEE buckets and the configuration, lotccp.py)
    products: list[int] = field(default_factory=list)
    ideal_rates: list[float] = field(default_factory=list)  # units per minute


@dataclass
class AffectingDeviation:
    id: str
    ccp: str
    ccp_name: str
    kind: str
    machine: str
    start_ns: int
    end_ns: int
    actions: list[Entry] = field(default_factory=list)
    disposition: Entry | None = None  # of this lot (the latest)
    verification: Entry | None = None


@dataclass
class LotRecord:
    lot: str
    runs: list[Run]
    deviations: list[AffectingDeviation]
    ccps: list[CcpDuring] = field(default_factory=list)  # on its machines, during it

    def to_json(self) -> dict[str, Any]:
        return {"schema": "lineside.lot/1", **asdict(self)}


def build(lot: str, points: list[Record], affected: list[Record],
          entries: list[Record]) -> LotRecord:
    starts = {(p.tags.get("machine", ""), p.ts_ns): p for p in points
              if p.measurement == "lot" and p.tags.get("event") == "start"}
    runs: list[Run] = []
    for p in sorted(points, key=lambda p: p.ts_ns):
        if p.measurement != "lot" or p.tags.get("event") != "end":
            continue
        start = int(p.fields["start_ns"])
        starts.pop((p.tags.get("machine", ""), start), None)
        runs.append(Run(p.tags.get("line", ""), p.tags.get("stage", ""),
                        p.tags.get("machine", ""), p.tags.get("machine_name", ""), start,
                        p.ts_ns, float(p.fields["span_s"]),
                        {k: int(p.fields[k]) for k in COUNTS if k in p.fields}))
    for (machine, ts), p in starts.items():  # started, not (yet) ended
        runs.append(Run(p.tags.get("line", ""), p.tags.get("stage", ""), machine,
                        p.tags.get("machine_name", ""), ts, None, None, {}))
    runs.sort(key=lambda r: (r.start_ns, r.line, r.machine))
    devs: list[AffectingDeviation] = []
    for a in sorted(affected, key=lambda r: r.ts_ns):
        start = int(a.fields["deviation_start_ns"])
        d = AffectingDeviation(
            f'{a.tags.get("site", "")}:{a.tags["ccp"]}:{a.tags["kind"]}:{start}',
            a.tags["ccp"], a.tags.get("ccp_name", a.tags["ccp"]), a.tags["kind"],
            a.tags.get("machine", ""), start, int(a.fields["deviation_end_ns"]))
        for e in sorted(entries, key=lambda r: r.ts_ns):
            if (e.tags.get("ccp"), e.tags.get("kind"), e.tags.get("site", "")) != \
                    (d.ccp, d.kind, a.tags.get("site", "")) or \
                    not start <= e.ts_ns < start + 1000:
                continue
            x = Entry.of(e)
            if x.entry == "action":
                d.actions.append(x)
            elif x.entry == "disposition" and e.tags.get("lot") == lot:
                d.disposition = x
            elif x.entry == "verification":
                d.verification = x
        devs.append(d)
    return LotRecord(lot, runs, devs)

"""The monitoring record of a shift or a day, built from InfluxDB answers (pure).

Statements and parsing are pure; `lineside.report.query.fetch` runs them. A day's
record sums the CCP's bucket summaries over the local day (durations and counts are
additive; min of mins, max of maxes, mean = value_s / monitored_s); a shift's record is
its `ccp_shift` points. Deviations are those that *started* in the period, paired start
with end by (ccp, kind, start).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from lineside.haccp.chain import Record

ENTRY_SPAN_NS = 1000  # a deviation's entries: its start + 1 .. 999 ns (engine/actions.py)
SUMS = ("span_s", "applicable_s", "monitored_s", "within_s", "warning_s", "excursion_s",
        "deviation_s", "lost_s", "value_s", "deviations", "losses")


def _q(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _s(v: str) -> str:
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ts(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Scope:
    """What a record covers: a shift instance or a local day, of one site (or all)."""

    label: str
    start: dt.datetime
    end: dt.datetime
    shift: str | None = None
    shift_date: str | None = None
    site: str | None = None

    def where(self, extra: str = "") -> str:
        w = [f"time >= '{_ts(self.start)}'", f"time < '{_ts(self.end)}'"]
        if self.site:
            w.append(f'"site" = {_s(self.site)}')
        if extra:
            w.append(extra)
        return " AND ".join(w)


def summary_query(sc: Scope) -> str:
    if sc.shift is not None:
        # a shift record is stamped at the shift start; the scope spans that instant
        return (f'SELECT * FROM "ccp_shift" WHERE {sc.where()} AND "shift" = '
                f'{_s(sc.shift)} AND "shift_date" = {_s(sc.shift_date or "")} GROUP BY *')
    cols = [f"sum({_q(f)}) AS {_q(f)}" for f in SUMS]
    cols += ['min("min") AS "min"', 'max("max") AS "max"', 'count("span_s") AS "records"']
    return (f'SELECT {", ".join(cols)} FROM "ccp" WHERE {sc.where()} GROUP BY '
            '"enterprise", "site", "line", "stage", "machine", "ccp", "ccp_kind"')


def deviation_queries(sc: Scope) -> list[str]:
    """Start events in the scope, and end events of deviations that started in it (two
    statements: InfluxDB 1.x refuses OR between time ranges)."""
    site = f' AND "site" = {_s(sc.site)}' if sc.site else ""
    if sc.shift is not None:  # start and end carry the shift of the start
        return [f'SELECT * FROM "ccp_deviation" WHERE "shift" = {_s(sc.shift)} AND '
                f'"shift_date" = {_s(sc.shift_date or "")}{site} GROUP BY *']
    a, b = int(sc.start.timestamp() * 1e9), int(sc.end.timestamp() * 1e9)
    return [f"SELECT * FROM \"ccp_deviation\" WHERE \"event\" = 'start' AND "
            f"time >= '{_ts(sc.start)}' AND time < '{_ts(sc.end)}'{site} GROUP BY *",
            f"SELECT * FROM \"ccp_deviation\" WHERE \"event\" = 'end' AND "
            f'"start_ns" >= {a} AND "start_ns" < {b}{site} GROUP BY *']


def entry_queries(deviations: list[Record], site: str | None = None) -> list[str]:
    """The affected lots (`ccp_lot`, stamped at the deviation's start) and the entries
    (`ccp_action`, stamped at its start + the entry's sequence number in ns) of the
    deviations read: one time range from the first start to the last start's entries."""
    starts = [r.ts_ns if r.tags.get("event") == "start" else int(r.fields.get("start_ns", 0))
              for r in deviations]
    if not starts:
        return []
    w = f"time >= {min(starts)} AND time < {max(starts) + ENTRY_SPAN_NS}"
    w += f' AND "site" = {_s(site)}' if site else ""
    return [f'SELECT * FROM "ccp_lot" WHERE {w} GROUP BY *',
            f'SELECT * FROM "ccp_action" WHERE {w} GROUP BY *']


def records_query(site: str | None = None) -> str:
    w = f' WHERE "site" = {_s(site)}' if site else ""
    return ('SELECT * FROM "ccp", "ccp_shift", "ccp_deviation", "ccp_lot", "ccp_action"'
            f'{w} GROUP BY *')


class AnswerError(RuntimeError):
    pass


def parse_points(answer: dict) -> list[Record]:
    """Every row of a `GROUP BY *` answer as a record (tags from the series)."""
    if "error" in answer:
        raise AnswerError(str(answer["error"]))
    out: list[Record] = []
    for res in answer.get("results", []):
        if "error" in res:
            raise AnswerError(str(res["error"]))
        for s in res.get("series", []) or []:
            cols = s.get("columns", [])
            tags = {k: v for k, v in (s.get("tags") or {}).items() if v}
            for vals in s.get("values", []) or []:
                row = dict(zip(cols, vals, strict=False))
                ts = int(row.pop("time"))
                fields = {k: v for k, v in row.items() if v is not None and k not in tags}
                out.append(Record(s.get("name", ""), tags, fields, ts))
    return out


@dataclass
class CcpLine:
    ccp: str
    kind: str
    machine: str
    line: str
    fields: dict[str, Any]
    name: str = ""
    hazard: str = ""
    unit: str = ""
    critical_min: float | None = None
    critical_max: float | None = None
    min_duration_s: float = 0.0
    machine_name: str = ""
    records: list[Record] = field(default_factory=list)

    @property
    def mean(self) -> float | None:
        m = self.fields.get("monitored_s") or 0
        return self.fields.get("value_s", 0) / m if m else None


@dataclass
class Entry:
    """A corrective action, a lot's disposition or the verification (`ccp_action`)."""

    entry: str  # action | disposition | verification
    by: str
    role: str
    at_ns: int
    action: str = ""
    text: str = ""
    disposition: str = ""
    justification: str = ""
    lot: str = ""

    @classmethod
    def of(cls, r: Record) -> Entry:
        f = r.fields
        return cls(r.tags.get("entry", ""), str(f.get("by", "")), str(f.get("role", "")),
                   int(f.get("at_ns", 0)), str(f.get("action", "")), str(f.get("text", "")),
                   str(f.get("disposition", "")), str(f.get("justification", "")),
                   r.tags.get("lot", ""))


@dataclass
class Deviation:
    ccp: str
    kind: str  # limit | monitoring
    start_ns: int
    end_ns: int | None
    fields: dict[str, Any]
    seqs: list[int]
    site: str = ""
    actions: list[Entry] = field(default_factory=list)
    # affected lot -> its latest disposition (None: none yet), in lot order
    lots: dict[str, Entry | None] = field(default_factory=dict)
    verification: Entry | None = None

    @property
    def id(self) -> str:
        """As the entry commands name it (engine/actions.py `deviation_id`)."""
        return f"{self.site}:{self.ccp}:{self.kind}:{self.start_ns}"

    def attach(self, r: Record) -> None:
        """One of its `ccp_lot` or `ccp_action` records."""
        if r.measurement == "ccp_lot":
            self.lots.setdefault(r.tags.get("lot", ""), None)
            return
        e = Entry.of(r)
        if e.entry == "action":
            self.actions.append(e)
        elif e.entry == "disposition":
            self.lots[e.lot] = e  # entries come in sequence: the last one stands
        elif e.entry == "verification":
            self.verification = e

    @property
    def duration_s(self) -> float | None:
        return None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e9


@dataclass
class HaccpRecord:
    title: str
    scope: Scope
    tz: str
    source: str
    ccps: list[CcpLine]
    deviations: list[Deviation]
    generated: dt.datetime
    action_names: dict[str, str] = field(default_factory=dict)  # corrective action id -> name

    @property
    def now_ns(self) -> int:
        return int(self.generated.timestamp() * 1e9)


def build(scope: Scope, tz: str, source: str, summaries: list[Record],
          deviations: list[Record], config: Any = None, entries: list[Record] | None = None,
          now: dt.datetime | None = None) -> HaccpRecord:
    """The record from the answers; `config` (optional) adds names, hazards and limits;
    `entries` are the deviations' `ccp_lot` and `ccp_action` records."""
    cfg_ccps = {c.id: c for c in getattr(config, "ccps", [])}
    machine_names = {m.id: m.name for ln in getattr(config, "lines", [])
                     for st in ln.stages for m in st.machines if m.name}
    lines: dict[str, CcpLine] = {}
    for r in summaries:
        cid = r.tags.get("ccp", "")
        f = {k: v for k, v in r.fields.items() if k not in ("seq", "prev", "hash")}
        cl = lines.setdefault(cid, CcpLine(cid, r.tags.get("ccp_kind", ""),
                                           r.tags.get("machine", ""), r.tags.get("line", ""),
                                           {}))
        for k, v in f.items():  # several rows of one CCP (a restart): add up
            if k in SUMS or k == "records":
                cl.fields[k] = cl.fields.get(k, 0) + (v or 0)
            elif k == "min":
                cl.fields[k] = v if k not in cl.fields else min(cl.fields[k], v)
            elif k == "max":
                cl.fields[k] = v if k not in cl.fields else max(cl.fields[k], v)
        cl.records.append(r)
    for cid, c in cfg_ccps.items():
        cl = lines.setdefault(cid, CcpLine(cid, c.kind, c.machine, "", {}))
        cl.name, cl.hazard, cl.unit = c.name, c.hazard, c.unit
        cl.critical_min, cl.critical_max = c.critical.min, c.critical.max
        cl.min_duration_s = c.min_duration_s
    for cl in lines.values():
        cl.machine_name = machine_names.get(cl.machine, "")
    devs: dict[tuple[str, str, str, int], Deviation] = {}
    for r in deviations:
        kind, event = r.tags.get("kind", ""), r.tags.get("event", "")
        start = r.ts_ns if event == "start" else int(r.fields.get("start_ns", 0))
        key = (r.tags.get("site", ""), r.tags.get("ccp", ""), kind, start)
        d = devs.setdefault(key, Deviation(key[1], kind, start, None, {}, [], key[0]))
        if event == "end":
            d.end_ns = r.ts_ns
        for k, v in r.fields.items():
            if k not in ("seq", "prev", "hash") and (event == "end" or k not in d.fields):
                d.fields[k] = v
        if r.seq is not None:
            d.seqs.append(r.seq)
    # affected lots first (in lot order), then the entries in their sequence
    for r in sorted(entries or [], key=lambda r: (r.measurement != "ccp_lot", r.ts_ns,
                                                   r.tags.get("lot", ""))):
        start = int(r.fields.get("deviation_start_ns", r.ts_ns))
        owner = devs.get((r.tags.get("site", ""), r.tags.get("ccp", ""),
                          r.tags.get("kind", ""), start))
        if owner is not None:
            owner.attach(r)
    if scope.shift is not None and summaries:  # the shift's own span, not the query's
        t0 = min(r.ts_ns for r in summaries) / 1e9
        span = max(float(r.fields.get("span_s", 0) or 0) for r in summaries)
        begin = dt.datetime.fromtimestamp(t0, dt.UTC)
        scope = Scope(scope.label, begin, begin + dt.timedelta(seconds=span), scope.shift,
                      scope.shift_date, scope.site)
    return HaccpRecord(scope.label, scope, tz, source,
                       sorted(lines.values(), key=lambda c: (c.line, c.ccp)),
                       sorted(devs.values(), key=lambda d: (d.start_ns, d.ccp, d.kind)),
                       now or dt.datetime.now(dt.UTC),
                       {a.id: a.name for a in getattr(config, "corrective_actions", [])
                        if a.name})

"""Corrective actions, dispositions and verifications of CCP deviations (issue 27,
docs/haccp.md "Corrective action, disposition, verification"). Pure: no I/O, no clock.

An entry is an input event (a sample of key `EVENT_SIGNAL` whose value is a JSON object,
recorded in the sample log, so `replay` reproduces it) that the engine turns into one
`ccp_action` record — a HACCP record, hash-chained like the deviation, so `haccp verify`
proves it. Entries name their deviation as `site:ccp:kind:start_ns` (`deviation_id`):

- `action`: the corrective action taken, one of the configured `corrective_actions`
  plus free text;
- `dispose`: the fate of one affected lot (a `ccp_lot` record of that deviation): hold,
  rework, destroy, or release with a justification;
- `verify`: a second person with the QA role confirms the actions; the author of any of
  its actions is refused, as is a deviation without an action.

A deviation of another site is refused (the deviation id carries its site). Every
record of one deviation is stamped at its start plus the entry's sequence number in
nanoseconds, so none overwrites another in InfluxDB.

The book forgets a deviation once no entry can change it (docs/haccp.md, "When a
deviation is closed"), so that a gateway running for years does not carry every
deviation it ever saw in memory and in each snapshot:

- *settled*: verified, ended, its affected lots listed (end + after-margin passed) and
  every one of them disposed of other than `hold` — any further entry is refused;
- *aged*: the configured `deviation_open_days` (default 7) after its start and no lot
  on hold — entries are refused from then on, and what it adds to the bureau's figures
  (unanswered) is kept as a count per CCP kind, so `unanswered_24h` stays exact. A lot
  on hold keeps its deviation open however old (lab results take their time): the book
  holds at most the deviations of the last days plus those with a lot really on hold.

A deviation is dropped at the first observe() after the bucket whose end reached one of
these (never within the feed that closed that bucket: its entries may be older).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lineside.points import Point

EVENT_SIGNAL = "@haccp.entry"
MEASUREMENT = "ccp_action"
TYPES = ("action", "dispose", "verify")
DISPOSITIONS = ("hold", "rework", "destroy", "release")
VERIFIER_ROLE = "qa"
MAX_TEXT = 1000
BUREAU = "haccp_bureau"
UNANSWERED_NS = 24 * 3600 * 1_000_000_000  # a deviation without an action this long
MAX_ENTRIES = 999  # sequence numbers stay below one microsecond of the deviation's start
# By default a deviation without a lot on hold takes entries for a week after its start
# (a HACCP record is reviewed at least weekly); then it is closed as it is. Configured by
# `deviation_open_days` (config/models.py).
OPEN_DAYS = 7
DAY_NS = 86400 * 1_000_000_000
OPEN_NS = OPEN_DAYS * DAY_NS


def deviation_id(site: str, ccp: str, kind: str, start_ns: int) -> str:
    return f"{site}:{ccp}:{kind}:{int(start_ns)}"


def entry_event(kind: str, deviation: str, by: str, role: str, **extra: str) -> str:
    """The value of an entry sample: canonical JSON, so the log is stable."""
    d = {"type": kind, "deviation": deviation, "by": by, "role": role, **extra}
    return json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@dataclass(slots=True)
class Deviation:
    tags: dict[str, str]  # the CCP's tags and `kind`
    start_ns: int
    # affected lots (ccp_lot records) -> the instant they became known (ns): the
    # deviation's end plus the after-margin, when the engine writes the record
    lots: dict[str, int] = field(default_factory=dict)
    authors: list[str] = field(default_factory=list)  # who entered its actions
    verified_by: str = ""
    seq: int = 0
    dispositions: dict[str, str] = field(default_factory=dict)  # lot -> the latest
    listed_ns: int | None = None  # its end plus the after-margin: every lot is known then
    open_ns: int = OPEN_NS  # the book's age limit (not in the snapshot: configuration)

    def on_hold(self) -> int:
        """Its affected lots whose latest disposition is `hold`."""
        return sum(1 for v in self.dispositions.values() if v == "hold")

    def aged(self, at_ns: int) -> bool:
        """Its lots listed, the age limit passed since its start and no lot on hold:
        closed as it is."""
        return (self.listed_ns is not None and not self.on_hold()
                and at_ns >= max(self.listed_ns, self.start_ns + self.open_ns))

    def settled(self, at_ns: int) -> bool:
        """Its lots listed, verified, and every lot disposed of other than `hold`."""
        return (self.listed_ns is not None and at_ns >= self.listed_ns
                and bool(self.verified_by)
                and all(self.dispositions.get(lot, "hold") != "hold" for lot in self.lots))

    def dump(self) -> list[Any]:
        return [self.tags, self.start_ns, self.lots, self.authors, self.verified_by, self.seq,
                self.dispositions, self.listed_ns]

    @classmethod
    def load(cls, d: list[Any]) -> Deviation:
        return cls({str(k): str(v) for k, v in d[0].items()}, int(d[1]),
                   {str(k): int(v) for k, v in d[2].items()}, [str(x) for x in d[3]],
                   str(d[4]), int(d[5]),
                   {str(k): str(v) for k, v in (d[6] if len(d) > 6 else {}).items()},
                   int(d[7]) if len(d) > 7 and d[7] is not None
                   # a snapshot from before pruning: its lots' listing time, if any
                   else max((int(v) for v in d[2].values()), default=None))


def _counts(d: Deviation, end: int) -> tuple[int, int]:
    """(unanswered 24 h, lots on hold) that `d` adds to a bucket ending at `end`."""
    if d.start_ns >= end:
        return 0, 0
    return (1 if not d.authors and d.start_ns + UNANSWERED_NS <= end else 0, d.on_hold())


class ActionBook:
    """The deviations the engine wrote and their entries; see the module docstring."""

    def __init__(self, site: str, actions: dict[str, str], bucket_s: int = 60,
                 lot_after_s: dict[str, float] | None = None,
                 open_days: float = OPEN_DAYS) -> None:
        self.site = site
        self.open_days = open_days
        self.open_ns = round(open_days * DAY_NS)
        self.bucket_s = int(bucket_s)
        self.bucket_ns = self.bucket_s * 1_000_000_000
        self.actions = actions  # configured corrective action id -> name
        self.lot_after_ns = {k: round(v * 1e9) for k, v in (lot_after_s or {}).items()}
        self.deviations: dict[str, Deviation] = {}
        # closed and dropped: what they add to the bureau's figures per CCP kind
        # (unanswered, lots on hold), and their ids -> when they closed (for a clear
        # refusal, during twice the age limit)
        self.closed_bureau: dict[str, list[int]] = {}
        self.closed: dict[str, int] = {}
        self.bucket_end: dict[str, int] = {}  # CCP kind -> its latest bureau bucket's end
        self._fresh: list[Point] = []  # this feed's bureau points (apply)
        self._fresh_at: list[int] = []  # and their index in the feed's points
        self.events_applied = 0
        self.events_refused = 0

    def observe(self, points: list[Point]) -> None:
        """Deviations that started and lots they affected, among the engine's points;
        beside each bucket's `ccp_bureau` point, the bureau's `haccp_bureau` point."""
        self._prune()
        self._fresh = []
        bureau: list[Point] = []
        for p in points:
            m = p.measurement
            if m == "ccp_bureau":
                bureau.append(self._bureau(p))
            elif m == "ccp_deviation":
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"],
                                   p.ts_ns if p.tags.get("event") == "start"
                                   else int(p.fields.get("start_ns", p.ts_ns)))
                if p.tags.get("event") == "start":
                    if key not in self.deviations and key not in self.closed:
                        tags = {k: v for k, v in p.tags.items() if k != "event"}
                        self.deviations[key] = Deviation(tags, p.ts_ns, open_ns=self.open_ns)
                elif (d := self.deviations.get(key)) is not None:
                    d.listed_ns = p.ts_ns + self.lot_after_ns.get(p.tags["ccp"], 0)
            elif m == "ccp_lot":
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"], p.ts_ns)
                d = self.deviations.get(key)
                if d is not None and p.tags["lot"] not in d.lots:
                    d.lots[p.tags["lot"]] = int(p.fields["deviation_end_ns"]) + round(
                        float(p.fields["margin_after_s"]) * 1e9)

        self._fresh_at = list(range(len(points), len(points) + len(bureau)))
        points.extend(bureau)

    def _bureau(self, agg: Point) -> Point:
        """The safety supervision figures of one CCP kind at the end of `agg`'s bucket:
        deviations that started 24 h or more before it without a corrective action, and
        affected lots whose latest disposition is `hold`. Counts only (docs/haccp.md,
        "Bureau"): no lot id, product, person or text leaves."""
        end = agg.ts_ns + self.bucket_ns
        kind = agg.tags.get("ccp_kind", "")
        self.bucket_end[kind] = max(end, self.bucket_end.get(kind, end))
        late, held = self.closed_bureau.get(kind, (0, 0))
        for d in self.deviations.values():
            if d.tags.get("ccp_kind") == kind:
                a, b = _counts(d, end)
                late, held = late + a, held + b
        p = Point(BUREAU, agg.tags, {"unanswered_24h": late, "lots_on_hold": held}, agg.ts_ns)
        self._fresh.append(p)
        return p

    def _prune(self) -> None:
        """Drop the deviations closed by the end of their kind's latest bureau bucket.
        Called before a feed's points, never after them: an entry of the feed that closed
        that bucket may be dated before its end (and judged there, in apply)."""
        if not self.bucket_end:
            return
        for key, d in list(self.deviations.items()):
            kind = d.tags.get("ccp_kind", "")
            end = self.bucket_end.get(kind)
            if end is None or not (d.aged(end) or d.settled(end)):
                continue
            # closed at `end` >= start + 24 h (aged) or answered (settled), without a lot
            # on hold either way: what it adds to every later bucket is fixed
            add = _counts(d, end)
            if any(add):
                c = self.closed_bureau.setdefault(kind, [0, 0])
                c[0] += add[0]
                c[1] += add[1]
            self.closed[key] = end  # remembered from when it closed, not its start
            del self.deviations[key]
        horizon = max(self.bucket_end.values()) - 2 * self.open_ns
        if self.closed and min(self.closed.values()) < horizon:
            self.closed = {k: v for k, v in self.closed.items() if v >= horizon}

    def unanswered(self) -> list[tuple[str, Deviation]]:
        """(id, deviation) of those still without a corrective action, oldest first: the
        open corrective actions a person has to enter (`lineside demo` shows them)."""
        return sorted(((k, d) for k, d in self.deviations.items() if not d.authors),
                      key=lambda kd: (kd[1].start_ns, kd[0]))

    def refusal(self, value: Any, at_ns: int | None = None) -> str | None:
        """Why an entry would change nothing (None: it applies); `at_ns`, the entry's
        instant: a lot the engine had not yet listed then is no affected lot (so a replay
        that reads far ahead judges as the agent did)."""
        try:
            ev: Any = json.loads(value) if isinstance(value, str) else None
            kind, dev, by = str(ev["type"]), str(ev["deviation"]), str(ev["by"])
            role = str(ev.get("role", ""))
        except (TypeError, ValueError, KeyError):
            return "not a HACCP entry"
        if kind not in TYPES:
            return f"unknown entry {kind!r}"
        if not by:
            return "no user"
        site = dev.split(":", 1)[0]
        if site != self.site:
            return f"a deviation of another site ({site!r}; this agent is {self.site!r})"
        d = self.deviations.get(dev)
        if d is None:
            if dev in self.closed:
                return f"deviation {dev!r} is closed (verified and every lot disposed " \
                       f"of, or older than {self.open_days:g} days without a lot on hold)"
            return f"no deviation {dev!r}"
        when = at_ns if at_ns is not None else self.bucket_end.get(d.tags.get("ccp_kind", ""))
        if when is not None and d.aged(when):
            return f"the deviation is closed: it started more than {self.open_days:g} " \
                   "days ago and no lot is on hold"
        if d.seq + 1 > MAX_ENTRIES:
            return "too many entries"
        if any(len(str(ev.get(k, ""))) > MAX_TEXT for k in ("text", "justification")):
            return f"a text longer than {MAX_TEXT} characters"
        if kind == "action":
            a = str(ev.get("action", ""))
            if a not in self.actions:
                return f"unknown corrective action {a!r} (configured: " \
                       f"{', '.join(self.actions) or 'none'})"
            if d.verified_by:
                return "already verified"
        elif kind == "dispose":
            if when is not None and d.settled(when):  # (an action or a verification is
                # refused as verified already)
                return "the deviation is closed: verified, and every affected lot " \
                       "disposed of"
            lot, disp = str(ev.get("lot", "")), str(ev.get("disposition", ""))
            known = d.lots.get(lot)
            if known is None or (at_ns is not None and known > at_ns):
                return f"lot {lot!r} is not an affected lot of this deviation"
            if disp not in DISPOSITIONS:
                return f"unknown disposition {disp!r} ({', '.join(DISPOSITIONS)})"
            if disp == "release" and not str(ev.get("justification", "")).strip():
                return "a release needs a justification"
        else:
            if role != VERIFIER_ROLE:
                return f"a verification needs the {VERIFIER_ROLE} role"
            if not d.authors:
                return "no corrective action to verify"
            if by in d.authors:
                return "the author of a corrective action cannot verify it"
            if d.verified_by:
                return f"already verified by {d.verified_by}"
        return None

    def apply(self, value: Any, at_ns: int, out: list[Point]) -> bool:
        """An entry sample at `at_ns`; refused ones change nothing (counted)."""
        if self.refusal(value, at_ns) is not None:
            self.events_refused += 1
            return False
        ev = json.loads(value)
        d = self.deviations[str(ev["deviation"])]
        # bureau points of this feed's buckets that ended after the entry count it, as
        # they do when the agent takes the entry before the bucket closes (replay reads
        # both in one feed)
        after = [(i, p) for i, p in enumerate(self._fresh) if p.ts_ns + self.bucket_ns > at_ns
                 and p.tags.get("ccp_kind") == d.tags.get("ccp_kind")]
        before = [_counts(d, p.ts_ns + self.bucket_ns) for _, p in after]
        kind, by = str(ev["type"]), str(ev["by"])
        d.seq += 1
        tags = {**d.tags, "entry": {"action": "action", "dispose": "disposition",
                                    "verify": "verification"}[kind]}
        fields: dict[str, Any] = {"by": by, "role": str(ev.get("role", "")),
                                  "deviation_start_ns": d.start_ns, "at_ns": int(at_ns)}
        if kind == "action":
            fields["action"] = str(ev["action"])
            fields["text"] = str(ev.get("text", ""))
            d.authors.append(by)
        elif kind == "dispose":
            tags["lot"] = str(ev["lot"])
            d.dispositions[tags["lot"]] = str(ev["disposition"])
            fields["disposition"] = str(ev["disposition"])
            fields["justification"] = str(ev.get("justification", ""))
        else:
            fields["text"] = str(ev.get("text", ""))
            d.verified_by = by
        out.append(Point(MEASUREMENT, tags, fields, d.start_ns + d.seq))
        for (i, p), (late0, held0) in zip(after, before, strict=True):
            late, held = _counts(d, p.ts_ns + self.bucket_ns)
            f = p.fields
            q = Point(p.measurement, p.tags, {
                "unanswered_24h": int(f["unanswered_24h"]) + late - late0,
                "lots_on_hold": int(f["lots_on_hold"]) + held - held0}, p.ts_ns)
            # where observe() put it (a replay's feed holds days of points: no search)
            j = self._fresh_at[i]
            if j >= len(out) or out[j] is not p:
                j = next(j for j, x in enumerate(out) if x is p)
            out[j] = self._fresh[i] = q
        self.events_applied += 1
        return True

    def dump(self) -> dict[str, Any]:
        return {"deviations": {k: d.dump() for k, d in self.deviations.items()},
                "closed_bureau": self.closed_bureau, "closed": self.closed,
                "bucket_end": self.bucket_end,
                "applied": self.events_applied, "refused": self.events_refused}

    def load(self, d: dict[str, Any]) -> None:
        self.deviations = {str(k): Deviation.load(v)
                           for k, v in d.get("deviations", {}).items()}
        for dev in self.deviations.values():
            dev.open_ns = self.open_ns
        self.closed_bureau = {str(k): [int(x) for x in v]
                              for k, v in d.get("closed_bureau", {}).items()}
        self.closed = {str(k): int(v) for k, v in d.get("closed", {}).items()}
        self.bucket_end = {str(k): int(v) for k, v in d.get("bucket_end", {}).items()}
        self.events_applied = int(d.get("applied", 0))
        self.events_refused = int(d.get("refused", 0))

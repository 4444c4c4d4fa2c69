"""What the station keeps across restarts of the agent (docs/station.md).

The engine's snapshot restores the stops, lots and deviations; what the station shows
beyond them it learns from the points the agent delivers, and keeps here:

- the last closed shift's line figures (its `oee_shift` points), so that a handover
  signed between shifts shows the same figures after a restart;
- each deviation (its tags, start, end, affected lots) and its `ccp_action` records
  (what each corrective action, disposition and verification said), for the deviations
  and lots pages: the engine keeps only who entered what, which is all its rules need,
  and drops a deviation once it is closed (docs/haccp.md), while its record stays.

One JSON file, `station-memory.json` in the state directory, written aside, fsynced and
renamed (as the users file is): a crash leaves the old file or the new one, never half.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lineside.engine.actions import deviation_id
from lineside.station.views import ClosedShift, closed_shift

log = logging.getLogger(__name__)
FILE_NAME = "station-memory.json"
KEEP_DEVIATIONS = 500  # the newest deviations whose records are kept
_WATCHED = frozenset({"oee_shift", "ccp_action", "ccp_deviation", "ccp_lot"})


class Memory:
    def __init__(self, state_dir: Path, site: str) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.site = site
        self.last_shift: ClosedShift | None = None
        self.records: dict[str, list[dict[str, Any]]] = {}  # deviation id -> its entries
        self.ends: dict[str, float] = {}  # deviation id -> its end (epoch seconds)
        # deviation id -> {"tags": the CCP's and kind, "start_ns": ..., "lots": [...]}
        self.deviations: dict[str, dict[str, Any]] = {}
        self._load()

    # -- learning from the points ------------------------------------------------------
    def observe(self, points: Sequence[Any], now: float) -> ClosedShift | None:
        """Take note of `points` (as delivered); the shift they close, if any (the caller
        fixes its end and calls `closed`). Saves when a record or an end came."""
        changed = False
        shift_points = []
        for p in points:
            m = p.measurement
            if m not in _WATCHED:
                continue
            if m == "oee_shift":
                shift_points.append(p)
            elif m == "ccp_action":
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"],
                                   int(p.fields["deviation_start_ns"]))
                rec = {"entry": p.tags["entry"], "lot": p.tags.get("lot", ""),
                       "seq": p.ts_ns - int(p.fields["deviation_start_ns"]),
                       **{k: v for k, v in p.fields.items() if k != "deviation_start_ns"}}
                recs = self.records.setdefault(key, [])
                if all(r["seq"] != rec["seq"] for r in recs):  # a replayed delivery
                    recs.append(rec)
                    changed = True
            elif m == "ccp_lot":
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"], p.ts_ns)
                d = self._deviation(key, p)
                if p.tags["lot"] not in d["lots"]:
                    d["lots"].append(p.tags["lot"])
                    changed = True
            elif p.tags.get("event") == "start":  # ccp_deviation
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"], p.ts_ns)
                self._deviation(key, p)
                changed = True
            elif p.tags.get("event") == "end":
                key = deviation_id(self.site, p.tags["ccp"], p.tags["kind"],
                                   int(p.fields["start_ns"]))
                self.ends[key] = p.ts_ns / 1e9
                changed = True
        closed = closed_shift(shift_points, now) if shift_points else None
        if changed and closed is None:
            self._save_or_warn()
        return closed

    def _deviation(self, key: str, p: Any) -> dict[str, Any]:
        d = self.deviations.get(key)
        if d is None:
            tags = {k: v for k, v in p.tags.items() if k not in ("event", "lot")}
            d = self.deviations[key] = {"tags": tags, "start_ns": _start_ns(key), "lots": []}
        return d

    def closed(self, shift: ClosedShift) -> None:
        self.last_shift = shift
        self._save_or_warn()

    def _save_or_warn(self) -> None:
        """Called on the agent's delivery path: a full disk costs the station its memory
        of this point (logged), never the delivery."""
        try:
            self.save()
        except OSError as e:
            log.warning("station: %s not written: %s", self.path, e)

    # -- the file ----------------------------------------------------------------------
    def _load(self) -> None:
        try:
            d = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):  # unreadable: start without it, as on a first start
            return
        s = d.get("last_shift")
        if s:
            self.last_shift = ClosedShift(
                str(s["name"]), str(s["date"]), float(s["start"]), float(s["end"]),
                {str(k): tuple(v) for k, v in s["lines"].items()})
        self.records = {str(k): list(v) for k, v in d.get("records", {}).items()}
        self.ends = {str(k): float(v) for k, v in d.get("ends", {}).items()}
        self.deviations = {str(k): dict(v) for k, v in d.get("deviations", {}).items()}

    def save(self) -> None:
        keep = sorted(set(self.records) | set(self.ends) | set(self.deviations),
                      key=_start_ns)[-KEEP_DEVIATIONS:]
        self.records = {k: self.records[k] for k in keep if k in self.records}
        self.ends = {k: self.ends[k] for k in keep if k in self.ends}
        self.deviations = {k: self.deviations[k] for k in keep if k in self.deviations}
        s = self.last_shift
        data = {"last_shift": None if s is None else {
            "name": s.name, "date": s.date, "start": s.start, "end": s.end,
            "lines": {k: list(v) for k, v in s.lines.items()}},
            "records": self.records, "ends": self.ends, "deviations": self.deviations}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".station-memory-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _start_ns(key: str) -> int:
    try:
        return int(key.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return 0

"""The station's journal: every entry stamped with who and when, in a hash chain.

One JSON object per line in `station-journal.jsonl` (state directory): `seq` (1, 2, …),
`ts` (epoch seconds), `user`, `role`, `action` (login, classify, reclassify, note, sign,
…), `data` (the entry's own fields), `prev` (the previous line's hash, 64 zeros for the
first) and `hash` = SHA-256 of the line's canonical JSON without `hash`. Changing,
removing or inserting a line breaks the chain there (`verify`), as in the HACCP chain
(docs/haccp.md). Appends are flushed and fsynced before the station answers.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_NAME = "station-journal.jsonl"
GENESIS = "0" * 64


def _digest(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":"), allow_nan=False).encode()
                          ).hexdigest()


class Journal:
    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.seq, self.last = 0, GENESIS
        for e in self.entries():
            self.seq, self.last = int(e["seq"]), str(e["hash"])

    def append(self, ts: float, user: str, role: str, action: str,
               data: dict[str, Any]) -> dict[str, Any]:
        entry: dict[str, Any] = {"seq": self.seq + 1, "ts": ts, "user": user, "role": role,
                                 "action": action, "data": data, "prev": self.last}
        entry["hash"] = _digest(entry)
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        self.seq, self.last = entry["seq"], entry["hash"]
        return entry

    def entries(self) -> Iterator[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        yield json.loads(line)
        except FileNotFoundError:
            return


def verify(path: Path) -> list[str]:
    """Every break of the chain of a journal file (empty: whole)."""
    problems: list[str] = []
    prev, seq = GENESIS, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
            except ValueError:
                problems.append(f"line {n}: not JSON")
                continue
            if e.get("seq") != seq + 1:
                problems.append(f"line {n}: seq {e.get('seq')} after {seq}")
            if e.get("prev") != prev:
                problems.append(f"line {n}: prev does not match the line before")
            if e.get("hash") != _digest(e):
                problems.append(f"line {n}: hash does not match its contents")
            prev, seq = str(e.get("hash")), int(e.get("seq") or 0)
    return problems

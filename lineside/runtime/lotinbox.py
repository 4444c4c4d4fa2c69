"""The lot commands' inbox: how `lineside lot start|end` hands a command to the running
agent (docs/lots.md). The command writes one file into `state_dir/lot-inbox/` (written
aside, then renamed: the agent never reads half a file); the agent's housekeeping (every
5 s) takes the files in name order, feeds each to the engine as an `@lot` sample dated
when it takes it (so the sample log records it and `replay` reproduces it), and removes
it; a command the engine refuses is moved to `lot-inbox/refused/` with the reason, where
the waiting command finds it. `lineside haccp action|dispose|verify-action` hand their
entries over the same way, through `haccp-inbox/` (`@haccp.entry` samples).

Claiming is a rename (`.taken`), so a command that gives up waiting and removes its file
and an agent that takes it at that moment never both act on it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

INBOX = "lot-inbox"
REFUSED = "refused"
SUFFIX = ".json"


HACCP_INBOX = "haccp-inbox"  # corrective actions, dispositions, verifications


def inbox(state_dir: Path, box: str = INBOX) -> Path:
    return Path(state_dir) / box


def hand_over(state_dir: Path, value: str, box: str = INBOX) -> Path:
    """Write one command for the agent; its path (the command's name)."""
    d = inbox(state_dir, box)
    d.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}{SUFFIX}"
    tmp = d / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    path = d / name
    os.replace(tmp, path)
    return path


def take(state_dir: Path, refusal: Callable[[str], str | None],
         apply: Callable[[str], None], box: str = INBOX) -> tuple[int, list[tuple[str, str]]]:
    """Take every waiting command: `refusal(value)` says why one would change nothing
    (it is then moved aside with that reason), `apply(value)` feeds the others. Returns
    how many were applied and the refused (file name, reason)."""
    d = inbox(state_dir, box)
    if not d.is_dir():
        return 0, []
    applied, refused = 0, []
    for path in sorted(d.glob("*" + SUFFIX)):
        claimed = path.with_name(path.name + ".taken")
        try:
            os.replace(path, claimed)
        except FileNotFoundError:  # its command gave up waiting and removed it
            continue
        why: str | None
        try:
            value = claimed.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            value, why = "", f"unreadable: {e}"
        else:
            why = refusal(value)
        if why is None:
            apply(value)
            applied += 1
            claimed.unlink(missing_ok=True)
            continue
        rd = d / REFUSED
        rd.mkdir(exist_ok=True)
        (rd / path.name).write_text(json.dumps({"value": value, "reason": why},
                                               ensure_ascii=False), encoding="utf-8")
        claimed.unlink(missing_ok=True)
        refused.append((path.name, why))
    return applied, refused


def submit(state_dir: Path, value: str, box: str, wait_s: float) -> str | None:
    """Hand one command to the agent and wait up to `wait_s` for its answer: "" taken,
    the reason it was refused, or None when it was not taken in time (it is then
    withdrawn: a command applied minutes late would be a wrong record). The one way
    `lineside lot start|end` and `lineside haccp action|dispose|verify-action` ask."""
    path = hand_over(state_dir, value, box)
    deadline = time.monotonic() + max(0.0, wait_s)
    while (res := outcome(path)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if res is not None:
        return res
    try:
        path.unlink()
    except FileNotFoundError:  # taken at this very moment: its answer follows
        while (res := outcome(path)) is None:
            time.sleep(0.1)
        return res
    return None


def outcome(path: Path) -> str | None:
    """What became of a command handed over: None while it waits, "" once applied, or
    the reason it was refused."""
    if path.exists() or path.with_name(path.name + ".taken").exists():
        return None
    r = path.parent / REFUSED / path.name
    if r.exists():
        try:
            return str(json.loads(r.read_text(encoding="utf-8")).get("reason") or "refused")
        except (OSError, ValueError):
            return "refused"
    return ""

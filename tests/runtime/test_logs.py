"""Structured logs: JSON lines with context, and a PLC that is down logs once a minute."""

from __future__ import annotations

import json
import logging

import pytest

from lineside.agent.runtime.logs import JsonFormatter, RateLimit, TextFormatter


def _record(msg: str, level: int = logging.WARNING, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("lineside.driver", level, __file__, 1, msg, (), None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_json_lines_carry_the_context() -> None:
    line = JsonFormatter().format(_record("timeout reading %s", device="plc-l1",
                                          machine="L1-cut1"))
    data = json.loads(line)
    assert data["level"] == "warning" and data["device"] == "plc-l1"
    assert data["machine"] == "L1-cut1" and data["msg"] == "timeout reading %s"


def test_text_lines_show_the_context() -> None:
    assert "[device=plc-l1]" in TextFormatter().format(_record("down", device="plc-l1"))


def test_repeated_errors_are_rate_limited_and_summarised() -> None:
    now = [0.0]
    f = RateLimit(period_s=60, clock=lambda: now[0])
    passed = []
    for t in range(0, 130, 1):  # one error per second for 130 s from one device
        now[0] = float(t)
        rec = _record("poll failed", device="plc-l2")
        if f.filter(rec):
            passed.append((t, rec.msg))
    assert [t for t, _ in passed] == [0, 60, 120]
    assert "repeated 59 more times" in passed[1][1]
    # another device's error is not swallowed by the first one's limit
    assert f.filter(_record("poll failed", device="plc-l3"))
    # info lines are never limited
    assert all(f.filter(_record("cycle", level=logging.INFO)) for _ in range(5))


JOURNAL_SCRIPT = """
import logging
from lineside.agent.runtime.logs import setup_logging
setup_logging("debug", "text")
log = logging.getLogger("lineside.test")
log.debug("d"); log.info("i"); log.warning("w")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("e")
"""


def _log_to_file(tmp_path, journal_stream: str | None) -> list[str]:
    import os
    import subprocess
    import sys

    out = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with out.open("wb") as fh:
        if journal_stream == "<this file>":
            st = os.fstat(fh.fileno())
            journal_stream = f"{st.st_dev}:{st.st_ino}"
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = journal_stream
        subprocess.run([sys.executable, "-c", JOURNAL_SCRIPT], stderr=fh, env=env,
                       check=True, timeout=30)
    return out.read_text().splitlines()


def test_journal_lines_carry_their_syslog_priority(tmp_path) -> None:
    """stderr is the journal stream (JOURNAL_STREAM = its device:inode): every line starts
    with <priority>, the traceback's lines with the error's, so `journalctl -p err` keeps
    the whole error."""
    lines = _log_to_file(tmp_path, "<this file>")
    assert [ln[:3] for ln in lines[:3]] == ["<7>", "<6>", "<4>"]
    assert len(lines) > 4 and all(ln.startswith("<3>") for ln in lines[3:]), lines
    assert lines[-1].startswith("<3>ZeroDivisionError")


@pytest.mark.parametrize("journal_stream", [None, "1:2", "garbage"])
def test_no_priority_prefix_when_stderr_is_not_the_journal(tmp_path, journal_stream) -> None:
    """Unset, or inherited by a process whose stderr now goes elsewhere."""
    lines = _log_to_file(tmp_path, journal_stream)
    assert lines and not any(ln.startswith("<") for ln in lines), lines

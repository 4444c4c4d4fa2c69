"""Structured logs: JSON lines with context, and a PLC that is down logs once a minute."""

from __future__ import annotations

import json
import logging

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

"""A device's log as an operator reads it: KindAlarm's lines through the agent's limiter
(runtime/logs.RateLimit, 60 s), over sequences of cycles with their timings."""

from __future__ import annotations

import logging

import pytest

from lineside.drivers.kindlog import KindAlarm
from lineside.runtime.logs import RateLimit

WARN, INFO = "WARNING", "INFO"

# (id, [(second, failure kinds of the cycle)], [(level, kind) of the lines that pass])
SEQUENCES = [
    ("down_for_two_minutes", [(t, ["timeout"]) for t in range(120)] + [(120, [])],
     [(WARN, "timeout"), (INFO, "recovered")]),
    ("kind_changes_back_within_seconds",
     [(0, ["timeout"]), (1, ["truncated"]), (2, ["timeout"]), (3, ["timeout"]), (4, [])],
     [(WARN, "timeout"), (WARN, "truncated"), (WARN, "timeout"), (INFO, "recovered")]),
    ("flapping_every_second",
     [(0, ["timeout"]), (1, []), (2, ["timeout"]), (3, []), (4, ["timeout"])],
     [(WARN, "timeout"), (INFO, "recovered"), (WARN, "timeout"), (INFO, "recovered"),
      (WARN, "timeout")]),
    ("two_kinds_in_one_cycle_repeating",
     [(t, ["illegal_address", "busy"]) for t in range(5)],
     [(WARN, "illegal_address"), (WARN, "busy")]),
    ("one_kind_of_two_goes_then_comes_back",
     [(0, ["illegal_address", "busy"]), (1, ["illegal_address"]),
      (2, ["illegal_address", "busy"])],
     [(WARN, "illegal_address"), (WARN, "busy"), (WARN, "busy")]),
    ("same_kind_on_three_requests", [(0, ["exception_12"] * 3)], [(WARN, "exception_12")]),
    ("healthy", [(t, []) for t in range(5)], []),
    ("a_minute_apart_is_a_new_episode",
     [(0, ["connect"]), (1, []), (100, ["connect"]), (101, ["connect"])],
     [(WARN, "connect"), (INFO, "recovered"), (WARN, "connect")]),
]


@pytest.mark.parametrize(("cycles", "want"), [s[1:] for s in SEQUENCES],
                         ids=[s[0] for s in SEQUENCES])
def test_one_warning_per_change_one_info_per_recovery(cycles, want) -> None:
    now = [0.0]
    limiter = RateLimit(period_s=60, clock=lambda: now[0])
    passed: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            passed.append(record)

    log = logging.getLogger("test.kindlog")
    log.propagate, log.level = False, logging.DEBUG
    handler = Keep(logging.INFO)
    handler.addFilter(limiter)
    log.handlers[:] = [handler]
    alarm = KindAlarm("plc-7", log, "modbus plc-7")
    for t, kinds in cycles:
        now[0] = float(t)
        alarm.cycle([(k, f"request {n} failed") for n, k in enumerate(kinds)], float(t))
    assert [(r.levelname, r.kind) for r in passed] == want
    assert all(r.device == "plc-7" and r.getMessage().startswith("modbus plc-7: ")
               for r in passed)


def test_the_recovery_says_how_long_and_what() -> None:
    records: list[logging.LogRecord] = []
    log = logging.getLogger("test.kindlog.recovery")
    log.propagate, log.level = False, logging.DEBUG

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log.handlers[:] = [Keep()]
    alarm = KindAlarm("plc-7", log, "modbus plc-7")
    alarm.cycle([("timeout", "x")], 10.0)
    alarm.cycle([("truncated", "y")], 12.0)
    alarm.cycle([], 14.5)
    assert records[-1].getMessage() == ("modbus plc-7: answers again after 4.5 s "
                                        "(2 failed cycle(s): truncated)")

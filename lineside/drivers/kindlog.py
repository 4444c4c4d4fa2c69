"""A device's trouble as an operator reads it in the log: one line per change.

The rule (docs/design.md, "Logs an operator can run a plant by"): a WARNING each time
a device fails with an error kind it did not have in its previous cycle, an INFO when
a cycle succeeds again after failures, DEBUG for a failure that repeats. Whatever the
timing: a device that goes timeout → truncated → timeout in ten seconds gives three
WARNINGs. The kinds are the metric's (`lineside_device_errors_total{kind}`), so a line
and a counter always agree. Every record carries `device` and `kind` (`recovered` on
the INFO); the WARNINGs carry `every`, so the log limiter (runtime/logs.py) lets each
through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

RECOVERED = "recovered"


class KindAlarm:
    def __init__(self, device: str, log: logging.Logger, prefix: str,
                 error_kinds: frozenset[str] = frozenset()) -> None:
        self.device = device
        self.error_kinds = error_kinds  # told at ERROR: the configuration must change
        self.log = log
        self.prefix = prefix  # "modbus plc-1", "opcua device fryer"
        self.kinds: frozenset[str] = frozenset()  # the kinds of the last failed cycle
        self.failing_since: float | None = None
        self.failed_cycles = 0

    def cycle(self, failures: Sequence[tuple[str, str]], now: float) -> None:
        """One cycle's failures as (kind, message), in the order they happened; an
        empty sequence is a cycle that read the device."""
        if not failures:
            if self.kinds:
                since = self.failing_since if self.failing_since is not None else now
                self.log.info("%s: answers again after %.1f s (%d failed cycle(s): %s)",
                              self.prefix, now - since, self.failed_cycles,
                              ", ".join(sorted(self.kinds)),
                              extra={"device": self.device, "kind": RECOVERED})
            self.kinds, self.failing_since, self.failed_cycles = frozenset(), None, 0
            return
        if not self.kinds:
            self.failing_since = now
        self.failed_cycles += 1
        told: set[str] = set()
        for kind, message in failures:
            level = logging.DEBUG if kind in self.kinds or kind in told \
                else logging.ERROR if kind in self.error_kinds else logging.WARNING
            told.add(kind)
            # `every`: this is already one line per change; the limiter must not hold
            # back a kind that comes back while another one stays (its memory is one
            # kind per device)
            self.log.log(level, "%s: %s", self.prefix, message,
                         extra={"device": self.device, "kind": kind,
                                "every": level > logging.DEBUG})
        self.kinds = frozenset(told)

    def fail(self, kind: str, message: str, now: float) -> None:
        """An event-driven driver's failure (a lost session, a refused connect)."""
        self.cycle([(kind, message)], now)

    def ok(self, now: float) -> None:
        self.cycle((), now)

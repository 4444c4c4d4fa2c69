"""How the delivery stages fare: what `/readyz`, `/healthz` and the watchdog say of them.

A stage (`chain`: the HACCP chain file; `queue <sink>`: appending to a sink's queue
file; `send <sink>`: the sink's delivery loop) reports
each attempt: `ok(stage)` or `failed(stage, error)`. Failures a stage handles by
design are not failures here: a full or read-only disk (points held in memory, the
`disk` check of `/readyz`), a server that is down or refuses a batch (`lineside_sink_up`,
the dead-letter file): the queue keeps the points, delivery goes on by itself.

- **unready** (`/readyz` 503, `checks.delivery`): a stage failed `UNREADY_FAILURES`
  times in a row;
- **stopped** (`/healthz` 503, so the systemd watchdog stops pinging and systemd
  restarts the agent): a stage has failed without one success for `STOPPED_S`, at
  least `UNREADY_FAILURES` times.

Either ends with the stage's next success.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

UNREADY_FAILURES = 3
STOPPED_S = 60.0


@dataclass(slots=True)
class _Failing:
    since: float  # monotonic time of the first failure of this run
    failures: int
    last_error: str


class DeliveryHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._failing: dict[str, _Failing] = {}
        self.failures_total = 0

    @property
    def failing(self) -> set[str]:
        """Stages whose last attempt failed."""
        return set(self._failing)

    def ok(self, stage: str) -> None:
        self._failing.pop(stage, None)

    def failed(self, stage: str, error: BaseException | str) -> None:
        self.failures_total += 1
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        f = self._failing.get(stage)
        if f is None:
            self._failing[stage] = _Failing(self.clock(), 1, text[:300])
        else:
            f.failures += 1
            f.last_error = text[:300]

    def _view(self, f: _Failing, now: float) -> dict[str, Any]:
        return {"failures": f.failures, "failing_for_s": round(now - f.since, 1),
                "last_error": f.last_error}

    def readiness(self) -> dict[str, Any]:
        """`checks.delivery` of `/readyz`."""
        now = self.clock()
        failing = {s: self._view(f, now) for s, f in sorted(self._failing.items())
                   if f.failures >= UNREADY_FAILURES}
        return {"ok": not failing, "failing": failing}

    def stopped(self) -> dict[str, Any]:
        """The stages that stopped delivery (`/healthz` fails while any is)."""
        now = self.clock()
        return {s: self._view(f, now) for s, f in sorted(self._failing.items())
                if f.failures >= UNREADY_FAILURES and now - f.since >= STOPPED_S}

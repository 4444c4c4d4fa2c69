"""What `/healthz`, `/readyz` and the systemd watchdog say of the running agent.

- liveness (`/healthz`; the watchdog pings only while it is ok): every polled device
  completes cycles (a stalled scheduler), and delivery has not stopped — no stage of
  `sinks/health.DeliveryHealth` failing for its stop time, the sinks' delivery task
  still running. A restart is what helps then.
- readiness (`/readyz`): `AgentMetrics.readiness` (configuration, devices polled
  recently, queues below their bound, disks taking writes) plus `checks.delivery`: no
  delivery stage failing repeatedly.

An event loop that is stuck answers neither and stops the watchdog's pings (they come
from a task of that loop, runtime/systemd.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lineside.config.models import Device
    from lineside.runtime.metrics import AgentMetrics
    from lineside.sinks.health import DeliveryHealth


def liveness(cycle_mono: Mapping[str, float], devices: Mapping[str, Device],
             stall_s: Callable[[Device], float], now_mono: float,
             health: DeliveryHealth | None, sink_task: asyncio.Task[None] | None
             ) -> dict[str, Any]:
    """`/healthz`'s body: `status` ok, or why not."""
    stalled = {}
    for dev_id, since in cycle_mono.items():
        dev = devices.get(dev_id)
        if dev is not None and now_mono - since > stall_s(dev):
            stalled[dev_id] = round(now_mono - since, 1)
    body: dict[str, Any] = {}
    if stalled:
        body["no_cycle_completed_for_s"] = stalled
    stopped = health.stopped() if health is not None else {}
    if sink_task is not None and sink_task.done():
        stopped["sinks"] = {"last_error": _ended(sink_task)}
    if stopped:
        body["delivery_stopped"] = stopped
    if not body:
        return {"status": "ok"}
    return {"status": "stalled" if stalled else "delivery stopped", **body}


def readiness(metrics: AgentMetrics, poll_stale_s: float,
              health: DeliveryHealth | None) -> dict[str, Any]:
    """`/readyz`'s body: `ready` and every check."""
    body = metrics.readiness(poll_stale_s=poll_stale_s)
    delivery = health.readiness() if health is not None else {"ok": True, "failing": {}}
    body["checks"]["delivery"] = delivery
    body["ready"] = body["ready"] and delivery["ok"]
    return body


def _ended(task: asyncio.Task[None]) -> str:
    if task.cancelled():
        return "the delivery task was cancelled"
    exc = task.exception()
    return f"the delivery task ended: {type(exc).__name__}: {exc}" if exc else \
        "the delivery task ended"

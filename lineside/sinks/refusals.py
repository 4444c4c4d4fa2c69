"""What the stages after the drivers refused: counted, and logged once per series.

A stage (`chain`: HACCP linking, `lineproto`: serialization) that cannot take a value
leaves out that one value, point or record and goes on (docs/delivery.md, "Hostile
values"). It reports each as a `points.Refusal`; `Refusals` counts them by (stage,
reason) for `lineside_points_refused_total` and logs a WARNING the first time a series
and field is refused at a stage — naming the measurement, the tags that say where it
comes from, the device (from the configuration) and the value's kind — so that a PLC
sending inf every second gives one line, not one a second. Being once per series
already, these lines pass the log rate limit (`every`): two series refused in the same
minute are two lines.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

from lineside.points import Refusal, describe_value

log = logging.getLogger(__name__)

LOGGED_MAX = 10_000  # series remembered as logged; beyond, refusals are only counted
_WHERE = ("line", "stage", "machine", "signal", "ccp")  # tags that say where it comes from


class Refusals:
    def __init__(self, device_of: Mapping[str, str] | None = None) -> None:
        """`device_of`: machine id -> the device it is read from (for the log line)."""
        self.device_of = device_of or {}
        self.counts: Counter[tuple[str, str]] = Counter()  # (stage, reason) -> points
        self._logged: set[tuple[object, ...]] = set()

    def add(self, stage: str, refused: Sequence[Refusal], log_each: bool = True) -> None:
        """Count what `stage` refused; log each series and field's first refusal."""
        for p, field, reason in refused:
            self.counts[stage, reason] += 1
            if not log_each:
                continue
            key = (stage, p.measurement, field or "", *sorted(p.tags.items()))
            if key in self._logged or len(self._logged) >= LOGGED_MAX:
                continue
            self._logged.add(key)
            where = " ".join(f"{k}={p.tags[k]}" for k in _WHERE if p.tags.get(k))
            dev = self.device_of.get(p.tags.get("machine", ""))
            what = (f"field {field} = {describe_value(p.fields.get(field))}" if field
                    else f"timestamp {p.ts_ns} ns")
            log.warning("%s refused a %s point%s%s: %s (%s); left out, the rest goes on "
                        "(further refusals of this series are counted in "
                        "lineside_points_refused_total)", stage, p.measurement,
                        f" {where}" if where else "", f" (device {dev})" if dev else "",
                        what, reason, extra={"device": dev, "every": True} if dev
                        else {"every": True})

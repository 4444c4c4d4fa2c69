"""The one type the engine emits and the sinks deliver.

A `Point` maps 1:1 onto an InfluxDB point (measurement, tags, fields, timestamp).
Timestamps are integer nanoseconds so that a replay yields byte-identical line protocol.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FieldValue = bool | int | float | str


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    ts_ns: int
    # Extra metadata never written to InfluxDB (e.g. which sinks may carry it).
    meta: Mapping[str, str] = field(default_factory=dict, compare=False)

    def to_line(self) -> str:
        """Line protocol via influxdb-client's serializer (escaping, int suffixes)."""
        from influxdb_client import Point as IPoint
        from influxdb_client.domain.write_precision import WritePrecision

        p = IPoint(self.measurement)
        for k in sorted(self.tags):
            v = self.tags[k]
            if v != "":
                p.tag(k, v)
        for k in sorted(self.fields):
            p.field(k, self.fields[k])
        p.time(self.ts_ns, WritePrecision.NS)
        return p.to_line_protocol()

"""Find which lines of a rejected batch the server complained about (400/422).

InfluxDB 1.x writes the valid points of a batch and answers 400 with a "partial write"
message naming the problem; 2.x and VictoriaMetrics answer similarly. When the message
names the lines (parse errors quote them; field-type conflicts name measurement, field
and type) those lines go to the dead-letter file and the rest is re-sent (an identical
point overwrites itself, so a re-send never duplicates). Otherwise the delivery loop
bisects the batch until the single bad lines are isolated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineside.sinks.lineproto import measurement_of, split_unescaped

_CONFLICT = re.compile(
    r'(?:input )?field "(?P<field>(?:[^"\\]|\\.)+)" on measurement "(?P<meas>(?:[^"\\]|\\.)+)"'
    r" is type (?P<got>\w+), already exists as type (?P<want>\w+)"
)


@dataclass(frozen=True, slots=True)
class FieldConflict:
    measurement: str
    field: str
    got: str
    want: str

    def __str__(self) -> str:
        return (f"field type conflict: measurement {self.measurement!r} field {self.field!r}"
                f" sent as {self.got}, the database has it as {self.want}")


def field_conflicts(message: str) -> list[FieldConflict]:
    return [FieldConflict(m["meas"], m["field"], m["got"], m["want"])
            for m in _CONFLICT.finditer(message)]


def field_types(line: str) -> dict[str, str]:
    """{field key: influx type name} of one line of protocol."""
    parts = split_unescaped(line, " ", quotes=True)
    if len(parts) < 2:
        return {}
    out = {}
    for kv in split_unescaped(parts[1], ",", quotes=True):
        k, _, v = kv.partition("=")
        k = k.replace("\\", "")
        if v.startswith('"'):
            t = "string"
        elif v.endswith("i"):
            t = "integer"
        elif v.endswith("u"):
            t = "unsigned"
        elif v in ("t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"):
            t = "boolean"
        else:
            t = "float"
        out[k] = t
    return out


def offending_lines(lines: list[str], message: str) -> tuple[list[int], str]:
    """Indices of the lines `message` blames, and a human description of why."""
    bad: set[int] = set()
    reasons: list[str] = []
    for c in field_conflicts(message):
        reasons.append(str(c))
        for i, ln in enumerate(lines):
            if measurement_of(ln) == c.measurement and field_types(ln).get(c.field) == c.got:
                bad.add(i)
    if "unable to parse" in message or "failed to parse" in message:
        for i, ln in enumerate(lines):
            if f"'{ln}'" in message:
                bad.add(i)
        if bad:
            reasons.append("unparsable line(s)")
    return sorted(bad), "; ".join(reasons) or message

"""Read line protocol back into (measurement, tags, fields, ts) to compare with a database."""

from __future__ import annotations

from typing import Any

from lineside.sinks.lineproto import split_unescaped

Key = tuple[str, frozenset[tuple[str, str]], int]


def _unescape(s: str) -> str:
    for a in (",", "=", " ", '"'):
        s = s.replace("\\" + a, a)
    return s.replace("\\\\", "\\")


def _field(v: str) -> Any:
    if v.startswith('"'):
        return _unescape(v[1:-1])
    if v.endswith("i"):
        return int(v[:-1])
    if v in ("t", "T", "true", "True"):
        return True
    if v in ("f", "F", "false", "False"):
        return False
    return float(v)


def parse_line(line: str) -> tuple[Key, dict[str, Any]]:
    head, fields, ts = split_unescaped(line, " ", quotes=True)
    parts = split_unescaped(head, ",")
    tags = frozenset((_unescape(k), _unescape(v))
                     for k, v in (split_unescaped(p, "=") for p in parts[1:]))
    values = {_unescape(k): _field(v)
              for k, v in (split_unescaped(f, "=", quotes=True)
                           for f in split_unescaped(fields, ",", quotes=True))}
    return (_unescape(parts[0]), tags, int(ts)), values


def database_points(influx: Any, db: str, measurements: set[str]
                    ) -> dict[Key, dict[str, Any]]:
    """Every point of the given measurements, keyed like `parse_line`."""
    out: dict[Key, dict[str, Any]] = {}
    for m in measurements:
        tag_keys = {r["tagKey"] for r in influx.rows(f'SHOW TAG KEYS FROM "{m}"', db=db)}
        for row in influx.rows(f'SELECT * FROM "{m}"', db=db):
            tags = frozenset((k, v) for k, v in row.items()
                             if k in tag_keys and v not in (None, ""))
            fields = {k: v for k, v in row.items()
                      if k not in tag_keys and k != "time" and v is not None}
            key = (m, tags, int(row["time"]))
            assert key not in out, f"duplicate point {key}"
            out[key] = fields
    return out


def _num(v: Any) -> Any:
    # InfluxDB's JSON gives 60 for the float 60.0: compare numbers as numbers
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


def same_fields(expected: dict[str, Any], got: dict[str, Any]) -> bool:
    if set(expected) != set(got):
        return False
    for k, e in expected.items():
        a, b = _num(e), _num(got[k])
        if a != b and not (isinstance(a, float) and isinstance(b, float)
                           and abs(a - b) <= 1e-9 * max(1.0, abs(a))):
            return False
    return True

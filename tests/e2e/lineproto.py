"""Read line protocol back into (measurement, tags, fields, ts) to compare with a database."""

from __future__ import annotations

from typing import Any

Key = tuple[str, frozenset[tuple[str, str]], int]


def _split(text: str, sep: str) -> list[str]:
    """Split on `sep` outside double quotes and not escaped by a backslash."""
    out, cur, quoted, i = [], [], False, 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            cur.append(text[i:i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        if c == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


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
    head, fields, ts = _split(line, " ")
    parts = _split(head, ",")
    tags = frozenset((_unescape(k), _unescape(v))
                     for k, v in (_split(p, "=") for p in parts[1:]))
    values = {_unescape(k): _field(v) for k, v in (_split(f, "=") for f in _split(fields, ","))}
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

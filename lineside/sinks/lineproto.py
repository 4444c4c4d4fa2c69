"""Line protocol: the one serializer of points (queues, `lineside replay`, tests).

`reference_line` is influxdb-client's own serializer; it builds an influxdb-client
`Point` per call (~40k points/s). The queue needs ≥200k points/s, so `to_line` reuses
influxdb-client's escape tables and formatting rules and caches the `measurement,tags `
prefix per series, falling back to `reference_line` for what it does not handle. A
hypothesis test (tests/sinks/test_lineproto.py) asserts they are byte-identical.

Where influxdb-client would write a line InfluxDB refuses, or one the queue cannot hold,
`to_line` does not (docs/design.md, "InfluxDB schema"): a field whose value is an
integer outside int64, a non-finite float (influxdb-client skips those too), text that
is not valid Unicode, or of another type, is left out of the line; a point whose
timestamp is outside InfluxDB's range, or with no field left, has no line. Each is
reported in `refused` (a `Refusal`), so the caller counts and logs it. A newline in a
text value is written as the two characters `\n` (a raw one would split the queue's
newline-separated chunks).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from lineside.points import TS_NS_MAX, Point, Refusal, Series, value_problem

# influxdb-client's own escape tables (client/write/point.py), copied: importing that
# package costs ~25 MB of RSS, and a v1 or local sink never needs it.
# tests/sinks/test_lineproto.py still compares the output with influxdb-client's.
_ESCAPE_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": "\\n", "\t": "\\t",
                                     "\r": "\\r"})
_ESCAPE_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": "\\n",
                             "\t": "\\t", "\r": "\\r"})
# ... plus a newline written as `\n`: the queue's chunks are newline-separated lines
# (influxdb-client writes it raw, which InfluxDB takes inside quotes).
_ESCAPE_STRING = str.maketrans({'"': r'\"', "\\": "\\\\", "\n": "\\n"})

_isfinite = math.isfinite
_PREFIX_CACHE_MAX = 200_000
_prefix_cache: dict[tuple, str] = {}
_key_cache: dict[str, str] = {}


def _prefix(measurement: str, tags: tuple[tuple[str, str], ...]) -> str:
    parts = [measurement.translate(_ESCAPE_MEASUREMENT)]
    for k, v in tags:
        if v is None or v == "":
            continue
        ek = str(k).translate(_ESCAPE_KEY)
        ev = str(v).translate(_ESCAPE_KEY)
        if ev.endswith("\\"):
            ev += " "
        if ek != "" and ev != "":
            parts.append(f"{ek}={ev}")
    return ",".join(parts) + " "


def _series_prefix(p: Point) -> str:
    """`measurement,tags ` of a point; '' for what influxdb-client must handle itself."""
    if p.measurement.startswith("#"):
        return ""  # let influxdb-client emit its warning
    return _prefix(p.measurement, tuple(sorted(p.tags.items())))


def _key(k: str) -> str:
    ek = _key_cache.get(k)
    if ek is None:
        ek = str(k).translate(_ESCAPE_KEY)
        if len(_key_cache) < 10_000:
            _key_cache[k] = ek
    return ek


def _field(k: str, v: object, p: Point, refused: list[Refusal] | None) -> str | None:
    """`key=value`, or None to skip (None: absent; a value InfluxDB would refuse: reported
    in `refused`)."""
    t = type(v)
    if t is float:
        if not math.isfinite(v):  # type: ignore[arg-type]  # a float: the exact type() test above, which mypy does not narrow on
            if refused is not None:
                refused.append(Refusal(p, k, "non_finite"))
            return None
        s = str(v)
        if s.endswith(".0"):
            s = s[:-2]
        return f"{_key(k)}={s}"
    if t is bool:
        return f"{_key(k)}={'true' if v else 'false'}"
    if v is None:
        return None
    why = value_problem(v)
    if why is not None:
        if refused is not None:
            refused.append(Refusal(p, k, why))
        return None
    if t is int:
        return f"{_key(k)}={v}i"
    if isinstance(v, str):
        return f'{_key(k)}="{str(v).translate(_ESCAPE_STRING)}"'
    if isinstance(v, int):  # int subclasses, numpy integers: influxdb-client's str()
        return f"{_key(k)}={v}i"
    s = str(v)  # float subclasses, numpy floats, Decimal (finite: checked above)
    if s.endswith(".0"):
        s = s[:-2]
    return f"{_key(k)}={s}"


def reference_line(p: Point) -> str:
    """Line protocol via influxdb-client's serializer (escaping, int suffixes); '' when
    the point has no writable field."""
    from influxdb_client import Point as IPoint
    from influxdb_client.domain.write_precision import WritePrecision

    ip = IPoint(p.measurement)
    for k in sorted(p.tags):
        v = p.tags[k]
        if v != "":
            ip.tag(k, v)
    for k in sorted(p.fields):
        ip.field(k, p.fields[k])
    ip.time(p.ts_ns, WritePrecision.NS)
    return ip.to_line_protocol()


def to_line(p: Point, refused: list[Refusal] | None = None) -> str:
    """Line protocol of one point ('' when it has no writable field); what is left out
    is appended to `refused` (see the module docstring)."""
    ts = p.ts_ns
    if not -TS_NS_MAX <= ts <= TS_NS_MAX:
        if refused is not None:
            refused.append(Refusal(p, None, "timestamp"))
        return ""
    tags = p.tags
    if tags.__class__ is Series:
        # A signal's series: its key was derived once and is kept on its tags.
        c = tags.cache
        if c is not None and c[0] == p.measurement:
            prefix = c[1]
        else:
            prefix = _series_prefix(p)
            if not prefix:
                return _reference_of_writable(p, refused)
            tags.cache = (p.measurement, prefix)
    else:
        # Keyed in insertion order (no sort per point): the engine builds a series' tags
        # the same way every time; another order only costs one more cache entry.
        ck = (p.measurement, *tags.items())
        prefix = _prefix_cache.get(ck)
        if prefix is None:
            prefix = _series_prefix(p)
            if not prefix:
                return _reference_of_writable(p, refused)
            if len(_prefix_cache) >= _PREFIX_CACHE_MAX:
                _prefix_cache.clear()
            _prefix_cache[ck] = prefix
    fields = p.fields
    if len(fields) == 1:  # the common `signal` point
        for k, v in fields.items():
            if type(v) is float and _isfinite(v):  # hot path, inlined
                s = repr(v)  # == str(v) for floats
                if s[-2:] == ".0":
                    s = s[:-2]
                return f"{prefix}{_key_cache.get(k) or _key(k)}={s} {ts}"
            f = _field(k, v, p, refused)
        if f is None:
            return ""
        return f"{prefix}{f} {ts}"
    out = [f for f in (_field(k, v, p, refused) for k, v in sorted(fields.items()))
           if f is not None]
    if not out:
        return ""
    return f"{prefix}{','.join(out)} {ts}"


def _reference_of_writable(p: Point, refused: list[Refusal] | None) -> str:
    """influxdb-client's line of what it must handle itself, its fields checked first."""
    fields = {k: v for k, v in p.fields.items() if _field(k, v, p, refused) is not None}
    return reference_line(Point(p.measurement, p.tags, fields, p.ts_ns))


def to_lines(points: Iterable[Point], refused: list[Refusal] | None = None) -> list[str]:
    """Serialize, skipping points with no writable field (see `to_line`)."""
    if refused is None:
        return [ln for ln in map(to_line, points) if ln]
    return [ln for ln in (to_line(p, refused) for p in points) if ln]


def measurement_of(line: str) -> str:
    """Measurement name of a line (unescaped), for per-measurement counters."""
    i = 0
    n = len(line)
    out = []
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n:
            out.append(line[i + 1])
            i += 2
            continue
        if c in ", ":
            break
        out.append(c)
        i += 1
    return "".join(out)


def split_unescaped(s: str, sep: str, quotes: bool = False) -> list[str]:
    """Split on `sep` where it is not backslash-escaped (nor, with `quotes`, inside a
    double-quoted string field); escapes are kept."""
    out, cur, i, inq = [], [], 0, False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            cur.append(s[i:i + 2])
            i += 2
            continue
        if quotes and c == '"':
            inq = not inq
        if c == sep and not inq:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out

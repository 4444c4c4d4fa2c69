"""Small plant configurations for engine tests, built as plain dicts.

`cfg(...)` gives a LinesideConfig with a site in UTC (unless told), shifts as
"HH:MM-HH:MM" strings and machines whose signals are listed by role name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.samples import Quality, Sample

# 2026-11-30 is a Monday. Every test works on that day unless it says otherwise.
MON = dt.datetime(2026, 11, 30, tzinfo=dt.UTC).timestamp()
H = 3600.0


def at(hhmm: str, day: float = MON) -> float:
    """'06:30' -> epoch seconds on `day` (UTC); '+1 02:00' -> next day."""
    extra = 0.0
    if hhmm.startswith("+"):
        d, hhmm = hhmm[1:].split(" ")
        extra = int(d) * 86400.0
    parts = [int(x) for x in hhmm.split(":")]
    h, mi = parts[0], parts[1]
    s = parts[2] if len(parts) > 2 else 0
    return day + extra + h * 3600 + mi * 60 + s


def machine(mid: str, *signals: str, rate: float = 60.0, automation: str = "automatic",
            smap: str = "signals", **kw: Any) -> dict[str, Any]:
    m: dict[str, Any] = {
        "id": mid, "automation": automation, "ideal_rate": rate, "source": "plc1",
        "state": {"map": smap, **kw.pop("state", {})},
        "signals": {name: {"address": i} for i, name in enumerate(signals)},
    }
    m.update(kw)
    return m


def shift(name: str, span: str, breaks: tuple[str, ...] = (), **kw: Any) -> dict[str, Any]:
    a, b = span.split("-")
    d: dict[str, Any] = {"name": name, "start": a, "end": b, **kw}
    d["breaks"] = [dict(zip(("start", "end"), br.split("-"), strict=True)) for br in breaks]
    return d


def cfg(lines: list[dict[str, Any]], shifts: list[dict[str, Any]] | None = None,
        tz: str = "UTC", **rest: Any) -> LinesideConfig:
    d: dict[str, Any] = {
        "site": {"enterprise_id": "ent1", "enterprise_name": "Test Foods", "site_id": "s1",
                 "region": "510114", "timezone": tz},
        "devices": [{"id": "plc1", "type": "modbus-tcp", "host": "127.0.0.1"}],
        "lines": lines,
        "calendar": {"shifts": shifts or [], **rest.pop("calendar", {})},
        **rest,
    }
    return LinesideConfig(**d)


def one_machine_line(*signals: str, line: str = "L1", stage_kind: str = "frying",
                     **mkw: Any) -> dict[str, Any]:
    return {"id": line, "stages": [{"id": "S1", "kind": stage_kind,
                                     "machines": [machine("M1", *signals, **mkw)]}]}


def S(key: str, value: Any, ts: float, q: Quality = Quality.GOOD) -> Sample:
    return Sample(key, value, q, ts)


LINK_DOWN = "LINK_DOWN"  # a row value: every signal is read with BAD quality from then on


def poll(rows: list[tuple[str, Any]], end: str, poll_s: float = 1.0,
         prefix: str = "M1.") -> list[Sample]:
    """A PLC polled every `poll_s` seconds from the first row until `end`.

    Each row gives the values the PLC shows from its time on (later rows update
    earlier ones; counters hold their value until a row changes them). A row whose
    value is LINK_DOWN makes every read fail (BAD quality) until the next row.
    """
    times = [at(r[0]) for r in rows]
    t_end = at(end)
    instants = set(times)
    t = times[0]
    while t < t_end:
        instants.add(t)
        t += poll_s
    values: dict[str, Any] = {}
    down = False
    out: list[Sample] = []
    ri = 0
    for t in sorted(x for x in instants if x < t_end):
        while ri < len(rows) and times[ri] <= t:
            row = rows[ri][1]
            if row == LINK_DOWN:
                down = True
            else:
                down = False
                values.update({(k if "." in k else prefix + k): v for k, v in row.items()})
            ri += 1
        for k, v in values.items():
            out.append(Sample(k, None, Quality.BAD, t) if down else Sample(k, v, Quality.GOOD, t))
    return out


def run(config: LinesideConfig, samples: list[Sample], end: str, start: str | None = None):
    """Feed the samples, tick to `end`; returns (engine, points)."""
    from lineside.engine.core import Engine

    t0 = at(start) if start else samples[0].ts
    eng = Engine(config, t0)
    pts = eng.feed(samples)
    pts += eng.tick(at(end))
    return eng, pts


def run_split(config: LinesideConfig, start_ts: float, samples: list[Sample], end_ts: float,
              split: int | None = None, tick_mid: bool = False) -> list[Any]:
    """Points of one run, or of a run stopped after `split` samples (optionally ticked
    half-way to the next one), snapshotted through JSON and resumed; ticked to `end_ts`."""
    import json

    from lineside.engine.core import Engine

    eng = Engine(config, start_ts)
    if split is None:
        pts = eng.feed(samples)
    else:
        pts = eng.feed(samples[:split])
        if tick_mid and 0 < split < len(samples):
            pts += eng.tick((samples[split - 1].ts + samples[split].ts) / 2)
        snap = json.loads(json.dumps(eng.snapshot(), allow_nan=False))
        eng = Engine(config, 0.0, snapshot=snap)
        pts += eng.feed(samples[split:])
    return pts + eng.tick(end_ts)


def pick(points: list[Any], measurement: str, **tags: str) -> list[Any]:
    return [p for p in points if p.measurement == measurement
            and all(p.tags.get(k) == v for k, v in tags.items())]

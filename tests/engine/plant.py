"""Small plant configurations for engine tests, built as plain dicts.

`cfg(...)` gives a LinesideConfig with a site in UTC (unless told), shifts as
"HH:MM-HH:MM" strings and machines whose signals are listed by role name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from lineside.agent.config.models import LinesideConfig
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

"""Shared helpers for sink tests: engine-shaped points and sink configs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lineside.points import Point
from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink, LocalSink

BASE_NS = 1_700_000_000_000_000_000


def plant_points(n: int, start: int = 0, base_ns: int = BASE_NS, machines: int = 20) -> list[Point]:
    """Engine-shaped points: oee buckets, machine_state changes and raw signals.

    Timestamps are unique per series and whole milliseconds (VictoriaMetrics stores ms).
    """
    out = []
    for i in range(start, start + n):
        m = f"m{i % machines}"
        tags = {"enterprise": "e1", "site": "s1", "line": "L1", "stage": "frying",
                "machine": m, "level": "machine"}
        ts = base_ns + i * 1_000_000
        k = i % 3
        if k == 0:
            out.append(Point("oee", tags, {"run_s": (i % 60) + 0.25, "total_count": i,
                                           "good_count": i - i % 5,
                                           "availability": 0.5 + (i % 50) / 100}, ts))
        elif k == 1:
            out.append(Point("machine_state", tags, {"state": ["producing", "fault"][i % 2],
                                                     "code": i % 17, "prev_duration_s": i / 8},
                             ts))
        else:
            out.append(Point("signal", {**tags, "signal": f"{m}.temp"},
                             {"value": 150 + (i % 1000) / 10, "ok": i % 2 == 0}, ts))
    return out


def v1(url: str, tmp: Path, **kw: Any) -> InfluxV1Sink:
    base: dict[str, Any] = {"type": "influxdb-v1", "id": "plant", "url": url, "database": "plant",
                            "flush_interval_s": 0.05, "max_retry_delay_s": 0.2,
                            "dead_letter": tmp / "dead.lp"}
    base.update(kw)
    return InfluxV1Sink(**base)


def v2(url: str, tmp: Path, **kw: Any) -> InfluxV2Sink:
    base: dict[str, Any] = {"type": "influxdb-v2", "id": "v2", "url": url, "org": "acme",
                            "bucket": "plant", "flush_interval_s": 0.05,
                            "max_retry_delay_s": 0.2, "dead_letter": tmp / "dead-v2.lp"}
    base.update(kw)
    return InfluxV2Sink(**base)


def local(**kw: Any) -> LocalSink:
    return LocalSink(type="local", id=kw.pop("id", "local"), **kw)


def assert_once(got: list[str], want: list[str]) -> None:
    """Every wanted line arrived exactly once (batches in flight together may swap)."""
    assert len(got) == len(set(got)), "a line was accepted twice"
    assert sorted(got) == sorted(want)

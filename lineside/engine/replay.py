"""Replay: a sample stream through a fresh engine, every point it yields.

Pure (no files, no clock): `lineside replay` (lineside/cli/replay.py) reads the sample
log (lineside/samplelog.py) and writes the points, so a corrected config (say, an ideal
rate) recomputes the history. Points are deterministic: replaying a log twice gives the
same bytes, and InfluxDB overwrites the points a first run wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from lineside.samples import Sample


def replay(cfg: Any, samples: Iterable[Sample], until: float | None = None,
           start: float | None = None, chunk: int = 4096,
           widths: dict[str, int] | None = None, stats: Any = None) -> Iterator[Any]:
    """Points of a sample stream through a fresh engine (generator, bounded memory).

    `widths`: the dict `read_samples` fills with learned counter widths; they reach the
    engine before the samples read after them. `stats`: an `EngineStats` the engine
    counts into (the tests' case folders compare it).
    """
    from lineside.engine.core import Engine

    it = iter(samples)
    first = next(it, None)
    if first is None:
        return
    eng = Engine(cfg, first.ts if start is None else min(start, first.ts), stats=stats)
    learned: dict[str, int] = {}

    def feed(buf: list[Sample]) -> list[Any]:
        if widths and widths != learned:
            eng.learn_counter_bits(widths)
            learned.update(widths)
        return eng.feed(buf)

    buf = [first]
    last = first.ts
    for s in it:
        buf.append(s)
        if len(buf) >= chunk:
            yield from feed(buf)
            last = buf[-1].ts
            buf = []
    if buf:
        yield from feed(buf)
        last = max(last, buf[-1].ts)
    yield from eng.tick(max(last, until) if until is not None else last)

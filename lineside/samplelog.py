"""Sample logs: every sample the agent read, for `lineside replay`.

Format (docs/engine.md, "Sample log"): UTF-8 JSON lines, one sample per line, keys `t`
(epoch seconds, float), `s` (signal key), `v` (value: JSON bool, number, string or
null) and `q` (quality: 0 good, 1 uncertain, 2 bad):

    {"t":1796018400.0,"s":"fry1.state","v":6,"q":0}

A line `{"w":{"<signal key>":<bits>,...}}` records counter widths a driver learned (OPC
UA DataType at connect), written before the samples read with them, so a replay counts
as the live engine did. Lines starting with `#` are comments; a path ending in `.gz`
is gzip-compressed. The agent appends to the log when `record_samples` is set.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from lineside.samples import Quality, Sample

log = logging.getLogger(__name__)

_Q = (Quality.GOOD, Quality.UNCERTAIN, Quality.BAD)


def _open_text(path: Path, mode: str) -> IO[str]:
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.GzipFile(path, mode + "b"), encoding="utf-8")
    return open(path, mode, encoding="utf-8")


def encode(s: Sample) -> str:
    v = s.value
    if isinstance(v, float) and not math.isfinite(v):
        v = None  # NaN and +-inf are not JSON (the engine refuses null as it does them)
    return json.dumps({"t": s.ts, "s": s.signal, "v": v, "q": int(s.quality)},
                      separators=(",", ":"), allow_nan=False)


# Seconds since 1970 that InfluxDB's int64 nanoseconds can hold (to 2262). A damaged log's
# +inf or 1e300 would otherwise send the engine's bucket loop towards a time it never reaches.
TS_MAX = 9.2e9


def decode(line: str) -> Sample:
    d = json.loads(line)
    ts = float(d["t"])
    if not 0.0 <= ts < TS_MAX:  # (false for NaN too)
        raise ValueError(f"timestamp {d['t']!r} outside 1970..2262")
    return Sample(str(d["s"]), d.get("v"), _Q[int(d.get("q", 0))], ts)


class SampleLog:
    """Append-only writer the runtime uses when `record_samples` is set."""

    def __init__(self, path: Path | str, flush_every: int = 1000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f: IO[str] | None = _open_text(self.path, "a")
        self._pending = 0
        self._flush_every = flush_every
        self.written = 0

    def write(self, samples: Iterable[Sample]) -> None:
        f = self._f
        if f is None:
            raise ValueError("sample log is closed")
        n = 0
        for s in samples:
            f.write(encode(s))
            f.write("\n")
            n += 1
        self.written += n
        self._pending += n
        if self._pending >= self._flush_every:
            self.flush()

    def write_widths(self, bits: dict[str, int]) -> None:
        """Counter widths learned by a driver, for `replay` (module docstring)."""
        if self._f is None:
            raise ValueError("sample log is closed")
        self._f.write(json.dumps({"w": bits}, separators=(",", ":"), sort_keys=True))
        self._f.write("\n")

    def flush(self) -> None:
        if self._f is not None:
            self._f.flush()
            self._pending = 0

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> SampleLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_samples(path: Path | str, widths: dict[str, int] | None = None
                 ) -> Iterator[Sample]:
    """Samples of a log in file order; a torn last line (crash while writing) is skipped.

    Width records update `widths` (when given) as they are read. A line that is not a
    sample is skipped and logged with its file and line number (WARNING).
    """
    with _open_text(Path(path), "r") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                if line.startswith('{"w":'):
                    w = json.loads(line)["w"]
                    if widths is not None:
                        widths.update({str(k): int(v) for k, v in w.items()})
                    continue
                yield decode(line)
            except (ValueError, KeyError, IndexError, TypeError) as e:
                log.warning("%s:%d: not a sample, skipped (%s)", path, lineno, e)

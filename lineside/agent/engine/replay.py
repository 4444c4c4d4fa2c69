"""Sample logs and `lineside replay SAMPLES CONFIG`.

Sample log format (docs/engine.md, "Sample log"): UTF-8 JSON lines, one sample per
line, keys `t` (epoch seconds, float), `s` (signal key), `v` (value: JSON bool, number,
string or null) and `q` (quality: 0 good, 1 uncertain, 2 bad):

    {"t":1796018400.0,"s":"fry1.state","v":6,"q":0}

A line `{"w":{"<signal key>":<bits>,...}}` records counter widths a driver learned (OPC
UA DataType at connect), written before the samples read with them, so a replay counts
as the live engine did. Lines starting with `#` are comments; a path ending in `.gz`
is gzip-compressed. The
agent appends to the log when `record_samples` is set; `replay` feeds it to a fresh
engine and writes every point as line protocol, so a corrected config (say, an ideal
rate) recomputes the history. Points are deterministic: replaying a log twice gives the
same bytes, and InfluxDB overwrites the points a first run wrote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from lineside.samples import Quality, Sample

_Q = (Quality.GOOD, Quality.UNCERTAIN, Quality.BAD)


def _open_text(path: Path, mode: str) -> IO[str]:
    if str(path).endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, mode + "b"), encoding="utf-8")  # type: ignore[arg-type]
    return open(path, mode, encoding="utf-8")


def encode(s: Sample) -> str:
    v = s.value
    if isinstance(v, float) and v != v:
        v = None  # NaN is not JSON
    return json.dumps({"t": s.ts, "s": s.signal, "v": v, "q": int(s.quality)},
                      separators=(",", ":"), allow_nan=False)


def decode(line: str) -> Sample:
    d = json.loads(line)
    return Sample(str(d["s"]), d.get("v"), _Q[int(d.get("q", 0))], float(d["t"]))


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

    Width records update `widths` (when given) as they are read.
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
                print(f"replay: {path}:{lineno}: skipped ({e})", file=sys.stderr)


def replay(cfg: Any, samples: Iterable[Sample], until: float | None = None,
           start: float | None = None, chunk: int = 4096,
           widths: dict[str, int] | None = None, stats: Any = None) -> Iterator[Any]:
    """Points of a sample stream through a fresh engine (generator, bounded memory).

    `widths`: the dict `read_samples` fills with learned counter widths; they reach the
    engine before the samples read after them. `stats`: an `EngineStats` the engine
    counts into (the tests' case folders compare it).
    """
    from lineside.agent.engine import Engine

    it = iter(samples)
    first = next(it, None)
    if first is None:
        return
    eng = Engine(cfg, first.ts if start is None else min(start, first.ts))
    if stats is not None:
        eng.stats = stats
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


def _parse_time(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        pass
    d = dt.datetime.fromisoformat(v)
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return d.timestamp()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("samples", metavar="SAMPLES", help="sample log (JSON lines, .gz allowed)")
    p.add_argument("config", metavar="CONFIG", help="configuration file (YAML)")
    p.add_argument("-o", "--output", default="-",
                   help="line protocol output file (default: stdout)")
    p.add_argument("--until", type=_parse_time, default=None,
                   help="close buckets and shifts up to this time (epoch seconds or ISO "
                        "8601; default: the last sample)")
    p.add_argument("--start", type=_parse_time, default=None,
                   help="engine start (default: the first sample)")
    p.add_argument("--measurement", action="append", default=None,
                   help="only these measurements (repeatable), e.g. --measurement oee")


def _load(path: str) -> Any:
    from lineside.agent.config import load_config

    return load_config(path)


def run(args: argparse.Namespace) -> int:
    try:
        cfg = _load(args.config)
    except Exception as e:  # ConfigError renders every problem itself
        render = getattr(e, "render", None)
        print(render() if callable(render) else f"replay: {e}", file=sys.stderr)
        return 2
    if not Path(args.samples).exists():
        print(f"replay: no such sample log: {args.samples}", file=sys.stderr)
        return 2
    keep = set(args.measurement) if args.measurement else None
    out: IO[str] = sys.stdout if args.output == "-" else open(args.output, "w",  # noqa: SIM115
                                                             encoding="utf-8")
    # the command line only: the engine itself never reads a clock
    from lineside.agent.progress import Progress

    n = 0
    progress = Progress("replay", unit="samples")

    def counted(samples: Iterable[Sample]) -> Iterator[Sample]:
        for i, s in enumerate(samples, 1):
            if i % 1024 == 0:  # the clock is read at most once per 1024 samples
                at = dt.datetime.fromtimestamp(s.ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
                progress.update(i, f"at {at}, {n:,} points")
            yield s

    try:
        widths: dict[str, int] = {}
        for p in replay(cfg, counted(read_samples(args.samples, widths)), until=args.until,
                        start=args.start, widths=widths):
            if keep is not None and p.measurement not in keep:
                continue
            out.write(p.to_line())
            out.write("\n")
            n += 1
    finally:
        progress.close()
        if out is not sys.stdout:
            out.close()
    print(f"replay: {n} points", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lineside replay", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())

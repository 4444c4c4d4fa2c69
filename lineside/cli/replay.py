"""`lineside replay SAMPLES CONFIG`: recompute every point from a recorded sample log.

Reads the log (lineside/samplelog.py), feeds it to a fresh engine
(lineside/engine/replay.py) and writes the points as line protocol.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from lineside.cli.main import config_exit
from lineside.cli.progress import Progress
from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.engine.replay import replay
from lineside.samplelog import read_samples
from lineside.samples import Sample
from lineside.sinks.lineproto import to_line


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


def run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as e:  # every problem, with its key path and YAML line
        print(e.render(), file=sys.stderr)
        return config_exit(e)
    if not Path(args.samples).exists():
        print(f"replay: no such sample log: {args.samples}", file=sys.stderr)
        return 2
    keep = set(args.measurement) if args.measurement else None
    out: IO[str] = sys.stdout if args.output == "-" else open(args.output, "w",  # noqa: SIM115
                                                             encoding="utf-8")

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
            line = to_line(p)
            if line:  # a point without a writable field has no line
                out.write(line)
                out.write("\n")
                n += 1
    finally:
        progress.close()
        if out is not sys.stdout:
            out.close()
    print(f"replay: {n} points", file=sys.stderr)
    return 0

"""`lineside export`: write the points of a queue file as line protocol.

    lineside export --queue /var/lib/lineside/queue-local.db -o points.lp --keep
    lineside export --state-dir /var/lib/lineside --sink local | gzip > points.lp.gz

The output loads into InfluxDB as it is (`influx write`, `curl --data-binary @points.lp
.../write?db=X&precision=ns`). Without `--keep` exported points are removed from the
queue once the output file is flushed and synced; run that with the agent stopped (the
agent would otherwise re-send or miss the points it is holding in flight).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lineside.cli.main import config_exit
from lineside.cli.progress import Progress
from lineside.config.errors import ConfigError
from lineside.config.loader import load_config
from lineside.sinks.queue import DiskQueue

BATCH = 50_000


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--queue", type=Path, help="queue file (queue-<sink>.db)")
    src.add_argument("--config", type=Path,
                     help="agent configuration: its state_dir and sink queue paths are used")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="state directory (default /var/lib/lineside, or the config's)")
    p.add_argument("--sink", default="local", help="sink id whose queue to export (local)")
    p.add_argument("-o", "--output", default="-", help="output file, '-' for stdout")
    p.add_argument("--keep", action="store_true",
                   help="leave the points in the queue (default: remove what was exported)")


def _queue_path(args: argparse.Namespace) -> Path:
    if args.queue:
        return Path(args.queue)
    state_dir = args.state_dir
    if args.config:
        cfg = load_config(args.config)
        state_dir = state_dir or cfg.state_dir
        for s in cfg.sinks:
            if s.id == args.sink and s.queue.path:
                return Path(s.queue.path)
    return Path(state_dir or "/var/lib/lineside") / f"queue-{args.sink}.db"


def run(args: argparse.Namespace) -> int:
    try:
        path = _queue_path(args)
    except ConfigError as e:  # --config: every problem with its key path and line
        print(e.render(), file=sys.stderr)
        return config_exit(e)
    if not path.exists():
        print(f"lineside export: no queue file at {path}", file=sys.stderr)
        return 1
    q = DiskQueue(path, max_bytes=1 << 62, fsync="always", name="export")
    if q.quarantined:
        print(f"lineside export: {path} was unreadable and was moved to {q.quarantined[0]}",
              file=sys.stderr)
        q.close()
        return 1
    to_stdout = args.output == "-"
    out = sys.stdout.buffer if to_stdout else open(args.output, "wb")  # noqa: SIM115
    total = 0
    progress = Progress("lineside export", total=q.queue_points, unit="points")
    try:
        if args.keep:
            # Read in chunk order without moving the cursor.
            for data in q.iter_chunks():
                out.write(data)
                out.write(b"\n")
                total += data.count(b"\n") + 1
                progress.update(total)
        else:
            while True:
                batch = q.peek(BATCH)
                if not batch:
                    break
                out.write(batch.body() + b"\n")
                out.flush()
                if not to_stdout:
                    os.fsync(out.fileno())
                q.ack(batch.position_after(len(batch)))
                total += len(batch)
                progress.update(total)
        out.flush()
    finally:
        progress.close()
        if not to_stdout:
            out.close()
        q.close()
    print(f"lineside export: {total} points from {path}"
          f"{' (kept in the queue)' if args.keep else ' (removed from the queue)'}",
          file=sys.stderr)
    return 0

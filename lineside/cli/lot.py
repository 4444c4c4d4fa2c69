"""`lineside lot start|end LOT`: start or end a lot on a machine or a line of the running
agent; `lineside lot LOT`: the lot's traceability record from InfluxDB (docs/lots.md).

The command is handed to the agent through its state folder (lineside/runtime/lotinbox.py)
and becomes an `@lot` input sample there, dated when the agent takes it (within 5 s), so
the sample log records it and `replay` reproduces the lot. The command waits for the
agent's answer: exit 0 taken, 1 refused by the agent or not taken in time (the command is
then withdrawn: a lot started minutes late would be a wrong record), 2 an invalid
argument, 66 an unreadable configuration.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from pathlib import Path
from typing import Any

from lineside.i18n import LOCALES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("words", nargs="+", metavar="[start|end] LOT",
                   help="start LOT, end LOT: start or end it on the running agent; LOT "
                        "alone: the lot's traceability record from InfluxDB")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--machine", help="the machine the lot runs on")
    where.add_argument("--line", help="the line the lot runs on (every machine of it)")
    p.add_argument("--config", type=Path, default=None, metavar="CONFIG",
                   help="the agent's configuration (its machines, lines and state_dir; "
                        "for the record: its zone and language)")
    p.add_argument("--by", default="", help="who starts or ends it (default: the login name)")
    p.add_argument("--wait", type=float, default=15.0, metavar="S",
                   help="seconds to wait for the agent to take it (default 15)")
    rec = p.add_argument_group("the record (LOT alone)")
    rec.add_argument("--url", default=os.environ.get("LINESIDE_INFLUX_URL",
                                                     "http://127.0.0.1:8086"),
                     help="InfluxDB base URL (default $LINESIDE_INFLUX_URL or "
                          "http://127.0.0.1:8086)")
    rec.add_argument("--db", default="lineside", help="database (or DBRP mapping)")
    rec.add_argument("--site", default=None, help="only this site id")
    rec.add_argument("--format", choices=("table", "json", "html"), default="table")
    rec.add_argument("--locale", choices=LOCALES, default=None,
                     help="language (default: the configuration's site.locale, else zh-CN)")
    rec.add_argument("--tz", default=None, help="time zone (default: the configuration's)")
    rec.add_argument("-o", "--output", type=Path, default=None,
                     help="write here instead of standard output")


def _show(args: argparse.Namespace, lot: str, cfg: Any) -> int:
    from lineside.haccp import lotccp
    from lineside.haccp.lot import build, deviation_queries, lot_queries
    from lineside.haccp.lotrender import as_html, as_json, as_table
    from lineside.haccp.record import AnswerError, parse_points
    from lineside.i18n import translator
    from lineside.report.query import QueryError, Source, fetch

    src = Source(url=args.url, db=args.db)
    try:
        points, affected = (parse_points(fetch(src, q, epoch="ns"))
                            for q in lot_queries(lot, args.site))
        entries = [r for q in deviation_queries(affected)
                   for r in parse_points(fetch(src, q, epoch="ns"))]
    except (QueryError, AnswerError) as e:
        print(f"lot: {e}", file=sys.stderr)
        return 1
    if not points and not affected:
        print(f"lot: no lot {lot!r} in {src.describe()}", file=sys.stderr)
        return 1
    rec = build(lot, points, affected, entries)
    # the CCPs' summaries and the product over the lot's runs (lineside/haccp/lotccp.py)
    now = time.time_ns()
    metrics = getattr(cfg, "metrics", None)
    bucket_ns = int(getattr(metrics, "bucket_s", 60)) * 1_000_000_000
    try:
        buckets = lotccp.keep([r for q in lotccp.queries(rec.runs, now, args.site)
                               for r in parse_points(fetch(src, q, epoch="ns"))],
                              rec.runs, bucket_ns, now)
    except (QueryError, AnswerError) as e:
        print(f"lot: {e}", file=sys.stderr)
        return 1
    rec.ccps = lotccp.summaries(buckets, bucket_ns, cfg)
    for run in rec.runs:
        run.products, run.ideal_rates = lotccp.product(buckets, run.machine, cfg)
    site = getattr(cfg, "site", None)
    t = translator(args.locale or getattr(site, "locale", None))
    tz = args.tz or getattr(site, "timezone", None) or "UTC"
    names = {a.id: a.name for a in getattr(cfg, "corrective_actions", []) if a.name}
    text = as_json(rec) if args.format == "json" else \
        as_html(rec, t, tz, names) if args.format == "html" else as_table(rec, t, tz, names)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def run(args: argparse.Namespace) -> int:
    from lineside.cli.inbox import ask_agent
    from lineside.cli.main import config_exit
    from lineside.config.errors import ConfigError
    from lineside.config.loader import load_config
    from lineside.engine.lots import LotBook, lot_event
    from lineside.i18n import translator
    from lineside.runtime.lotinbox import INBOX

    words = list(args.words)
    if len(words) == 1:
        action, lot = "show", words[0]
    elif len(words) == 2 and words[0] in ("start", "end"):
        action, lot = words
    else:
        print("lot: give `start LOT`, `end LOT` or `LOT`", file=sys.stderr)
        return 2
    cfg = None
    if args.config is not None:
        try:
            cfg = load_config(args.config)
        except ConfigError as e:
            print(e.render(), file=sys.stderr)
            return config_exit(e)
    if action == "show":
        return _show(args, lot, cfg)
    if cfg is None or not (args.machine or args.line):
        print(f"lot {action}: give --config and --machine or --line", file=sys.stderr)
        return 2
    args.action, args.lot = action, lot
    by = args.by or getpass.getuser()
    value = lot_event(args.action, args.lot, machine=args.machine or "",
                      line=args.line or "", by=by)
    # What the configuration alone can refuse (an unknown machine, a bad id); whether
    # the lot runs there is the agent's to say.
    book = LotBook({m.id: {} for ln in cfg.lines for st in ln.stages for m in st.machines},
                   {ln.id: [m.id for st in ln.stages for m in st.machines] for ln in cfg.lines},
                   {}, [])
    why = book.refusal(lot_event("start", args.lot, machine=args.machine or "",
                                 line=args.line or "", by=by))
    if why is not None:
        print(f"lot: {why}", file=sys.stderr)
        return 2
    t = translator(args.locale or cfg.site.locale)
    rc = ask_agent(Path(cfg.state_dir), value, INBOX, args.wait, "lot", t)
    if rc:
        return rc
    where = (t._("machine {machine}").format(machine=args.machine) if args.machine
             else t._("line {line}").format(line=args.line))
    done = (t._("lot {lot} started on {where}") if args.action == "start"
            else t._("lot {lot} ended on {where}"))
    print(done.format(lot=args.lot, where=where))
    return 0

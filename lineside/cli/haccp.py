"""`lineside haccp`: the monitoring record of a shift or a day, and `verify` of the chain.

    lineside haccp --url http://influx:8086 --db lineside --shift day --date 2026-11-30 \
        --tz Asia/Shanghai --config plant.yaml --format html > record.html
    lineside haccp --day 2026-11-30 --tz Asia/Shanghai --format csv
    lineside haccp verify --url http://influx:8086 --db lineside --state-dir /var/lib/lineside

InfluxQL over the v1 /query API, like `lineside report`. Exit 0 on success (verify: the
chain is whole), 1 when the database cannot be queried or verify finds a broken record,
2 on bad arguments, 3 (verify with --state-dir) when the chain is whole but the agent
refused records it could not chain (kept in its dead-letter file; each is named).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lineside.cli import haccp_entry
from lineside.cli.main import config_exit
from lineside.config.errors import ConfigError
from lineside.haccp import render
from lineside.haccp.chain import Record, Verdict, verify
from lineside.haccp.record import (
    AnswerError,
    Scope,
    build,
    deviation_queries,
    entry_queries,
    parse_points,
    records_query,
    summary_query,
)
from lineside.i18n import DEFAULT_LOCALE, LOCALES, translator
from lineside.points import describe_value
from lineside.report.query import QueryError, Source, fetch
from lineside.sinks.chainstore import REFUSED_FILE, read_refused

CHAIN_FILE = "haccp-chain.db"
EXIT_REFUSED = 3  # the chain is whole, but records were refused (never linked)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?",
                   choices=("record", "verify", "action", "dispose", "verify-action"),
                   default="record",
                   help="record (default): the monitoring record; verify: the hash chain; "
                        "action, dispose, verify-action: a deviation's corrective action, "
                        "an affected lot's disposition, the QA verification")
    src = p.add_argument_group("plant InfluxDB (InfluxQL over /query)")
    src.add_argument("--url", default=os.environ.get("LINESIDE_INFLUX_URL",
                                                     "http://127.0.0.1:8086"),
                     help="InfluxDB base URL (default $LINESIDE_INFLUX_URL or "
                          "http://127.0.0.1:8086)")
    src.add_argument("--db", default="lineside", help="database (or DBRP mapping)")
    src.add_argument("--rp", default=None, help="retention policy (default: the db's)")
    src.add_argument("--user", default=None, help="user with READ on the database")
    src.add_argument("--password-env", default="LINESIDE_INFLUX_PASSWORD", metavar="VAR")
    src.add_argument("--token-env", default=None, metavar="VAR",
                     help="environment variable holding a 2.x/3.x read token")
    src.add_argument("--timeout", type=float, default=30.0, help="seconds per query")
    src.add_argument("--site", default=None, help="only this site id")
    sel = p.add_argument_group("record")
    sel.add_argument("--shift", default=None, help="shift name (with --date)")
    sel.add_argument("--date", default=None, help="the shift's start date, YYYY-MM-DD")
    sel.add_argument("--day", default=None, help="a local day, YYYY-MM-DD")
    sel.add_argument("--tz", default=None,
                     help="time zone of the day and of the times shown (default: the "
                          "configuration's site.timezone, else UTC)")
    sel.add_argument("--config", type=Path, default=None,
                     help="the agent's configuration: adds names, hazards and limits, "
                          "and gives the plant's zone and language")
    sel.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    sel.add_argument("--locale", choices=LOCALES, default=None,
                     help="language of the table, CSV and HTML (default: the "
                          f"configuration's site.locale, else {DEFAULT_LOCALE})")
    sel.add_argument("-o", "--output", type=Path, default=None,
                     help="write here instead of standard output")
    ver = p.add_argument_group("verify")
    ver.add_argument("--state-dir", type=Path, default=None,
                     help="the agent's state_dir: its chain head and recent records are "
                          "compared too (finds a rewritten chain and removed last records)")
    haccp_entry.add_arguments(p)


def _source(args: argparse.Namespace) -> Source:
    token = os.environ.get(args.token_env) if args.token_env else None
    if args.token_env and not token:
        raise ValueError(f"environment variable {args.token_env} is empty")
    return Source(url=args.url, db=args.db, rp=args.rp, user=args.user,
                  password=os.environ.get(args.password_env) if args.user else None,
                  token=token, timeout_s=args.timeout)


def _scope(args: argparse.Namespace) -> Scope:
    z = ZoneInfo(args.tz)

    def day(text: str, what: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{what} {text!r} is not a date YYYY-MM-DD") from None

    if args.shift:
        if not args.date:
            raise ValueError("--shift needs --date (the day the shift starts)")
        d = day(args.date, "--date")
        # The record is stamped at the shift start, on `shift_date` in the site's zone;
        # a day either side, so a --tz other than the site's still finds it (the tags
        # shift and shift_date select it).
        start = dt.datetime(d.year, d.month, d.day, tzinfo=z) - dt.timedelta(days=1)
        return Scope(f"shift {args.shift} {d.isoformat()}", start,
                     start + dt.timedelta(days=3), args.shift, d.isoformat(), args.site)
    if not args.day:
        raise ValueError("give --shift NAME --date YYYY-MM-DD, or --day YYYY-MM-DD")
    d = day(args.day, "--day")
    start = dt.datetime(d.year, d.month, d.day, tzinfo=z)
    nxt = d + dt.timedelta(days=1)
    return Scope(f"day {d.isoformat()}", start,
                 dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=z), site=args.site)


def local_chain(state_dir: Path) -> dict[int, str]:
    """seq -> hash of the records the agent still holds (read-only)."""
    path = state_dir / CHAIN_FILE
    if not path.exists():
        raise ValueError(f"no HACCP chain in {state_dir} ({CHAIN_FILE} missing)")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {int(s): str(h) for s, h in db.execute("SELECT seq, hash FROM records")}
    finally:
        db.close()


def check(records: list[Record], local: dict[int, str] | None) -> Verdict:
    """The database's chain, anchored by the agent's copy when given."""
    head = (max(local), local[max(local)]) if local else None
    v = verify(records, head=head, from_genesis=min(local) == 1 if local else False)
    if not v.ok or not local:
        return v
    for r in sorted(records, key=lambda r: r.seq or 0):
        want = local.get(r.seq or 0)
        if want is not None and r.fields.get("hash") != want:
            return Verdict(False, v.checked, v.first_seq, v.last_seq,
                           "its hash is not the one the agent chained: the chain was "
                           "rewritten from here on", r)
    return v


def run_verify(args: argparse.Namespace, src: Source) -> int:
    local = local_chain(args.state_dir) if args.state_dir else None
    recs = parse_points(fetch(src, records_query(args.site), epoch="ns"))
    # one chain per agent: enterprise, site and gateway
    chains: dict[tuple[str, str, str], list[Record]] = {}
    for r in recs:
        chains.setdefault((r.tags.get("enterprise", ""), r.tags.get("site", ""),
                           r.tags.get("gateway", "")), []).append(r)
    if not chains and local:
        chains[("", "", "")] = []
    bad = 0
    for (ent, site, gw), rs in sorted(chains.items()):
        v = check(rs, local if len(chains) == 1 else None)
        label = f"{ent}/{site}/{gw}" if site else "(no records)"
        if v.ok:
            print(f"haccp verify: {label}: {v.checked} records, seq {v.first_seq}.."
                  f"{v.last_seq}: chain intact")
        else:
            bad += 1
            who = v.record.describe() if v.record else "the chain"
            print(f"haccp verify: {label}: BROKEN at {who}: {v.problem}")
    refused = refused_records(args.state_dir) if args.state_dir else []
    for rec, why in refused:
        print(f"haccp verify: REFUSED {rec.describe()}: {why}; never chained, kept in "
              f"{args.state_dir / REFUSED_FILE}")
    if refused:
        print(f"haccp verify: {len(refused)} record(s) refused by the agent's chain")
    return 1 if bad else EXIT_REFUSED if refused else 0


def refused_records(state_dir: Path) -> list[tuple[Record, str]]:
    """The records the agent could not chain (its dead-letter file), each once (a crash
    between the file's append and the chain's commit repeats an entry), oldest first."""
    seen: dict[str, tuple[Record, str]] = {}
    for e in read_refused(state_dir / REFUSED_FILE):
        m, tags, fields, ts = cast(list[Any], e["record"])  # JSON: [m, tags, fields, ts]
        rec = Record(str(m), dict(tags), dict(fields), int(ts))
        fld = e.get("field")
        if e.get("error"):  # the chain itself failed (a damaged chain file)
            why = f"the chain failed: {e['error']}"
        else:
            what = f"field {fld}" if fld else "its timestamp"
            kind = describe_value(fields.get(fld)) if fld else f"{ts} ns"
            why = f"{what} is {kind} ({e.get('reason')})"
        seen.setdefault(json.dumps([m, sorted(tags.items()), ts]), (rec, why))
    return list(seen.values())


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.action in haccp_entry.ENTRY_ACTIONS:
        return haccp_entry.run(args)
    try:
        src = _source(args)
        if args.action == "verify":
            return run_verify(args, src)
        config = None
        if args.config is not None:
            from lineside.config.loader import load_config

            config = load_config(args.config)
        # plant time and language: the command line, else the configuration's site
        site = getattr(config, "site", None)
        args.tz = args.tz or getattr(site, "timezone", None) or "UTC"
        t = translator(args.locale or getattr(site, "locale", None))
        ZoneInfo(args.tz)
        scope = _scope(args)
    except ConfigError as e:  # --config: every problem with its key path and line
        print(e.render(), file=err)
        return config_exit(e)
    except (ValueError, ZoneInfoNotFoundError) as e:
        print(f"lineside haccp: {e}", file=err)
        return 2
    except (QueryError, AnswerError) as e:
        print(f"lineside haccp: {e}", file=err)
        return 1
    except Exception as e:  # ConfigError renders every problem itself
        render_ = getattr(e, "render", None)
        if callable(render_):
            print(render_(), file=err)
            return 2
        raise
    try:
        summaries = parse_points(fetch(src, summary_query(scope), epoch="ns"))
        devs = [r for q in deviation_queries(scope)
                for r in parse_points(fetch(src, q, epoch="ns"))]
        entries = [r for q in entry_queries(devs, scope.site)
                   for r in parse_points(fetch(src, q, epoch="ns"))]
    except (QueryError, AnswerError) as e:
        print(f"lineside haccp: {e}", file=err)
        return 1
    rec = build(scope, args.tz, src.describe(), summaries, devs, config, entries)
    text = {"table": lambda: render.to_table(rec, t), "csv": lambda: render.to_csv(rec, t),
            "json": lambda: render.to_json(rec),
            "html": lambda: render.to_html(rec, t)}[args.format]()
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0

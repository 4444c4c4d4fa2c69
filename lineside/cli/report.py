"""`lineside report`: the bureau's report from its InfluxDB, or with `--config` the
plant's (the thin I/O layer).

    lineside report --registry enterprises.yaml --url http://influx:8086 --db bureau \
        --user bureau_reader --password-env BUREAU_PW --period month --date 2026-11-01 \
        --html report.html --csv report.csv
    lineside report --config /etc/lineside/lineside.yaml --period week --html week.html

Queries InfluxQL over the v1 /query API (InfluxDB 1.x, 2.x with DBRP, 3.x), aggregates
(`aggregate.build_report`, `plant.build`: pure) and renders. The plant's report reads
the database of the configuration's first InfluxDB sink of role plant with that sink's
credentials (`--url`, `--db`, `--user`, `--token-env` override them). Exit 0 on success,
1 when the database cannot be queried, 2 on bad arguments or an invalid registry or
configuration (or one in another encoding than UTF-8), 66 when the registry or
configuration file is missing or cannot be read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lineside.cli.main import EXIT_INVALID, EXIT_NO_INPUT, config_exit
from lineside.cli.progress import Progress
from lineside.i18n import DEFAULT_LOCALE, LOCALES, translator
from lineside.report import html as html_render
from lineside.report import render
from lineside.report.aggregate import build_report
from lineside.report.data import (
    DEFAULT_TARGET,
    RegistryError,
    load_registry,
    load_registry_settings,
)
from lineside.report.period import (
    custom_period,
    parse_when,
    period_containing,
    previous_period,
)
from lineside.report.query import QueryError, Source, load_rows
from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink
from lineside.textfiles import read_text

if TYPE_CHECKING:
    from lineside.config.models import LinesideConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_argument_group("InfluxDB: the bureau's, or with --config the plant's "
                               "(InfluxQL over /query)")
    src.add_argument("--url", default=None,
                     help="InfluxDB base URL (default: with --config its sink's, else "
                          "$LINESIDE_BUREAU_URL or http://127.0.0.1:8086)")
    src.add_argument("--db", default=None,
                     help="database (1.x) or DBRP-mapped database name (2.x/3.x) "
                          "(default: with --config its sink's, else bureau)")
    src.add_argument("--rp", default=None, help="retention policy (default: the db's)")
    src.add_argument("--user", default=None, help="user with READ on the database (1.x)")
    src.add_argument("--password-env", default="LINESIDE_BUREAU_PASSWORD", metavar="VAR",
                     help="environment variable holding the password "
                          "(default LINESIDE_BUREAU_PASSWORD)")
    src.add_argument("--token-env", default=None, metavar="VAR",
                     help="environment variable holding a 2.x/3.x read token "
                          "(instead of user/password)")
    src.add_argument("--timeout", type=float, default=30.0, help="seconds per query")

    per = p.add_argument_group("period")
    per.add_argument("--period", choices=("day", "week", "month", "custom"), default="day",
                     help="day, ISO week (Monday first), calendar month, or custom "
                          "(--from/--to); default day")
    per.add_argument("--date", default=None,
                     help="a day inside the period, YYYY-MM-DD (default: today in --tz)")
    per.add_argument("--from", dest="from_", default=None, metavar="WHEN",
                     help="custom period start (date or ISO datetime, inclusive)")
    per.add_argument("--to", default=None, metavar="WHEN",
                     help="custom period end (date or ISO datetime, exclusive)")
    per.add_argument("--tz", default=None,
                     help="time zone the period is drawn in, e.g. Asia/Shanghai "
                          "(default: the registry's timezone or the configuration's "
                          "site.timezone, else UTC)")

    p.add_argument("--registry", type=Path, default=None,
                   help="the bureau's report: enterprises registered with the bureau, "
                        "YAML list or CSV with id, name, region")
    p.add_argument("--config", type=Path, default=None,
                   help="the plant's report instead: the agent's configuration (its "
                        "InfluxDB sink, lines, reason tree, zone and language); per line "
                        "OEE, automation rate and the downtime Pareto by reason")
    p.add_argument("--target", type=float, default=DEFAULT_TARGET,
                   help="automation target as a fraction (default 0.60)")
    out = p.add_argument_group("output")
    out.add_argument("--locale", choices=LOCALES, default=None,
                     help="language of the table, CSV and HTML (default: the registry's "
                          f"locale or the configuration's site.locale, else "
                          f"{DEFAULT_LOCALE})")
    out.add_argument("--format", choices=("table", "csv", "json", "html"), default="table",
                     help="what goes to standard output (default table)")
    out.add_argument("--csv", type=Path, default=None, help="also write CSV here")
    out.add_argument("--json", type=Path, default=None, help="also write JSON here")
    out.add_argument("--html", type=Path, default=None,
                     help="also write the self-contained HTML page here")


def period_of(args: argparse.Namespace):  # -> Period
    ZoneInfo(args.tz)  # validate early
    if args.from_ or args.to or args.period == "custom":
        if not (args.from_ and args.to):
            raise ValueError("a custom period needs both --from and --to")
        return custom_period(parse_when(args.from_), parse_when(args.to), args.tz)
    day = (parse_when(args.date).date() if args.date
           else dt.datetime.now(ZoneInfo(args.tz)).date())
    return period_containing(args.period, day, args.tz)


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    if args.config is not None:
        if args.registry is not None:
            print("lineside report: give --registry (the bureau's report) or --config "
                  "(the plant's), not both", file=err)
            return EXIT_INVALID
        return run_plant(args)
    if args.registry is None:
        print("lineside report: give --registry (the bureau's report) or --config "
              "(the plant's report)", file=err)
        return EXIT_INVALID
    args.url = args.url or os.environ.get("LINESIDE_BUREAU_URL", "http://127.0.0.1:8086")
    args.db = args.db or "bureau"
    if not 0 < args.target <= 1:
        print("lineside report: --target is a fraction between 0 and 1 (e.g. 0.60)", file=err)
        return 2
    try:
        registry = load_registry(args.registry)
        settings = load_registry_settings(args.registry)
    except OSError as e:  # missing or unreadable: no verdict on the registry
        print(f"lineside report: registry {args.registry}: {e}", file=err)
        return EXIT_NO_INPUT
    except RegistryError as e:
        print(f"lineside report: registry {args.registry}: {e}", file=err)
        return EXIT_INVALID
    # the bureau's zone and language: the command line, else the registry's
    args.tz = args.tz or settings.timezone or "UTC"
    t = translator(args.locale or settings.locale)
    try:
        period = period_of(args)
    except (ValueError, ZoneInfoNotFoundError) as e:
        print(f"lineside report: {e}", file=err)
        return 2
    token = os.environ.get(args.token_env) if args.token_env else None
    if args.token_env and not token:
        print(f"lineside report: environment variable {args.token_env} is empty", file=err)
        return 2
    src = Source(url=args.url, db=args.db, rp=args.rp, user=args.user,
                 password=os.environ.get(args.password_env) if args.user else None,
                 token=token, timeout_s=args.timeout)
    previous = previous_period(period)
    # the queries over a long range are the slow part: say which one runs (on a terminal)
    with Progress("lineside report") as progress:
        try:
            progress.stage(f"query 1/2: {period.label} on {src.describe()}")
            rows = load_rows(src, period)
            progress.stage(f"query 2/2: {previous.label} (the previous period, for trends)")
            prev_rows = load_rows(src, previous)
        except QueryError as e:
            progress.close()
            print(f"lineside report: {e}", file=err)
            return 1
        progress.stage(f"building the report from {len(rows):,} rows")
        report = build_report(registry, rows, prev_rows, period, previous,
                              target=args.target, source=src.describe())
    return _write(args, {
        "csv": lambda: render.to_csv(report, t),
        "json": lambda: render.to_json(report),
        "html": lambda: html_render.to_html(report, t),
    }, lambda: render.print_table(report, t=t))


def _write(args: argparse.Namespace, outputs: dict[str, Callable[[], str]],
           table: Callable[[], None]) -> int:
    """Each of --csv/--json/--html to its file, then --format to stdout."""
    for fmt in ("csv", "json", "html"):
        path: Path | None = getattr(args, fmt)
        if path is not None:
            # utf-8-sig would add a second BOM to CSV; the CSV text carries its own
            path.write_text(outputs[fmt](), encoding="utf-8")
    if args.format == "table":
        table()
    else:
        sys.stdout.write(outputs[args.format]())
    return 0


# --------------------------------------------------------------------------- the plant's


def plant_source(cfg: LinesideConfig, args: argparse.Namespace) -> Source:
    """The plant's database: the first InfluxDB sink of role plant, its credentials read
    as the agent reads them; `--url`, `--db`, `--user`/`--password-env`, `--token-env`
    override. ValueError when there is none and no `--url`/`--db`."""
    sink = next((s for s in cfg.sinks if s.role == "plant"
                 and isinstance(s, InfluxV1Sink | InfluxV2Sink)), None)
    url, db = args.url, args.db
    user = password = token = None
    rp = args.rp
    if sink is not None:
        url = url or sink.url
        if isinstance(sink, InfluxV1Sink):
            db, rp = db or sink.database, rp or sink.retention_policy
            user = sink.username
            password = _secret(sink.password_env, sink.password_file)
        else:  # 2.x: /query through the bucket's DBRP mapping, of the same name
            db = db or sink.bucket
            token = _secret(sink.token_env, sink.token_file)
    if not url or not db:
        raise ValueError("the configuration has no InfluxDB sink of role plant: give "
                         "--url and --db")
    if args.user:
        user, password, token = args.user, os.environ.get(args.password_env), None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise ValueError(f"environment variable {args.token_env} is empty")
    return Source(url=url, db=db, rp=rp, user=user, password=password, token=token,
                  timeout_s=args.timeout)


def _secret(env: str | None, file: Path | None) -> str | None:
    if env:
        return os.environ.get(env)
    if file:
        return read_text(file, 1 << 16).strip()
    return None


def run_plant(args: argparse.Namespace) -> int:
    """`lineside report --config`: the plant's report (lineside/report/plant.py)."""
    from lineside.config.errors import ConfigError
    from lineside.config.loader import load_config
    from lineside.report import plant, plantrender

    err = sys.stderr
    try:
        cfg = load_config(args.config)
    except ConfigError as e:  # every problem with its key path and line
        print(e.render(), file=err)
        return config_exit(e)
    args.tz = args.tz or cfg.site.timezone or "UTC"
    t = translator(args.locale or cfg.site.locale)
    try:
        period = period_of(args)
        src = plant_source(cfg, args)
    except (ValueError, ZoneInfoNotFoundError) as e:
        print(f"lineside report: {e}", file=err)
        return EXIT_INVALID
    except OSError as e:  # a password or token file the agent reads and we cannot
        print(f"lineside report: {e}", file=err)
        return EXIT_NO_INPUT
    with Progress("lineside report") as progress:
        try:
            progress.stage(f"query: {period.label} on {src.describe()}")
            rows = plant.load(src, cfg.site.site_id, period)
        except QueryError as e:
            progress.close()
            print(f"lineside report: {e}", file=err)
            return 1
    rep = plant.build(cfg, rows, period, source=src.describe())
    return _write(args, {
        "csv": lambda: plantrender.to_csv(rep, t),
        "json": lambda: plantrender.to_json(rep),
        "html": lambda: plantrender.to_html(rep, t),
    }, lambda: plantrender.print_table(rep, t=t))

"""`lineside check CONFIG [--print]`: explain every mistake, or show what will run."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from lineside.cli.main import EXIT_OK, config_exit
from lineside.config.errors import ConfigError, ConfigIssue
from lineside.config.loader import load_config
from lineside.config.messages import localized
from lineside.config.models import LinesideConfig
from lineside.config.plant import PRODUCTION_KEYS, iter_machines
from lineside.config.yamlpos import Loc
from lineside.drivers.modbus.checks import describe_plan
from lineside.drivers.modbus.settings import ModbusSignal
from lineside.i18n import DEFAULT_LOCALE, LOCALES, translator
from lineside.redact import shown_config
from lineside.yamldump import safe_dump


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", type=Path, help="YAML configuration file")
    p.add_argument("--print", dest="print_config", action="store_true",
                   help="show the resolved configuration (secrets masked) and read plans")
    p.add_argument("--json", action="store_true", help="errors as JSON (for tooling)")
    p.add_argument("--offline", action="store_true",
                   help="the service's environment and secret files are not here (install "
                        "time, another machine): an unset *_env variable or an unreadable "
                        "*_file secret is a warning, not an error")
    p.add_argument("--locale", choices=LOCALES, default=None,
                   help="language of the messages (default: the file's site.locale, else "
                        "zh-CN); --json stays English")


def resolved_dump(cfg: LinesideConfig, written: Mapping[Loc, str]) -> str:
    """The validated file, defaults filled in, as it may be shown (redact.py)."""
    data = shown_config(cfg.model_dump(mode="json"), written)
    for line in data["lines"]:  # a monitoring-only unit has none of them: as `check` reads
        for stage in line["stages"]:
            for m in stage["machines"]:
                if m["kind"] != "production":
                    for key in PRODUCTION_KEYS:
                        m.pop(key, None)
    return safe_dump(data)


def read_plans(cfg: LinesideConfig) -> list[str]:
    out: list[str] = []
    for device in cfg.devices:
        if device.type == "opcua":
            continue
        signals = [(f"{m.id}.{name}", sig)
                   for _, _, m, _ in iter_machines(cfg.lines) if m.source == device.id
                   for name, sig in m.signals.items() if isinstance(sig, ModbusSignal)]
        out.append(f"# device {device.id} ({device.type})")
        out.extend(f"  {line}" for line in describe_plan(device, signals))
    return out


def run(args: argparse.Namespace) -> int:
    warnings: list[ConfigIssue] = []
    written: dict[Loc, str] = {}
    try:
        cfg = load_config(args.config, warnings, written,
                          secrets="warnings" if args.offline else "errors")
    except ConfigError as e:  # ConfigUnreadable (66): a missing file is no verdict on it
        if args.json:
            print(json.dumps([{"path": i.path, "line": i.line, "column": i.column,
                               "message": i.message} for i in e.issues], indent=2))
        else:
            print(e.render(args.locale or e.locale or DEFAULT_LOCALE), file=sys.stderr)
        return config_exit(e)
    locale = args.locale or cfg.site.locale
    t = translator(locale)
    placed = list(iter_machines(cfg.lines))
    n_units = sum(1 for p in placed if p.machine.monitoring_only)
    warning = t._("warning")
    for w in warnings:
        print(f"{args.config}:{w.line or '?'}:{w.column or '?'} {warning}: "
              f"{w.path or '<root>'}: {localized(w.message, locale)}", file=sys.stderr)
    if args.print_config:
        print(resolved_dump(cfg, written), end="")
        plans = read_plans(cfg)
        if plans:
            print("# Modbus read plans")
            print("\n".join(plans))
    valid = t._("{config}: valid ({devices} devices, {lines} lines, {machines} machines, "
                "{sinks} sinks)") if not n_units else t._(
        "{config}: valid ({devices} devices, {lines} lines, {machines} machines, {units} "
        "monitoring-only units, {sinks} sinks)")  # cold rooms, chillers: no OEE
    print(valid.format(config=args.config, devices=len(cfg.devices), lines=len(cfg.lines),
                       machines=len(placed) - n_units, units=n_units, sinks=len(cfg.sinks)),
          file=sys.stderr)
    return EXIT_OK

"""`lineside` command line: every command, one module each in this package (COMMANDS)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from types import ModuleType

from lineside import __version__
from lineside.config.errors import ConfigError, ConfigUnreadable
from lineside.i18n import LOCALES, N_, translator

# Exit codes of every command (docs/design.md, Command line); sysexits.h where one fits.
EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and failed (a query, a server)
EXIT_INVALID = 2  # an invalid file or argument (argparse's code for a usage error too)
EXIT_NO_INPUT = 66  # EX_NOINPUT: a file it was given is missing or cannot be read
EXIT_UNAVAILABLE = 70  # EX_SOFTWARE: the command's libraries are missing


def config_exit(e: ConfigError) -> int:
    """The exit code of a configuration file refused: 66 missing or unreadable, else 2."""
    return EXIT_NO_INPUT if isinstance(e, ConfigUnreadable) else EXIT_INVALID

# command -> one-line help (N_: translated for --help, build_parser); `_module` imports
# the command's module (lineside/cli/<name>.py)
COMMANDS: dict[str, str] = {
    "check": N_("validate a configuration file (exit 2 when invalid)"),
    "run": N_("run the agent"),
    "simulate": N_("run the simulated food factory's PLCs"),
    "demo": N_("simulated factory + agent + live terminal view"),
    "report": N_("the bureau's automation report, or the plant's OEE and downtime "
                 "Pareto (--config), from InfluxDB"),
    "haccp": N_("HACCP monitoring record of a shift or day; verify"),
    "replay": N_("recompute all points from a sample log"),
    "export": N_("write queued points as line protocol"),
    "trust": N_("trust an OPC UA server's certificate"),
    "schema": N_("print the JSON Schema of the configuration"),
    "deploy-files": N_("write the unit, dashboards, rules and example config to a folder"),
    "completion": N_("print a bash or zsh completion script"),
    "man": N_("print the manual page (roff): lineside man | man -l -"),
    "users": N_("the operator station's users and roles (add, passwd, remove, list, verify)"),
    "lot": N_("start or end a lot on a machine or line of the running agent"),
}


def _module(command: str) -> ModuleType:
    """The module of `command` (add_arguments, run), imported on demand by plain import
    statements (tools follow them): `lineside run` must not load the simulator's, the
    report's or the OPC UA trust tool's libraries (asyncua, cryptography, rich: ~25 MB
    of RSS in the agent for nothing)."""
    match command:
        case "check":
            from lineside.cli import check

            return check
        case "run":
            from lineside.cli import run

            return run
        case "simulate":
            from lineside.cli import simulate

            return simulate
        case "demo":
            from lineside.cli import demo

            return demo
        case "report":
            from lineside.cli import report

            return report
        case "haccp":
            from lineside.cli import haccp

            return haccp
        case "replay":
            from lineside.cli import replay

            return replay
        case "export":
            from lineside.cli import export

            return export
        case "trust":
            from lineside.cli import trust

            return trust
        case "schema":
            from lineside.cli import schema

            return schema
        case "deploy-files":
            from lineside.cli import deploy_files

            return deploy_files
        case "completion":
            from lineside.cli import completion

            return completion
        case "man":
            from lineside.cli import man

            return man
        case "users":
            from lineside.cli import users

            return users
        case "lot":
            from lineside.cli import lot

            return lot
        case _:
            raise KeyError(command)


def help_locale(environ: Mapping[str, str]) -> str:
    """The language of --help: LINESIDE_LOCALE, else zh-CN when the locale of messages
    (LC_ALL, LC_MESSAGES, LANG: the first set) is zh_CN*, else en. Only --help reads
    the environment: it runs before any configuration is read (docs/design.md,
    Language)."""
    chosen = environ.get("LINESIDE_LOCALE", "")
    if chosen in LOCALES:
        return chosen
    posix = next((environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(k)), "")
    return "zh-CN" if posix.startswith(("zh_CN", "zh-CN")) else "en"


def _localize(parser: argparse.ArgumentParser, locale: str) -> None:
    """argparse's own words in `locale`; English is argparse's, untouched (the man page
    and the completions are generated from an en parser and stay byte-stable)."""
    if locale == "en":
        return
    t = translator(locale)
    parser._positionals.title = t._("positional arguments")
    parser._optionals.title = t._("options")
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = t._("show this help message and exit")
        elif isinstance(action, argparse._VersionAction):
            action.help = t._("show program's version number and exit")
    usage = t._("usage: ")
    parser.formatter_class = _prefixed_formatter(usage)


def _prefixed_formatter(usage: str) -> type[argparse.HelpFormatter]:
    class Formatter(argparse.HelpFormatter):
        def add_usage(self, usage_: str | None, actions: Iterable[argparse.Action],
                      groups: Iterable[argparse._MutuallyExclusiveGroup],
                      prefix: str | None = None) -> None:
            super().add_usage(usage_, actions, groups, usage if prefix is None else prefix)

    return Formatter


def build_parser(command: str | None = None, locale: str = "en") -> argparse.ArgumentParser:
    """The parser; the options of `command` only (None: of every command), so that
    only that command's module is imported (`_module`). `locale`: of --help (the
    command table's helps and argparse's own words; the options' helps stay English)."""
    t = translator(locale)
    parser = argparse.ArgumentParser(
        prog="lineside",
        description=t._("Edge agent for food-factory workshops: PLC data to states, OEE and "
                        "automation rate in InfluxDB."))
    parser.add_argument("--version", action="version", version=f"lineside {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _localize(parser, locale)
    for name, english in COMMANDS.items():
        help_text = t.marked(english)
        p = sub.add_parser(name, help=help_text, description=help_text)
        _localize(p, locale)
        if command is not None and name != command:
            continue
        try:
            mod = _module(name)
        except ImportError as e:
            p.set_defaults(_unavailable=f"`lineside {name}` is unavailable: {e}")
            continue
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command word of a command line (the first argument not an option), if known."""
    first = next((a for a in argv if not a.startswith("-")), None)
    return first if first in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command(argv)
    # No known command (`lineside --help`, a typo): argparse lists the commands from
    # COMMANDS and reports the error without importing any of them.
    args = build_parser(command or "", help_locale(os.environ)).parse_args(argv)
    if getattr(args, "_unavailable", None):
        print(args._unavailable, file=sys.stderr)
        return EXIT_UNAVAILABLE
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lineside export | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

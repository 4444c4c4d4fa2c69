"""`lineside` command line: one sub-command per module (COMMANDS)."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lineside import __version__

# command -> (module with add_arguments/run, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("lineside.agent.check", "validate a configuration file (exit 2 when invalid)"),
    "run": ("lineside.agent.runtime.cli", "run the agent"),
    "simulate": ("lineside.agent.simulator.cli", "run the simulated food factory's PLCs"),
    "demo": ("lineside.agent.demo", "simulated factory + agent + live terminal view"),
    "report": ("lineside.agent.report.cli", "the bureau's automation report from InfluxDB"),
    "haccp": ("lineside.agent.haccp.cli", "HACCP monitoring record of a shift or day; verify"),
    "replay": ("lineside.agent.engine.replay", "recompute all points from a sample log"),
    "export": ("lineside.agent.sinks.export", "write queued points as line protocol"),
    "trust": ("lineside.drivers.opcua.trust", "trust an OPC UA server's certificate"),
    "schema": ("lineside.agent.config.schema", "print the JSON Schema of the configuration"),
    "deploy-files": ("lineside.agent.deploy_files",
                     "write the unit, dashboards, rules and example config to a folder"),
    "completion": ("lineside.agent.completion", "print a bash or zsh completion script"),
    "man": ("lineside.agent.manpage", "print the manual page (roff): lineside man | man -l -"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the options of `command` only (None: of every command).

    A command's module is imported only when its options are needed: `lineside run`
    must not load the simulator's, the report's or the OPC UA trust tool's libraries
    (asyncua, cryptography, rich: ~25 MB of RSS in the agent for nothing).
    """
    parser = argparse.ArgumentParser(
        prog="lineside",
        description="Edge agent for food-factory workshops: PLC data to states, OEE and "
                    "automation rate in InfluxDB.")
    parser.add_argument("--version", action="version", version=f"lineside {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command is not None and name != command:
            continue
        try:
            mod = importlib.import_module(module)
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
    args = build_parser(command or "").parse_args(argv)
    if getattr(args, "_unavailable", None):
        print(args._unavailable, file=sys.stderr)
        return 70
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lineside export | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

"""The command line as data, read from the argparse parser: what completion and the man
page are generated from, so that neither can drift from `lineside --help`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

# A value is a file name when the argument is typed Path or named like one.
_FILE_NAMES = {"config", "samples", "output", "file", "queue", "dest", "out"}


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]  # empty for a positional
    name: str  # metavar or dest, as --help shows it
    help: str
    takes_value: bool
    choices: tuple[str, ...] = ()
    is_file: bool = False
    optional: bool = False  # positional with nargs ? or *
    repeat: bool = False


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    usage: str
    description: str
    args: list[Arg] = field(default_factory=list)

    @property
    def options(self) -> list[Arg]:
        return [a for a in self.args if a.flags]

    @property
    def positionals(self) -> list[Arg]:
        return [a for a in self.args if not a.flags]


def _arg(action: argparse.Action) -> Arg | None:
    if action.help == argparse.SUPPRESS:
        return None
    takes_value = action.nargs != 0
    metavar = action.metavar if isinstance(action.metavar, str) else None
    name = metavar or (action.dest.upper() if action.option_strings else action.dest)
    lowered = {action.dest.lower(), (metavar or "").lower()}
    is_file = takes_value and (action.type is Path or bool(lowered & _FILE_NAMES))
    help_text = action.help or ""
    if "%(" in help_text:  # argparse's own expansion: %(default)s and friends
        help_text = help_text % {k: v for k, v in vars(action).items() if k != "help"}
    return Arg(tuple(action.option_strings), name, help_text, takes_value,
               tuple(str(c) for c in action.choices or ()), is_file,
               optional=action.nargs in ("?", "*"),
               repeat=isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+"))


def _args(parser: argparse.ArgumentParser) -> list[Arg]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        arg = _arg(action)
        if arg is not None:
            out.append(arg)
    return out


def read_parser(parser: argparse.ArgumentParser) -> tuple[Command, list[Command]]:
    """The top level and every sub-command, in the parser's order."""
    top = Command(parser.prog, parser.description or "", parser.format_usage().strip(),
                  parser.description or "", _args(parser))
    subs: list[Command] = []
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help or "" for a in action._choices_actions}
        for name, sub in action.choices.items():
            subs.append(Command(name, helps.get(name, ""), sub.format_usage().strip(),
                                sub.description or helps.get(name, ""), _args(sub)))
    return top, subs


def lineside_spec() -> tuple[Command, list[Command]]:
    from lineside.cli.main import build_parser

    return read_parser(build_parser())

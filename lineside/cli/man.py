"""`lineside man`: the manual page lineside(1) in roff, generated from the parser.

    lineside man | man -l -
    lineside man > /usr/local/share/man/man1/lineside.1

Every sub-command and option comes from the argparse parser, so the page says what
`--help` says; the sections argparse has no place for (environment, files, exit status)
are written here.
"""

from __future__ import annotations

import argparse

from lineside import __version__
from lineside.cli.spec import Arg, Command, lineside_spec

ENVIRONMENT = [
    ("${VAR}, ${VAR:-default}",
     "in configuration values: substituted from the environment when the file is loaded "
     "(docs/configuration.md)."),
    ("NOTIFY_SOCKET, WATCHDOG_USEC",
     "set by systemd for Type=notify and WatchdogSec=: run sends READY=1, RELOADING=1, "
     "STOPPING=1 and pings the watchdog from its event loop."),
    ("JOURNAL_STREAM",
     "when it names stderr, every log line starts with its syslog priority (<3> error, "
     "<4> warning, <6> info, <7> debug) for journalctl -p."),
    ("LINESIDE_DEBUG_STALL_S",
     "watchdog drill: SIGUSR2 then blocks the event loop this many seconds."),
]
FILES = [
    ("/etc/lineside/lineside.yaml", "the configuration of the systemd service"),
    ("/etc/lineside/lineside.env", "secrets as environment variables (token_env, password_env)"),
    ("/var/lib/lineside", "state: durable queues, dead letters, engine snapshot, OPC UA "
                          "certificates and trust list"),
]
EXIT = [("0", "success"), ("1", "an error (the message says which)"),
        ("2", "invalid configuration or arguments"),
        ("70", "a sub-command whose optional dependency is missing"),
        ("130", "interrupted (Ctrl-C)")]


def _esc(text: str) -> str:
    """roff-safe text: backslashes, and a leading dot or quote would be a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _option(arg: Arg) -> list[str]:
    flags = ", ".join(f"\\fB{_esc(f)}\\fR" for f in arg.flags)
    if arg.takes_value:
        value = "{" + ",".join(arg.choices) + "}" if arg.choices else arg.name
        flags += f" \\fI{_esc(value)}\\fR"
    return [".TP", flags, _esc(arg.help) or "\\&"]


def _command(cmd: Command) -> list[str]:
    usage = cmd.usage.removeprefix("usage: ")
    out = [f".SS {_esc(cmd.name)}", _esc(" ".join(usage.split())), ".PP",
           _esc(cmd.description or cmd.help)]
    for pos in cmd.positionals:
        out += [".TP", f"\\fI{_esc(pos.name)}\\fR", _esc(pos.help) or "\\&"]
    for opt in cmd.options:
        if opt.flags != ("-h", "--help"):
            out += _option(opt)
    return out


def man_page(top: Command, subs: list[Command]) -> str:
    lines = [
        f'.TH LINESIDE 1 "" "lineside {__version__}" "User Commands"',
        ".SH NAME",
        "lineside \\- " + _esc(top.description.rstrip(".")),
        ".SH SYNOPSIS",
        "\\fBlineside\\fR [\\fB\\-\\-version\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        "An edge agent for food\\-factory workshops: it polls PLCs over Modbus and OPC UA, "
        "computes machine states, OEE and an automation rate, and delivers them to InfluxDB "
        "through a durable queue. Each command below has \\fB\\-h\\fR for its help.",
        ".SH COMMANDS",
    ]
    for cmd in subs:
        lines += _command(cmd)
    lines.append(".SH ENVIRONMENT")
    for name, text in ENVIRONMENT:
        lines += [".TP", f"\\fB{_esc(name)}\\fR", _esc(text)]
    lines.append(".SH FILES")
    for name, text in FILES:
        lines += [".TP", f"\\fI{_esc(name)}\\fR", _esc(text)]
    lines.append(".SH EXIT STATUS")
    for code, text in EXIT:
        lines += [".TP", f"\\fB{code}\\fR", _esc(text)]
    lines += [".SH SEE ALSO", "\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1); the documents in "
              "docs/ of the source, installed in /opt/lineside/docs by deploy/install.sh.", ""]
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options: the page goes to stdout


def run(args: argparse.Namespace) -> int:
    del args
    print(man_page(*lineside_spec()), end="")
    return 0

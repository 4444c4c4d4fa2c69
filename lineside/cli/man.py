"""`lineside man`: the manual page lineside(1) in roff, made by argparse-manpage from the
parser.

    lineside man | man -l -
    lineside man > /usr/local/share/man/man1/lineside.1

Every sub-command and option comes from the argparse parser, so the page says what
`--help` says; the sections argparse has no place for (environment, files, exit status)
are written here.
"""

from __future__ import annotations

import argparse

from argparse_manpage.manpage import Manpage

from lineside import __version__

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
SEE_ALSO = ("\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1); the documents in docs/ of the "
            "source, installed in /opt/lineside/docs by deploy/install.sh.")


def _esc(text: str) -> str:
    """roff-safe text: backslashes, and a leading dot or quote would be a request."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _tagged(items: list[tuple[str, str]], font: str) -> str:
    """A .TP list: each tag in `font` (B bold, I italic), its text below."""
    return "\n".join(f".TP\n\\f{font}{_esc(tag)}\\fR\n{_esc(text)}" for tag, text in items)


def man_page() -> str:
    from lineside.cli.main import build_parser  # every command's options: all modules

    parser = build_parser()
    page = Manpage(parser, _data={
        "project_name": "lineside", "version": __version__, "manual_title": "User Commands",
        "description": (parser.description or "").rstrip(".")})
    page.add_section("environment", "=", _tagged(ENVIRONMENT, "B"))
    page.add_section("files", "=", _tagged(FILES, "I"))
    page.add_section("exit status", "=", _tagged(EXIT, "B"))
    page.add_section("see also", "=", SEE_ALSO)
    return str(page)


def add_arguments(p: argparse.ArgumentParser) -> None:
    del p  # no options: the page goes to stdout


def run(args: argparse.Namespace) -> int:
    del args
    print(man_page(), end="")
    return 0

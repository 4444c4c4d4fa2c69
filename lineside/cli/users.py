"""`lineside users`: the operator station's users (add, passwd, remove, list, verify).

Users live in the agent's state directory (lineside/station/users.py): give the
configuration (its `state_dir`) or `--state-dir`. A password is asked for twice on a
terminal, or read from the first line of stdin with `--password-stdin` (scripts).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from lineside.station.roles import ROLES


def add_arguments(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", type=Path, metavar="CONFIG",
                       help="agent configuration: its state_dir holds the users")
    where.add_argument("--state-dir", type=Path, help="the agent's state directory")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="add a user with a role")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of stdin")
    pw = sub.add_parser("passwd", help="set a user's password (logs them out)")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of stdin")
    rm = sub.add_parser("remove", help="remove a user")
    rm.add_argument("name")
    sub.add_parser("list", help="users and their roles")
    sub.add_parser("verify", help="check the station journal's hash chain")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _state_dir(args: argparse.Namespace) -> Path:
    if args.state_dir is not None:
        return Path(args.state_dir)
    from lineside.config.loader import load_config

    return Path(load_config(args.config).state_dir)


def run(args: argparse.Namespace) -> int:
    from lineside.cli.main import config_exit
    from lineside.config.errors import ConfigError
    from lineside.station.journal import FILE_NAME, verify
    from lineside.station.users import UserError, UserStore

    try:
        state_dir = _state_dir(args)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        return config_exit(e)
    store = UserStore(state_dir)
    try:
        match args.action:
            case "add":
                u = store.add(args.name, args.role, _password(args))
                print(f"added {u.name} ({u.role})")
            case "passwd":
                store.passwd(args.name, _password(args))
                print(f"password of {args.name} changed")
            case "remove":
                store.remove(args.name)
                print(f"removed {args.name}")
            case "list":
                for u in store.list():
                    print(f"{u.name}\t{u.role}")
            case "verify":
                path = state_dir / FILE_NAME
                if not path.exists():
                    print(f"no station journal in {state_dir}", file=sys.stderr)
                    return 1
                problems = verify(path)
                for p in problems:
                    print(p, file=sys.stderr)
                print("journal chain whole" if not problems else "journal chain BROKEN")
                return 1 if problems else 0
    except (UserError, ValueError) as e:
        print(f"users: {e}", file=sys.stderr)
        return 2
    return 0

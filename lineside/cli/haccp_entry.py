"""`lineside haccp action|dispose|verify-action`: a deviation's corrective action, an
affected lot's disposition, the QA verification, for plants without the station
(docs/haccp.md, "Corrective action, disposition, verification").

The person is a user of the operator station (`lineside users`), who gives their
password (asked on a terminal, or the first line of stdin with `--password-stdin`);
`verify-action` needs the `qa` role. The entry is handed to the running agent through
its state folder (lineside/runtime/lotinbox.py) and becomes an `@haccp.entry` input
sample, so the sample log has it and the agent writes it as a chained `ccp_action`
record; the agent's refusal (the author of an action verifying it, a deviation of
another site, a lot the deviation did not affect, ...) is printed and exits 1.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

ENTRY_ACTIONS = ("action", "dispose", "verify-action")


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("action, dispose, verify-action (with --config)")
    g.add_argument("--deviation", default=None, metavar="ID",
                   help="the deviation, SITE:CCP:KIND:START_NS as `haccp --format json` "
                        "shows it")
    g.add_argument("--corrective", default=None, metavar="ID",
                   help="action: one of the configured corrective_actions")
    g.add_argument("--text", default="", help="action, verify-action: free text")
    g.add_argument("--lot", default=None, help="dispose: an affected lot of the deviation")
    g.add_argument("--disposition", default=None,
                   choices=("hold", "rework", "destroy", "release"), help="dispose: its fate")
    g.add_argument("--justification", default="", help="dispose: why a lot is released")
    g.add_argument("--by", default=None, help="the station user entering it")
    g.add_argument("--password-stdin", action="store_true",
                   help="read the user's password from the first line of stdin")
    g.add_argument("--wait", type=float, default=15.0, metavar="S",
                   help="seconds to wait for the agent to take it (default 15)")


def run(args: argparse.Namespace) -> int:
    from lineside.cli.inbox import ask_agent
    from lineside.cli.main import config_exit
    from lineside.config.errors import ConfigError
    from lineside.config.loader import load_config
    from lineside.engine.actions import entry_event
    from lineside.haccp.entrytext import disposition_name
    from lineside.i18n import translator
    from lineside.runtime.lotinbox import HACCP_INBOX
    from lineside.station.users import UserStore

    err = sys.stderr
    if args.config is None or not args.deviation or not args.by:
        print(f"haccp {args.action}: give --config, --deviation and --by", file=err)
        return 2
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(e.render(), file=err)
        return config_exit(e)
    t = translator(args.locale or cfg.site.locale)
    prog = f"haccp {args.action}"
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin \
        else getpass.getpass(t._("password of {user}: ").format(user=args.by))
    user = UserStore(Path(cfg.state_dir)).verify(args.by, password)
    if user is None:
        print(f"{prog}: " + t._("wrong user or password"), file=err)
        return 2
    extra: dict[str, str] = {}
    match args.action:
        case "action":
            if not args.corrective:
                print("haccp action: give --corrective ID", file=err)
                return 2
            kind, extra = "action", {"action": args.corrective, "text": args.text}
            done = t._("corrective action {action} on {deviation} recorded by {user}")
        case "dispose":
            if not args.lot or not args.disposition:
                print("haccp dispose: give --lot and --disposition", file=err)
                return 2
            kind, extra = "dispose", {"lot": args.lot, "disposition": args.disposition,
                                      "justification": args.justification}
            done = t._("disposition of lot {lot} ({disposition}) on {deviation} recorded "
                       "by {user}")
        case _:
            kind, extra = "verify", {"text": args.text}
            done = t._("verification of {deviation} recorded by {user}")
    value = entry_event(kind, args.deviation, user.name, user.role, **extra)
    rc = ask_agent(Path(cfg.state_dir), value, HACCP_INBOX, args.wait, prog, t)
    if rc:
        return rc
    print(done.format(action=args.corrective, lot=args.lot,
                      disposition=disposition_name(t, args.disposition or ""),
                      deviation=args.deviation, user=user.name))
    return 0


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

What is printed names things as people know them, in the site's language: the
corrective action by its configured name, the deviation by its CCP's name, kind and
start in plant time. Ids appear only where a person must type one: the configured
actions' ids when `--corrective` is missing or unknown.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lineside.config.models import LinesideConfig
    from lineside.i18n import Translator

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
    from functools import partial

    from lineside.cli.inbox import ask_agent
    from lineside.cli.main import config_exit
    from lineside.config.errors import ConfigError
    from lineside.config.loader import load_config
    from lineside.engine.actions import entry_event
    from lineside.haccp.entrytext import disposition_name
    from lineside.i18n import translator
    from lineside.runtime.lotinbox import HACCP_INBOX
    from lineside.station.texts import refusal
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
    names = {a.id: a.name or a.id for a in cfg.corrective_actions}
    if args.action == "action" and args.corrective not in names:
        print(f"{prog}: " + unknown_action(args.corrective, names, t), file=err)
        return 2
    if args.action == "dispose" and (not args.lot or not args.disposition):
        print(f"{prog}: " + t._("give --lot and --disposition"), file=err)
        return 2
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin \
        else getpass.getpass(t._("password of {user}: ").format(user=args.by))
    user = UserStore(Path(cfg.state_dir)).verify(args.by, password)
    if user is None:
        print(f"{prog}: " + t._("wrong user or password"), file=err)
        return 2
    extra: dict[str, str] = {}
    match args.action:
        case "action":
            kind, extra = "action", {"action": args.corrective, "text": args.text}
            done = t._("corrective action “{action}” for {deviation} recorded by {user}")
        case "dispose":
            kind, extra = "dispose", {"lot": args.lot, "disposition": args.disposition,
                                      "justification": args.justification}
            done = t._("disposition of lot {lot} ({disposition}) for {deviation} "
                       "recorded by {user}")
        case _:
            kind, extra = "verify", {"text": args.text}
            done = t._("verification of {deviation} recorded by {user}")
    value = entry_event(kind, args.deviation, user.name, user.role, **extra)
    rc = ask_agent(Path(cfg.state_dir), value, HACCP_INBOX, args.wait, prog, t,
                   explain=partial(refusal, t))
    if rc:
        return rc
    print(done.format(action=names.get(args.corrective or ""), lot=args.lot,
                      disposition=disposition_name(t, args.disposition or ""),
                      deviation=deviation_words(args.deviation, cfg, t), user=user.name))
    return 0


def unknown_action(given: str | None, names: dict[str, str], t: Translator) -> str:
    """What to type instead: each configured action's id beside its name."""
    if not names:
        return t._("no corrective actions are configured (corrective_actions in the "
                   "configuration)")
    head = (t._("unknown corrective action {id}").format(id=given) if given
            else t._("give --corrective"))
    return head + "\n" + t._("configured corrective actions (type the id):") + "".join(
        f"\n  {i}" + (f"  {n}" if n != i else "") for i, n in names.items())


def deviation_words(dev: str, cfg: LinesideConfig, t: Translator) -> str:
    """"the deviation of Fryer oil (beyond a critical limit since 2026-12-01 09:00)":
    its CCP's name, kind and start in plant time; the id as given for one that is not
    this site's (the agent accepted it, so that does not happen)."""
    from lineside.haccp.entrytext import when
    from lineside.haccp.render import deviation_kind

    parts = dev.split(":")  # SITE:CCP:KIND:START_NS (engine/actions.py deviation_id)
    ccp = next((c for c in cfg.ccps if len(parts) == 4 and c.id == parts[1]), None)
    if ccp is None or parts[0] != cfg.site.site_id or not parts[3].isdigit():
        return dev
    kind, start = parts[2], parts[3]
    return t._("the deviation of {ccp} ({kind} since {start})").format(
        ccp=ccp.name or ccp.id, kind=deviation_kind(t, kind),
        start=when(int(start), cfg.site.timezone))

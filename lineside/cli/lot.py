"""`lineside lot start|end LOT`: start or end a lot on a machine or a line of the running
agent (docs/lots.md).

The command is handed to the agent through its state folder (lineside/runtime/lotinbox.py)
and becomes an `@lot` input sample there, dated when the agent takes it (within 5 s), so
the sample log records it and `replay` reproduces the lot. The command waits for the
agent's answer: exit 0 taken, 1 refused by the agent or not taken in time (the command is
then withdrawn: a lot started minutes late would be a wrong record), 2 an invalid
argument, 66 an unreadable configuration.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("start", "end"), help="start or end the lot")
    p.add_argument("lot", metavar="LOT", help="the lot (batch, production order) id")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--machine", help="the machine the lot runs on")
    where.add_argument("--line", help="the line the lot runs on (every machine of it)")
    p.add_argument("--config", type=Path, required=True, metavar="CONFIG",
                   help="the agent's configuration (its machines, lines and state_dir)")
    p.add_argument("--by", default="", help="who starts or ends it (default: the login name)")
    p.add_argument("--wait", type=float, default=15.0, metavar="S",
                   help="seconds to wait for the agent to take it (default 15)")


def run(args: argparse.Namespace) -> int:
    from lineside.cli.main import config_exit
    from lineside.config.errors import ConfigError
    from lineside.config.loader import load_config
    from lineside.engine.lots import LotBook, lot_event
    from lineside.runtime.lotinbox import hand_over, outcome

    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(e.render(), file=sys.stderr)
        return config_exit(e)
    by = args.by or getpass.getuser()
    value = lot_event(args.action, args.lot, machine=args.machine or "",
                      line=args.line or "", by=by)
    # What the configuration alone can refuse (an unknown machine, a bad id); whether
    # the lot runs there is the agent's to say.
    book = LotBook({m.id: {} for ln in cfg.lines for st in ln.stages for m in st.machines},
                   {ln.id: [m.id for st in ln.stages for m in st.machines] for ln in cfg.lines},
                   {}, [])
    why = book.refusal(lot_event("start", args.lot, machine=args.machine or "",
                                 line=args.line or "", by=by))
    if why is not None:
        print(f"lot: {why}", file=sys.stderr)
        return 2
    path = hand_over(Path(cfg.state_dir), value)
    deadline = time.monotonic() + max(0.0, args.wait)
    while (res := outcome(path)) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    where = f"machine {args.machine}" if args.machine else f"line {args.line}"
    if res is None:
        try:
            path.unlink()
        except FileNotFoundError:  # taken at this very moment
            res = outcome(path)
            while res is None:
                time.sleep(0.1)
                res = outcome(path)
        else:
            print(f"lot: the agent did not take the command within {args.wait:g} s (is "
                  f"`lineside run` running with state_dir {cfg.state_dir}?); withdrawn",
                  file=sys.stderr)
            return 1
    if res:
        print(f"lot: refused by the agent: {res}", file=sys.stderr)
        return 1
    print(f"lot {args.lot} {'started' if args.action == 'start' else 'ended'} on {where}")
    return 0

"""How a command asks the running agent (`lineside lot start|end`, `lineside haccp
action|dispose|verify-action`): hand the command over through the agent's state folder
(lineside/runtime/lotinbox.py), wait for its answer and say what became of it, in the
site's language."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from lineside.i18n import Translator


def ask_agent(state_dir: Path, value: str, box: str, wait_s: float, prog: str,
              t: Translator, explain: Callable[[str], str] = str) -> int:
    """0 taken; 1 refused by the agent (its reason printed, through `explain` into the
    reader's language where it is a known one) or not taken within `wait_s`
    (withdrawn). The caller prints the confirmation."""
    from lineside.runtime.lotinbox import submit

    res = submit(state_dir, value, box, wait_s)
    if res is None:
        print(prog + ": " + t._("the agent did not take it within {seconds} s (is `lineside "
                                "run` running with state_dir {state_dir}?); withdrawn").format(
                                    seconds=f"{wait_s:g}", state_dir=state_dir),
              file=sys.stderr)
        return 1
    if res:
        print(prog + ": " + t._("refused by the agent: {reason}").format(reason=explain(res)),
              file=sys.stderr)
        return 1
    return 0

"""Are the secrets the file refers to there? (`lineside check`; docs/design.md, Files)

A secret is given by reference, `<name>_env` (an environment variable) or `<name>_file`
(a file readable by the agent). The model only sees the reference; the agent reads the
secret when it connects, so a variable unset where the agent runs used to pass `check`
and fail as a 401 at the first write. `check` looks where the agent will look: the
variable is set and not empty, the file is readable, UTF-8 (a BOM is dropped) and not
empty. With `--offline` (install time, another machine: the service's environment
and secret files are not here) the same findings are warnings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lineside.config.yamlpos import Loc
from lineside.textfiles import MAX_SECRET_BYTES, FileEncodingError, FileTooLarge, read_text

Problem = tuple[Loc, str]


def secret_problems(sections: Iterable[tuple[str, list[Any]]], names: Iterable[str],
                    env: Mapping[str, str] | None = None) -> list[Problem]:
    """What is missing among the secrets referenced by the items of `sections`
    (("devices", cfg.devices), ("sinks", cfg.sinks)); `names`: the secret names
    (password, token) for which a model takes `<name>_env` and `<name>_file`."""
    env = os.environ if env is None else env
    names = tuple(names)
    out: list[Problem] = []
    for section, items in sections:
        for i, item in enumerate(items):
            for name in names:
                var = getattr(item, f"{name}_env", None)
                if var:
                    out.extend(_variable(env, var, (section, i, f"{name}_env"), name))
                path = getattr(item, f"{name}_file", None)
                if path:
                    out.extend(_file(Path(path), (section, i, f"{name}_file"), name))
    return out


def _variable(env: Mapping[str, str], var: str, loc: Loc, name: str) -> list[Problem]:
    value = env.get(var)
    if value is None:
        return [(loc, f"environment variable {var} is not set here: the agent would have "
                      f"no {name} (set it in the service's environment, e.g. "
                      "/etc/lineside/lineside.env; `check --offline` where it is not)")]
    if not value.strip():
        return [(loc, f"environment variable {var} is empty: the agent would have no "
                      f"{name}")]
    return []


def _file(path: Path, loc: Loc, name: str) -> list[Problem]:
    try:
        text = read_text(path, MAX_SECRET_BYTES)
    except OSError as e:  # textfiles.FileUnreadable: missing, permissions
        return [(loc, f"{e} (as the user that runs check; the agent reads it as its own "
                      "user)")]
    except FileTooLarge:
        return [(loc, f"{path} is larger than {MAX_SECRET_BYTES:,} bytes: not a {name}")]
    except FileEncodingError as e:
        return [(loc, f"{path}: {e.detail}")]
    if not text.strip():
        return [(loc, f"{path} is empty: the agent would have no {name}")]
    return []

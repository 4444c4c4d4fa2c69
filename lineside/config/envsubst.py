"""`${VAR}` and `${VAR:-default}` in configuration values, from the environment.

Substituted after the YAML is parsed, in string values only (never in keys, never
re-parsed as YAML), so a variable cannot change the structure of the file and every
problem keeps the key path and line of the value it is in:

- `${NAME}`: the variable's value; unset is an error naming the variable and the key;
- `${NAME:-default}`: the value when set and not empty, else `default` (taken as written,
  no nested `${...}`);
- `$${` is a literal `${`; a `$` not followed by `{` is left alone;
- the result is a string: a key typed as a number or a boolean converts it as it would
  the same text written in quotes (`"502"`, `"true"`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lineside.config.yamlpos import Loc

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# `$${` escape | `${NAME}` | `${NAME:-default}` | any other `${` (malformed)
_TOKEN = re.compile(r"\$\$\{|\$\{(?:(" + NAME + r")(?::-([^}]*))?\})?")


def substitute_env(data: Any, env: Mapping[str, str], written: dict[Loc, str] | None = None
                   ) -> tuple[Any, list[tuple[Loc, str]]]:
    """The data with every string value substituted, and the problems by key path.

    `written`, when given, receives the text as written of every value that took a
    variable, by key path: what may be shown of it (redact.py).
    """
    problems: list[tuple[Loc, str]] = []

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*loc, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${" in value:
            new = _substitute(value, loc, env, problems)
            if written is not None and any(m.group(1) for m in _TOKEN.finditer(value)):
                written[loc] = value
            return new
        return value

    return walk(data, ()), problems


def _substitute(text: str, loc: Loc, env: Mapping[str, str],
                problems: list[tuple[Loc, str]]) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$${":
            return "${"
        name, default = m.group(1), m.group(2)
        if name is None:
            end = text.find("}", m.start())
            shown = text[m.start():end + 1] if end >= 0 else text[m.start():]
            problems.append((loc, f"malformed {shown!r}: write ${{NAME}} or "
                                  f"${{NAME:-default}} (NAME: letters, digits, _), "
                                  "or $${ for a literal ${"))
            return token
        value = env.get(name)
        if default is not None:
            return value if value else default
        if value is None:
            problems.append((loc, f"environment variable {name} is not set (in {text!r}; "
                                  f"${{{name}:-default}} gives a default)"))
            return token
        return value

    return _TOKEN.sub(one, text)

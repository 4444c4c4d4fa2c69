"""What lineside shows of a configuration value: never a secret. Shared by every part
(`check`, the logs, the sinks' and drivers' errors), so it imports none of them.

One rule, wherever a configuration value is shown (`check --print`, every error and
warning of `check`, `--json` included, the logs, a device's or sink's last error);
docs/design.md, "Safety and security":

- a key named like a secret (`password`, `token`, `secret`, `private_key`) shows `***`;
  the references `*_env` and `*_file` stay readable;
- a value written with `${VAR}` shows as written in the file, never with what the
  environment holds: the environment is where containers pass credentials, and no list
  of names recognises every secret's (`DB_PW`, `INFLUX_CREDS`, ...);
- the password of a URL's userinfo shows `***` (`https://user:***@host`), as Go's
  `url.Redacted` does in Telegraf's output, unless it is a `${VAR}` reference. The
  userinfo runs from `://` to the last `@` before a blank, so a password may hold `/`,
  `?` or `#` (base64 tokens do).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Loc = tuple[str | int, ...]  # a key path in the configuration (config/yamlpos.py)

SECRET_WORDS = ("password", "token", "secret", "private_key")
MASK = "***"

# scheme://userinfo@ ; greedy, so the userinfo ends at the last `@` before a blank
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)(\S*)@")
_REFERENCE = re.compile(r"\$\{[^}]*\}")


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every `scheme://user:password@` in it masked."""
    def one(m: re.Match[str]) -> str:
        user, colon, password = m.group(2).partition(":")
        if not colon or not password or _REFERENCE.fullmatch(password):
            return m.group(0)
        return f"{m.group(1)}{user}:{MASK}@"

    return _URL_USERINFO.sub(one, text)


def mask_keys(value: Any, key: str = "") -> Any:
    """Values under a secret-named key masked; references (*_env, *_file) readable."""
    if isinstance(value, dict):
        return {k: mask_keys(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_keys(v, key) for v in value]
    lowered = key.lower()
    if (value is not None and any(w in lowered for w in SECRET_WORDS)
            and not lowered.endswith(("_env", "_file"))):
        return MASK
    return value


def shown_config(dump: Any, written: Mapping[Loc, str]) -> Any:
    """A configuration dump (`model_dump(mode="json")`) as it may be shown: values that
    were substituted shown as written (`written`: key path -> text in the file), then
    secret keys and URL passwords masked."""
    by_path = {tuple(str(k) for k in loc): text for loc, text in written.items()}

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if path in by_path:
            return mask_url_passwords(by_path[path])
        if isinstance(value, dict):
            return {k: walk(v, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, str(i))) for i, v in enumerate(value)]
        return mask_url_passwords(value) if isinstance(value, str) else value

    return mask_keys(walk(dump, ()))


def shown_message(message: str, substituted: Iterable[tuple[str, str]]) -> str:
    """An error or warning message as it may be shown: every quoted value that came
    from `${...}` (pairs of value, text as written) quoted as written, then URL
    passwords masked."""
    for value, text in substituted:
        if value:  # an empty value quotes as '' like any other empty text
            message = message.replace(repr(value), repr(text))
    return mask_url_passwords(message)

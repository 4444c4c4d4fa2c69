"""YAML text of plain data (`check --print`), by libyaml where it writes what PyYAML writes.

libyaml's emitter is ~4x faster than PyYAML's pure-Python one (most of `check --print`'s
time on a large plant). Its rules differ from PyYAML's in three places, all in what a
configuration seldom holds: characters beyond U+FFFF and NEL (U+0085) are escaped, an
empty key is written `'': x` instead of `? ''`, and a long key's limit for the `key: value`
form is counted in bytes, not characters. Data with any of them goes to PyYAML's emitter,
so the text is the same with or without libyaml.
"""

from __future__ import annotations

from typing import Any

import yaml

_CDUMPER: type | None = getattr(yaml, "CSafeDumper", None)
_KEY_BYTES = 100  # both emitters write a key up to 120 bytes the same (tests/config)


def _plain(s: str) -> bool:
    return "\x85" not in s and (s.isascii() or max(s) <= "\uffff")


def libyaml_writes_same(data: Any) -> bool:
    """Whether libyaml's text of `data` is PyYAML's (the cases above)."""
    todo = [data]
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            if not _plain(v):
                return False
        elif isinstance(v, dict):
            for k, item in v.items():
                if isinstance(k, str):
                    if not k or len(k.encode("utf-8")) > _KEY_BYTES or not _plain(k):
                        return False
                elif len(str(k)) > _KEY_BYTES:
                    return False
                todo.append(item)
        elif isinstance(v, list | tuple):
            todo.extend(v)
    return True


def safe_dump(data: Any) -> str:
    """`yaml.safe_dump(data, sort_keys=False, allow_unicode=True)`, faster when it may be."""
    dumper = _CDUMPER if _CDUMPER is not None and libyaml_writes_same(data) else yaml.SafeDumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)

"""Generate docs/configuration.md from the models, so the reference cannot drift.

`python -m lineside.config.reference > docs/configuration.md`; a test compares the
file with this output, and checks that config/example.yaml mentions every key.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from lineside.config.introspect import config_fields
from lineside.config.models import LinesideConfig

HEADER = """# Configuration reference

Generated from the models in `lineside/config/`, `lineside/drivers/*/settings.py`
and `lineside/sinks/settings.py` by `python -m lineside.config.reference`
(a test fails when this file is out of date). `config/example.yaml` shows every key
with comments. Unknown keys are errors. Secrets are never written in the file: use the
`*_env` (environment variable) or `*_file` (file holding the secret) keys. Every number
has the range shown beside its type (so `check` refuses what `run` cannot do); floats
must be finite.

Paths: `[]` is an element of a list, `{}` a value of a mapping; relative file paths are
resolved against the configuration file's folder.

Environment variables: any string value may contain `${VAR}` (the variable's value; an
unset variable is an error that `lineside check` reports with the key path and line) or
`${VAR:-default}` (the default when the variable is unset or empty); `$${` writes a
literal `${`. Values only, never keys; the result is not parsed as YAML again, and a key
typed as a number or boolean converts it like the same text in quotes. Variables are read
when the file is loaded: a SIGHUP reload sees the environment the agent started with.
`check --print` and `check`'s messages show such a value as written, never what the
variable holds, and mask the password of any URL (docs/design.md, Safety and security).

Files: the configuration and the secret files it names are UTF-8, with or without a
byte order mark; another encoding (GBK, Windows-1252, UTF-16) is refused with a message
naming it (exit 2), a missing or unreadable file exits 66 (docs/design.md, Command
line). YAML anchors and aliases (`&name`, `*name`, `<<: *name`) may repeat parts of the
file, adding at most 250,000 nodes and 4 MiB of text to what is written; an error inside
an aliased part is shown where that part is written (its anchor). Clock times (`HH:MM`)
are on the site's clock (`site.timezone`) and take no offset.

Secrets: `lineside check` looks for what every `*_env` and `*_file` key refers to, as
the agent will (the variable set and not empty; the file readable, UTF-8, not empty);
`check --offline` reports those as warnings, for a machine or a moment without the
service's environment (install.sh runs it so).

Editors: `lineside schema > lineside.schema.json` writes the JSON Schema of this file;
with `# yaml-language-server: $schema=lineside.schema.json` on its first line, editors
using yaml-language-server complete and check keys as you type.
"""


def bounds(metadata: Any) -> tuple[Any, Any]:
    """(lower, upper) constraint objects (annotated_types Ge/Gt, Le/Lt) of a field, or None."""
    lo = next((m for m in metadata if isinstance(m, annotated_types.Ge | annotated_types.Gt)),
              None)
    hi = next((m for m in metadata if isinstance(m, annotated_types.Le | annotated_types.Lt)),
              None)
    return lo, hi


def _range(metadata: Any) -> str:
    lo, hi = bounds(metadata)
    if lo is None and hi is None:
        return ""
    left = "" if lo is None else (f"{lo.ge:g} ≤ " if isinstance(lo, annotated_types.Ge)
                                  else f"{lo.gt:g} < ")
    right = "" if hi is None else (f" ≤ {hi.le:g}" if isinstance(hi, annotated_types.Le)
                                   else f" < {hi.lt:g}")
    return f" ({left}x{right})"


def _type_name(t: Any) -> str:
    origin = get_origin(t)
    if origin is typing.Annotated:
        inner, *meta = get_args(t)
        field_meta = [m for fi in meta if isinstance(fi, FieldInfo) for m in fi.metadata]
        return _type_name(inner) + _range(field_meta)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in get_args(t))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in get_args(t))
    if origin is list:
        return f"list of {_type_name(get_args(t)[0])}"
    if origin is dict:
        k, v = get_args(t)
        return f"map {_type_name(k)} → {_type_name(v)}"
    if config_fields(t) is not None:
        return "mapping"
    if t is type(None):
        return "null"
    return getattr(t, "__name__", str(t))


def _models_in(t: Any) -> list[type]:
    """Model classes reachable through Optional/Union/list/dict/Annotated."""
    if config_fields(t) is not None:
        return [t]
    out: list[type] = []
    for a in get_args(t):
        out += _models_in(a)
    return out


def _default(f: FieldInfo) -> str:
    if f.default is not PydanticUndefined:
        return "" if f.default is None else f"`{f.default}`"
    if f.default_factory is not None:
        try:
            v = f.default_factory()  # type: ignore[call-arg]  # ours take no data
        except TypeError:
            return ""
        if isinstance(v, BaseModel):
            return ""
        return f"`{v}`" if v not in ([], {}) else ""
    return "**required**"


def _container_suffix(t: Any) -> str:
    origin = get_origin(t)
    if origin is typing.Annotated:
        return _container_suffix(get_args(t)[0])
    if origin in (typing.Union, types.UnionType):
        for a in get_args(t):
            s = _container_suffix(a)
            if s:
                return s
    if origin is list:
        return "[]"
    if origin is dict:
        return "{}"
    return ""


def walk(model: type, prefix: str = "") -> Iterator[tuple[str, str, str, str, str]]:
    """(section, key path, type, default, description) for every key."""
    for name, f in (config_fields(model) or {}).items():
        path = f"{prefix}{name}"
        yield (prefix.rstrip(".") or "(top level)", path,
               _type_name(f.annotation) + _range(f.metadata),
               _default(f), (f.description or "").replace("|", "\\|"))
        subs = _models_in(f.annotation)
        suffix = _container_suffix(f.annotation)
        for sub in subs:
            variant = ""
            tf = (config_fields(sub) or {}).get("type")
            if len(subs) > 1:
                lit = get_args(tf.annotation) if tf is not None else ()
                single = tf is not None and get_origin(tf.annotation) is Literal and len(lit) == 1
                variant = f" (type {lit[0]})" if single else f" ({sub.__name__})"
            for row in walk(sub, f"{path}{suffix}."):
                yield (row[0] + variant if row[0] == f"{path}{suffix}" else row[0], *row[1:])


def all_keys() -> set[str]:
    """Every key name used anywhere in the configuration."""
    return {p.rsplit(".", 1)[-1] for _, p, *_ in walk(LinesideConfig)}


def render() -> str:
    sections: dict[str, list[str]] = {}
    for sec, path, typ, default, desc in walk(LinesideConfig):
        row = f"| `{path}` | {typ} | {default} | {desc} |"
        if row not in sections.setdefault(sec, []):  # variants share nested sections
            sections[sec].append(row)
    out = [HEADER]
    for sec, rows in sections.items():
        out.append(f"\n## `{sec}`\n\n| key | type | default | description |\n|---|---|---|---|")
        out.extend(rows)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")

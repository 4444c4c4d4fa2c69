"""`load_config`: parse, validate and cross-check a configuration file, all errors at once."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from lineside.config.checks import model_check, model_warnings, reference_check
from lineside.config.envsubst import substitute_env
from lineside.config.errors import ConfigError, ConfigIssue, ConfigUnreadable
from lineside.config.introspect import config_fields
from lineside.config.models import LinesideConfig
from lineside.config.secrets import secret_problems
from lineside.config.yamlpos import (
    DocumentTooLarge,
    Loc,
    format_loc,
    load_with_positions,
    position,
    resolve,
)
from lineside.i18n import LOCALES
from lineside.redact import shown_message
from lineside.textfiles import FileEncodingError, FileTooLarge, read_text

# `parse_config(secrets=...)`: look at the secrets referenced, and how to report them
SecretsCheck = Literal["ignore", "errors", "warnings"]

# A configuration is a few hundred kilobytes even for a large plant; a bigger file is a
# mistake (or hostile) and is refused before it is read or parsed.
MAX_CONFIG_BYTES = 16 << 20


def _issue(data: Any, positions: Mapping, substituted: list[tuple[str, str]], loc: Loc,
           message: str, missing: bool = False) -> ConfigIssue:
    doc_loc = resolve(data, loc, missing)
    pos = position(positions, doc_loc)
    return ConfigIssue(format_loc(doc_loc), pos[0] if pos else None, pos[1] if pos else None,
                       shown_message(message, substituted))


def _value_at(data: Any, loc: Loc) -> Any:
    for key in loc:
        data = data[key]
    return data


def _loc(err: Mapping[str, Any]) -> Loc:
    loc = tuple(err["loc"])
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        # point at the discriminating key itself (`type: modbus-udp`)
        key = str((err.get("ctx") or {}).get("discriminator", "type")).strip("'")
        return (*loc, key)
    return loc


@functools.cache
def _secret_names() -> frozenset[str]:
    """Names X for which some model takes `X_env` and `X_file` (password, token)."""
    return _secret_keys(LinesideConfig, set())


def _secret_keys(model: type, seen: set[type]) -> frozenset[str]:
    if model in seen:
        return frozenset()
    seen.add(model)
    fields = config_fields(model) or {}
    names = set(fields)
    out = {n[:-4] for n in names if n.endswith("_env") and f"{n[:-4]}_file" in names}
    for f in fields.values():
        for t in _model_types(f.annotation):
            out |= _secret_keys(t, seen)
    return frozenset(out)


def _model_types(ann: Any) -> Iterator[type]:
    if config_fields(ann) is not None:
        yield ann
    for a in getattr(ann, "__args__", ()) or ():
        yield from _model_types(a)
    for a in getattr(ann, "__metadata__", ()) or ():
        yield from _model_types(a)
    origin = getattr(ann, "__origin__", None)
    if origin is not None and origin is not ann:
        yield from _model_types(origin)


# a key no model declares: pydantic names it so for models, and so for dataclasses (signals)
_UNKNOWN_KEY = frozenset(("extra_forbidden", "unexpected_keyword_argument"))


def _message(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in _UNKNOWN_KEY:
        key = str(err["loc"][-1]) if err["loc"] else ""
        if key in _secret_names():
            # never echo the value: it is a secret written where it must not be
            return (f"a secret is never written in the file: give `{key}_env` (the name "
                    f"of an environment variable holding it) or `{key}_file` (a file "
                    "readable only by the agent)")
        return "unknown key (check its spelling and indentation)"
    if err["type"] == "missing":
        return "required key is missing"
    ctx = err.get("ctx") or {}
    if err["type"] == "literal_error" and "expected" in ctx:
        return f"got {err['input']!r}, expected {ctx['expected']}"
    if err["type"] == "union_tag_invalid" and "expected_tags" in ctx:
        return f"unknown type {ctx.get('tag')!r}, expected one of {ctx['expected_tags']}"
    if err["type"] == "union_tag_not_found":
        return "required key is missing"
    if "input" in err and not isinstance(err["input"], dict | list):
        return f"{msg} (got {_shown_input(err['input'])})"
    return msg


# a value quoted in a message is cut here: a 10 MB string is named, not echoed
MAX_QUOTED_CHARS = 80


def _shown_input(value: Any) -> str:
    text = repr(value)
    if len(text) <= MAX_QUOTED_CHARS:
        return text
    length = f" ({len(value):,} characters)" if isinstance(value, str) else ""
    return f"{text[:MAX_QUOTED_CHARS]}...{length}"


def parse_config(text: str, source: str = "<config>", base_dir: Path | None = None,
                 warnings: list[ConfigIssue] | None = None,
                 env: Mapping[str, str] | None = None,
                 written: dict[Loc, str] | None = None,
                 secrets: SecretsCheck = "ignore") -> LinesideConfig:
    """Validate a configuration text; raise ConfigError listing every problem.

    `warnings`, when given, receives what is valid but probably not meant (an override
    that contradicts a declared type, a signal the engine ignores). `${VAR}` in values
    come from `env` (default: the process environment), envsubst.py; `written`, when
    given, receives the text as written of the values that took one, by key path.
    Messages never quote what a variable holds, nor a URL's password (redact.py).
    `secrets`: whether the `*_env` variables and `*_file` files the file refers to are
    looked at (secrets.py), their absence being "errors" (`check`) or "warnings"
    (`check --offline`).
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(source, [ConfigIssue("", None, None, _too_big(size))])
    try:
        data, positions = load_with_positions(text)
    except DocumentTooLarge as e:
        raise ConfigError(source, [ConfigIssue("", e.line, e.column, str(e))]) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ConfigError(source, [ConfigIssue("", line, col, f"invalid YAML: {e.problem}")]
                          ) from None
    except yaml.reader.ReaderError as e:  # a character YAML refuses: it has no mark
        line = text.count("\n", 0, e.position) + 1
        col = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        char = e.character if isinstance(e.character, str) else chr(e.character)
        raise ConfigError(source, [ConfigIssue(
            "", line, col, f"invalid YAML: character U+{ord(char):04X}: {e.reason}")]
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError(source, [ConfigIssue("", None, None, f"invalid YAML: {e}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigIssue("", 1, 1, "the file must be a YAML mapping "
                                               "with site, devices, lines, ...")])
    try:
        return _validate(data, positions, source, base_dir, warnings, env, written, secrets)
    except ConfigError as e:
        e.locale = declared_locale(data)  # `check` speaks the file's language
        raise


def declared_locale(data: dict) -> str | None:
    """`site.locale` as written, when it is one lineside speaks (the file may be invalid
    elsewhere)."""
    site = data.get("site")
    locale = site.get("locale") if isinstance(site, dict) else None
    return locale if locale in LOCALES else None


def _validate(data: dict, positions: Mapping, source: str, base_dir: Path | None,
              warnings: list[ConfigIssue] | None, env: Mapping[str, str] | None,
              written: dict[Loc, str] | None, secrets: SecretsCheck) -> LinesideConfig:
    texts: dict[Loc, str] = {}
    data, env_problems = substitute_env(data, os.environ if env is None else env, texts)
    if written is not None:
        written.update(texts)
    substituted = [(_value_at(data, loc), text) for loc, text in texts.items()]
    issue = functools.partial(_issue, data, positions, substituted)
    unset = [issue(loc, msg) for loc, msg in env_problems]
    problems = [issue(loc, msg) for loc, msg in reference_check(data)]
    try:
        cfg = LinesideConfig.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            missing = err["type"] in ("missing", "union_tag_not_found")
            problems.append(issue(_loc(err), _message(err), missing))
        raise ConfigError(source, _first_cause(unset, problems)) from None
    problems += [issue(loc, msg) for loc, msg in model_check(cfg)]
    if problems or unset:
        raise ConfigError(source, _first_cause(unset, problems))
    found: list[ConfigIssue] = []
    if warnings is not None:
        found += [issue(loc, msg) for loc, msg in model_warnings(cfg)]
    if base_dir is not None:
        cfg = _resolve_paths(cfg, base_dir)
    if secrets != "ignore":
        absent = [issue(loc, msg) for loc, msg in secret_problems(
            (("devices", cfg.devices), ("sinks", cfg.sinks)), _secret_names(), env)]
        if secrets == "errors" and absent:
            raise ConfigError(source, absent)
        found += absent
    if warnings is not None:
        warnings += found
    return cfg


def _first_cause(unset: list[ConfigIssue], problems: list[ConfigIssue]) -> list[ConfigIssue]:
    """An unset variable, not what its unsubstituted `${...}` then fails, at that key."""
    paths = {i.path for i in unset}
    return unset + [p for p in problems if p.path not in paths]


def load_config(path: str | os.PathLike[str], warnings: list[ConfigIssue] | None = None,
                written: dict[Loc, str] | None = None,
                secrets: SecretsCheck = "ignore") -> LinesideConfig:
    """Read (textfiles.py: UTF-8, with or without BOM) and parse a configuration file.

    ConfigUnreadable when the file is missing or cannot be read, ConfigError when it is
    not a valid configuration (too big, another encoding, invalid content).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(str(p), [ConfigIssue("", None, None, _too_big(size))])
        text = read_text(p, MAX_CONFIG_BYTES)
    except OSError as e:  # FileUnreadable included
        raise ConfigUnreadable(str(p), [ConfigIssue("", None, None, _unreadable(e))]
                               ) from None
    except FileTooLarge:  # grew after stat(), or a device
        raise ConfigError(str(p), [ConfigIssue("", None, None, _too_big(size))]) from None
    except FileEncodingError as e:
        raise ConfigError(str(p), [ConfigIssue("", None, None, e.detail)]) from None
    return parse_config(text, str(p), base_dir=p.resolve().parent, warnings=warnings,
                        written=written, secrets=secrets)


def _unreadable(e: OSError) -> str:
    reason = e.strerror or str(e).rpartition(": ")[2]
    return f"cannot read the file: {reason}"


def _too_big(size: int) -> str:
    return (f"the file is {size:,} bytes, more than the {MAX_CONFIG_BYTES:,} a "
            "configuration may have: refused without parsing it")


_M = TypeVar("_M", bound=BaseModel)


def _resolve_paths(model: _M, base: Path) -> _M:
    """Relative paths in the file are relative to the file's folder, not the cwd."""
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        new = _resolve_value(value, base)
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


def _resolve_value(value: Any, base: Path) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() else (base / value).resolve()
    if isinstance(value, BaseModel):
        return _resolve_paths(value, base)
    if isinstance(value, list):
        new = [_resolve_value(v, base) for v in value]
        return new if any(a is not b for a, b in zip(new, value, strict=True)) else value
    if isinstance(value, dict):
        newd = {k: _resolve_value(v, base) for k, v in value.items()}
        return newd if any(newd[k] is not value[k] for k in value) else value
    return value

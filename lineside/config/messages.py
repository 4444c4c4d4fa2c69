"""`check`'s messages in the site's language, translated when shown (issue 25).

A configuration issue carries its message in English (`ConfigIssue.message`: the JSON of
`check --json`, logs, the tests). Rendering for a person matches that English text
against the templates below and formats the template's translation with the values it
held; the raise sites stay as they are. Pydantic's messages are matched the same way:
their wording comes from its stable error types (`PYDANTIC`, one template per type,
tests/config/test_messages.py holds each to pydantic-core's own). A message no template
matches (rare ones: a shift's or a CCP's limits, Modbus layouts, ...) is shown in English.
The key path, the line:column and quoted values are never translated.
"""

from __future__ import annotations

import functools
import re
import string

from lineside.i18n import Translator, translator


def pydantic_templates(t: Translator) -> dict[str, str]:
    """Pydantic error type -> its message (placeholders: the error's `ctx` keys)."""
    return {
        "string_type": t._("Input should be a valid string"),
        "int_type": t._("Input should be a valid integer"),
        "int_parsing": t._("Input should be a valid integer, unable to parse string as an "
                           "integer"),
        "int_from_float": t._("Input should be a valid integer, got a number with a "
                              "fractional part"),
        "float_type": t._("Input should be a valid number"),
        "float_parsing": t._("Input should be a valid number, unable to parse string as a "
                             "number"),
        "bool_type": t._("Input should be a valid boolean"),
        "bool_parsing": t._("Input should be a valid boolean, unable to interpret input"),
        "greater_than": t._("Input should be greater than {gt}"),
        "greater_than_equal": t._("Input should be greater than or equal to {ge}"),
        "less_than": t._("Input should be less than {lt}"),
        "less_than_equal": t._("Input should be less than or equal to {le}"),
        "string_pattern_mismatch": t._("String should match pattern '{pattern}'"),
        "list_type": t._("Input should be a valid list"),
        "dict_type": t._("Input should be a valid dictionary"),
        "model_type": t._("Input should be a valid dictionary or instance of {class_name}"),
        "model_attributes_type": t._("Input should be a valid dictionary or object to "
                                     "extract fields from"),
        "enum": t._("Input should be {expected}"),
        "time_parsing": t._("Input should be in a valid time format, {error}"),
    }


def own_templates(t: Translator) -> list[str]:
    """lineside's own messages (config/loader.py, checks.py, secrets.py, envsubst.py,
    textfiles.py), the most common ones; a more specific template before a general one."""
    return [
        t._("unknown key (check its spelling and indentation)"),
        t._("required key is missing"),
        t._("a secret is never written in the file: give `{key}_env` (the name of an "
            "environment variable holding it) or `{key}_file` (a file readable only by the "
            "agent)"),
        t._("got {value}, expected {expected}"),
        t._("unknown type {tag}, expected one of {expected}"),
        t._("machine id {id} is used more than once (machine ids are unique per site)"),
        t._("device id {id} is used more than once"),
        t._("sink id {id} is used more than once"),
        t._("line id {id} is used more than once"),
        t._("stage id {id} is used more than once"),
        t._("shift name {id} is used more than once"),
        t._("CCP id {id} is used more than once"),
        t._("unknown device {id}, expected one of {expected}"),
        t._("unknown stage {id}, expected one of {expected}"),
        t._("unknown line {id}, expected one of {expected}"),
        t._("unknown machine {id}, expected one of {expected}"),
        t._("machine {machine} has no signal {signal}; its process values: {values}"),
        t._("unknown IANA timezone (e.g. Asia/Shanghai)"),
        # pydantic's too_short / too_long / string_too_short: their {expected_plural} is
        # English grammar, so singular and plural are two templates here
        t._("List should have at least {min} item after validation, not {actual}"),
        t._("List should have at least {min} items after validation, not {actual}"),
        t._("List should have at most {max} item after validation, not {actual}"),
        t._("List should have at most {max} items after validation, not {actual}"),
        t._("String should have at least {min} character"),
        t._("String should have at least {min} characters"),
        t._("String should have at most {max} character"),
        t._("String should have at most {max} characters"),
        t._("give `ideal_rate` (units per minute) or `ideal_cycle_s`"),
        t._("give only one of `ideal_rate` or `ideal_cycle_s`"),
        t._("a stage needs machines, or `manual: true` when done by hand"),
        t._("a monitoring-only unit (kind {kind}) has no `{key}` signal: it has no state "
            "map, ideal rate or counters, only signals and CCPs; remove it, or make this a "
            "production machine (kind production)"),
        t._("a monitoring-only unit (kind {kind}) has no `{key}`: it has no state map, "
            "ideal rate or counters, only signals and CCPs; remove it, or make this a "
            "production machine (kind production)"),
        t._("a stage of monitoring-only units has no production to measure: add its "
            "production machines, or `manual: true` when it is done by hand (a cold room "
            "sits in the stage whose product it holds)"),
        t._("machine {id} is monitoring-only (kind {kind}): it has no state, so it is never "
            "producing; a CCP on it applies `always`"),
        t._("map custom needs a `custom` table of code -> state"),
        t._("state map {map} needs a `state` signal"),
        t._("a machine needs a `running` signal (or a `state` signal with a state map) to "
            "know its state"),
        t._("environment variable {var} is not set here: the agent would have no {name} (set "
            "it in the service's environment, e.g. /etc/lineside/lineside.env; `check "
            "--offline` where it is not)"),
        t._("environment variable {var} is empty: the agent would have no {name}"),
        t._("{path} is empty: the agent would have no {name}"),
        t._("environment variable {var} is not set (in {text}; {example} gives a default)"),
        t._("cannot read the file: {reason}"),
        t._("the file is {size} bytes, more than the {limit} a configuration may have: "
            "refused without parsing it"),
        t._("the file is not UTF-8 (byte {offset} is not UTF-8); it looks like {encoding}. "
            "Save it as UTF-8 (\"UTF-8\" or \"CSV UTF-8\" in the editor's Save as dialog, "
            "with or without BOM), or convert it with iconv -t UTF-8"),
        t._("the file is not UTF-8; it looks like {encoding}. Save it as UTF-8 (\"UTF-8\" or "
            "\"CSV UTF-8\" in the editor's Save as dialog, with or without BOM), or convert "
            "it with iconv -t UTF-8"),
        t._("the file must be a YAML mapping with site, devices, lines, ..."),
        t._("invalid YAML: {problem}"),
    ]


def refused_value_template(t: Translator) -> str:
    """A message followed by the value it refused (loader._message)."""
    return t._("{message} (got {value})")


def _pattern(template: str) -> re.Pattern[str]:
    out, seen = [], set()
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is None:
            continue
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
    return re.compile("".join(out), re.DOTALL)


def _literal_length(template: str) -> int:
    return sum(len(lit) for lit, *_ in string.Formatter().parse(template))


@functools.cache
def _table(locale: str) -> list[tuple[re.Pattern[str], str]]:
    en, t = translator("en"), translator(locale)
    english = [*pydantic_templates(en).values(), *own_templates(en)]
    local = [*pydantic_templates(t).values(), *own_templates(t)]
    pairs = sorted(zip(english, local, strict=True), key=lambda p: -_literal_length(p[0]))
    # the most specific first: "Input should be {expected}" must not take
    # "Input should be a valid list"
    return [(_pattern(e), loc) for e, loc in pairs]


_REFUSED = re.compile(r"(?P<message>.+) \(got (?P<value>.+)\)", re.DOTALL)


def localized(message: str, locale: str) -> str:
    """`message` (English, as a ConfigIssue holds it) in `locale`; as is when no
    template matches."""
    if locale == "en":
        return message
    m = _REFUSED.fullmatch(message)
    if m is not None:  # a template's placeholder must not swallow the refused value
        inner = _templated(m["message"], locale)
        if inner is not None:
            return refused_value_template(translator(locale)).format(
                message=inner, value=m["value"])
    found = _templated(message, locale)
    return message if found is None else found


def _templated(message: str, locale: str) -> str | None:
    for pattern, local in _table(locale):
        m = pattern.fullmatch(message)
        if m is not None:
            return local.format(**m.groupdict())
    return None

"""The catalogs are complete: every message of the code is in every catalog, translated,
with the same placeholders; the name tables cover every state and kind (issue 25)."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from lineside import i18n
from lineside.config.ccp import CCP_KINDS
from lineside.config.plant import STAGE_KINDS, STATES

ROOT = Path(__file__).resolve().parents[2]
# where translated messages are written: the package, and the Grafana boards' generator
# (deploy/grafana/build_dashboards.py builds them in the site's locale)
SOURCES = ("lineside", "deploy/grafana/boards")
CATALOG_LOCALES = [loc for loc in i18n.LOCALES if loc != "en"]


def extracted() -> dict[tuple[str | None, str], str]:
    """(context, msgid) -> where, as `pybabel extract -F babel.cfg lineside` sees them."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    out: dict[tuple[str | None, str], str] = {}
    for src in SOURCES:
        for path, line, msg, _comments, ctx in extract_from_dir(
                str(ROOT / src), method_map, options_map):
            msgid = msg[0] if isinstance(msg, tuple) else msg
            out[(ctx, msgid)] = f"{src}/{path}:{line}"
    return out


def catalog(locale: str):
    with i18n.po_path(locale).open("rb") as f:
        return read_po(f, locale=locale.replace("-", "_"))


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text)
            if name is not None}


def test_extraction_finds_the_messages_of_the_code():
    found = extracted()
    # the configured extraction reaches the modules that translate (a wrong babel.cfg
    # would find nothing and make the next test pass vacuously)
    assert ("machine state", "starved") in found
    assert ("CCP kind", "cold storage") in found


KEYWORDS = {"_": 0, "gettext": 0, "ngettext": 0, "pgettext": 1}  # -> index of the msgid


def calls_in_code() -> list[tuple[str, ast.Call, bool]]:
    """Every translation call of the package, as Python parses it (f-strings included:
    Babel's extractor does not look inside them on Python 3.11), with whether it sits
    inside an f-string."""
    out = []
    for path in sorted(p for src in SOURCES for p in (ROOT / src).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        in_fstring: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                in_fstring.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in KEYWORDS and not (isinstance(f, ast.Name) and name != "_"):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                out.append((where, node, id(node) in in_fstring))
    return out


def test_every_translation_call_is_one_extraction_sees():
    """A literal message, outside any f-string: otherwise `pybabel extract` misses it and
    the message is never translated (a value from data goes through a literal table, as
    state names do)."""
    bad = []
    for where, call, in_fstring in calls_in_code():
        name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
        if isinstance(call.func, ast.Attribute) and \
                getattr(call.func.value, "attr", "") == "_t":
            continue  # the Translator's own delegation to gettext
        args = call.args[:KEYWORDS[name] + 1]
        literal = len(args) == KEYWORDS[name] + 1 and all(
            isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args)
        if in_fstring:
            bad.append(f"{where}: inside an f-string (compute it before)")
        elif not literal:
            bad.append(f"{where}: the message is not a string literal")
    assert not bad, "translation calls extraction cannot see:\n" + "\n".join(bad)


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_every_message_of_the_code_has_a_translation(locale: str):
    cat = catalog(locale)
    missing = [f"{where}: {msgid!r}" + (f" (context {ctx!r})" if ctx else "")
               for (ctx, msgid), where in sorted(extracted().items(), key=lambda kv: kv[1])
               if not _translated(cat.get(msgid, context=ctx))]
    assert not missing, f"{len(missing)} messages without a {locale} translation:\n" + \
        "\n".join(missing)


def _translated(m) -> bool:
    if m is None or m.fuzzy:
        return False
    s = m.string
    return all(s) if isinstance(s, tuple | list) else bool(s)


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_every_catalog_entry_is_used_and_keeps_its_placeholders(locale: str):
    code = extracted()
    for m in catalog(locale):
        if not m.id:
            continue  # the header
        msgid = m.id[0] if isinstance(m.id, tuple) else m.id
        assert (m.context, msgid) in code, f"{msgid!r} ({m.context}) is used nowhere"
        assert _translated(m), f"{msgid!r} has no translation"
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple | list) else (m.string,)
        want = set().union(*(_placeholders(i) for i in ids))
        for s in strs:
            assert _placeholders(s) == want, f"{msgid!r}: placeholders {want} vs {s!r}"


def test_name_tables_cover_every_state_and_kind():
    for locale in i18n.LOCALES:
        t = i18n.translator(locale)
        assert {c: set(names) for c, names in t._names.items()} == {
            "machine state": set(STATES), "stage kind": set(STAGE_KINDS),
            "CCP kind": set(CCP_KINDS)}
    zh = i18n.translator("zh-CN")
    # translated, and the two senses of "cleaning" kept apart by their contexts
    assert all(re.search(r"[\u4e00-\u9fff]", zh.state(s)) for s in STATES)
    assert all(re.search(r"[\u4e00-\u9fff]", zh.stage_kind(k)) for k in STAGE_KINDS)
    assert all(re.search(r"[\u4e00-\u9fff]", zh.ccp_kind(k)) for k in CCP_KINDS)
    assert zh.state("cleaning") != zh.stage_kind("cleaning")
    assert i18n.translator("en").state("starved") == "starved"


def test_unknown_locale_is_refused_and_default_is_chinese():
    with pytest.raises(ValueError, match="zh-CN, en"):
        i18n.Translator("fr")
    assert i18n.translator(None).locale == i18n.DEFAULT_LOCALE == "zh-CN"


def test_plant_stamp_names_the_zone():
    import datetime as dt

    t = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert i18n.plant_stamp(t, "Asia/Shanghai") == "2026-12-01 09:00 Asia/Shanghai (UTC+08:00)"
    assert i18n.plant_stamp(t, "UTC") == "2026-12-01 01:00 UTC"

"""The catalog file itself is sound: one definition per (msgctxt, msgid), as GNU msgfmt
demands. Babel's reader keeps one of two definitions silently, so a message appended
twice by hand with two translations loses one of them without any other test noticing."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from lineside import i18n
from tests.fixtures.common import require_binary

LOCALES = [loc for loc in i18n.LOCALES if loc != "en"]
KEYWORD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")$')


def definitions(text: str) -> list[tuple[int, str | None, str]]:
    """(line, msgctxt, msgid) of every live entry (obsolete `#~` ones are comments)."""
    entries: list[dict[str, Any]] = []
    last = ""
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if (m := KEYWORD.match(line)) is not None:
            key, s = m[1], ast.literal_eval(m[2])  # PO escapes are Python's (\" \\ \n)
            # a msgid right after a msgctxt belongs to its entry; anything else starts one
            if key == "msgctxt" or (key == "msgid" and last != "msgctxt"):
                entries.append({"line": no})
            entries[-1][key] = s
            last = key
        elif line.startswith('"') and entries:
            entries[-1][last] += ast.literal_eval(line)
    return [(e["line"], e.get("msgctxt"), e["msgid"]) for e in entries if "msgid" in e]


def duplicates(text: str) -> list[str]:
    first: dict[tuple[str | None, str], int] = {}
    out = []
    for line, ctx, msgid in definitions(text):
        if (ctx, msgid) in first:
            where = f" (context {ctx!r})" if ctx is not None else ""
            out.append(f"line {line}: {msgid!r}{where} already defined at line "
                       f"{first[(ctx, msgid)]}")
        else:
            first[(ctx, msgid)] = line
    return out


def test_the_reader_sees_entries_contexts_and_continued_strings():
    text = ('msgid ""\nmsgstr ""\n"Language: zh_CN\\n"\n\n'
            'msgctxt "column"\nmsgid "Mean"\nmsgstr "平均值"\n\n'
            'msgid ""\n"Mean"\nmsgstr "均值"\n\n'
            'msgid "{n} lot"\nmsgid_plural "{n} lots"\nmsgstr[0] "{n} 个批次"\n\n'
            '#~ msgid "Mean"\n#~ msgstr "旧"\n')
    assert definitions(text) == [(1, None, ""), (5, "column", "Mean"), (9, None, "Mean"),
                                 (13, None, "{n} lot")]
    assert duplicates(text) == []  # same msgid, another context: two messages
    assert duplicates(text + '\nmsgid "Mean"\nmsgstr "平均"\n') == [
        "line 20: 'Mean' already defined at line 9"]


@pytest.mark.parametrize("locale", LOCALES)
def test_each_message_is_defined_once(locale: str):
    text = i18n.po_path(locale).read_text(encoding="utf-8")
    defs = definitions(text)
    assert len(defs) > 100  # the reader found the catalog's entries
    dup = duplicates(text)
    assert not dup, (f"{len(dup)} messages defined twice in {i18n.po_path(locale).name} "
                     f"({locale}); merge each into one entry:\n" + "\n".join(dup))


@pytest.mark.parametrize("locale", LOCALES)
def test_gnu_msgfmt_accepts_the_catalog(locale: str):
    """GNU gettext's own check (`msgfmt -c`, Debian's gettext): duplicates, a header or
    a plural form it would refuse."""
    msgfmt = require_binary("msgfmt")
    path: Path = i18n.po_path(locale)
    res = subprocess.run([msgfmt, "-c", "-o", "/dev/null", str(path)], capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0, res.stderr

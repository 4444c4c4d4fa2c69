"""CSV cells that a spreadsheet shows as text, never evaluates (formula injection).

Every CSV lineside writes passes its cells through `cell`; readers of lineside's own CSV
files pass them back through `uncell`. The rule (OWASP's "CSV injection"): a text cell
that begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, which
spreadsheets take as "this is text" and do not display. Numbers are left alone (a trend
of -0.012 stays a number: a spreadsheet evaluating it gets the number), and so is a text
cell that already begins with `'` followed by a trigger (so that `uncell` can invert).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import IO, Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def cell(value: Any) -> Any:
    """The value as written in a CSV cell: text that would start a formula is quoted."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(TRIGGERS) and not _NUMBER.fullmatch(value):
        return "'" + value
    if value.startswith("'") and value[1:].startswith((*TRIGGERS, "'")):
        return "'" + value  # already looks neutralised: keep `uncell` exact
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def writer(f: IO[str]) -> Any:
    """A csv writer with RFC 4180 line ends (CRLF), so that a CR or LF inside a cell is
    always quoted (with LF line ends, Python leaves a bare CR unquoted: a row break)."""
    return csv.writer(f, lineterminator="\r\n")


def uncell(text: str) -> str:
    """Inverse of `cell` for lineside's own readers (truth files)."""
    if text.startswith("'") and text[1:].startswith((*TRIGGERS, "'")):
        return text[1:]
    return text

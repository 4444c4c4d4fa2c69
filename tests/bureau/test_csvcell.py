"""The one CSV cell rule (lineside.csvcell): text never starts a formula, and it inverts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineside.csvcell import TRIGGERS, cell, uncell

CASES = [  # (written, cell)
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-1+2", "'-1+2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-0.012000", "-0.012000"),  # a number we wrote: a spreadsheet reads a number
    ("+5", "+5"),
    ("1e-5", "1e-5"),
    ("'=x", "''=x"),  # looks neutralised already: one more quote, so uncell is exact
    ("成都川味卤牛肉", "成都川味卤牛肉"),
    ("", ""),
    (3, 3),
]


@pytest.mark.parametrize(("written", "expected"), CASES)
def test_cell(written: object, expected: object) -> None:
    assert cell(written) == expected


@given(st.text())
def test_no_cell_starts_a_formula_unless_it_is_a_number(text: str) -> None:
    c = cell(text)
    assert uncell(c) == text
    if c.startswith(TRIGGERS):
        float(c)  # only plain numbers keep a leading sign

"""Building the data from parser events gives what the node tree gives (values, types,
key order, shared alias objects), and leaves everything else to the node tree, whose
results and error messages stay the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.config.yamlpos import _EventBuilder, _load_nodes, load_with_positions

ROOT = Path(__file__).resolve().parents[2]


def outcome(load, text: str) -> tuple[str, str]:
    try:
        return "ok", repr(load(text)[0])  # repr: NaN, key order and types all count
    except Exception as e:
        return type(e).__name__, str(e)


def same_as_nodes(text: str) -> None:
    assert outcome(load_with_positions, text) == outcome(_load_nodes, text)


# built from events (no fallback)
BUILT = {
    "empty": "",
    "scalars": "a: 1\nb: 1.5\nc: yes\nd: ~\ne: 0x10\nf: 1_000\ng: .inf\nh: 2001-12-14\n"
               "i: 'yes'\nj: \"1\"\nk: -0\nl: .nan\nm: 12:30:00\n",
    "explicit scalar tags": "a: !!str 12\nb: !!int '7'\nc: !!float 1\nd: !!binary aGk=\n",
    "flow and block": "- 1\n- [2, {x: y}]\n- {a: [1, 2], b: {c: d}}\n",
    "anchor and alias": "a: &x {b: 1}\nc: *x\nd: &s text\ne: *s\n",
    "merge one": "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n",
    "merge list": "a: &a {k: 1}\nb: &b {k: 2, j: 3}\nm: {<<: [*a, *b], z: 4}\n",
    "merge inline and nested": "a: &a {<<: {p: 1}, q: 2}\nm:\n  <<: *a\n  <<: {r: 3}\n",
    "merge at top": "<<: {a: 1}\nb: 2\n",
    "tagged collections": "a: !!map {b: 1}\nc: !!seq [1]\n",
    "unicode": "名: 值\n'a b': \"c\\td\"\n",
}

# left to the node tree (result or error)
LEFT = {
    "duplicate key": "a: 1\na: 2\n",
    "undefined alias": "a: *nope\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "complex key": "? [a]\n: 1\n",
    "unknown tag": "a: !foo x\n",
    "value key": "=: 1\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "merge of a list of scalars": "a: &x [1, 2]\nb: {<<: *x}\n",
    "set": "a: !!set {b}\n",
    "anchored key": "&k a: 1\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "tab indentation": "a:\n\t- 1\n",
}


@pytest.mark.parametrize("text", BUILT.values(), ids=BUILT.keys())
def test_built_from_events_as_the_node_tree_builds(text: str) -> None:
    _EventBuilder(text).document()  # no fallback
    same_as_nodes(text)


def test_aliases_are_the_same_object() -> None:
    data, _ = load_with_positions("a: &x {b: [1]}\nc: *x\n")
    assert data["a"] is data["c"]


@pytest.mark.parametrize("text", LEFT.values(), ids=LEFT.keys())
def test_everything_else_is_the_node_tree_s(text: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 (any: _Fallback or the parser's error)
        _EventBuilder(text).document()
    same_as_nodes(text)


@pytest.mark.parametrize("path", sorted((ROOT / "config").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_shipped_configurations(path: Path) -> None:
    text = path.read_text()
    _EventBuilder(text).document()
    same_as_nodes(text)


def test_too_many_nodes_is_refused_as_before() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefg", "bcdefgh", strict=True))
    same_as_nodes(bomb)
    assert "expands to" in outcome(load_with_positions, bomb)[1]


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=12))
documents = st.recursive(
    st.dictionaries(st.text(max_size=8), scalars, max_size=4),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(documents, st.sampled_from([None, True, False]))
def test_any_dumped_document(data: object, flow: bool | None) -> None:
    same_as_nodes(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True))

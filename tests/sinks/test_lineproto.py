"""The fast serializer must be byte-identical to lineproto.reference_line (influxdb-client)."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.points import Point, Series
from lineside.sinks.lineproto import measurement_of, reference_line, to_line, to_lines

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
                max_size=12).filter(lambda s: not s.startswith("#"))
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.text(max_size=20),
)
points = st.builds(
    Point,
    measurement=names,
    tags=st.dictionaries(names, st.text(max_size=10), max_size=5),
    fields=st.dictionaries(names, values, max_size=6),
    ts_ns=st.integers(min_value=0, max_value=2**62),
)


@settings(max_examples=400, deadline=None)
@given(points)
def test_identical_to_influxdb_client(p: Point) -> None:
    assert to_line(p) == reference_line(p)


@settings(max_examples=200, deadline=None)
@given(points, st.lists(st.tuples(names, values), min_size=1, max_size=4))
def test_series_tags_keep_their_key_and_stay_identical(p: Point,
                                                       later: list[tuple[str, object]]) -> None:
    # A Series keeps its derived key between points; every point still equals the
    # reference, also when one Series is used under another measurement.
    tags = Series(p.tags)
    for i, (measurement, v) in enumerate([(p.measurement, 1.5), *later]):
        q = Point(measurement, tags, {"value": v}, p.ts_ns + i)
        assert to_line(q) == reference_line(q)
    assert tags.cache is None or tags.cache[0] == later[-1][0]


def test_series_tags_are_immutable_but_copy() -> None:
    t = Series({"machine": "m1", "signal": "temp"})
    for change in (lambda: t.__setitem__("x", "1"), lambda: t.update(x="1"),
                   lambda: t.pop("machine"), t.clear):
        with pytest.raises(TypeError, match="immutable"):
            change()
    assert copy.deepcopy(t) == pickle.loads(pickle.dumps(t)) == {"machine": "m1",
                                                                   "signal": "temp"}


plain_names = names.filter(lambda s: not any(c in s for c in "\\\n\t\r"))


@settings(max_examples=200, deadline=None)
@given(plain_names, st.dictionaries(names, st.text(min_size=1, max_size=5), max_size=3))
def test_measurement_of_recovers_the_name(m: str, tags: dict[str, str]) -> None:
    # Used to count dropped points per measurement: commas and spaces are escaped.
    assert measurement_of(to_line(Point(m, tags, {"v": 1}, 1))) == m


def test_points_without_writable_field_are_skipped() -> None:
    pts = [Point("m", {}, {"v": float("nan")}, 1), Point("m", {}, {"v": 1.0}, 2)]
    assert to_lines(pts) == ["m v=1 2"]


def test_engine_shapes() -> None:
    p = Point("oee", {"line": "L 1", "level": "line", "machine": ""},
              {"run_s": 12.0, "total_count": 7, "flagged": True, "reason": 'a "b"'}, 5)
    assert to_line(p) == reference_line(p) == (
        'oee,level=line,line=L\\ 1 flagged=true,reason="a \\"b\\"",run_s=12,total_count=7i 5')

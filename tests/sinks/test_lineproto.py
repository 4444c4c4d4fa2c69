"""The fast serializer must be byte-identical to lineproto.reference_line (influxdb-client)
for every value InfluxDB takes, and leave out (and report) the ones it refuses."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineside.points import INT64_MAX, INT64_MIN, TS_NS_MAX, Point, Refusal, Series
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
@given(points.filter(lambda p: not any(isinstance(v, str) and "\n" in v
                                       for v in p.fields.values())))
def test_identical_to_influxdb_client(p: Point) -> None:
    refused: list[Refusal] = []
    assert to_line(p, refused) == reference_line(p)
    # influxdb-client skips non-finite floats too; here they are reported
    assert {(r.field, r.reason) for r in refused} == {
        (k, "non_finite") for k, v in p.fields.items()
        if isinstance(v, float) and not math.isfinite(v)}


hostile_values = st.one_of(
    values,
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond int64 either side
    st.just(2**64 - 1),
    st.just(1e308),
    st.text(st.characters(codec="utf-8"), max_size=8).map(lambda s: s + "\n"),
    st.just("\udcff"),  # a lone surrogate: not UTF-8
)
hostile = st.builds(
    Point, measurement=names, tags=st.dictionaries(names, st.text(max_size=10), max_size=3),
    fields=st.dictionaries(names, hostile_values, max_size=6),
    ts_ns=st.one_of(st.integers(min_value=-(2**63), max_value=2**63 - 1),
                    st.integers(min_value=-(2**64), max_value=2**64)))


def _writable(v: object) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return INT64_MIN <= v <= INT64_MAX
    return not (isinstance(v, str) and "\udcff" in v)


@settings(max_examples=400, deadline=None)
@given(hostile)
def test_what_influxdb_refuses_is_left_out_and_reported(p: Point) -> None:
    """An integer outside int64, a non-finite float, text that is not UTF-8: the field is
    left out (the point keeps the rest); a time outside InfluxDB's range: no line. The
    rest is influxdb-client's line, with a text newline written as `\\n`."""
    refused: list[Refusal] = []
    line = to_line(p, refused)
    if not -TS_NS_MAX <= p.ts_ns <= TS_NS_MAX:
        assert line == "" and refused == [Refusal(p, None, "timestamp")]
        return
    keep = {k: v for k, v in p.fields.items() if _writable(v)}
    assert {r.field for r in refused} == set(p.fields) - set(keep)
    assert all(r.point is p for r in refused)
    ref = reference_line(Point(p.measurement, p.tags, keep, p.ts_ns)) if keep else ""
    assert line == ref.replace("\n", "\\n")  # (tags and keys: escaped by both already)
    assert "\n" not in line
    line.encode()  # valid UTF-8: the queue can hold it


def test_a_text_newline_is_written_as_backslash_n_so_a_line_stays_one_line() -> None:
    p = Point("signal", {"signal": "recipe"}, {"text": 'beef\nstew "A"'}, 7)
    assert to_line(p) == 'signal,signal=recipe text="beef\\nstew \\"A\\"" 7'
    assert reference_line(p) == 'signal,signal=recipe text="beef\nstew \\"A\\"" 7'


def test_a_state_code_of_2_64_minus_1_leaves_the_code_out_not_the_state_change() -> None:
    p = Point("machine_state", {"machine": "m1"},
              {"state": "unknown", "code": 2**64 - 1, "prev_duration_s": 3.0}, 9)
    refused: list[Refusal] = []
    assert to_line(p, refused) == ('machine_state,machine=m1 prev_duration_s=3,'
                                   'state="unknown" 9')
    assert refused == [Refusal(p, "code", "int_range")]
    assert "code=18446744073709551615i" in reference_line(p)  # what InfluxDB answers 400


@settings(max_examples=200, deadline=None)
@given(points, st.lists(st.tuples(names, values), min_size=1, max_size=4))
def test_series_tags_keep_their_key_and_stay_identical(p: Point,
                                                       later: list[tuple[str, object]]) -> None:
    # A Series keeps its derived key between points; every point still equals the
    # reference, also when one Series is used under another measurement.
    tags = Series(p.tags)
    for i, (measurement, v) in enumerate([(p.measurement, 1.5), *later]):
        q = Point(measurement, tags, {"value": v}, p.ts_ns + i)
        assert to_line(q) == reference_line(q).replace("\n", "\\n")  # (a text newline)
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

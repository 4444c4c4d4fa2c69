"""Through the real SinkSet: a bureau sink's queue holds exactly the allowed aggregates,
whatever the sink configuration says (type, order, batching, several bureau sinks)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineside.points import Point
from lineside.sinks.lineproto import to_lines
from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink, LocalSink, QueueConfig
from lineside.sinks.sinkset import SinkSet
from lineside.sinks.uplink import allowed_on_uplink, prepare_for_uplink

T = 1_764_000_000_000_000_000
ID = ("cd-beef-01", "510116")

tag_keys = st.sampled_from(["enterprise", "region", "site", "line", "level", "stage_kind",
                            "stage", "machine", "signal", "shift", "reason"])
levels = st.sampled_from(["machine", "stage", "line", "site", "enterprise", "stage_kind", ""])
points = st.builds(
    lambda m, tags, level, fields, i: Point(
        m, {**tags, **({"level": level} if level else {})}, fields, T + i * 10**9),
    st.sampled_from(["automation", "oee", "oee_shift", "signal", "machine_state", "recipe"]),
    st.dictionaries(tag_keys, st.sampled_from(["a", "b", "L1"]), max_size=4),
    levels,
    st.dictionaries(st.sampled_from(["run_s", "auto_run_s", "oee", "value", "state", "n"]),
                    st.one_of(st.floats(-1e6, 1e6), st.integers(-1000, 1000),
                              st.booleans(), st.sampled_from(["fault", "x y"])),
                    min_size=1, max_size=4),
    st.integers(0, 10_000),
)


Q = QueueConfig(fsync="off")  # the property is about content, not durability: fast


def sink_configs(variant: int) -> list:
    url = "http://127.0.0.1:9"  # never contacted: the test reads the queues
    bureau = [
        InfluxV1Sink(type="influxdb-v1", id="bureau", role="bureau", url=url, database="b",
                     batch_size=1, gzip=False, queue=Q),
        InfluxV2Sink(type="influxdb-v2", id="bureau", role="bureau", url=url, bucket="b",
                     token_env="X", queue=Q),
        LocalSink(type="local", id="bureau", role="bureau", queue=Q),
    ][variant % 3]
    plant = LocalSink(type="local", id="plant", queue=Q)
    extra = InfluxV1Sink(type="influxdb-v1", id="bureau2", role="bureau", url=url,
                         database="b2", queue=Q)
    return [[plant, bureau], [bureau, plant], [bureau, plant, extra]][variant // 3]


def queued(sinks: SinkSet, sid: str) -> list[str]:
    """Every line in a sink's queue (nothing is ever sent: the URLs are dead)."""
    return [ln for chunk in sinks.sinks[sid].queue.iter_chunks()
            for ln in chunk.decode().split("\n") if ln]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pts=st.lists(points, max_size=30), variant=st.integers(0, 8))
def test_bureau_queue_holds_exactly_the_allowed_points(pts, variant):
    with tempfile.TemporaryDirectory() as d:
        sinks = SinkSet(sink_configs(variant), Path(d), identity=ID)
        try:
            sinks.enqueue(pts)
            want = to_lines(prepare_for_uplink(pts, *ID))
            for sid, s in sinks.sinks.items():
                got = queued(sinks, sid)
                if s.cfg.role == "bureau":
                    assert got == want
                else:  # the plant keeps everything
                    assert len(got) == len(pts)
        finally:
            import asyncio

            asyncio.run(sinks.close())


def test_the_filter_is_not_vacuous():
    """The strategy above produces both kinds of points (so the property has teeth)."""
    ok = Point("oee", {"enterprise": "e", "line": "L1", "level": "line"}, {"run_s": 1.0}, T)
    bad = Point("oee", {"enterprise": "e", "machine": "m", "level": "machine"},
                {"run_s": 1.0}, T)
    assert allowed_on_uplink(ok) and not allowed_on_uplink(bad)
    with tempfile.TemporaryDirectory() as d:
        sinks = SinkSet(sink_configs(0), Path(d), identity=ID)
        sinks.enqueue([ok, bad])
        (line,) = queued(sinks, "bureau")
        assert line.startswith("oee,") and "region=510116" in line and "machine" not in line
        assert len(queued(sinks, "plant")) == 2
        import asyncio

        asyncio.run(sinks.close())


def test_a_bureau_sink_without_the_site_identity_is_refused(tmp_path: Path) -> None:
    # it would queue points without enterprise and region: the bureau could not tell
    # whose they are (docs/delivery.md)
    with pytest.raises(ValueError, match="bureau sink needs the site's identity"):
        SinkSet(sink_configs(0), tmp_path)
    assert not list(tmp_path.glob("queue-*.db"))  # refused before any queue file is opened

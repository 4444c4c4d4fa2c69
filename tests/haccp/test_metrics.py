"""CCP status in Prometheus metrics, from a real engine fed a story."""

from __future__ import annotations

from prometheus_client import generate_latest

from lineside.engine.core import Engine
from lineside.runtime.metrics import AgentMetrics
from tests.engine.plant import LINK_DOWN, at, poll
from tests.engine.test_ccp import RUN, ccp_cfg


def sample(m: AgentMetrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_open_deviation_and_loss_of_monitoring_show_while_open() -> None:
    # cold room above 4 °C from 06:10 (deviation after 60 s); link down 06:20-06:21
    config = ccp_cfg(min_duration_s=60)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.0}),
                    ("06:15", {"temp": 3.0}), ("06:20", LINK_DOWN),
                    ("06:21", {**RUN, "temp": 3.0})], "06:30")
    eng = Engine(config, samples[0].ts)
    m = AgentMetrics()
    labels = {"ccp": "cold", "ccp_kind": "cold_storage", "machine": "M1"}
    seen = []
    prev = 0.0
    for t in ("06:10:30", "06:12", "06:20:30", "06:25"):
        eng.feed([s for s in samples if prev <= s.ts < at(t)])
        prev = at(t)
        eng.tick(at(t))
        m.update_ccps(eng.ccp_view())
        seen.append((sample(m, "lineside_ccp_deviation_open", **labels),
                     sample(m, "lineside_ccp_monitoring_lost", **labels)))
    # 06:10:30 an excursion not yet a deviation; 06:12 a deviation; 06:20:30 monitoring
    # lost (last good 06:19:59 + 5 s); 06:25 all clear
    assert seen == [(0, 0), (1, 0), (0, 1), (0, 0)]
    assert sample(m, "lineside_ccp_deviations_total", kind="limit", **labels) == 1
    assert sample(m, "lineside_ccp_deviations_total", kind="monitoring", **labels) == 1
    m.update_ccps([])  # CCP removed from the configuration: its series go
    assert b"lineside_ccp_deviation_open{" not in generate_latest(m.registry)


def test_demo_view_shows_each_ccps_status() -> None:
    from rich.console import Console

    from lineside.cli.liveview import ccp_table
    from lineside.i18n import translator

    config = ccp_cfg(min_duration_s=60)
    samples = poll([("06:00", {**RUN, "temp": 3.0}), ("06:10", {"temp": 5.5})], "06:12")
    eng = Engine(config, samples[0].ts)
    eng.feed(samples)
    eng.tick(at("06:12"))
    con = Console(record=True, width=120)
    con.print(ccp_table(eng.ccp_view(), at("06:12"), translator("en"), 120))
    text = con.export_text()
    # above 4 °C since 06:10: a deviation for 120 s, the value held at 5.5 °C
    assert "cold [cold storage]" in text and "5.5 °C" in text
    assert "deviation for 120 s" in text

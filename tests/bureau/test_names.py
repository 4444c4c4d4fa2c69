"""Configured names carried beside the ids (docs/design.md, schema: "Names beside the
ids"), and the bureau uplink keeping only the enterprise's."""

from __future__ import annotations

from pathlib import Path

import pytest

from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.config.plant import iter_machines
from lineside.engine.core import Engine
from lineside.points import Point
from lineside.samples import Quality, Sample
from lineside.simulator.factory import Factory
from lineside.sinks.uplink import PLANT_NAME_TAGS, prepare_for_uplink

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_764_540_000.0  # 2025-11-30 22:00 UTC: a demo shift is running (Asia/Shanghai)


@pytest.fixture(scope="module")
def demo() -> tuple[LinesideConfig, list[Point]]:
    cfg = load_config(ROOT / "config" / "demo.yaml")
    factory = Factory.from_config(cfg, seed=3, start_ts=T0)
    eng = Engine(cfg, T0)
    pts: list[Point] = []
    t = T0
    while t < T0 + 300:
        t += 2.0
        factory.advance(t)
        pts += eng.feed([Sample(k, v, Quality.GOOD, t) for k, v in factory.values().items()])
        pts += eng.tick(t)
    return cfg, pts


def test_every_id_tag_has_its_configured_name(demo):
    cfg, pts = demo
    names = {"enterprise": {cfg.site.enterprise_id: cfg.site.enterprise_name},
             "site": {cfg.site.site_id: cfg.site.site_name or cfg.site.site_id},
             "line": {ln.id: ln.name or ln.id for ln in cfg.lines},
             "stage": {s.id: s.name or s.id for ln in cfg.lines for s in ln.stages},
             "machine": {pm.machine.id: pm.machine.name or pm.machine.id
                         for pm in iter_machines(cfg.lines)},
             "ccp": {c.id: c.name or c.id for c in cfg.ccps}}
    seen: dict[str, int] = {}
    bureau = ("automation", "ccp_bureau", "haccp_bureau")  # the bureau's aggregates: no site name
    for p in pts:
        if p.measurement in bureau:
            assert "site_name" not in p.tags, p.tags
        for key, table in names.items():
            if key in p.tags and not (key == "site" and p.measurement in bureau):
                assert p.tags[f"{key}_name"] == table[p.tags[key]], (p.measurement, p.tags)
                seen[p.measurement] = seen.get(p.measurement, 0) + 1
    assert {"oee", "machine_state", "signal", "automation", "ccp"} <= set(seen), seen
    assert "Braised beef (卤牛肉)" in names["line"].values()  # the demo's CJK names
    assert any(p.tags.get("line_name") == "Braised beef (卤牛肉)" for p in pts)
    assert {p.tags.get("site_name") for p in pts if p.measurement == "oee"} == {
        "Shuangliu plant (双流工厂)"}


def test_the_uplink_keeps_the_enterprise_name_and_drops_the_plants_names(demo):
    cfg, pts = demo
    site = cfg.site
    up = prepare_for_uplink(pts, site.enterprise_id, site.region)
    # the names cost the bureau no point: what leaves is what left without them
    bare = [Point(p.measurement, {k: v for k, v in p.tags.items() if not k.endswith("_name")},
                  p.fields, p.ts_ns) for p in pts]
    assert len(up) == len(prepare_for_uplink(bare, site.enterprise_id, site.region)) > 0
    assert {p.measurement for p in up} >= {"automation", "oee", "ccp_bureau"}
    assert {p.tags["level"] for p in up if p.measurement == "automation"} == {
        "stage", "line", "enterprise"}
    for p in up:
        assert p.tags["enterprise_name"] == site.enterprise_name, p.tags
        assert PLANT_NAME_TAGS.isdisjoint(p.tags), p.tags

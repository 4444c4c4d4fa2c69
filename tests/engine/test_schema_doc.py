"""docs/engine.md's list of point fields is what the engine writes, no more, no less."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from lineside.config.loader import load_config
from lineside.engine.core import Engine
from lineside.simulator.factory import Factory

ROOT = Path(__file__).resolve().parents[2]


def _documented_oee_fields() -> set[str]:
    text = (ROOT / "docs" / "engine.md").read_text()
    para = text[text.index("`oee` / `oee_shift` fields:"):]
    para = para[: para.index("\n\n")]
    names = set()
    for chunk in re.findall(r"`([^`]+)`", para):
        names |= {n.strip() for n in chunk.split(",")}
    # the paragraph opens with the measurement names, then lists the fields
    return (names - {"manual = true", "oee_shift"}) | {"manual"}


def test_documented_fields_are_the_written_fields() -> None:
    cfg = load_config(ROOT / "config" / "demo.yaml")
    t0 = 1_795_899_600.0  # a whole hour
    factory, engine = Factory.from_config(cfg, 3, t0), Engine(cfg, t0)
    fields: dict[str, set[str]] = defaultdict(set)
    t = t0
    while t < t0 + 9 * 3600:  # covers a shift end
        t += 5
        factory.advance(t)
        for p in engine.feed(factory.samples()) + engine.tick(t + 0.5):
            fields[p.measurement] |= set(p.fields)
    assert fields["oee"] == _documented_oee_fields()
    assert fields["oee_shift"] == fields["oee"]
    assert fields["automation"] == {"automation_rate", "auto_run_s", "run_s",
                                    "auto_ideal_units", "run_ideal_units", "digitized",
                                    "target", "weight", "line_planned_busy_s",
                                    "planned_busy_s"}

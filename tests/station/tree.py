"""A small reason tree and plant for the station's tests."""

from __future__ import annotations

from typing import Any

from lineside.config.models import LinesideConfig
from tests.engine.plant import cfg, machine

TREE: list[dict[str, Any]] = [
    {"id": "mech", "name": "设备故障", "reasons": [
        {"id": "motor", "name": "电机过载", "loss": "breakdown"},
        {"id": "belt", "name": "输送带卡料", "loss": "breakdown"}]},
    {"id": "org", "name": "组织", "reasons": [
        {"id": "material", "name": "缺原料", "loss": "setup"},
        {"id": "changeover", "name": "换产品", "loss": "setup"}]},
]


def station(**kw: Any) -> dict[str, Any]:
    return {"categories": TREE, "fault_codes": [{"code": 12, "reason": "motor"}],
            "min_stop_s": 120, **kw}


def plant(**station_kw: Any) -> LinesideConfig:
    """Two machines (state from running/fault/fault_code signals), one line, no shifts."""
    ms = [machine(m, "running", "fault", "fault_code", "good", rate=60,
                  reasons={12: "motor overload", 7: "door open"}) for m in ("M1", "M2")]
    return cfg([{"id": "L1", "stages": [{"id": "S1", "kind": "frying", "machines": ms}]}],
               station=station(**station_kw))

"""Shared fixtures: the demo config and one simulated day of it (computed once)."""

from __future__ import annotations

import pytest

from lineside.config.loader import load_config
from lineside.config.models import LinesideConfig
from lineside.simulator.factory import Factory
from lineside.simulator.server import demo_config_path
from lineside.simulator.truth import Truth

DAY0 = 1795708800.0  # 2026-11-29 00:00 Asia/Shanghai (2026-11-28 16:00 UTC)


@pytest.fixture(scope="session")
def demo_cfg() -> LinesideConfig:
    return load_config(demo_config_path())


@pytest.fixture(scope="session")
def demo_day(demo_cfg: LinesideConfig) -> tuple[Factory, Truth]:
    """The demo plant over one simulated local day, seed 11, with its truth."""
    truth = Truth()
    f = Factory.from_config(demo_cfg, seed=11, start_ts=DAY0, recorders=[truth])
    f.advance(DAY0 + 86400)
    return f, truth

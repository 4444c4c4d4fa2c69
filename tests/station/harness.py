"""A station over a real engine without the agent: the clock is the test's."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lineside.config.models import LinesideConfig
from lineside.engine.core import Engine
from lineside.samples import Sample
from tests.station.agent_thread import add_users
from tests.station.test_reasons import IDLE, PRODUCING, T0, states
from tests.station.tree import plant

PASSWORDS = {"wang": ("operator", "operator-pw"), "li": ("supervisor", "supervisor-pw"),
             "zhao": ("viewer", "viewer-pw1")}


class EngineBackend:
    """What the station needs of the agent: the configuration, the engine, the clock and
    the samples path (here: straight into the engine, points kept)."""

    def __init__(self, cfg: LinesideConfig, t0: float) -> None:
        self.cfg = cfg
        self.t = t0
        self.engine = Engine(cfg, t0)
        self.points: list[Any] = []
        self.samples: list[Sample] = []
        self.listeners: list[Callable[[Sequence[Any]], None]] = []

    def clock(self) -> float:
        return self.t

    def add_listener(self, fn: Callable[[Sequence[Any]], None]) -> None:
        self.listeners.append(fn)

    def _deliver(self, points: list[Any]) -> None:
        self.points += points
        for fn in self.listeners:
            fn(points)

    def on_samples(self, samples: Sequence[Sample]) -> None:
        self.samples += samples
        self._deliver(self.engine.feed(samples))

    def tick(self, t: float) -> None:
        self.t = t
        self._deliver(self.engine.tick(t))


def backend_with_a_stop(state_dir: Path, locale: str = "en") -> EngineBackend:
    """M1 idle from 08:10 for 10 min (600 s), unclassified; the clock at 08:30."""
    cfg = plant().model_copy(update={"state_dir": state_dir})
    cfg = cfg.model_copy(update={"site": cfg.site.model_copy(update={"locale": locale})})
    b = EngineBackend(cfg, T0)
    b.on_samples(states("M1", [(T0, PRODUCING), (T0 + 600, IDLE), (T0 + 1200, PRODUCING),
                               (T0 + 1800, PRODUCING)])
                 + states("M2", [(T0, PRODUCING), (T0 + 1800, PRODUCING)]))
    b.t = T0 + 1800
    b.points += b.engine.tick(b.t)
    add_users(state_dir, PASSWORDS)
    return b


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html
    return m.group(1)

"""Sans-I/O engine: samples and clock ticks in, points out (docs/design.md, docs/engine.md)."""

from lineside.engine.core import Engine, EngineStats
from lineside.engine.view import Figures, LineView, MachineView, SiteView, StageView

__all__ = ["Engine", "EngineStats", "Figures", "LineView", "MachineView", "SiteView",
           "StageView"]

"""What the boards take from a plant's configuration: the automation target, the
units of its critical control points, the language of the state names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lineside.config.loader import load_config
from lineside.i18n import Translator, translator

# Grafana's unit ids for the units a CCP is usually written in; any other unit is shown
# as written after the value (Grafana's `suffix:` unit).
GRAFANA_UNITS = {"°C": "celsius", "℃": "celsius", "°F": "fahrenheit", "K": "kelvin",
                 "%": "percent", "bar": "pressurebar", "kPa": "pressurekpa",
                 "Pa": "pressurepa", "psi": "pressurepsi", "s": "s", "min": "m",
                 "h": "h", "ppm": "ppm", "m/s": "velocityms", "L/min": "flowlpm",
                 "kg": "masskg", "g": "massg"}
OEE_TARGET = 0.65  # a common world-class-minus target; edit the thresholds per plant


def grafana_unit(unit: str) -> str:
    u = unit.strip()
    if not u:
        return "none"
    return GRAFANA_UNITS.get(u, f"suffix: {u}")


@dataclass(frozen=True)
class BoardSite:
    automation_target: float = 0.60
    # CCP id -> (its name, its unit as written in the configuration)
    ccps: dict[str, tuple[str, str]] = field(default_factory=dict)
    state_names: dict[str, str] = field(default_factory=dict)
    # titles, row names and variable labels in the site's language
    t: Translator = field(default_factory=lambda: translator("en"))

    @property
    def target_pct(self) -> str:
        """The target as titles write it: 60%, 62.5%."""
        return f"{100 * self.automation_target:g}%"


def from_config(path: Path) -> BoardSite:
    cfg = load_config(path)
    t = translator(cfg.site.locale)
    states = ("producing", "idle", "starved", "blocked", "fault", "setup", "cleaning",
              "maintenance", "unknown")
    return BoardSite(cfg.metrics.automation_target,
                     {c.id: (c.name or c.id, c.unit) for c in cfg.ccps},
                     {s: t.state(s) for s in states}, t)

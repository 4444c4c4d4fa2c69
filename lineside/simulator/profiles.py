"""Behaviour parameters of simulated machines, with defaults per stage kind.

The root configuration is strict and belongs to the plant, not to the simulator, so the
simulator's knobs live here: a `SimProfile` per stage kind, overridable per machine id
or per stage kind from an optional small YAML file (see docs/simulator.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Range = tuple[float, float]


@dataclass(frozen=True)
class SimProfile:
    """How one machine behaves. Durations in seconds, drawn uniformly from (lo, hi)."""

    speed: Range = (0.86, 0.98)  # actual rate / ideal rate while producing (speed loss)
    manual_speed: float = 0.75  # extra factor while in manual mode
    reject_p: float = 0.015  # probability a unit is rejected
    run_mean_s: float = 420.0  # mean producing time between interruptions (exponential)
    # Interruption kinds while producing and their relative weights.
    stop_weights: dict[str, float] = field(default_factory=lambda: {
        "short": 4.0, "fault": 1.0, "starved": 2.0, "blocked": 1.5, "idle": 1.0,
    })
    stop_s: dict[str, Range] = field(default_factory=lambda: {
        "short": (5, 90), "fault": (180, 900), "starved": (20, 240), "blocked": (20, 200),
        "idle": (30, 300),
    })
    fault_codes: tuple[int, ...] = (101, 102, 103, 104)  # breakdowns (used without reasons)
    short_codes: tuple[int, ...] = (1,)  # jams / minor stops
    setup_every_s: float = 4 * 3600.0  # changeover interval; 0: never
    setup_s: Range = (600, 1500)
    clean_every_s: float = 8 * 3600.0  # sanitation / CIP interval; 0: never
    clean_s: Range = (1200, 2400)
    maint_every_s: float = 20 * 3600.0  # planned maintenance interval; 0: never
    maint_s: Range = (900, 1800)
    manual_every_s: float = 2 * 3600.0  # mean time in auto before a switch to manual
    manual_s: Range = (300, 1500)
    temp_setpoint: float = 25.0  # process temperature while working, °C
    temp_clean: float = 75.0  # temperature during cleaning (hot water / CIP)
    temp_ambient: float = 20.0
    temp_tau_s: float = 300.0  # time constant of the temperature response
    counter_headroom: Range = (300, 20000)  # counters start this far below rollover
    buffer_s: float = 60.0  # a breakdown starves / blocks the neighbours after this long
    refill_s: float = 5.0  # ... until this long after it is repaired

    def replace(self, **kw: Any) -> SimProfile:
        return dataclasses.replace(self, **kw)


_BASE = SimProfile()

DEFAULT_PROFILES: dict[str, SimProfile] = {
    "cleaning": _BASE.replace(temp_setpoint=45.0, temp_clean=80.0, reject_p=0.005,
                              setup_every_s=0.0),
    "thawing": _BASE.replace(temp_setpoint=4.0, temp_ambient=10.0, reject_p=0.003,
                             setup_every_s=0.0, run_mean_s=900.0),
    "cutting": _BASE.replace(temp_setpoint=4.0, reject_p=0.02, speed=(0.85, 0.97)),
    "peeling": _BASE.replace(temp_setpoint=12.0, reject_p=0.03),
    "dehairing": _BASE.replace(temp_setpoint=60.0, reject_p=0.025),
    "mixing": _BASE.replace(temp_setpoint=8.0, reject_p=0.005, run_mean_s=600.0),
    "frying": _BASE.replace(temp_setpoint=175.0, temp_clean=70.0, temp_tau_s=600.0,
                            reject_p=0.02, clean_every_s=10 * 3600.0),
    "heating": _BASE.replace(temp_setpoint=92.0, temp_clean=85.0, temp_tau_s=450.0,
                             reject_p=0.01, clean_every_s=6 * 3600.0),
    "packaging": _BASE.replace(reject_p=0.02, run_mean_s=300.0, speed=(0.88, 0.99),
                               temp_setpoint=150.0, temp_clean=40.0),  # sealing jaw
    "other": _BASE,
}


def profile_for(kind: str, machine_id: str, overrides: dict[str, Any] | None = None) -> SimProfile:
    """The profile of one machine: the kind's default, then kind, then machine overrides."""
    prof = DEFAULT_PROFILES.get(kind, _BASE)
    if overrides:
        for key in (f"kind:{kind}", machine_id):
            if key in overrides:
                prof = _apply(prof, overrides[key], key)
    return prof


def _apply(prof: SimProfile, patch: dict[str, Any], where: str) -> SimProfile:
    names = {f.name for f in dataclasses.fields(SimProfile)}
    kw: dict[str, Any] = {}
    for k, v in patch.items():
        if k not in names:
            raise ValueError(f"simulator profile {where!r}: unknown key {k!r}")
        if isinstance(v, list):
            v = tuple(v)
        if k in ("stop_weights", "stop_s"):
            v = {**getattr(prof, k), **{kk: (tuple(vv) if isinstance(vv, list) else vv)
                                         for kk, vv in v.items()}}
        kw[k] = v
    return prof.replace(**kw)


def load_overrides(path: str | Path | None) -> dict[str, Any]:
    """Read an optional profile file: keys are machine ids or `kind:<stage kind>`."""
    if path is None:
        return {}
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of machine id / kind:<kind> -> profile")
    return data

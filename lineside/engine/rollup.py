"""The automation rate's rebuild rules: from stored sums to the figure of every level.

One definition for every reader (the engine's own upper levels, `lineside report`; the
dashboards' InfluxQL follows the same steps): docs/design.md, "Rebuilding the figures".
Every input is a sum of additive point fields over the period asked for, so a figure
over any time range, and across the agents of one plant, comes out the same.

- stage: Σ auto_ideal_units / Σ run_ideal_units of its `automation` stage points (a
  manual stage carries 0 and its line's run_ideal_units: 0% whenever its line ran);
- line: mean of its stages' rates weighted by `weight`, stages without a rate left out;
- site / enterprise: line rates weighted by the lines' Σ planned_busy_s (lines without
  a rate or without planned busy time left out);
- district: mean of the enterprise rates, and how many are at or above the target.
"""

from __future__ import annotations

from collections.abc import Iterable

# A rate at the target within rounding counts as meeting it.
EPS = 1e-9


def stage_rate(auto_ideal_units: float, run_ideal_units: float) -> float | None:
    return auto_ideal_units / run_ideal_units if run_ideal_units > 0 else None


def line_rate(stages: Iterable[tuple[float, float | None]]) -> float | None:
    """(weight, stage rate) pairs -> the line's rate."""
    num = den = 0.0
    for w, r in stages:
        if r is not None:
            num += w * r
            den += w
    return num / den if den > 0 else None


def site_rate(lines: Iterable[tuple[float, float | None]]) -> float | None:
    """(planned_busy_s, line rate) pairs -> the site's (or enterprise's) rate."""
    num = den = 0.0
    for pbt, r in lines:
        if r is not None and pbt > 0:
            num += pbt * r
            den += pbt
    return num / den if den > 0 else None


def district(rates: Iterable[float | None], target: float) -> tuple[float | None, int, int]:
    """Enterprise rates -> (mean, number reporting, number at or above target)."""
    vals = [r for r in rates if r is not None]
    meeting = sum(1 for r in vals if r >= target - EPS)
    return (sum(vals) / len(vals) if vals else None), len(vals), meeting

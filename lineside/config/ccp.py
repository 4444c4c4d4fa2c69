"""Critical control points (HACCP): what is monitored, its limits, when it applies.

docs/haccp.md gives the rules the engine applies to them (lineside/engine/ccp.py).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lineside.config.plant import IdPattern

CcpKind = Literal[
    "frying", "pasteurization", "cooking", "blanching", "chilling", "cold_storage",
    "freezing", "metal_detection", "other",
]
CCP_KINDS: tuple[str, ...] = get_args(CcpKind)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Limits(_Strict):
    """A band in the signal's engineering units: a value below `min` or above `max` is out."""

    # Wide enough for any process value (°C, bar, pH, counts), finite like every number.
    min: float | None = Field(None, ge=-1e9, le=1e9)
    max: float | None = Field(None, ge=-1e9, le=1e9)

    @model_validator(mode="after")
    def _band(self) -> Limits:
        if self.min is None and self.max is None:
            raise ValueError("give `min`, `max` or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self

    def outside(self, v: float) -> str | None:
        """'min' or 'max' when v is beyond that limit, else None."""
        if self.max is not None and v > self.max:
            return "max"
        if self.min is not None and v < self.min:
            return "min"
        return None


class CorrectiveAction(_Strict):
    """One of the plant's corrective actions, chosen when a deviation is answered."""

    id: str = Field(pattern=IdPattern)
    name: str = Field("", description="as people read it (default: the id)")


class Ccp(_Strict):
    id: str = Field(pattern=IdPattern)
    name: str = ""
    kind: CcpKind = Field(description="what the bureau's aggregates group by")
    hazard: str = Field(min_length=1, description="the hazard this point controls")
    machine: str = Field(description="machine id whose signal is monitored")
    signal: str = Field(description="a process-value signal of that machine")
    unit: str = Field("", description="engineering unit shown in records, e.g. °C")
    critical: Limits = Field(description="critical limits: beyond them is an excursion")
    operating: Limits | None = Field(
        None, description="operating (warning) limits, inside the critical ones")
    min_duration_s: float = Field(
        0.0, ge=0, le=86400, description="an excursion is a deviation once it has lasted this long "
                               "(0: at once)")
    applies: Literal["always", "producing"] = Field(
        "always", description="producing: only while the machine is producing (or its "
                              "state is unknown)")
    monitoring_interval_s: float = Field(
        ge=0.01, le=86400,
        description="no good sample for longer than this is a loss of monitoring")
    lot_margin_before_s: float = Field(
        0.0, ge=0, le=604800, description="lots on the machine up to this long before a "
        "deviation started are affected too (product still in the process; docs/lots.md)")
    lot_margin_after_s: float = Field(
        0.0, ge=0, le=604800, description="lots on the machine up to this long after a "
        "deviation ended are affected too; they are listed once this time has passed")

    @model_validator(mode="after")
    def _inside(self) -> Ccp:
        op, cr = self.operating, self.critical
        if op is None:
            return self
        if cr.min is not None and op.min is not None and op.min < cr.min:
            raise ValueError(f"operating min ({op.min:g}) is below the critical min "
                             f"({cr.min:g}); operating limits lie inside the critical ones")
        if cr.max is not None and op.max is not None and op.max > cr.max:
            raise ValueError(f"operating max ({op.max:g}) is above the critical max "
                             f"({cr.max:g}); operating limits lie inside the critical ones")
        return self

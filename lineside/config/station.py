"""The operator station (issue 26): the reason tree, the PLC fault-code table, the web page.

`station:` is off by default. Reasons are data: the engine turns stops and their
classifications into `downtime_reason` points (lineside/engine/reasons.py,
docs/station.md); the web page (lineside/station/) is only built when this section is
present.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lineside.config.listen import parse_listen
from lineside.config.plant import IdPattern

#: The six big losses (Nakajima, TPM); every reason is one of them.
BigLoss = Literal["breakdown", "setup", "small_stop", "reduced_speed",
                  "startup_reject", "production_reject"]
BIG_LOSSES: tuple[str, ...] = get_args(BigLoss)
#: The reason of a stop nobody has explained yet (not configurable: the ledger's own).
UNCLASSIFIED = "unclassified"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Reason(_Strict):
    id: str = Field(pattern=IdPattern, max_length=64)
    name: str = Field(min_length=1, max_length=80, description="what operators read")
    loss: BigLoss = Field(description="which of the six big losses it is")


class ReasonCategory(_Strict):
    id: str = Field(pattern=IdPattern, max_length=64)
    name: str = Field(min_length=1, max_length=80)
    reasons: list[Reason] = Field(min_length=1, max_length=100)


class FaultCode(_Strict):
    """A PLC fault code that pre-classifies the stop it caused."""

    code: int = Field(ge=-(2**31), le=2**32 - 1)
    reason: str = Field(pattern=IdPattern, description="a reason id of the tree")
    machines: list[str] = Field(default_factory=list,
                                description="machine ids this applies to (default: all)")


class Station(_Strict):
    listen: str = Field("127.0.0.1:8090",
                        description="host:port of the station's web page; plain HTTP only "
                                    "on loopback, any other address needs tls_cert and "
                                    "tls_key")
    tls_cert: Path | None = Field(None, description="PEM certificate (chain) for HTTPS")
    tls_key: Path | None = Field(None, description="PEM private key of tls_cert")
    min_stop_s: float | None = Field(
        None, ge=1, le=86400,
        description="a stop at least this long waits for a reason (default: "
                    "metrics.reason_after_s)")
    reclassify_days: int = Field(7, ge=1, le=92,
                                 description="how long a stop can still be (re)classified")
    session_minutes: int = Field(480, ge=5, le=1440,
                                 description="a login expires after this long without use")
    categories: list[ReasonCategory] = Field(min_length=1, max_length=50,
                                             description="the reason tree: category -> "
                                                         "reason -> one of the six big losses")
    fault_codes: list[FaultCode] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _references(self) -> Station:
        ids = [r.id for c in self.categories for r in c.reasons]
        dup = sorted(i for i, n in Counter(ids).items() if n > 1)
        if dup:
            raise ValueError(f"reason ids are used more than once: {dup}")
        if UNCLASSIFIED in ids:
            raise ValueError(f"{UNCLASSIFIED!r} is the ledger's own reason, not one to "
                             "configure")
        cats = [c.id for c in self.categories]
        if len(set(cats)) != len(cats):
            raise ValueError("category ids are used more than once")
        for f in self.fault_codes:
            if f.reason not in ids:
                raise ValueError(f"fault code {f.code}: unknown reason {f.reason!r}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither")
        if self.tls_cert is None and not _loopback(self.listen):
            raise ValueError(f"listen {self.listen!r} is not a loopback address: passwords "
                             "would cross the plant network in clear; give tls_cert and "
                             "tls_key, or listen on 127.0.0.1")
        return self

    def reason(self, rid: str) -> tuple[ReasonCategory, Reason] | None:
        for c in self.categories:
            for r in c.reasons:
                if r.id == rid:
                    return c, r
        return None


def _loopback(listen: str) -> bool:
    host, _ = parse_listen(listen)  # raises with the reason
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def fault_code_references(data: dict[str, Any], machine_ids: list[str]
                          ) -> list[tuple[tuple[str | int, ...], str]]:
    """`station.fault_codes[].machines` name machines of the plant (lineside check)."""
    st = data.get("station")
    codes = st.get("fault_codes") if isinstance(st, dict) else None
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, f in enumerate(codes if isinstance(codes, list) else []):
        ms = f.get("machines") if isinstance(f, dict) else None
        for k, mid in enumerate(ms if isinstance(ms, list) else []):
            if str(mid) not in machine_ids:
                out.append((("station", "fault_codes", i, "machines", k),
                            f"unknown machine {mid!r}, expected one of {sorted(machine_ids)}"))
    return out

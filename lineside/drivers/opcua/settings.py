"""OPC UA device and signal configuration (pydantic), kept beside the driver."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.dataclasses import dataclass

from lineside.drivers.opcua.syntax import check_address
from lineside.drivers.ranges import MAX_CHARS_DOC, RANGE_DOC, ValueRange, check_range


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# Slotted, like ModbusSignal (lineside/drivers/modbus/settings.py): signals are numerous.
@dataclass(frozen=True, slots=True, kw_only=True,
           config=ConfigDict(extra="forbid", allow_inf_nan=False))
class OpcuaSignal:
    """One node: by NodeId string (ns=2;s=..., i=..., g=..., nsu=URI;s=...) or browse path."""

    node: str | None = None
    path: str | None = Field(
        None, description="browse path from Objects, e.g. '2:Line1/2:Fryer/2:State'"
    )
    sampling_interval_ms: float | None = Field(None, ge=0, le=86_400_000)
    deadband: float | None = Field(None, ge=0, le=1e15)
    deadband_type: Literal["absolute", "percent"] = "absolute"
    queue_size: int | None = Field(None, ge=1, le=100_000,
                                   description="overrides the device queue_size")
    range: ValueRange | None = Field(None, description=RANGE_DOC)
    max_chars: int | None = Field(None, ge=1, le=65536, description=MAX_CHARS_DOC)

    @model_validator(mode="after")
    def _one_address(self) -> OpcuaSignal:
        check_range(self.range)
        # syntax is checked here so `lineside check` reports it with the key path; without
        # asyncua (syntax.py), which check never loads
        check_address(self.node, self.path)
        return self


class OpcuaDevice(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    type: Literal["opcua"]
    endpoint: str = Field(pattern=r"^opc\.tcp://")
    mode: Literal["poll", "subscribe"] = "subscribe"
    interval_s: float = Field(1.0, ge=0.01, le=86400,
                              description="poll interval / publishing interval")
    timeout_s: float = Field(4.0, gt=0, le=3600)
    security_policy: Literal[
        "None", "Basic256Sha256", "Aes128_Sha256_RsaOaep", "Aes256_Sha256_RsaPss"
    ] = "None"
    security_mode: Literal["None", "Sign", "SignAndEncrypt"] = "None"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    certificate: Path | None = Field(None, description="client cert (created on first start)")
    private_key: Path | None = None
    trust_dir: Path | None = Field(None, description="trusted server and CA certificates "
                                   "(DER/PEM), CRLs in its crl/")
    application_uri: str = "urn:lineside:agent"
    max_nodes_per_read: int = Field(500, ge=1, le=100_000)
    sampling_interval_ms: float = Field(500, ge=0, le=86_400_000)
    queue_size: int = Field(10, ge=1, le=100_000)
    discard_oldest: bool = True
    items_per_request: int = Field(1000, ge=1, le=100_000)
    enabled: bool = True
    # --- additions by the OPC UA driver owner (all optional, defaults documented in
    # docs/opcua.md) ---
    data_change_trigger: Literal["status", "status_value", "status_value_timestamp"] = (
        "status_value"
    )
    timestamp: Literal["gather", "source", "server"] | None = Field(
        None, description="Sample.ts: gather (time of the read), source or server "
        "timestamp; default gather when polling (a poll observes the value now; its "
        "source timestamp is when it last changed), source for subscriptions")
    keepalive_s: float = Field(
        5.0, gt=0, le=3600,
        description="subscription keep-alive period; silence beyond ~2x => reconnect"
    )
    session_timeout_s: float = Field(60.0, ge=10, le=86400)
    reconnect_min_s: float = Field(1.0, gt=0, le=3600)
    reconnect_max_s: float = Field(30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _security(self) -> OpcuaDevice:
        if (self.security_policy == "None") != (self.security_mode == "None"):
            raise ValueError("security_policy and security_mode must both be None or both set")
        if self.password_env and self.password_file:
            raise ValueError("give one of password_env or password_file")
        if (self.password_env or self.password_file) and not self.username:
            raise ValueError("a password needs a username")
        if (self.certificate is None) != (self.private_key is None):
            raise ValueError("give both certificate and private_key, or neither")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must be >= reconnect_min_s")
        return self

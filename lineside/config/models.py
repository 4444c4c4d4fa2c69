"""The root of the configuration file: site, devices, lines, CCPs, sinks, HTTP endpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lineside.config.ccp import Ccp, CorrectiveAction
from lineside.config.listen import parse_listen
from lineside.config.plant import Calendar, Line, Metrics
from lineside.config.station import Station
from lineside.drivers.modbus.settings import ModbusDevice
from lineside.drivers.opcua.settings import OpcuaDevice
from lineside.i18n import DEFAULT_LOCALE, Locale
from lineside.sinks.settings import SinkConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Site(_Strict):
    enterprise_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$",
                               description="registered with the bureau")
    enterprise_name: str
    site_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    site_name: str = Field("", description="the site as people name it, shown beside "
                                           "site_id (default: the id)")
    gateway_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$",
        description="this agent when a plant is split across several: tags its site- "
                    "and enterprise-level points (default: the id of its first line)")
    region: str = Field(pattern=r"^[0-9A-Za-z_-]+$", description="region code, e.g. 510114")
    timezone: str = "UTC"
    locale: Locale = Field(DEFAULT_LOCALE, description="language of what people read: "
                                                      "report, HACCP record, live view "
                                                      "(zh-CN or en)")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: name too long
            raise ValueError("unknown IANA timezone (e.g. Asia/Shanghai)") from None
        return v


class Http(_Strict):
    listen: str = Field("127.0.0.1:9108",
                        description="metrics/health endpoint, host:port or [ipv6]:port; "
                                    "loopback unless you open it")
    enabled: bool = True

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_listen(v)  # raises with the reason
        return v


class Logging(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


Device = Annotated[ModbusDevice | OpcuaDevice, Field(discriminator="type")]


class LinesideConfig(_Strict):
    site: Site
    state_dir: Path = Field(Path("/var/lib/lineside"),
                            description="queues, client certificates, sample logs")
    calendar: Calendar = Field(default_factory=Calendar)
    metrics: Metrics = Field(default_factory=Metrics)
    devices: list[Device] = Field(default_factory=list)
    lines: list[Line] = Field(min_length=1)
    ccps: list[Ccp] = Field(default_factory=list,
                            description="critical control points (HACCP), docs/haccp.md")
    corrective_actions: list[CorrectiveAction] = Field(
        default_factory=list, description="the corrective actions a deviation can be "
        "answered with (plus free text; docs/haccp.md)")
    deviation_open_days: float = Field(
        7.0, ge=1, le=366, description="a deviation with no lot on hold takes corrective "
        "actions, dispositions and verifications this many days after its start, then is "
        "closed; one with a lot on hold stays open until none is (docs/haccp.md)")
    sinks: list[SinkConfig] = Field(default_factory=list)
    http: Http = Field(default_factory=Http)
    logging: Logging = Field(default_factory=Logging)
    record_samples: Path | None = Field(None, description="append every sample to this log")
    station: Station | None = Field(None, description="the operator station: reasons for "
                                                      "stops, shift handover (docs/station.md)")

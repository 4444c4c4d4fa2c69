"""Sink configuration (pydantic): where points go and how they are kept until then."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class QueueConfig(_Strict):
    path: Path | None = Field(None, description="queue file; default <state_dir>/queue-<id>.db")
    max_bytes: int = Field(1 << 30, ge=1 << 16, le=1 << 40,
                           description="drop oldest above this size")
    fsync: Literal["always", "batch", "off"] = "batch"
    memory_max_bytes: int = Field(
        32 << 20, ge=0, le=1 << 32,
        description="points held in memory while the disk refuses writes (full, read-only); "
                    "oldest dropped (counted) above this")


class _SinkCommon(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    role: Literal["plant", "bureau"] = Field(
        "plant", description="bureau: aggregates only (automation, site/line oee) leave"
    )
    batch_size: int = Field(5000, ge=1, le=1_000_000)
    flush_interval_s: float = Field(1.0, gt=0, le=3600)
    timeout_s: float = Field(10.0, gt=0, le=3600)
    gzip: bool = True
    min_retry_delay_s: float = Field(
        0.25, gt=0, le=3600,
        description="first delay of the exponential backoff (doubled per failed attempt)")
    max_retry_delay_s: float = Field(60.0, gt=0, le=86400)
    max_in_flight: int = Field(2, ge=1, le=8,
                               description="batches sent concurrently (acked in order)")
    ca_file: Path | None = None
    insecure_skip_verify: bool = False
    dead_letter: Path | None = Field(None, description="default <state_dir>/dead-<id>.lp")
    queue: QueueConfig = Field(default_factory=QueueConfig)


class _InfluxSink(_SinkCommon):
    """What the InfluxDB sinks share: a URL, and their secret (`<SECRET>_env` or
    `<SECRET>_file`) given by reference, never in the file."""

    _SECRET: ClassVar[str]  # token, password
    _INSTEAD: ClassVar[str]  # the keys to give instead of `user:password@` in the URL

    @field_validator("url", check_fields=False)
    @classmethod
    def _url(cls, url: str) -> str:
        # `user:password@` is never sent (the writers send credentials from their own
        # keys only), and a secret is never written in the file: refused, not left to
        # fail as 401 at the first write
        if "@" in urlsplit(url).netloc:
            raise ValueError("credentials in the URL are not used: remove "
                             f"`user:password@` and give `{cls._INSTEAD}`")
        return url

    @model_validator(mode="after")
    def _secret(self) -> _InfluxSink:
        name = self._SECRET
        if getattr(self, f"{name}_env") and getattr(self, f"{name}_file"):
            raise ValueError(f"give one of {name}_env or {name}_file")
        return self


class InfluxV2Sink(_InfluxSink):
    """InfluxDB 1.8+/2.x/3.x/Cloud through the v2 write API (`/api/v2/write`)."""

    _SECRET = "token"
    _INSTEAD = "token_env` or `token_file"
    type: Literal["influxdb-v2"]
    url: str = Field(pattern=r"^https?://")
    org: str = ""
    bucket: str
    token_env: str | None = None
    token_file: Path | None = None


class InfluxV1Sink(_InfluxSink):
    """InfluxDB 1.x through /write (db, retention policy, user/password)."""

    _SECRET = "password"
    _INSTEAD = "username` with `password_env` or `password_file"
    type: Literal["influxdb-v1"]
    url: str = Field(pattern=r"^https?://")
    database: str
    retention_policy: str | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None


class LocalSink(_SinkCommon):
    """Keep points in the local queue file only (`lineside export` reads it)."""

    type: Literal["local"]


SinkConfig = Annotated[InfluxV2Sink | InfluxV1Sink | LocalSink, Field(discriminator="type")]

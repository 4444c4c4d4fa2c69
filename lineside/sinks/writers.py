"""HTTP transports: InfluxDB v2 write API (`/api/v2/write`) and InfluxDB 1.x `/write`.

A transport sends one body of line protocol and either returns (2xx) or raises
`WriteError` carrying what the delivery loop needs to decide: the HTTP status (None for
a network failure), the server's message and a `Retry-After` delay. Transports are
blocking; the sink calls them in a worker thread so that enqueue never waits on the
network.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import os
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import urllib3

from lineside.sinks.settings import InfluxV1Sink, InfluxV2Sink
from lineside.textfiles import MAX_SECRET_BYTES, read_text

log = logging.getLogger(__name__)


class WriteError(Exception):
    def __init__(self, status: int | None, message: str, retry_after: float | None = None):
        super().__init__(f"{status or 'network'}: {message}")
        self.status = status
        self.message = message
        self.retry_after = retry_after


class Transport(Protocol):
    def write(self, body: bytes) -> None: ...
    def close(self) -> None: ...


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def read_secret(env: str | None, file: Path | None, what: str) -> str | None:
    """A secret from an environment variable or a file (trailing newline stripped)."""
    if env:
        val = os.environ.get(env)
        if val is None:
            log.error("%s: environment variable %s is not set", what, env)
        return val
    if file:
        try:  # UTF-8 with or without BOM (Notepad's), another encoding named: textfiles.py
            return read_text(file, MAX_SECRET_BYTES).strip()
        except (OSError, ValueError) as e:
            log.error("%s: cannot read %s: %s", what, file, e)
    return None


def _server_message(body: bytes | str | None) -> str:
    if body is None:
        return ""
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    try:
        obj = json.loads(text)
        if isinstance(obj, dict):
            return str(obj.get("error") or obj.get("message") or text).strip()
    except ValueError:
        pass
    return text.strip()


def _warn_insecure(sink_id: str, url: str) -> None:
    log.warning(
        "!!! sink %s: TLS certificate verification is DISABLED (insecure_skip_verify) for %s."
        " Anyone on the network path can impersonate the server and read the credentials"
        " and data. Use ca_file with the server's CA instead. !!!", sink_id, url)
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


class _HttpTransport:
    """POST a body of line protocol to one URL (urllib3, our own TLS, gzip at level 1)."""

    def __init__(self, cfg: InfluxV1Sink | InfluxV2Sink, url: str, headers: dict[str, str]
                 ) -> None:
        self.cfg = cfg
        self.url = url
        self.headers = {"Content-Type": "text/plain; charset=utf-8", **headers}
        if cfg.gzip:
            self.headers["Content-Encoding"] = "gzip"
        kw: dict[str, Any] = {}  # TLS options of PoolManager (cert_reqs, ca_certs)
        if cfg.url.startswith("https"):
            if cfg.insecure_skip_verify:
                _warn_insecure(cfg.id, cfg.url)
                kw["cert_reqs"] = "CERT_NONE"
            else:
                kw["cert_reqs"] = "CERT_REQUIRED"
                if cfg.ca_file:
                    kw["ca_certs"] = str(cfg.ca_file)
        # retries=False: the delivery loop owns retrying (backoff, Retry-After, 413 split).
        self.http = urllib3.PoolManager(
            num_pools=2, maxsize=2, retries=False,
            timeout=urllib3.Timeout(connect=min(5.0, cfg.timeout_s), read=cfg.timeout_s), **kw)

    def write(self, body: bytes) -> None:
        data = gzip.compress(body, compresslevel=1) if self.cfg.gzip else body
        try:
            r = self.http.request("POST", self.url, body=data, headers=self.headers,
                                  preload_content=True)
        except urllib3.exceptions.HTTPError as e:
            raise WriteError(None, f"{type(e).__name__}: {e}") from None
        if 200 <= r.status < 300:
            return
        raise WriteError(r.status, self._message(r),
                         parse_retry_after(r.headers.get("Retry-After")))

    def _message(self, r: urllib3.BaseHTTPResponse) -> str:
        return _server_message(r.data)

    def close(self) -> None:
        self.http.clear()


class V1Transport(_HttpTransport):
    """POST /write?db=&rp=&precision=ns with optional basic auth and gzip."""

    def __init__(self, cfg: InfluxV1Sink) -> None:
        params = {"db": cfg.database, "precision": "ns"}
        if cfg.retention_policy:
            params["rp"] = cfg.retention_policy
        headers = {}
        if cfg.username:
            pw = read_secret(cfg.password_env, cfg.password_file, f"sink {cfg.id} password") or ""
            cred = base64.b64encode(f"{cfg.username}:{pw}".encode()).decode()
            headers["Authorization"] = f"Basic {cred}"
        super().__init__(cfg, cfg.url.rstrip("/") + "/write?" + urlencode(params), headers)


class V2Transport(_HttpTransport):
    """POST /api/v2/write?org=&bucket=&precision=ns with `Authorization: Token`.

    The request influxdb-client's WriteService sends (tests/sinks/test_v2_reference.py
    compares the two, answers and errors included), without importing that package:
    it costs ~25 MB of RSS and a second HTTP stack in the agent.
    """

    def __init__(self, cfg: InfluxV2Sink) -> None:
        token = read_secret(cfg.token_env, cfg.token_file, f"sink {cfg.id} token")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        query = urlencode({"org": cfg.org, "bucket": cfg.bucket, "precision": "ns"})
        super().__init__(cfg, cfg.url.rstrip("/") + "/api/v2/write?" + query, headers)

    def _message(self, r: urllib3.BaseHTTPResponse) -> str:
        return _server_message(r.data) or (r.reason or "")

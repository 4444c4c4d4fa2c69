"""The metrics and health endpoint: `/metrics`, `/healthz`, `/readyz` on asyncio streams.

A deliberately small HTTP/1.1 server (GET and HEAD, one request per connection) so the
agent needs no web framework. It runs in the agent's event loop; rendering the metrics
is synchronous and takes well under a millisecond for a plant-sized registry.

- `/metrics`  Prometheus text format (OpenMetrics when the scraper asks for it);
- `/healthz`  200 `{"status": "ok"}` while the process and its event loop are alive and
  the runtime's liveness callable says `"status": "ok"` (polling has not stalled), else
  503 with its JSON body;
- `/readyz`   200 when the runtime's readiness callable says `"ready": true`, else 503,
  with the callable's JSON body (see `AgentMetrics.readiness`).

Binds to the configured `http.listen`, loopback by default (docs/design.md, security).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from lineside.config.listen import parse_listen

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Mapping[str, Any]]

MAX_REQUEST_LINE = 8192
MAX_HEADERS = 100
READ_TIMEOUT_S = 5.0

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


class MetricsServer:
    """Serve a registry and the health checks; `await start()`, `await stop()`."""

    def __init__(self, registry: CollectorRegistry, listen: str = "127.0.0.1:9108",
                 ready: ReadyCheck | None = None, alive: ReadyCheck | None = None) -> None:
        self.registry = registry
        self.host, self._port = parse_listen(listen)
        self.ready = ready
        self.alive = alive
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server and self._server.sockets:
            return int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self._port,
                                                  reuse_address=True)
        shown = f"[{self.host}]" if ":" in self.host else self.host
        log.info("metrics endpoint on http://%s:%d/metrics", shown, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- request handling --------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                method, path, headers = await asyncio.wait_for(_read_head(reader),
                                                               READ_TIMEOUT_S)
            except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
                await _respond(writer, 400, b"bad request\n", "text/plain", head=False)
                return
            if method not in ("GET", "HEAD"):
                await _respond(writer, 405, b"GET or HEAD\n", "text/plain", head=False,
                               extra={"Allow": "GET, HEAD"})
                return
            status, body, ctype = self._route(path, headers)
            await _respond(writer, status, body, ctype, head=(method == "HEAD"))
        except (TimeoutError, ConnectionError):
            pass
        except Exception:  # one bad scrape must never take the agent down
            log.exception("metrics endpoint: request failed")
            with contextlib.suppress(Exception):
                await _respond(writer, 500, b"internal error\n", "text/plain", head=False)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _route(self, target: str, headers: Mapping[str, str]) -> tuple[int, bytes, str]:
        path = target.split("?", 1)[0]
        if path == "/metrics":
            encoder, ctype = choose_encoder(headers.get("accept", ""))
            return 200, encoder(self.registry), ctype
        if path == "/healthz":
            try:
                live: Mapping[str, Any] = (self.alive() if self.alive is not None
                                           else {"status": "ok"})
            except Exception as exc:
                log.exception("liveness check failed")
                live = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            return (200 if live.get("status") == "ok" else 503), _json(live), "application/json"
        if path == "/readyz":
            if self.ready is None:
                body: Mapping[str, Any] = {"ready": True, "checks": {}}
            else:
                try:
                    body = self.ready()
                except Exception as exc:  # a failing check is "not ready", not a 500
                    log.exception("readiness check failed")
                    body = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
            return (200 if body.get("ready") else 503), _json(body), "application/json"
        if path == "/":
            page = b"lineside agent: /metrics /healthz /readyz\n"
            return 200, page, "text/plain; charset=utf-8"
        return 404, b"not found\n", "text/plain; charset=utf-8"


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
    line = await reader.readuntil(b"\r\n")
    if len(line) > MAX_REQUEST_LINE:
        raise ValueError("request line too long")
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise ValueError("malformed request line")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        h = await reader.readuntil(b"\r\n")
        if h in (b"\r\n", b"\n"):
            return parts[0], parts[1], headers
        name, sep, value = h.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    raise ValueError("too many headers")


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes, ctype: str, *,
                   head: bool, extra: Mapping[str, str] | None = None) -> None:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}",
             f"Content-Type: {ctype}", f"Content-Length: {len(body)}",
             "Cache-Control: no-store", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if not head:
        writer.write(body)
    await writer.drain()


def _json(obj: Mapping[str, Any]) -> bytes:
    return (json.dumps(obj, sort_keys=True, default=str) + "\n").encode()

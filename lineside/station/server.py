"""The station's HTTP(S) server in the agent's event loop (docs/station.md).

Plain HTTP only on a loopback address (the configuration refuses another without
certificates); with `tls_cert` and `tls_key`, HTTPS (TLS 1.2 or newer).
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from aiohttp import web

from lineside.config.listen import parse_listen
from lineside.station.app import Backend, StationApp

log = logging.getLogger(__name__)


class StationServer:
    def __init__(self, backend: Backend) -> None:
        cfg = backend.cfg.station
        assert cfg is not None
        self.cfg = cfg
        self.host, self.port = parse_listen(cfg.listen)
        self.tls = cfg.tls_cert is not None
        self.station = StationApp(backend, secure=self.tls)
        self._runner: web.AppRunner | None = None

    def _ssl(self) -> ssl.SSLContext | None:
        if self.cfg.tls_cert is None or self.cfg.tls_key is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cfg.tls_cert, self.cfg.tls_key)
        return ctx

    async def start(self) -> None:
        self._runner = web.AppRunner(self.station.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl())
        await site.start()
        server: Any = site._server  # the bound port when 0 was asked for
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        log.info("operator station on %s", self.url)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

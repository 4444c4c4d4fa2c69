"""HTTPS from the configured certificate files (docs/station.md): the station listens off
loopback only so, and its cookie is then Secure."""

from __future__ import annotations

import ssl
from pathlib import Path

import aiohttp

from lineside.station.server import StationServer
from tests.fixtures.common import free_port
from tests.fixtures.influxdb import make_test_ca
from tests.station.harness import backend_with_a_stop


async def test_the_station_serves_https_from_the_configured_files(tmp_path: Path) -> None:
    ca, cert, key = make_test_ca(tmp_path)
    b = backend_with_a_stop(tmp_path / "state")
    st = b.cfg.station
    assert st is not None
    b.cfg = b.cfg.model_copy(update={"station": st.model_copy(update={
        "listen": f"127.0.0.1:{free_port()}", "tls_cert": cert, "tls_key": key})})
    server = StationServer(b)
    await server.start()
    try:
        assert server.url.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context(cafile=str(ca))
        async with aiohttp.ClientSession() as s:
            async with s.get(server.url + "login", ssl=ctx) as r:
                assert r.status == 200
                assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
                cookie = r.headers["Set-Cookie"]
                assert "Secure" in cookie and "HttpOnly" in cookie
                assert "SameSite=Strict" in cookie
            # plain HTTP to the TLS port gets no page
            plain = server.url.replace("https://", "http://")
            try:
                async with s.get(plain + "login") as r:
                    assert r.status != 200
            except aiohttp.ClientError:
                pass  # the TLS server closes the connection: no page either way
    finally:
        await server.stop()

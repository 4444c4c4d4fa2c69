"""lineside's own v2 writer against influxdb-client, the reference.

`ReferenceV2` is what lineside used before (influxdb-client's InfluxDBClient and generated
WriteService). For every answer of the table, both writers send the same request (method,
path, query, credentials, encoding, body) to the scripted stand-in server and turn its
answer into the same outcome (accepted, or WriteError with the same status, message and
Retry-After).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import urllib3

from lineside.sinks.settings import InfluxV2Sink
from lineside.sinks.writers import (
    V2Transport,
    WriteError,
    _server_message,
    parse_retry_after,
    read_secret,
)
from tests.fixtures.common import free_port
from tests.fixtures.influxdb import Standin

pytestmark = pytest.mark.timeout(60)


class ReferenceV2:
    """The influxdb-client transport, kept as the reference."""

    def __init__(self, cfg: InfluxV2Sink) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.service.write_service import WriteService

        self.cfg = cfg
        token = read_secret(cfg.token_env, cfg.token_file, f"sink {cfg.id} token")
        self.client = InfluxDBClient(url=cfg.url, token=token or "", org=cfg.org or None,
                                     timeout=int(cfg.timeout_s * 1000), enable_gzip=False,
                                     retries=False)
        self.service = WriteService(self.client.api_client)

    def write(self, body: bytes) -> None:
        from influxdb_client.rest import ApiException

        kw = {}
        if self.cfg.gzip:
            body = gzip.compress(body, compresslevel=1)
            kw["content_encoding"] = "gzip"
        try:
            self.service.post_write(org=self.cfg.org or "", bucket=self.cfg.bucket, body=body,
                                    precision="ns", content_type="text/plain; charset=utf-8",
                                    **kw)
        except ApiException as e:
            headers = e.headers or {}
            raise WriteError(e.status or None, _server_message(e.body) or str(e.reason),
                             parse_retry_after(headers.get("Retry-After"))) from None
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise WriteError(None, f"{type(e).__name__}: {e}") from None

    def close(self) -> None:
        self.client.close()


BODY = b'signal,machine=m\\ 1,signal=temp value=71.5 1700000000000000000\nm v="x" 2'

ANSWERS: list[tuple[str, Any]] = [
    ("204 accepted", 204),
    ("200 accepted", (200, {}, "")),
    ("400 partial write, JSON message",
     (400, {"Content-Type": "application/json"},
      '{"code":"invalid","message":"partial write: field type conflict dropped=1"}')),
    ("400 without a body", (400, {}, "")),
    ("401 unauthorized", (401, {"Content-Type": "application/json"},
                          '{"code":"unauthorized","message":"unauthorized access"}')),
    ("413 too large", (413, {}, "Request Entity Too Large")),
    ("422 unprocessable", (422, {}, '{"error":"points beyond retention policy"}')),
    ("429 Retry-After seconds", (429, {"Retry-After": "7"}, "")),
    ("503 Retry-After date", (503, {"Retry-After": "Wed, 21 Oct 2037 07:28:00 GMT"}, "busy")),
    ("500 plain text", (500, {}, "internal error")),
]


def outcome(t: Any, body: bytes) -> tuple[Any, ...] | None:
    try:
        t.write(body)
    except WriteError as e:
        ra = None if e.retry_after is None else round(e.retry_after, -1)  # date: "now" moves
        return (e.status, e.message, ra)
    return None


def request(r: Any) -> tuple[Any, ...]:
    return (r.method, r.path, r.query, r.headers.get("Authorization"),
            r.headers.get("Content-Encoding"),
            r.headers.get("Content-Type", "").split(";")[0], r.body)


def sink(url: str, tmp: Path, **kw: Any) -> InfluxV2Sink:
    tok = tmp / "token"
    tok.write_text("tok-123\n")
    base: dict[str, Any] = {"type": "influxdb-v2", "id": "v2", "url": url, "org": "acme",
                            "bucket": "plant data", "token_file": tok}
    return InfluxV2Sink(**{**base, **kw})


@pytest.mark.parametrize("answer", [a for _, a in ANSWERS], ids=[n for n, _ in ANSWERS])
@pytest.mark.parametrize("options", [{}, {"gzip": False}, {"org": ""}], ids=["gzip", "plain",
                                                                             "no-org"])
def test_same_request_and_outcome_as_influxdb_client(http_standin: Standin, tmp_path: Path,
                                                     answer: Any, options: dict) -> None:
    cfg = sink(http_standin.url + "/", tmp_path, **options)
    got = []
    for make in (ReferenceV2, V2Transport):
        http_standin.requests.clear()
        http_standin.script(answer)
        t = make(cfg)
        try:
            result = outcome(t, BODY)
        finally:
            t.close()
        (req,) = http_standin.requests
        got.append((request(req), result))
    ref, ours = got
    assert ours == ref
    assert ours[0][:2] == ("POST", "/api/v2/write") and ours[0][-1] == BODY


def test_no_token_sends_no_authorization(http_standin: Standin, tmp_path: Path) -> None:
    cfg = sink(http_standin.url, tmp_path, token_file=None)
    got = []
    for make in (ReferenceV2, V2Transport):
        http_standin.requests.clear()
        t = make(cfg)
        t.write(BODY)
        t.close()
        got.append(request(http_standin.requests[0]))
    assert got[0] == got[1] and got[1][3] is None


def test_refused_connection_is_a_network_error_for_both(tmp_path: Path) -> None:
    cfg = sink(f"http://127.0.0.1:{free_port()}", tmp_path, timeout_s=2)
    for make in (ReferenceV2, V2Transport):
        t = make(cfg)
        with pytest.raises(WriteError) as e:
            t.write(BODY)
        t.close()
        assert e.value.status is None and e.value.message


def test_the_agent_writes_v2_without_importing_influxdb_client(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from lineside.sinks.sinkset import SinkSet; "
            "from lineside.sinks.settings import InfluxV2Sink; "
            "s = SinkSet([InfluxV2Sink(type='influxdb-v2', id='v2', url='http://127.0.0.1:9', "
            f"bucket='b')], {str(tmp_path)!r}); "
            "print('influxdb_client' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"

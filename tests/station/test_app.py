"""The station's pages over HTTP (aiohttp's test client): who may do what, CSRF,
throttling, escaping. The browser tests (test_browser.py) do the same through Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lineside.engine.emit import ns
from lineside.engine.reasons import MEASUREMENT
from lineside.station.app import StationApp
from lineside.station.journal import FILE_NAME, verify
from tests.station.harness import PASSWORDS, EngineBackend, backend_with_a_stop, csrf_of
from tests.station.test_reasons import T0

STOP = str(ns(T0 + 600))


@pytest.fixture
def backend(tmp_path: Path) -> EngineBackend:
    return backend_with_a_stop(tmp_path)


@pytest.fixture
async def client(backend: EngineBackend) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(StationApp(backend).app())) as c:
        yield c


async def login(client: TestClient, name: str, password: str | None = None) -> int:
    page = await (await client.get("/login")).text()
    r = await client.post("/login", data={"csrf": csrf_of(page), "user": name,
                                          "password": password or PASSWORDS[name][1]},
                          allow_redirects=False)
    return r.status


async def csrf(client: TestClient, path: str = "/stops") -> str:
    return csrf_of(await (await client.get(path)).text())


async def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/", "/live", "/stops", "/pareto", "/handover"):
        r = await client.get(path, allow_redirects=False)
        assert (r.status, r.headers["Location"]) == (303, "/login"), path
    assert await login(client, "wang", "not-the-password") == 401
    assert await login(client, "wang") == 303
    r = await client.get("/")
    assert r.status == 200 and "Content-Security-Policy" in r.headers
    assert 'hx-get="/live"' in await r.text()


async def test_an_expired_login_sends_the_live_refresh_to_the_login_page(
        client: TestClient) -> None:
    """htmx swaps what /live answers into the page: an expired session must not put the
    login form inside the live view, but make the whole page go there."""
    r = await client.get("/live", headers={"HX-Request": "true"}, allow_redirects=False)
    assert (r.status, r.headers["HX-Redirect"]) == (200, "/login")
    assert await r.text() == ""


async def test_an_operator_classifies_and_may_not_reclassify(client: TestClient,
                                                             backend: EngineBackend) -> None:
    await login(client, "wang")
    token = await csrf(client)
    r = await client.post("/classify", data={"csrf": token, "machine": "M1", "stop": STOP,
                                             "reason": "material"}, allow_redirects=False)
    assert r.status == 303
    entries = [p for p in backend.points if p.measurement == MEASUREMENT]
    assert [(p.tags["reason"], p.fields["seconds"], p.fields["by"]) for p in entries][-2:] \
        == [("unclassified", -600.0, "wang"), ("material", 600.0, "wang")]
    r = await client.post("/classify", data={"csrf": token, "machine": "M1", "stop": STOP,
                                             "reason": "belt"}, allow_redirects=False)
    assert r.status == 403
    assert len([p for p in backend.points if p.measurement == MEASUREMENT]) == 3


async def test_a_supervisor_reclassifies(client: TestClient, backend: EngineBackend) -> None:
    await login(client, "li")
    token = await csrf(client)
    for reason in ("material", "belt"):
        r = await client.post("/classify", data={"csrf": token, "machine": "M1",
                                                 "stop": STOP, "reason": reason},
                              allow_redirects=False)
        assert r.status == 303
    page = await (await client.get("/pareto")).text()
    assert 'data-reason="belt" data-seconds="600.0"' in page
    assert 'data-reason="material"' not in page
    journal = backend.cfg.state_dir / FILE_NAME
    assert verify(journal) == []
    assert [ln.count('"action":"reclassify"') for ln in journal.read_text().splitlines()] \
        == [0, 0, 1]  # login, classify (it had no reason), reclassify


async def test_a_viewer_only_looks(client: TestClient) -> None:
    await login(client, "zhao")
    assert (await client.get("/pareto")).status == 200
    r = await client.post("/classify", data={"csrf": await csrf(client), "machine": "M1",
                                             "stop": STOP, "reason": "belt"})
    assert r.status == 403


async def test_a_form_without_its_csrf_token_is_refused(client: TestClient,
                                                        backend: EngineBackend) -> None:
    await login(client, "li")
    for data in ({}, {"csrf": "forged"}):
        r = await client.post("/classify", data={**data, "machine": "M1", "stop": STOP,
                                                 "reason": "belt"}, allow_redirects=False)
        assert r.status == 403
    r = await client.post("/handover/note", data={"text": "hi"}, allow_redirects=False)
    assert r.status == 403
    assert not [p for p in backend.points
                if p.measurement == MEASUREMENT and p.fields["entry"] != "stop"]
    # the login form too: a visitor's post without the token
    client.session.cookie_jar.clear()
    r = await client.post("/login", data={"user": "li", "password": PASSWORDS["li"][1]},
                          allow_redirects=False)
    assert r.status == 403


async def test_a_note_is_shown_as_text(client: TestClient) -> None:
    await login(client, "wang")
    note = '<script>alert("x")</script> & <b>oil</b>'
    r = await client.post("/handover/note", data={"csrf": await csrf(client, "/handover"),
                                                  "text": note})
    page = await r.text()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;oil&lt;/b&gt;" in page
    assert "<script>alert" not in page


async def test_five_wrong_passwords_are_throttled(client: TestClient) -> None:
    for _ in range(5):
        assert await login(client, "li", "guess-guess") == 401
    assert await login(client, "li") == 429  # even the right one, while locked
    assert await login(client, "wang") == 429  # the address is locked too


async def test_a_changed_password_ends_the_session(client: TestClient,
                                                   backend: EngineBackend) -> None:
    from lineside.station.users import UserStore

    await login(client, "wang")
    assert (await client.get("/", allow_redirects=False)).status == 200
    UserStore(backend.cfg.state_dir).passwd("wang", "a-new-password")
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_a_session_expires(client: TestClient, backend: EngineBackend) -> None:
    await login(client, "wang")
    backend.t += 480 * 60 + 1  # session_minutes without use
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_between_shifts_the_handover_is_the_shift_that_closed(tmp_path: Path) -> None:
    """The outgoing lead signs after the end of the shift: the page shows that shift's
    line figures (its oee_shift points) and its stops, and the signature records them."""
    import datetime as dt
    import json

    from lineside.config.plant import Calendar, Shift
    from lineside.station.users import UserStore
    from tests.station.test_reasons import IDLE, PRODUCING, states
    from tests.station.tree import plant

    cfg = plant().model_copy(update={
        "state_dir": tmp_path, "calendar": Calendar(shifts=[
            Shift(name="early", start=dt.time(8), end=dt.time(8, 30))])})
    cfg = cfg.model_copy(update={"site": cfg.site.model_copy(update={"locale": "en"})})
    b = EngineBackend(cfg, T0)
    UserStore(tmp_path).add("li", "supervisor", PASSWORDS["li"][1])
    station = StationApp(b)
    b.on_samples(sorted(
        states("M1", [(T0, PRODUCING), (T0 + 600, IDLE), (T0 + 1200, PRODUCING),
                      (T0 + 2100, PRODUCING)])
        + states("M2", [(T0, PRODUCING), (T0 + 2100, PRODUCING)]), key=lambda s: s.ts))
    b.tick(T0 + 2100)  # 08:35: the shift closed at 08:30
    async with TestClient(TestServer(station.app())) as client:
        await login(client, "li")
        page = await (await client.get("/handover")).text()
        assert "Shift early 2026-11-30" in page
        # the line: (1800 - 600 + 1800) s producing of 3600 s planned busy
        row = page[page.index('data-line="L1"'):]
        assert row.index("83.3%") < row.index("</tr>")
        assert "Classified: 0.0% of the stop time" in page  # the 600 s stop, unexplained
        await client.post("/handover/sign", data={"csrf": csrf_of(page)})
    signed = [json.loads(x) for x in (tmp_path / FILE_NAME).read_text().splitlines()][-1]
    assert signed["action"] == "sign" and signed["data"]["period"] == "shift early 2026-11-30"
    assert round(signed["data"]["lines"]["L1"]["availability"], 4) == 0.8333


async def test_a_lasting_stop_with_a_mapped_fault_code_awaits_nobody(tmp_path: Path) -> None:
    """The PLC's code 12 gives the stop `motor` when it ends: while it lasts the page
    shows that reason already, and the line's count of stops awaiting a reason leaves it
    out (the idle stop before it is still awaited)."""
    from lineside.station.users import UserStore
    from tests.station.test_reasons import FAULT, IDLE, PRODUCING, states
    from tests.station.tree import plant

    cfg = plant().model_copy(update={"state_dir": tmp_path})
    cfg = cfg.model_copy(update={"site": cfg.site.model_copy(update={"locale": "en"})})
    b = EngineBackend(cfg, T0)
    UserStore(tmp_path).add("wang", "operator", PASSWORDS["wang"][1])
    b.on_samples(sorted(
        states("M1", [(T0, PRODUCING), (T0 + 60, IDLE), (T0 + 600, FAULT(12)),
                      (T0 + 1800, FAULT(12))])
        + states("M2", [(T0, PRODUCING), (T0 + 1800, PRODUCING)]), key=lambda s: s.ts))
    b.tick(T0 + 1800)
    async with TestClient(TestServer(StationApp(b).app())) as client:
        await login(client, "wang")
        page = await (await client.get("/stops?line=L1")).text()
        fault = page[page.index(f'id="stop-M1-{ns(T0 + 600)}"'):]
        assert fault.index("电机过载 · plc") < fault.index("</summary>")
        live = await (await client.get("/live")).text()
        assert "1 awaiting a reason" in live


async def test_without_ccps_or_lots_the_pages_say_so(client: TestClient) -> None:
    await login(client, "wang")
    devs = await (await client.get("/deviations")).text()
    assert "No critical control points are configured." in devs
    lots = await (await client.get("/lots")).text()
    assert "No lots." in lots and lots.count('class="lot-now">no lot<') == 1

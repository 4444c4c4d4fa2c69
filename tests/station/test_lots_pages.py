"""The lots and deviations pages over HTTP (aiohttp's test client) on the case
`deviation-spanning-a-lot-change` (a deviation during lots 1201 and 1202): what they
list, in English, and who may enter what. test_deviations.py does it in the browser
against the real agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lineside.config.ccp import CorrectiveAction
from lineside.config.loader import load_config
from lineside.config.station import Station
from lineside.engine.actions import deviation_id
from lineside.samplelog import read_samples
from lineside.station.app import StationApp
from lineside.station.journal import FILE_NAME, verify
from lineside.station.users import UserStore
from tests.station.agent_thread import add_users
from tests.station.harness import EngineBackend, csrf_of
from tests.station.tree import TREE

CASE = Path(__file__).resolve().parents[1] / "cases" / "deviation-spanning-a-lot-change"
DEV = deviation_id("s1", "hold", "limit", 1796019300_000_000_000)
LATER = 1796022000.0
USERS = {"li": ("supervisor", "li-password"), "chen": ("qa", "chen-password"),
         "zhao": ("viewer", "zhao-password"), "wang": ("operator", "wang-password")}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    cfg = load_config(CASE / "config.yaml")
    cfg = cfg.model_copy(update={
        "site": cfg.site.model_copy(update={"locale": "en"}), "state_dir": tmp_path,
        "station": Station(categories=TREE),
        "corrective_actions": [CorrectiveAction(id="reprocess", name="Re-pasteurize")]})
    samples = list(read_samples(CASE / "samples.jsonl"))
    b = EngineBackend(cfg, samples[0].ts)
    station = StationApp(b)  # listening from the start, as in the agent
    b.on_samples(samples)
    b.tick(LATER)
    add_users(tmp_path, USERS)
    async with TestClient(TestServer(station.app())) as c:
        c.backend = b  # type: ignore[attr-defined]
        yield c


async def login(client: TestClient, name: str) -> str:
    page = await (await client.get("/login")).text()
    r = await client.post("/login", data={"csrf": csrf_of(page), "user": name,
                                          "password": USERS[name][1]})
    assert r.status == 200
    return csrf_of(await r.text())


async def test_the_pages_list_lots_and_deviations(client: TestClient) -> None:
    await login(client, "zhao")
    lots = await (await client.get("/lots")).text()
    for lot in ("1201", "1202", "1203"):
        assert f'data-lot="{lot}"' in lots
    row = lots[lots.index('data-lot="1202"'):]
    row = row[:row.index("</tr>")]
    assert "hold" in row and "not decided yet" in row  # the CCP's id, as it has no name
    devs = await (await client.get("/deviations")).text()
    assert f'data-deviation="{DEV}"' in devs and "Critical limit deviation" in devs
    assert 'data-lot="1201"' in devs and 'data-lot="1202"' in devs
    assert 'data-lot="1203"' not in devs  # after the deviation: not affected
    assert "awaiting a corrective action" in devs
    assert "<form" not in devs[devs.index("<main>"):].replace('action="/logout"', "")
    # the handover of shift A (06:00-07:00, closed) lists it with its status
    handover = await (await client.get("/handover")).text()
    assert "Shift A 2026-11-30" in handover
    row = handover[handover.index(f'data-deviation="{DEV}"'):]
    row = row[:row.index("</tr>")]
    assert "1201 (not decided yet)" in row and "awaiting a corrective action" in row


async def test_who_may_enter_what(client: TestClient) -> None:
    b = client.backend  # type: ignore[attr-defined]
    csrf = await login(client, "wang")  # an operator: sees, enters nothing
    for path, form in (("/deviations/action", {"action": "reprocess"}),
                       ("/deviations/dispose", {"lot": "1201", "disposition": "hold"}),
                       ("/deviations/verify", {})):
        r = await client.post(path, data={"csrf": csrf, "deviation": DEV, **form},
                              allow_redirects=False)
        assert r.status == 403, path
    csrf = await login(client, "li")  # a supervisor: action and disposition, no verifying
    r = await client.post("/deviations/action", data={"deviation": DEV, "action": "reprocess"},
                          allow_redirects=False)
    assert r.status == 403  # no CSRF token
    r = await client.post("/deviations/action", data={
        "csrf": csrf, "deviation": DEV, "action": "reprocess", "text": "75 °C"},
        allow_redirects=False)
    assert r.status == 303
    r = await client.post("/deviations/dispose", data={
        "csrf": csrf, "deviation": DEV, "lot": "1203", "disposition": "hold"})
    assert r.status == 409 and "is not an affected lot" in await r.text()
    r = await client.post("/deviations/dispose", data={
        "csrf": csrf, "deviation": DEV, "lot": "1201", "disposition": "hold"})
    assert r.status == 200
    r = await client.post("/deviations/verify", data={"csrf": csrf, "deviation": DEV},
                          allow_redirects=False)
    assert r.status == 403
    csrf = await login(client, "chen")
    r = await client.post("/deviations/verify", data={"csrf": csrf, "deviation": DEV,
                                                      "text": "checked"})
    page = await r.text()
    assert r.status == 200 and "Verified by chen" in page and "Re-pasteurize" in page
    recs = [(p.tags["entry"], p.fields["by"]) for p in b.points
            if p.measurement == "ccp_action"]
    assert recs == [("action", "li"), ("disposition", "li"), ("verification", "chen")]
    assert [s.signal for s in b.samples[-3:]] == ["@haccp.entry"] * 3
    # the entries are samples: a replay of what was fed writes the same records
    from lineside.engine.replay import replay

    replayed = [p for p in replay(b.cfg, b.samples) if p.measurement == "ccp_action"]
    assert replayed == [p for p in b.points if p.measurement == "ccp_action"]
    state = Path(b.cfg.state_dir)
    assert verify(state / FILE_NAME) == []
    lots = await (await client.get("/lots")).text()
    row = lots[lots.index('data-lot="1201"'):]
    assert "Hold" in row[:row.index("</tr>")]


async def test_a_deviation_the_engine_closed_stays_on_the_page(client: TestClient) -> None:
    """Verified and every lot disposed of: the engine drops it from its book at the next
    bucket (docs/haccp.md); the page still shows it, from the station's memory, with no
    form left."""
    b = client.backend  # type: ignore[attr-defined]
    csrf = await login(client, "li")
    for path, form in (("/deviations/action", {"action": "reprocess"}),
                       ("/deviations/dispose", {"lot": "1201", "disposition": "rework"}),
                       ("/deviations/dispose", {"lot": "1202", "disposition": "release",
                                                "justification": "lab test negative"})):
        r = await client.post(path, data={"csrf": csrf, "deviation": DEV, **form},
                              allow_redirects=False)
        assert r.status == 303, await r.text()
    csrf = await login(client, "chen")
    r = await client.post("/deviations/verify", data={"csrf": csrf, "deviation": DEV})
    assert r.status == 200
    b.tick(LATER + 180)
    b.on_samples([])  # the next feed drops it
    b.tick(LATER + 240)
    assert DEV not in b.engine.actions.deviations
    page = await (await client.get("/deviations")).text()
    card = page[page.index(f'data-deviation="{DEV}"'):]
    assert "Verified by chen" in card and "Re-pasteurize" in card
    assert "Rework" in card and "lab test negative" in card
    assert "<form" not in card.replace('action="/logout"', "")
    lots = await (await client.get("/lots")).text()
    row = lots[lots.index('data-lot="1202"'):]
    assert "Release" in row[:row.index("</tr>")]


async def test_a_cold_room_is_shown_as_itself(tmp_path: Path) -> None:
    """Monitoring-only equipment (case cold-room-beside-the-line) on the live view: by
    its name and kind, no state or figures."""
    case = CASE.parent / "cold-room-beside-the-line"
    cfg = load_config(case / "config.yaml")
    cfg = cfg.model_copy(update={
        "site": cfg.site.model_copy(update={"locale": "en"}), "state_dir": tmp_path,
        "station": Station(categories=TREE)})
    samples = list(read_samples(case / "samples.jsonl"))
    b = EngineBackend(cfg, samples[0].ts)
    station = StationApp(b)
    b.on_samples(samples)
    UserStore(tmp_path).add("zhao", *USERS["zhao"])
    async with TestClient(TestServer(station.app())) as c:
        await login(c, "zhao")
        live = await (await c.get("/live")).text()
    assert '<li class="unit"><b>成品冷库</b> cold room</li>' in live


async def test_a_lot_started_and_ended_at_the_station_has_its_counts(tmp_path: Path) -> None:
    """An operator starts lot A-7 on the line and ends it: `@lot` samples like `lineside
    lot start|end`; the units M1's good counter added meanwhile are the lot's count."""
    from lineside.samples import Quality, Sample
    from tests.station.harness import PASSWORDS, backend_with_a_stop

    b = backend_with_a_stop(tmp_path, locale="en")  # M1 and M2 (good counters) on L1
    t = b.t
    b.on_samples([Sample("M1.good", 100, Quality.GOOD, t), Sample("M2.good", 7, Quality.GOOD, t)])
    async with TestClient(TestServer(StationApp(b).app())) as c:
        page = await (await c.get("/login")).text()
        await c.post("/login", data={"csrf": csrf_of(page), "user": "wang",
                                     "password": PASSWORDS["wang"][1]})
        csrf = csrf_of(await (await c.get("/lots")).text())
        r = await c.post("/lots/start", data={"csrf": csrf, "line": "L1", "lot": "A-7"})
        assert r.status == 200 and "Saved." in await r.text()
        r = await c.post("/lots/start", data={"csrf": csrf, "line": "L9", "lot": "A-8"})
        assert r.status == 409 and "no line" in await r.text()
        b.t = t + 60
        b.on_samples([Sample("M1.good", 160, Quality.GOOD, t + 60)])
        r = await c.post("/lots/end", data={"csrf": csrf, "line": "L1", "lot": "A-7"})
        lots = await r.text()
        b.t = t + 120
        csrf = csrf_of(lots)
        r = await c.post("/lots/end", data={"csrf": csrf, "line": "L1", "lot": "A-7"})
        assert r.status == 409  # not running any more
    row = lots[lots.index('data-lot="A-7"'):]
    row = row[:row.index("</tr>")]
    assert "M1" in row and "60 / – / –" in row and "0 / – / –" in row, row
    assert [s.signal for s in b.samples].count("@lot") == 2

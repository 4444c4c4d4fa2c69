"""The handover survives a restart of the real agent (docs/station.md, "What the station
keeps"): a shift closes, the lead writes a note between shifts, the agent stops and
starts again on the same state directory, and the handover page shows the same shift,
the same line figures and the same note."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lineside.config.plant import Calendar, Shift
from lineside.station.memory import FILE_NAME
from lineside.station.users import UserStore
from tests.fixtures.common import wait_for
from tests.station.agent_thread import AgentThread, plant_config
from tests.station.web import Visitor

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(180)]


def _section(page: str, start: str, end: str) -> str:
    i = page.index(start)
    return page[i:page.index(end, i)]


def test_the_handover_survives_a_restart(tmp_path: Path, influxdb1: Any) -> None:
    db = f"station_restart_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    cfg = plant_config(tmp_path / "state", influxdb1.url, db, locale="en")
    tz = ZoneInfo(cfg.site.timezone)
    now = time.time()
    start = dt.datetime.fromtimestamp(now - 300, tz).time().replace(microsecond=0)
    end = dt.datetime.fromtimestamp(now + 6, tz).time().replace(microsecond=0)
    cfg = cfg.model_copy(update={"calendar": Calendar(shifts=[
        Shift(name="early", start=start, end=end, overnight=end < start)])})
    UserStore(cfg.state_dir).add("li", "supervisor", "supervisor-pw")

    a = AgentThread(cfg).start()
    try:
        a.plc("M1", running=True)
        a.plc("M2", running=False)
        station = a.agent.station.station
        wait_for(lambda: station.memory.last_shift is not None, timeout=30,
                 what="the shift closed")
        lead = Visitor(a.url)
        lead.login("li", "supervisor-pw")
        lead.post("/handover/note", {"text": "炸锅2 待修 & oil changed"})
        _, before = lead.get("/handover")
    finally:
        a.stop()
    assert (Path(cfg.state_dir) / FILE_NAME).exists()
    assert "Shift early" in before and "炸锅2 待修 &amp; oil changed" in before
    figures = _section(before, '<table class="lines">', "</table>")
    assert re.search(r"\d+\.\d%", figures), figures  # the closed shift's OEE, not a dash

    b = AgentThread(cfg).start()
    try:
        lead = Visitor(b.url)
        lead.login("li", "supervisor-pw")
        _, after = lead.get("/handover")
    finally:
        b.stop()
    assert _section(after, "<h1>", "</h1>") == _section(before, "<h1>", "</h1>")
    assert _section(after, '<table class="lines">', "</table>") == figures
    assert _section(after, '<ul class="notes"', "</ul>") == \
        _section(before, '<ul class="notes"', "</ul>")

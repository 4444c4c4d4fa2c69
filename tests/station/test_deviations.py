"""Issue 27 at the station, in a real browser (Chromium, chromium-driver, selenium)
against the real agent delivering to InfluxDB 1.6: an operator starts a lot on the
lots page, the CCP deviates during it, a QA user records the corrective action and the
lot's disposition, the same user verifying is refused with the reason shown, a second
QA user verifies, an operator gets 403; the entries are `ccp_action` records in
InfluxDB that `lineside haccp` shows and `haccp verify` proves, as does `lineside lot`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from lineside.config.models import LinesideConfig
from lineside.engine.actions import deviation_id
from lineside.engine.emit import ns
from lineside.samples import Quality, Sample
from tests.fixtures.common import wait_for
from tests.station.agent_thread import AgentThread, plant_config, running
from tests.station.test_browser import chrome, post_status, submit  # noqa: F401 (fixture)

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(240)]

USERS = {"wang": ("qa", "wang-password"), "chen": ("qa", "chen-password"),
         "zhang": ("operator", "zhang-password")}


@pytest.fixture
def agent(tmp_path: Path, influxdb1: Any) -> Iterator[AgentThread]:
    db = f"station_dev_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    d = plant_config(tmp_path / "state", influxdb1.url, db).model_dump(
        mode="json", exclude_none=True)
    d["lines"][0]["stages"][0]["machines"][0]["signals"]["temp"] = {
        "address": 5, "type": "int16"}
    d["ccps"] = [{"id": "oil", "name": "炸油温度", "kind": "frying",
                  "hazard": "undercooking", "machine": "M1", "signal": "temp",
                  "critical": {"min": 160.0}, "monitoring_interval_s": 7200}]
    d["devices"][0]["interval_s"] = 3600
    d["corrective_actions"] = [{"id": "reheat", "name": "重新加热"},
                               {"id": "oil-change", "name": "换油"}]
    cfg = LinesideConfig(**d)
    with running(cfg, db, USERS) as a:
        yield a


def login(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "user").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(USERS[name][1])
    submit(driver, driver.find_element(By.ID, "login"))


def fits_a_tablet(driver: Any) -> list[str]:
    """What does not fit 1280 px wide, and tap targets under 48 px (docs/station.md)."""
    return list(driver.execute_script("""
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth)
          out.push('page ' + document.documentElement.scrollWidth + ' px wide');
        const taps = 'main button, main input:not([type=hidden]), main select';
        for (const e of document.querySelectorAll(taps)) {
          const r = e.getBoundingClientRect();
          if (r.height < 48) out.push(e.outerHTML.slice(0, 80) + ' ' + r.height + ' px high');
        }
        return out;"""))


def test_lot_action_disposition_and_verification(agent: AgentThread, chrome: Any,  # noqa: F811
                                                 influxdb1: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, db = agent.url, agent.db  # type: ignore[attr-defined]

    # An operator starts lot B-1207 on the line from the lots page.
    login(chrome, base, "zhang")
    chrome.get(base + "/lots")
    form = chrome.find_element(By.CSS_SELECTOR, "article[data-line='L1'] form.lot-form")
    form.find_element(By.NAME, "lot").send_keys("B-1207")
    submit(chrome, form.find_element(By.TAG_NAME, "button"))
    assert chrome.find_element(By.CSS_SELECTOR, "article[data-line='L1'] .lot-now").text \
        == "B-1207"

    # The oil falls below 160 °C during the lot: a deviation, ended at once.
    def temp(v: float) -> float:
        t = time.time()
        agent.call(agent.agent.on_samples, [Sample("M1.temp", v, Quality.GOOD, t)])
        return t

    agent.plc("M1", running=True)
    temp(170.0)
    start = temp(150.0)
    time.sleep(0.3)
    temp(170.0)
    agent.call(agent.agent.tick)
    dev = deviation_id("s1", "oil", "limit", ns(start))
    wait_for(lambda: agent.call(lambda: "B-1207" in agent.agent.engine.actions
                                .deviations[dev].lots), timeout=20,
             what="the lot listed as affected")

    # The operator sees it, with names, and may not enter anything (403).
    chrome.get(base + "/deviations")
    card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
    assert "炸油温度" in card.text and "炸锅1" in card.text and "卤牛肉线" in card.text
    assert "B-1207" in card.text and "待纠偏" in card.text
    assert not card.find_elements(By.TAG_NAME, "form")
    csrf = chrome.find_element(By.NAME, "csrf").get_attribute("value")
    assert post_status(chrome, "/deviations/action", {
        "csrf": csrf, "deviation": dev, "action": "reheat"}) == 403

    # QA (wang) records the action and the lot's disposition.
    login(chrome, base, "wang")
    chrome.get(base + "/deviations")
    assert fits_a_tablet(chrome) == []
    card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
    action = card.find_element(By.CSS_SELECTOR, "form.action")
    Select(action.find_element(By.NAME, "action")).select_by_visible_text("重新加热")
    action.find_element(By.NAME, "text").send_keys("油温回升至 170 °C <b>ok</b>")
    submit(chrome, action.find_element(By.TAG_NAME, "button"))
    assert "已保存" in chrome.find_element(By.CSS_SELECTOR, ".ok").text

    def dispose(disposition: str, justification: str) -> None:
        card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
        f = card.find_element(By.CSS_SELECTOR, "tr[data-lot='B-1207'] form.dispose")
        Select(f.find_element(By.NAME, "disposition")).select_by_value(disposition)
        f.find_element(By.NAME, "justification").send_keys(justification)
        submit(chrome, f.find_element(By.TAG_NAME, "button"))

    dispose("release", "")  # a release without a justification: refused, said why
    assert chrome.find_element(By.ID, "message").text == "未执行：放行需要填写理由"
    chrome.get(base + "/deviations")
    dispose("release", "复检合格")
    card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
    assert "放行" in card.find_element(By.CSS_SELECTOR, "tr[data-lot='B-1207']").text
    assert "油温回升至 170 °C <b>ok</b>" in card.find_element(By.CSS_SELECTOR,
                                                              ".actions").text
    assert "待验证" in card.text

    # The action's author verifying: refused, with the reason shown.
    card.find_element(By.CSS_SELECTOR, "form.verify input[name=text]").send_keys("自查")
    submit(chrome, card.find_element(By.CSS_SELECTOR, "form.verify button"))
    assert chrome.find_element(By.ID, "message").text == \
        "未执行：纠偏措施的记录人不能验证该措施"

    # A second QA user verifies.
    login(chrome, base, "chen")
    chrome.get(base + "/deviations")
    card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
    card.find_element(By.CSS_SELECTOR, "form.verify input[name=text]").send_keys("记录已核对")
    submit(chrome, card.find_element(By.CSS_SELECTOR, "form.verify button"))
    card = chrome.find_element(By.CSS_SELECTOR, f"article[data-deviation='{dev}']")
    assert "已验证" in card.text and "chen" in card.find_element(By.CSS_SELECTOR,
                                                                  ".verified").text
    assert not card.find_elements(By.TAG_NAME, "form")  # verified: nothing more to enter

    # The lots page: the lot, its span so far, the deviation that affected it, its fate.
    chrome.get(base + "/lots")
    assert fits_a_tablet(chrome) == []
    row = chrome.find_element(By.CSS_SELECTOR, "#lots tr[data-lot='B-1207']")
    assert "炸油温度" in row.text and "放行" in row.text and "炸锅1" in row.text

    # The records in InfluxDB 1.6, chained, shown and proven by `lineside haccp`.
    def rows() -> list[dict[str, Any]]:
        return influxdb1.rows('SELECT * FROM "ccp_action"', db=db)

    wait_for(lambda: len(rows()) == 3, timeout=30, what="three ccp_action records")
    got = sorted((r["entry"], r["by"], r.get("action") or r.get("disposition") or "")
                 for r in rows())
    assert got == [("action", "wang", "reheat"), ("disposition", "wang", "release"),
                   ("verification", "chen", "")]
    src = ["--url", influxdb1.url, "--db", db]
    ok = subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", "verify", *src],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the HACCP record of the day shows them beside the deviation
    day = dt.datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).date().isoformat()
    rec = subprocess.run([sys.executable, "-m", "lineside.cli", "haccp", *src, "--day", day,
                          "--tz", "Asia/Shanghai", "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert rec.returncode == 0, rec.stdout + rec.stderr
    shown = json.dumps(json.loads(rec.stdout), ensure_ascii=False)
    for said in ("油温回升至 170 °C <b>ok</b>", "复检合格", "chen", "B-1207", dev):
        assert said in shown, (said, shown[:2000])
    # the lot's traceability record (`lineside lot`, read from InfluxDB) has them
    lot = subprocess.run([sys.executable, "-m", "lineside.cli", "lot", "B-1207", *src,
                          "--format", "json"], capture_output=True, text=True, timeout=60)
    assert lot.returncode == 0, lot.stdout + lot.stderr
    shown = json.dumps(json.loads(lot.stdout), ensure_ascii=False)
    for said in ("reheat", "油温回升至 170 °C <b>ok</b>", "release", "复检合格", "chen",
                 "记录已核对"):
        assert said in shown, (said, shown[:2000])

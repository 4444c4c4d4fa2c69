"""Done when (issue 26), in a real browser: Chromium through chromium-driver and selenium,
against the real agent serving the station and delivering to InfluxDB 1.6.

An operator logs in and classifies a stop: the Pareto and the InfluxDB sums move by
exactly that stop's seconds; a supervisor reclassifies and the sums stay exact; an
operator cannot reclassify (403); a form without its CSRF token is refused; a note with
<script> is shown as text; five wrong passwords are throttled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lineside.engine.emit import ns
from tests.bureau.paper import browser
from tests.fixtures.common import wait_for
from tests.station.agent_thread import AgentThread, plant_config, running

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

USERS = {"wang": ("operator", "operator-pw"), "li": ("supervisor", "supervisor-pw")}


@pytest.fixture
def agent(tmp_path: Path, influxdb1: Any) -> Iterator[AgentThread]:
    db = f"station_{int(time.time() * 1000)}"
    influxdb1.create_db(db)
    cfg = plant_config(tmp_path / "state", influxdb1.url, db)
    with running(cfg, db, USERS) as a:
        yield a


@pytest.fixture
def chrome() -> Iterator[Any]:
    with browser() as driver:
        driver.set_window_size(1280, 800)  # a 10-inch tablet, landscape
        driver.set_page_load_timeout(20)
        yield driver


def login(driver: Any, base: str, name: str, password: str | None = None) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.ID, "user").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password or USERS[name][1])
    submit(driver, driver.find_element(By.ID, "login"))


def submit(driver: Any, button: Any) -> None:
    """Click, and wait for the page the form leads to (the old one goes stale)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_: Any) -> bool:
        try:
            button.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as e:  # asked while the old document is being replaced
            if "does not belong to the document" in str(e):
                return True
            raise
        return False

    button.click()
    WebDriverWait(driver, 15).until(gone)


def tap_reason(driver: Any, base: str, machine: str, start_ns: int, reason: str) -> None:
    """The two taps: the stop, then the reason."""
    from selenium.webdriver.common.by import By

    driver.get(base + "/stops?line=L1")
    row = driver.find_element(By.ID, f"stop-{machine}-{start_ns}")
    row.find_element(By.TAG_NAME, "summary").click()
    submit(driver, row.find_element(By.CSS_SELECTOR, f"button[value='{reason}']"))


def pareto_seconds(driver: Any, base: str) -> dict[str, float]:
    from selenium.webdriver.common.by import By

    driver.get(base + "/pareto?range=day")
    return {tr.get_attribute("data-reason"): float(tr.get_attribute("data-seconds"))
            for tr in driver.find_elements(By.CSS_SELECTOR, "#pareto tbody tr")}


def influx_sums(influxdb1: Any, db: str) -> dict[str, float]:
    rows = influxdb1.rows("SELECT sum(seconds) AS s FROM downtime_reason GROUP BY reason",
                          db=db)
    return {r["reason"]: round(r["s"], 6) for r in rows}


def make_stop(agent: AgentThread, machine: str = "M1") -> tuple[int, float]:
    """An idle stop of about 1.5 s (min_stop_s is 1): its start (ns) and its seconds."""
    agent.plc(machine, running=True)
    time.sleep(0.2)
    start = agent.plc(machine, running=False)
    time.sleep(1.5)
    agent.plc(machine, running=True)
    agent.call(agent.agent.tick)  # time moves past the change: the engine reads it
    stop = agent.call(lambda: agent.agent.engine.reasons.find(machine, ns(start)))
    assert stop is not None and stop.end is not None
    return ns(start), stop.seconds


def post_status(driver: Any, path: str, fields: dict[str, str]) -> int:
    """What the server answers a form POSTed from the page (the browser's own fetch)."""
    return int(driver.execute_async_script("""
        const [path, fields, done] = arguments;
        fetch(path, {method: 'POST', body: new URLSearchParams(fields), redirect: 'manual'})
          .then(r => done(r.status));""", path, fields))


def test_classify_reclassify_and_the_sums_stay_exact(agent: AgentThread, chrome: Any,
                                                     influxdb1: Any) -> None:
    from selenium.webdriver.common.by import By

    base, db = agent.url, agent.db  # type: ignore[attr-defined]
    start_ns, secs = make_stop(agent)
    wait_for(lambda: influx_sums(influxdb1, db) == {"unclassified": secs}, timeout=20,
             what="the stop in InfluxDB, unclassified")

    login(chrome, base, "wang")
    assert pareto_seconds(chrome, base) == {"unclassified": secs}
    tap_reason(chrome, base, "M1", start_ns, "material")
    assert "已保存" in chrome.find_element(By.CSS_SELECTOR, ".ok").text
    assert pareto_seconds(chrome, base) == {"material": secs}
    assert chrome.find_element(By.ID, "classified").text == "已归类：停机时间的 100.0%"
    wait_for(lambda: influx_sums(influxdb1, db) == {"unclassified": 0.0, "material": secs},
             timeout=20, what="InfluxDB moved by the stop's seconds")

    # The operator may not change a reason: 403, nothing moves.
    tap_reason(chrome, base, "M1", start_ns, "belt")
    assert chrome.find_element(By.ID, "message").text == "您的角色无权执行此操作。"
    chrome.get(base + "/stops?line=L1")
    csrf = chrome.find_element(By.NAME, "csrf").get_attribute("value")
    assert post_status(chrome, "/classify", {"csrf": csrf, "machine": "M1",
                                             "stop": str(start_ns), "reason": "belt"}) == 403

    # A supervisor reclassifies: the sums stay exact, every point kept.
    login(chrome, base, "li")
    tap_reason(chrome, base, "M1", start_ns, "belt")
    assert pareto_seconds(chrome, base) == {"belt": secs}
    wait_for(lambda: influx_sums(influxdb1, db) == {"unclassified": 0.0, "material": 0.0,
                                                    "belt": secs},
             timeout=20, what="InfluxDB after the reclassification")
    n = influxdb1.rows("SELECT count(seconds) AS n FROM downtime_reason", db=db)[0]["n"]
    assert n == 5  # stop, retract, assign, retract, assign: nothing rewritten


def test_csrf_script_notes_and_throttling(agent: AgentThread, chrome: Any) -> None:
    from selenium.webdriver.common.by import By

    base = agent.url
    start_ns, _ = make_stop(agent)
    login(chrome, base, "li")
    chrome.get(base + "/stops?line=L1")
    # A form without its CSRF token, or with another session's, is refused.
    for csrf in ({}, {"csrf": "x" * 43}):
        assert post_status(chrome, "/classify", {**csrf, "machine": "M1",
                                                 "stop": str(start_ns),
                                                 "reason": "belt"}) == 403
    assert agent.call(lambda: agent.agent.engine.reasons.find("M1", start_ns).reason) \
        == "unclassified"

    # A note with <script> is shown as text and runs nothing.
    note = "<script>document.title='pwned'</script> 油温偏高 & <b>换油</b>"
    chrome.get(base + "/handover")
    chrome.find_element(By.ID, "note").send_keys(note)
    submit(chrome, chrome.find_element(By.ID, "add-note"))
    shown = chrome.find_elements(By.CSS_SELECTOR, "#notes .note-text")
    assert [e.text for e in shown] == [note]
    assert chrome.title == "操作站" and not chrome.find_elements(By.CSS_SELECTOR, "#notes b")

    # Five wrong passwords: throttled, even the right one after them.
    for _ in range(5):
        login(chrome, base, "wang", "wrong-password")
        assert chrome.find_element(By.ID, "error").text == "用户名或密码错误。"
    login(chrome, base, "wang")
    assert "密码错误次数过多" in chrome.find_element(By.ID, "error").text
    assert chrome.current_url.endswith("/login")

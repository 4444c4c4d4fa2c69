"""`lineside demo` serves the station: its banner names the address and two users who
can log in and see the demo plant's lines (README, docs/station.md)."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]


def test_the_demo_serves_the_station_with_its_users(tmp_path: Path) -> None:
    # At 10x (300 simulated s: still 30 s of wall clock to log in) the demo stops within
    # a second of SIGTERM instead of 4-5: at 1x it first waits out its baseline scans
    # and the scan grid in real seconds. The station's pages do not depend on the speed.
    proc = subprocess.Popen(
        [sys.executable, "-m", "lineside.cli", "demo", "--duration", "300", "--speed", "10",
         "--no-live", "--modbus-port", "0", "--opcua-port", "0",
         "--state-dir", str(tmp_path / "st")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "operator station on" in line:
                break
        m = re.search(r"on (http://127\.0\.0\.1:\d+/) — log in as operator / (\S+), "
                      r"supervisor / (\S+)", line)
        assert m, line
        url, operator_pw = m.group(1), m.group(2)
        jar = http.cookiejar.CookieJar()
        web = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = web.open(url + "login", timeout=10).read().decode()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        assert csrf
        form = urllib.parse.urlencode({"csrf": csrf.group(1), "user": "operator",
                                       "password": operator_pw}).encode()
        live = web.open(url + "login", data=form, timeout=10).read().decode()
        assert "operator · 操作工" in live  # the user, and the role in the demo's zh-CN
        assert len(re.findall(r'<article class="line"', live)) >= 4  # the demo's lines
    finally:
        proc.terminate()
        proc.wait(30)

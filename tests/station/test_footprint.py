"""`station:` absent, `lineside run` never imports the station (docs/station.md); present,
the agent serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.common import free_port
from tests.fixtures.footprint import modbus_config, run_and_list
from tests.station.tree import station

pytestmark = pytest.mark.timeout(60)

STATION_MODULES = ("lineside.station.app", "aiohttp", "jinja2", "argon2")


def config(tmp_path: Path, **extra: Any) -> Path:
    return modbus_config(tmp_path, {"running": {"address": 0, "type": "bool", "bit": 0}},
                         [{"id": "local", "type": "local"}], **extra)


def test_without_a_station_section_run_never_imports_it(tmp_path: Path) -> None:
    assert run_and_list(config(tmp_path), STATION_MODULES, 2)[-1] == "0 []"


def test_with_a_station_section_run_serves_the_login_page(tmp_path: Path) -> None:
    port = free_port()
    path = config(tmp_path, station={**station(), "listen": f"127.0.0.1:{port}"})
    # a thread of the agent's process asks for the login page while it runs
    probe = ("def get():\n"
             "    import time\n"
             "    for _ in range(400):\n"
             "        try:\n"
             f"            r = urllib.request.urlopen('http://127.0.0.1:{port}/login', timeout=1)\n"
             "            print('login', r.status, 'csrf' in r.read().decode()); return\n"
             "        except OSError: time.sleep(0.05)\n"
             "threading.Thread(target=get, daemon=True).start()")
    code_lines = run_and_list(path, STATION_MODULES, 2, probe="import threading, urllib."
                              "request; exec(" + repr(probe) + "); ")
    assert "login 200 True" in code_lines
    assert code_lines[-1] == "0 " + repr(sorted(STATION_MODULES))

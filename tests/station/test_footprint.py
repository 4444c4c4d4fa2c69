"""`station:` absent, `lineside run` never imports the station (docs/station.md); present,
the agent serves it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.common import free_port
from tests.station.tree import station

pytestmark = pytest.mark.timeout(60)

STATION_MODULES = ("lineside.station.app", "aiohttp", "jinja2", "argon2")


def config(tmp_path: Path, **extra: Any) -> Path:
    cfg = {
        "site": {"enterprise_id": "e1", "enterprise_name": "E", "site_id": "s1",
                 "region": "510114", "timezone": "UTC"},
        "state_dir": str(tmp_path / "state"),
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1",
                     "port": free_port(), "interval_s": 0.5, "timeout_s": 0.3}],
        "lines": [{"id": "l1", "stages": [{"id": "s1", "kind": "frying", "machines": [
            {"id": "m1", "automation": "automatic", "ideal_rate": 60, "source": "plc",
             "signals": {"running": {"address": 0, "type": "bool", "bit": 0}}}]}]}],
        "sinks": [{"id": "local", "type": "local"}],
        "http": {"enabled": False},
        **extra,
    }
    path = tmp_path / "plant.yaml"
    path.write_text(json.dumps(cfg))
    return path


def run_and_list(path: Path, probe: str = "") -> list[str]:
    code = ("import sys, threading, urllib.request; from lineside.cli.main import main; "
            f"{probe}"
            f"rc = main(['run', {str(path)!r}, '--duration', '2', '--flush-timeout', '0.5']); "
            f"print(rc, sorted(m for m in {STATION_MODULES!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=45, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()


def test_without_a_station_section_run_never_imports_it(tmp_path: Path) -> None:
    assert run_and_list(config(tmp_path))[-1] == "0 []"


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
    code_lines = run_and_list(path, probe="exec(" + repr(probe) + "); ")
    assert "login 200 True" in code_lines
    assert code_lines[-1] == "0 " + repr(sorted(STATION_MODULES))

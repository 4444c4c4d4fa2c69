"""`lineside run` loads only what its configuration uses.

| configuration                      | never imported                                        |
|------------------------------------|-------------------------------------------------------|
| Modbus devices, influxdb-v2 sink   | asyncua, cryptography (OPC UA), rich (demo view),      |
|                                    | influxdb_client (v2 writer is lineside's own)          |
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.common import free_port

pytestmark = pytest.mark.timeout(60)

HEAVY = ("asyncua", "cryptography", "rich", "influxdb_client")


def test_modbus_agent_with_v2_sink_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    cfg = {
        "site": {"enterprise_id": "e1", "enterprise_name": "E", "site_id": "s1",
                 "region": "510114", "timezone": "UTC"},
        "state_dir": str(tmp_path / "state"),
        "devices": [{"id": "plc", "type": "modbus-tcp", "host": "127.0.0.1",
                     "port": free_port(), "interval_s": 0.5, "timeout_s": 0.3}],
        "lines": [{"id": "l1", "stages": [{"id": "s1", "kind": "frying", "machines": [
            {"id": "m1", "automation": "automatic", "ideal_rate": 60, "source": "plc",
             "signals": {"running": {"address": 0, "type": "bool", "bit": 0},
                         "temp": {"address": 1, "type": "float32"}}}]}]}],
        "sinks": [{"id": "v2", "type": "influxdb-v2", "bucket": "b",
                   "url": f"http://127.0.0.1:{free_port()}"}],
        "http": {"enabled": False},
    }
    path = tmp_path / "plant.yaml"
    path.write_text(json.dumps(cfg))
    # the real command line, then which modules the process holds
    code = ("import sys; from lineside.cli.main import main; "
            f"rc = main(['run', {str(path)!r}, '--duration', '1.5', '--flush-timeout', '0.5']); "
            f"print(rc, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=45, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "0 []"

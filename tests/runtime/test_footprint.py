"""`lineside run` loads only what its configuration uses.

| configuration                      | never imported                                        |
|------------------------------------|-------------------------------------------------------|
| Modbus devices, influxdb-v2 sink   | asyncua, cryptography (OPC UA), rich (demo view),      |
|                                    | influxdb_client (v2 writer is lineside's own)          |
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.common import free_port
from tests.fixtures.footprint import modbus_config, run_and_list

pytestmark = pytest.mark.timeout(60)

HEAVY = ("asyncua", "cryptography", "rich", "influxdb_client")


def test_modbus_agent_with_v2_sink_imports_nothing_it_does_not_use(tmp_path: Path) -> None:
    path = modbus_config(
        tmp_path, {"running": {"address": 0, "type": "bool", "bit": 0},
                   "temp": {"address": 1, "type": "float32"}},
        [{"id": "v2", "type": "influxdb-v2", "bucket": "b",
          "url": f"http://127.0.0.1:{free_port()}"}])
    assert run_and_list(path, HEAVY, 1.5)[-1] == "0 []"

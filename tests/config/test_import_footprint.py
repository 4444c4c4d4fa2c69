"""The configuration layer loads no runtime: no driver, sink, server or protocol stack.

`lineside check` (and everything that only reads a configuration: schema, reference,
report tools) imports the models and the cross-checks; they used to pull in pymodbus,
asyncua and the sinks through the section models' packages and validators. Each case
runs in a fresh interpreter, so modules an earlier test imported cannot hide a leak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# protocol stacks, the delivery pipeline, the agent's runtime, the station's web stack
FORBIDDEN = ("pymodbus", "asyncua", "cryptography", "prometheus_client", "aiohttp",
             "lineside.sinks.sinkset", "lineside.sinks.sink", "lineside.sinks.queue",
             "lineside.drivers.modbus.poller", "lineside.drivers.opcua.driver",
             "lineside.runtime", "lineside.engine", "lineside.station")

PROBE = """
import json, sys
{code}
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(code: str) -> list[str]:
    env = {**os.environ, "INFLUX_TOKEN": "t", "LINESIDE_INFLUX_TOKEN": "t",
           "OPC_PACK_PASSWORD": "p"}
    r = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True,
                       text=True, timeout=60, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.splitlines()[-1])


@pytest.mark.parametrize("code", [
    "import lineside.config.models",
    "from lineside.config.loader import load_config; load_config('config/example.yaml')",
    # check --print: an OPC UA device with signals, Modbus read plans, warnings
    "from lineside.cli.main import main; main(['check', '--print', '--offline', "
    "'config/example.yaml'])",
    "from lineside.cli.main import main; main(['check', 'config/demo.yaml'])",
], ids=["models", "load_config", "check --print example.yaml", "check demo.yaml"])
def test_reading_a_configuration_loads_no_runtime(code: str) -> None:
    loaded = _loaded(code)
    leaked = [m for m in loaded if m.startswith(FORBIDDEN)]
    assert leaked == [], leaked
    assert "lineside.config.models" in loaded  # the probe did load the configuration

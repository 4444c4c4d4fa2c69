"""`lineside demo` with lots (issue 27): every line's batch number reaches the agent
through the demo plant's lot signals (Modbus registers and OPC UA nodes), the CCP
script's deviations list their affected lots, and the demo names the deviations still
without a corrective action and where to answer them (the station's deviations page).

200 simulated seconds at 50x (4 s of wall clock; was 20x): the filling CCP (applies
always, 120 s minimum) deviates from 23 s to 151 s of the script whatever the shift, so
a lot is affected however the machines happen to run. Nothing here is compared with the
truth scan by scan, so a poll that lands a scan late under load changes no assertion;
at 60x four runs at once on the two cores (load ~6) passed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "lineside.cli"]


def test_the_demo_shows_lots_and_the_open_corrective_actions(tmp_path: Path) -> None:
    state, summary = tmp_path / "state", tmp_path / "summary.json"
    proc = subprocess.run(
        [*CLI, "demo", "--duration", "200", "--speed", "50", "--no-live", "--modbus-port",
         "0", "--opcua-port", "0", "--state-dir", str(state), "--summary-json", str(summary)],
        capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr[-3000:]
    opened = json.loads(summary.read_text())["open_actions"]
    assert opened, proc.stdout[-2000:]
    assert {o["ccp"] for o in opened} >= {"L3-mix1-filling"}
    assert all(o["deviation"] == f"shuangliu-1:{o['ccp']}:{o['kind']}:{o['start_ns']}"
               for o in opened)
    out = proc.stdout
    assert "关键控制点偏差及其纠偏措施：http://127.0.0.1:" in out  # where to answer them
    assert f"待填纠偏措施：{len(opened)} 个偏差尚无纠偏措施" in out and "/deviations" in out

    lp = subprocess.run([*CLI, "export", "--state-dir", str(state)], capture_output=True,
                        text=True, timeout=60)
    assert lp.returncode == 0, lp.stderr

    def tag(line: str, key: str) -> str:
        return line.split(f",{key}=", 1)[1].split(",", 1)[0].split(" ", 1)[0]

    lots = {(tag(x, "line"), tag(x, "lot")) for x in lp.stdout.splitlines()
            if x.startswith("lot,")}
    # every line's batch number, n * 100000 + k on line Ln (simulator/lots.py)
    assert {line for line, _ in lots} == {"L1", "L2", "L3", "L4", "L5"}
    assert all(int(lot) // 100_000 == int(line[1:]) for line, lot in lots)
    affected = [x for x in lp.stdout.splitlines() if x.startswith("ccp_lot,")]
    assert any(tag(x, "ccp") == "L3-mix1-filling" and tag(x, "lot").startswith("3")
               for x in affected), affected

"""Counters and modes as real PLCs deliver them, end to end (issue 12).

The libmodbus C peer and the node-opcua peer each show one PackML machine (StateCurrent,
UnitModeCurrent, a uint32 good counter, a uint16 reject counter) and one machine with a
signed int16 counter. The test drives their values step by step (stdin of the C peer,
the control port of node-opcua), `lineside run` polls both, and what lands in InfluxDB
1.6 is compared with the hand arithmetic:

- 36 steps, each +5 good, +1 reject, +3 signed: 180 / 36 / 108 units on every machine,
  although every counter wraps on the way (uint32 at 2^32, uint16 at 2^16, int16 from
  32767 to -32768) and the OPC UA good counter dips by one once (a PLC computing good =
  total - reject): the dip adds nothing;
- UnitMode 1 Production for steps 0-11, 3 Manual for 12-23, 1 again for 24-35: a bucket
  (5 s) inside the Manual phase has auto_run_s 0 and run_s 5; one inside Production has
  auto_run_s = run_s = 5. Widths come from the Modbus `type` and, for OPC UA, from the
  nodes' DataType read at connect (the config declares none).

The agent runs on simulated time, SPEED times the wall clock (LINESIDE_CLOCK): steps,
polls and buckets are in simulated seconds, the test sets each step's values at its
simulated second.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.agent_proc import SimTime, http_get, metric, start_agent
from tests.fixtures.common import free_port, port_open, wait_for
from tests.fixtures.modbus_peers import libmodbus_binary
from tests.fixtures.opcua_peers import NS_URI

pytestmark = [pytest.mark.server]
SPEED = 3.0

STEPS, PHASE = 36, 12  # steps of 1 s; UnitMode changes every PHASE steps
DG, DR, DS = 5, 1, 3  # per step: good, reject, signed
G0, R0, S0 = 2**32 - 12, 2**16 - 6, 32_760  # start near every wrap
DIP_STEP = 30  # the OPC UA good counter shows one unit less than the step before


def _machine(mid: str, source: str, signals: dict[str, Any]) -> dict[str, Any]:
    return {"id": mid, "automation": "automatic", "ideal_rate": 600, "source": source,
            "state": {"map": "packml"}, "signals": signals}


def _config(tmp: Path, mb_port: int, ua_endpoint: str, influx_url: str) -> dict[str, Any]:
    def node(name: str) -> dict[str, str]:
        return {"node": f"nsu={NS_URI};s=Packer.{name}"}

    return {
        "site": {"enterprise_id": "e12", "enterprise_name": "Issue 12 Foods", "site_id": "s1",
                 "region": "510114"},
        "state_dir": str(tmp / "state"),
        "metrics": {"bucket_s": 5},
        "devices": [
            {"id": "plc-mb", "type": "modbus-tcp", "host": "127.0.0.1", "port": mb_port,
             "interval_s": 0.5},
            {"id": "plc-ua", "type": "opcua", "endpoint": ua_endpoint, "mode": "poll",
             "interval_s": 0.5, "timeout_s": 2.0}],
        "lines": [{"id": "L", "stages": [
            {"id": "modbus", "kind": "frying", "machines": [
                _machine("mb1", "plc-mb", {
                    "state": {"address": 500, "type": "uint16"},
                    "mode": {"address": 501, "type": "uint16"},
                    "good": {"address": 502, "type": "uint32"},
                    "reject": {"address": 504, "type": "uint16"}}),
                _machine("mb2", "plc-mb", {
                    "state": {"address": 500, "type": "uint16"},
                    "good": {"address": 505, "type": "int16"}})]},
            {"id": "opcua", "kind": "packaging", "machines": [
                _machine("ua1", "plc-ua", {"state": node("State"), "mode": node("UnitMode"),
                                           "good": node("Good"), "reject": node("Reject")}),
                _machine("ua2", "plc-ua", {"state": node("State"),
                                           "good": node("Signed")})]}]}],
        "sinks": [{"id": "plant", "type": "influxdb-v1", "url": influx_url,
                   "database": "e2e_issue12", "flush_interval_s": 0.5}],
        "http": {"listen": f"127.0.0.1:{free_port()}"},
    }


def _int16(v: int) -> int:
    v %= 1 << 16
    return v - (1 << 16) if v >= 1 << 15 else v


class CPeer:
    """The libmodbus peer, its registers set through stdin."""

    def __init__(self, port: int) -> None:
        self.proc = subprocess.Popen([str(libmodbus_binary()), str(port)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        wait_for(lambda: port_open(port), timeout=10, what="libmodbus peer")

    def set(self, **regs: int) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        for addr, value in regs.items():
            self.proc.stdin.write(f"set {addr[1:]} {value}\n")
        self.proc.stdin.flush()
        for _ in regs:
            assert self.proc.stdout.readline().strip() == "ok"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(5)


def _show(cp: CPeer, ua: Any, good: int, reject: int, signed: int, mode: int,
          ua_good: int | None = None) -> None:
    g = good % 2**32
    cp.set(r501=mode, r502=g >> 16, r503=g & 0xFFFF, r504=reject % 2**16,
           r505=_int16(signed))
    for name, value in (("UnitMode", mode), ("Good", (good if ua_good is None else ua_good)
                                             % 2**32),
                        ("Reject", reject % 2**16), ("Signed", _int16(signed))):
        ua.ctl(f"set {ua.nodeid('Packer.' + name)} {value}")


def test_mixed_width_signed_counters_and_packml_unitmode_into_influxdb(
        tmp_path: Path, influxdb1, opcua_peer) -> None:
    influxdb1.create_db("e2e_issue12")
    ua = opcua_peer("node", rate=1.0)
    mb_port = free_port()
    cp = CPeer(mb_port)
    agent = None
    phases: list[tuple[int, float]] = []  # (UnitMode, simulated time it was shown)
    clock = SimTime(SPEED)
    try:
        _show(cp, ua, G0, R0, S0, 1)
        data = _config(tmp_path, mb_port, ua.endpoint, influxdb1.url)
        cfg = tmp_path / "agent.yaml"
        cfg.write_text(yaml.safe_dump(data, sort_keys=False))
        agent = start_agent(tmp_path, cfg, env=clock.env)
        url = f"http://{data['http']['listen']}/metrics"

        def polled(dev: str) -> float:
            return metric(http_get(url)[1], "lineside_device_polls_total", device=dev) or 0

        wait_for(lambda: metric(http_get(url)[1], "lineside_device_up", device="plc-ua") == 1
                 and polled("plc-mb") >= 3, timeout=40, what="both PLCs polled")
        t0 = clock.wall() + 1.0  # the baselines are read
        for k in range(1, STEPS + 1):
            clock.sleep_until(t0 + k - 1)  # one step a simulated second
            mode = 3 if PHASE <= k - 1 < 2 * PHASE else 1
            if not phases or phases[-1][0] != mode:
                phases.append((mode, clock.wall()))
            ua_good = G0 + DG * (k - 1) - 1 if k == DIP_STEP else None
            _show(cp, ua, G0 + DG * k, R0 + DR * k, S0 + DS * k, mode, ua_good)
        clock.sleep_until(t0 + STEPS + 1.5)  # the last values are read
        body = http_get(url)[1]
        assert metric(body, "lineside_engine_counter_dips_total") == 1
        assert metric(body, "lineside_engine_counter_excess_units_total") == 0
        agent.signal(signal.SIGTERM)
        assert agent.wait(timeout=30) == 0, agent.output()[-2000:]
    finally:
        if agent is not None:
            agent.stop()
        cp.stop()

    sums = {r["machine"]: r for r in influxdb1.rows(
        "SELECT sum(good_count) AS good, sum(reject_count) AS reject FROM oee "
        "WHERE level='machine' GROUP BY machine", db="e2e_issue12")}
    # hand arithmetic: 36 steps of +5 good, +1 reject, +3 signed, whatever the wraps
    assert {m: (r["good"], r["reject"]) for m, r in sums.items()} == {
        "mb1": (STEPS * DG, STEPS * DR), "ua1": (STEPS * DG, STEPS * DR),
        "mb2": (STEPS * DS, 0), "ua2": (STEPS * DS, 0)}

    manual_from, auto_again = phases[1][1], phases[2][1]
    for mid in ("mb1", "ua1"):
        rows = influxdb1.rows(f"SELECT run_s, auto_run_s FROM oee WHERE machine='{mid}'",
                              db="e2e_issue12")
        whole = [r for r in rows if r["run_s"] == 5]
        t = [(r["time"] / 1e9, r) for r in whole]  # the fixture asks for epoch ns
        manual = [r for b, r in t if manual_from + 1 <= b and b + 5 <= auto_again]
        auto = [r for b, r in t if b + 5 <= manual_from or auto_again + 1 <= b]
        assert manual and auto, (mid, phases, rows)
        assert all(r["auto_run_s"] == 0 for r in manual), (mid, manual)
        assert all(r["auto_run_s"] == 5 for r in auto), (mid, auto)
    # machines without a mode signal are automatic all along
    for mid in ("mb2", "ua2"):
        (tot,) = influxdb1.rows(f"SELECT sum(run_s) AS run, sum(auto_run_s) AS auto FROM oee "
                                f"WHERE machine='{mid}'", db="e2e_issue12")
        assert tot["run"] > 0 and tot["auto"] == pytest.approx(tot["run"])

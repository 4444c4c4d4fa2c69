"""Run the real `lineside simulate` and `lineside run` as processes, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from lineside.config.loader import load_config
from lineside.runtime.clock import ENV, ScaledClock
from lineside.simulator.server import demo_config_path, with_ports
from tests.fixtures.common import free_port, port_open, wait_for

CLI = [sys.executable, "-m", "lineside.cli"]


class Proc:
    def __init__(self, argv: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.argv, self.log, self.env = argv, log, env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        fh = open(self.log, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(self.argv, stdout=fh, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class SimTime:
    """Simulated time shared by the test, `lineside simulate` and `lineside run`
    (LINESIDE_CLOCK, runtime/clock.py): tests that only wait for buckets, shifts and
    outages wait `speed` times less; their figures stay in simulated seconds."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.clock = ScaledClock(speed)
        self.env = {ENV: self.clock.env()}  # the processes' environment

    def wall(self) -> float:
        return self.clock.wall()

    def sleep_until(self, wall: float) -> None:
        """Sleep (real time) until this clock shows `wall`."""
        time.sleep(max(0.0, self.clock.real_at(wall) - time.time()))

    def sleep(self, s: float) -> None:
        time.sleep(s / self.speed)


def start_simulator(tmp: Path, seed: int = 3, env: dict[str, str] | None = None
                    ) -> tuple[Proc, int, int]:
    mb, ua = free_port(), free_port()
    sim = Proc([*CLI, "simulate", "--seed", str(seed), "--modbus-port", str(mb),
                "--opcua-port", str(ua)], tmp / "simulate.log", env=env).start()
    wait_for(lambda: port_open(mb) and port_open(ua), timeout=30, what="simulator ports")
    return sim, mb, ua


def demo_data(tmp: Path, modbus_port: int, opcua_port: int, sinks: list[dict[str, Any]],
              **overrides: Any) -> dict[str, Any]:
    """The demo plant as plain data, pointed at a simulator's ports, state in `tmp`."""
    cfg = with_ports(load_config(demo_config_path()), "127.0.0.1", modbus_port, opcua_port)
    data = json.loads(cfg.model_dump_json(exclude_none=True))
    data.update(state_dir=str(tmp / "state"), sinks=sinks, **overrides)
    return data


def agent_config(tmp: Path, modbus_port: int, opcua_port: int, sinks: list[dict[str, Any]],
                 **overrides: Any) -> tuple[Path, dict[str, Any]]:
    """demo_data written as the YAML file `lineside run` gets, metrics on a free port."""
    data = demo_data(tmp, modbus_port, opcua_port, sinks,
                     http={"listen": f"127.0.0.1:{free_port()}"}, **overrides)
    path = tmp / "agent.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    load_config(path)  # the file we hand the agent is valid
    return path, data


def start_agent(tmp: Path, config: Path, *extra: str, env: dict[str, str] | None = None
                ) -> Proc:
    return Proc([*CLI, "run", str(config), *extra], tmp / "agent.log", env=env).start()


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(body: str, name: str, **labels: str) -> float | None:
    """Value of the one sample `name{labels...}` in a Prometheus text exposition."""
    for line in body.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        series, _, label_text = key.partition("{")
        if series != name:
            continue
        if all(f'{k}="{v}"' in label_text for k, v in labels.items()):
            return float(value)
    return None

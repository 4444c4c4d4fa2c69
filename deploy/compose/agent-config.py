"""Entry point of the agent container in compose.yaml.

Takes a base configuration (the demo plant, `LINESIDE_BASE_CONFIG`), points its sink at
this stack's InfluxDB 2, its state at the container's volume and its metrics endpoint at
`LINESIDE_HTTP_LISTEN`, writes the result to the state directory, validates it with
`lineside check` and execs `lineside run` on it (so the agent is PID 1's only child and
receives SIGTERM/SIGHUP directly).

    python agent-config.py            # write, check, run
    python agent-config.py --print    # print the resulting YAML only
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def build(base: dict, env: os._Environ[str] | dict[str, str]) -> dict:
    cfg = dict(base)
    cfg["state_dir"] = env.get("LINESIDE_STATE_DIR", "/var/lib/lineside")
    http = dict(cfg.get("http") or {})
    http["listen"] = env.get("LINESIDE_HTTP_LISTEN", "0.0.0.0:9108")
    cfg["http"] = http
    cfg["sinks"] = [{
        "id": "influxdb",
        "type": "influxdb-v2",
        "url": env.get("LINESIDE_INFLUX_URL", "http://influxdb:8086"),
        "org": env.get("LINESIDE_INFLUX_ORG", "plant"),
        "bucket": env.get("LINESIDE_INFLUX_BUCKET", "lineside"),
        "token_env": "INFLUX_TOKEN",
    }]
    return cfg


def main(argv: list[str]) -> int:
    base_path = Path(os.environ.get("LINESIDE_BASE_CONFIG", "/etc/lineside/examples/demo.yaml"))
    cfg = build(yaml.safe_load(base_path.read_text()), os.environ)
    text = f"# generated from {base_path} by agent-config.py\n" + yaml.safe_dump(
        cfg, sort_keys=False, allow_unicode=True)
    if "--print" in argv:
        sys.stdout.write(text)
        return 0
    out = Path(cfg["state_dir"]) / "lineside.yaml"
    out.write_text(text)
    if subprocess.run(["lineside", "check", str(out)], check=False).returncode != 0:
        return 2
    os.execvp("lineside", ["lineside", "run", str(out)])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

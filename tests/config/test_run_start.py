"""`lineside run` failing at start-up: one line naming what and the key, exit 1.

A metrics port in use, a state_dir that cannot be created: each was a 30-line traceback
that named neither the key (`http.listen`, `state_dir`) nor the file.
"""

from __future__ import annotations

import errno
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lineside.cli.bindfail import bind_failure

pytestmark = pytest.mark.timeout(60)


def _plant(tmp_path: Path, state_dir: Path, port: int, locale: str = "en") -> Path:
    cfg = tmp_path / "plant.yaml"
    cfg.write_text(textwrap.dedent(f"""\
            site: {{enterprise_id: e, enterprise_name: E, site_id: s, region: "1",
                   locale: {locale}}}
            state_dir: {state_dir}
            http: {{listen: "127.0.0.1:{port}"}}
            devices: [{{id: plc, type: modbus-tcp, host: 127.0.0.1, port: 1}}]
            lines:
              - id: l
                stages:
                  - id: s
                    kind: other
                    machines:
                      - {{id: m, automation: automatic, ideal_rate: 1, source: plc,
                          signals: {{running: {{table: coil, address: 0, type: bool}}}}}}
            """))
    return cfg


def test_run_names_the_port_and_the_key(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        cfg = _plant(tmp_path, tmp_path / "state", port)
        r = subprocess.run([sys.executable, "-m", "lineside.cli", "run", str(cfg),
                            "--duration", "5"], capture_output=True, text=True, timeout=50)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("lineside run:")]
    assert errors == [f"lineside run: cannot listen on 127.0.0.1:{port} (set by http.listen "
                      f"in {cfg}): address already in use; another process listens there "
                      "(`ss -ltnp` shows which): stop it or choose another port"], r.stderr


def test_run_names_a_state_dir_it_cannot_create(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    state = tmp_path / "a-file" / "state"  # under a file: never a folder
    cfg = _plant(tmp_path, state, 0)
    r = subprocess.run([sys.executable, "-m", "lineside.cli", "run", str(cfg),
                        "--duration", "5"], capture_output=True, text=True, timeout=50)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert (f"lineside run: cannot use {state} (under state_dir in {cfg}): Not a directory"
            in r.stderr.splitlines()), r.stderr


def test_run_tells_the_console_in_the_sites_language(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    state = tmp_path / "a-file" / "state"
    cfg = _plant(tmp_path, state, 0, locale="zh-CN")
    r = subprocess.run([sys.executable, "-m", "lineside.cli", "run", str(cfg),
                        "--duration", "5"], capture_output=True, text=True, timeout=50)
    assert r.returncode == 1, r.stderr
    # the path and the key as written, the OS's reason as the OS gives it
    assert (f"lineside run: 无法使用 {state}（位于 {cfg} 的 state_dir 下）：Not a directory"
            in r.stderr.splitlines()), r.stderr


def test_a_refused_bind_in_chinese_keeps_the_address_and_the_key() -> None:
    shown = bind_failure(_bind_error("127.0.0.1", 9108, errno.EADDRINUSE,
                                     "address already in use"), {9108: "http.listen"}, "zh-CN")
    assert shown == ("无法在 127.0.0.1:9108 上监听（由 http.listen 设置）：address already in "
                     "use；另一个进程正在监听该端口（`ss -ltnp` 可查看是哪个）：停止它或换一个端口")


def _bind_error(host: str, port: int, code: int, reason: str) -> OSError:
    # the form asyncio's create_server raises
    return OSError(code, f"error while attempting to bind on address {(host, port)!r}: "
                         f"{reason}")


@pytest.mark.parametrize(("exc", "line"), [
    (_bind_error("::1", 9108, errno.EADDRINUSE, "address already in use"),
     "cannot listen on [::1]:9108 (set by http.listen): address already in use; "),
    (_bind_error("192.0.2.7", 9108, errno.EADDRNOTAVAIL, "cannot assign requested address"),
     "cannot listen on 192.0.2.7:9108 (set by http.listen): cannot assign requested "
     "address; no interface of this host has that address"),
    (_bind_error("0.0.0.0", 80, errno.EACCES, "permission denied"),
     "cannot listen on 0.0.0.0:80: permission denied; ports below 1024"),
    (OSError(errno.EADDRINUSE, "address in use, no address in the message"), None),
    (OSError(errno.ENOSPC, "no space left on device"), None),
    (ValueError("not an OSError"), None),
], ids=["in use (IPv6)", "not this host's address", "privileged port", "no address",
        "another OSError", "not an OSError"])
def test_bind_failures_are_told_apart_from_other_errors(exc: BaseException,
                                                       line: str | None) -> None:
    shown = bind_failure(exc, {9108: "http.listen"})
    if line is None:
        assert shown is None
    else:
        assert shown is not None and shown.startswith(line), shown

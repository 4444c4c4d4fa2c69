"""sd_notify details the end-to-end test (tests/e2e/test_systemd_notify.py) does not vary."""

from __future__ import annotations

import os
import socket

import pytest

from lineside.runtime.systemd import Notifier


@pytest.mark.parametrize(
    ("env", "watchdog_s"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),  # WatchdogSec=30s
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "<self>"}, 30.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # another process's
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_from_the_environment(env, watchdog_s) -> None:
    env = {k: str(os.getpid()) if v == "<self>" else v for k, v in env.items()}
    assert Notifier(env).watchdog_s == watchdog_s


def test_a_path_socket_receives_the_fields(tmp_path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as rx:
        rx.bind(str(path))
        Notifier({"NOTIFY_SOCKET": str(path)}).ready("running: 2 devices, 1 lines")
        assert rx.recv(4096).decode().split("\n") == ["READY=1",
                                                      "STATUS=running: 2 devices, 1 lines"]


def test_without_systemd_nothing_is_sent() -> None:
    assert not Notifier({}).enabled
    assert Notifier({}).notify("READY=1") is False
    # a relative name is not a socket systemd hands out: refused, not guessed
    assert not Notifier({"NOTIFY_SOCKET": "notify.sock"}).enabled


def test_a_vanished_socket_is_not_fatal(tmp_path) -> None:
    assert Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")}).notify("WATCHDOG=1") is False

"""`lineside demo` on free ports (`--modbus-port 0 --opcua-port 0`): the demo picks a free
port for each simulated PLC, then its server binds it a moment later; any program can
take the port in between (an outgoing connection gets one from the same range). The demo
then picks again instead of failing; a port the person chose is never changed."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lineside.cli import demo
from lineside.cli.main import main
from tests.fixtures.common import free_port


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """The demo runs in this process and sets up logging for its console (levels of
    `lineside`, asyncua and pymodbus, the root's handlers): the next test of this
    worker gets them back as they were."""
    loggers = [logging.getLogger(n) for n in ("", "lineside", "asyncua", "pymodbus")]
    saved = [(lg.level, list(lg.handlers)) for lg in loggers]
    yield
    for lg, (level, handlers) in zip(loggers, saved, strict=True):
        lg.setLevel(level)
        lg.handlers[:] = handlers


def _taken() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_a_free_port_taken_before_the_bind_is_picked_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with _taken() as held:  # the first port picked is someone else's by the bind
        picks = iter([held.getsockname()[1], free_port(), free_port(), free_port()])
        monkeypatch.setattr(demo, "_free_port", lambda: next(picks))
        code = main(["demo", "--duration", "1", "--speed", "5", "--no-live",
                     "--station", "off", "--modbus-port", "0", "--opcua-port", "0",
                     "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "points written to" in out.out


def test_a_chosen_port_that_is_taken_is_named_not_changed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _taken() as held:
        port = held.getsockname()[1]
        code = main(["demo", "--duration", "1", "--no-live", "--station", "off",
                     "--opcua-port", str(port), "--modbus-port", "0",
                     "--state-dir", str(tmp_path / "state")])
    err = capsys.readouterr().err
    assert code != 0
    assert str(port) in err and "--opcua-port" in err, err

"""Structured logs: JSON lines with context, and a PLC that is down logs once a minute."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest

from lineside.runtime.logs import JsonFormatter, RateLimit, TextFormatter


def _record(msg: str, level: int = logging.WARNING, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("lineside.driver", level, __file__, 1, msg, (), None)
    for k, v in extra.items():
        setattr(rec, k, v)
    return rec


def test_json_lines_carry_the_context() -> None:
    line = JsonFormatter().format(_record("timeout reading %s", device="plc-l1",
                                          machine="L1-cut1"))
    data = json.loads(line)
    assert data["level"] == "warning" and data["device"] == "plc-l1"
    assert data["machine"] == "L1-cut1" and data["msg"] == "timeout reading %s"


def test_text_lines_show_the_context() -> None:
    assert "[device=plc-l1]" in TextFormatter().format(_record("down", device="plc-l1"))


def test_repeated_errors_are_rate_limited_and_summarised() -> None:
    now = [0.0]
    f = RateLimit(period_s=60, clock=lambda: now[0])
    passed = []
    for t in range(0, 130, 1):  # one error per second for 130 s from one device
        now[0] = float(t)
        rec = _record("poll failed", device="plc-l2")
        if f.filter(rec):
            passed.append((t, rec.msg))
    assert [t for t, _ in passed] == [0, 60, 120]
    assert "repeated 59 more times" in passed[1][1]
    # another device's error is not swallowed by the first one's limit
    assert f.filter(_record("poll failed", device="plc-l3"))
    # info lines are never limited
    assert all(f.filter(_record("cycle", level=logging.INFO)) for _ in range(5))


JOURNAL_SCRIPT = """
import logging
from lineside.runtime.logs import setup_logging
setup_logging("debug", "text")
log = logging.getLogger("lineside.test")
log.debug("d"); log.info("i"); log.warning("w")
try:
    1 / 0
except ZeroDivisionError:
    log.exception("e")
"""


def _log_to_file(tmp_path, journal_stream: str | None) -> list[str]:
    import os
    import subprocess
    import sys

    out = tmp_path / "stderr"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    with out.open("wb") as fh:
        if journal_stream == "<this file>":
            st = os.fstat(fh.fileno())
            journal_stream = f"{st.st_dev}:{st.st_ino}"
        if journal_stream is not None:
            env["JOURNAL_STREAM"] = journal_stream
        subprocess.run([sys.executable, "-c", JOURNAL_SCRIPT], stderr=fh, env=env,
                       check=True, timeout=30)
    return out.read_text().splitlines()


def test_journal_lines_carry_their_syslog_priority(tmp_path) -> None:
    """stderr is the journal stream (JOURNAL_STREAM = its device:inode): every line starts
    with <priority>, the traceback's lines with the error's, so `journalctl -p err` keeps
    the whole error."""
    lines = _log_to_file(tmp_path, "<this file>")
    assert [ln[:3] for ln in lines[:3]] == ["<7>", "<6>", "<4>"]
    assert len(lines) > 4 and all(ln.startswith("<3>") for ln in lines[3:]), lines
    assert lines[-1].startswith("<3>ZeroDivisionError")


@pytest.mark.parametrize("journal_stream", [None, "1:2", "garbage"])
def test_no_priority_prefix_when_stderr_is_not_the_journal(tmp_path, journal_stream) -> None:
    """Unset, or inherited by a process whose stderr now goes elsewhere."""
    lines = _log_to_file(tmp_path, journal_stream)
    assert lines and not any(ln.startswith("<") for ln in lines), lines


# (second, device, kind) of WARNING records from one logger; which pass a 60 s limit.
PER_DEVICE_AND_KIND = [
    (0, "plc-1", "timeout", True),
    (0, "plc-2", "timeout", True),           # another device: its own line
    (0, "plc-3", "connect", True),
    (0, "plc-4", "illegal_address", True),
    (1, "plc-1", "timeout", False),          # same device, same kind: counted
    (2, "plc-4", "device_failure", True),    # the kind changed: logged at once
    (3, "plc-4", "busy", True),
    (4, "plc-4", "timeout", True),
    (5, "plc-4", "timeout", False),
    (61, "plc-1", "timeout", True),          # a minute later: once more, with the count
]


def test_rate_limit_is_per_logger_device_and_error_kind() -> None:
    now = [0.0]
    f = RateLimit(period_s=60, clock=lambda: now[0])
    got = []
    for t, device, kind, _ in PER_DEVICE_AND_KIND:
        now[0] = float(t)
        got.append(f.filter(_record("modbus %s: %s failed: %s", device=device, kind=kind)))
    assert got == [want for *_, want in PER_DEVICE_AND_KIND]
    # the same template from another logger is not swallowed either
    rec = logging.LogRecord("lineside.drivers.opcua", logging.WARNING, __file__, 1,
                            "modbus %s: %s failed: %s", (), None)
    rec.device, rec.kind = "plc-1", "timeout"
    assert f.filter(rec)


def test_pymodbus_frame_dumps_are_cut_below_debug(capsys) -> None:
    from pymodbus.logging import Log

    from lineside.runtime.logs import setup_logging

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, Log._logger.level)
    try:
        for level in ("info", "debug"):
            setup_logging(level, "text")
            Log.setLevel(logging.getLevelName(level.upper()))
            Log.frame_dump = []
            for i in range(20):  # below debug pymodbus keeps them, to append to an error
                Log.transport_dump(Log.SEND_DATA, bytes([i, 3, 0, 0]), b"")
            Log.error("No response received after {} retries", 0)
            lines = capsys.readouterr().err.splitlines()
            assert any("No response received" in ln for ln in lines), lines
            assert all(ln[:4].isdigit() for ln in lines), lines  # every line a record
            frames = [ln for ln in lines if "send: 0x" in ln]
            if level == "info":
                assert len(lines) == 1 and not frames, lines
                assert "run with log level debug" in lines[0]
            else:  # debug: each frame is its own timestamped debug line
                assert len(frames) == 20, lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        Log.setLevel(saved[2])


# (second, device, level, kind) of records from one logger; whether each passes a 60 s
# limit. A change of kind passes whatever the timing, even back to a kind seen seconds
# ago; a recovery (an INFO of kind "recovered") makes the next failure a change.
KIND_CHANGES = [
    (0, "plc-1", logging.WARNING, "timeout", True),
    (1, "plc-1", logging.WARNING, "timeout", False),          # same kind: held back
    (2, "plc-1", logging.WARNING, "truncated", True),         # changed
    (3, "plc-1", logging.WARNING, "timeout", True),           # changed back within 60 s
    (4, "plc-1", logging.WARNING, "timeout", False),
    (5, "plc-1", logging.INFO, "recovered", True),            # infos always pass
    (6, "plc-1", logging.WARNING, "timeout", True),           # after a recovery: a change
    (7, "plc-2", logging.WARNING, "timeout", True),           # another device
    (8, "plc-1", logging.WARNING, "timeout", False),          # plc-2 changed nothing here
    (66, "plc-1", logging.WARNING, "timeout", True),          # a minute after the last one
    (67, "plc-1", logging.ERROR, "timeout", False),           # the level is no new kind
]


def test_every_change_of_kind_passes_whatever_the_timing() -> None:
    now = [0.0]
    f = RateLimit(period_s=60, clock=lambda: now[0])
    got = []
    for t, device, level, kind, _ in KIND_CHANGES:
        now[0] = float(t)
        got.append(f.filter(_record("modbus %s: %s", level, device=device, kind=kind)))
    assert got == [want for *_, want in KIND_CHANGES]


def _exception(code: int):
    def reply(frame: bytes) -> bytes:
        import struct

        tid, unit, fc = frame[0:2], frame[6], frame[7]
        body = bytes([fc | 0x80, code])
        return tid + b"\x00\x00" + struct.pack(">H", len(body) + 1) + bytes([unit]) + body
    return reply


async def _poll_scripted(scripts: list[list], cycles: int, level: str = "info",
                         rtu_gateway: bool = False, fmt: str = "text") -> list[str]:
    """Drivers against scripted PLCs through the agent's own log set-up; the lines."""
    import io

    from lineside.drivers.modbus.settings import ModbusRtuOverTcpDevice
    from lineside.runtime.logs import setup_logging
    from tests.drivers.modbus.helpers import driver, tcp_device
    from tests.drivers.modbus.test_faults import ScriptedPeer, ScriptedRtuPeer

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, sys.stderr)
    sys.stderr = out = io.StringIO()
    setup_logging(level, fmt)
    peers: list[ScriptedPeer] = []
    drivers = []
    try:
        if rtu_gateway:  # one gateway, one connection, a device per script (unit 1, 2..)
            peers.append(ScriptedRtuPeer(scripts[0]))
            port = await peers[0].start()
            for i in range(len(scripts)):
                dev = ModbusRtuOverTcpDevice(type="modbus-rtu-over-tcp", id=f"plc-{i}",
                                             host="127.0.0.1", port=port, unit_id=i + 1,
                                             timeout_s=0.2, reconnect_min_s=0.01,
                                             reconnect_max_s=0.01)
                drivers.append(driver(dev, {"v": {"address": 0}}))
        else:
            for i, script in enumerate(scripts):
                peers.append(ScriptedPeer(script))
                port = await peers[-1].start()
                drivers.append(driver(tcp_device(port, id=f"plc-{i}", timeout_s=0.2,
                                                 busy_retries=0, reconnect_min_s=0.01,
                                                 reconnect_max_s=0.01),
                                      {"v": {"address": 0}}))
        for _ in range(cycles):
            if rtu_gateway:  # one link: its devices take turns, as on a serial line
                for d in drivers:
                    await d.poll()
            else:  # each its own PLC, polled at once as the agent does: a truncated
                # answer's 0.2 s timeout is waited once per cycle, not once per device
                await asyncio.gather(*(d.poll() for d in drivers))
            await asyncio.sleep(0.03)
    finally:
        for d in drivers:
            await d.close()
        for peer in peers:
            peer.server.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        sys.stderr = saved[2]
    return out.getvalue().splitlines()


async def test_four_failing_devices_and_a_changing_kind_are_all_told() -> None:
    """Real pymodbus clients against scripted PLCs: every device's failure is logged,
    each change of kind of one device is a WARNING (back to an earlier kind within
    seconds too), each recovery an INFO, every line a timestamped record naming its
    device (no frame dump, no pymodbus line without one)."""
    from tests.drivers.modbus.test_faults import good, short, wrong_tid

    changing = [_exception(2), _exception(4), short, _exception(2), good, _exception(2),
                wrong_tid, good]
    lines = await _poll_scripted([changing] + [[short]] * 3, len(changing) + 1)
    err = "\n".join(lines)
    assert lines and all(ln[:4].isdigit() for ln in lines), err  # all timestamped records
    assert all("[device=plc-" in ln for ln in lines), err  # every line names its device
    warned = [ln for ln in lines if "WARNING" in ln]
    for i in range(4):
        assert any(f"[device=plc-{i} " in ln for ln in warned), err
    kinds = [ln.rsplit("kind=", 1)[1].rstrip("]") for ln in lines
             if "device=plc-0 " in ln and ("WARNING" in ln or "INFO" in ln)]
    assert kinds == ["illegal_address", "device_failure", "truncated", "illegal_address",
                     "recovered", "illegal_address", "transaction_id", "recovered"], err
    assert all("answers again" in ln for ln in lines if "kind=recovered" in ln), err


async def test_pymodbus_lines_name_the_device_on_the_wire() -> None:
    """Two devices behind one RTU gateway share one connection; pymodbus's own lines
    (answers from another unit, skipped) are DEBUG and name the device whose request
    was on the wire, not the one that opened the connection."""
    from tests.drivers.modbus.test_faults import rtu_wrong_unit

    lines = await _poll_scripted([[rtu_wrong_unit], [rtu_wrong_unit]], 2, level="debug",
                                 rtu_gateway=True, fmt="json")
    records = [json.loads(ln) for ln in lines]
    skipped = [r for r in records if r["logger"].startswith("pymodbus")
               and "but got id=" in r["msg"]]
    assert len(skipped) == 4, lines  # two cycles of two devices
    for r in skipped:
        assert r["level"] == "debug", r
        asked = int(r["msg"].split("ask for id=")[1].split()[0])
        assert r["device"] == f"plc-{asked - 1}", r
    assert all("device" in r for r in records), lines


async def test_pymodbus_lines_are_quiet_below_debug() -> None:
    from tests.drivers.modbus.test_faults import wrong_tid

    lines = await _poll_scripted([[wrong_tid]], 2)
    assert not [ln for ln in lines if "pymodbus" in ln], lines
    assert [ln for ln in lines if "kind=transaction_id" in ln and "WARNING" in ln], lines

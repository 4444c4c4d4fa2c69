"""Progress on stderr for `export`, `replay` and `report`: a status line redrawn on a
terminal, nothing on a pipe. The commands run as processes with stderr on a real
pseudo-terminal (pty) or a pipe; the line itself is specified with a fake clock.
"""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from lineside.cli.progress import Progress
from lineside.samplelog import SampleLog
from lineside.sinks.queue import DiskQueue
from tests.engine.plant import cfg, one_machine_line, poll, shift

CLI = [sys.executable, "-m", "lineside.cli"]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_with_a_total_rate_and_throttle() -> None:
    now = [0.0]
    out = Tty()
    p = Progress("lineside export", total=4000, unit="points", stream=out,
                 clock=lambda: now[0])
    p.update(1000)                       # first call draws at once
    now[0] = 0.1
    p.update(1500)                       # within 0.2 s: not drawn
    now[0] = 2.0
    p.update(3000, "chunk 7")            # 3000 in 2 s
    p.close()
    assert out.getvalue() == (
        "\rlineside export: 1,000/4,000 points (25%)\x1b[K"
        "\rlineside export: 3,000/4,000 points (75%), 1,500/s, chunk 7\x1b[K"
        "\r\x1b[K")                      # erased before the summary line


def test_nothing_at_all_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress("replay", unit="samples", stream=out) as p:
        p.update(10, force=True)
        p.stage("query 1/2")
    assert out.getvalue() == ""


def run_cmd(argv: list[str], tty: bool, cwd: Path) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (tty) or a pipe; (exit code, stderr)."""
    if not tty:
        res = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, timeout=60, cwd=cwd)
        return res.returncode, res.stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=slave,
                            stdin=subprocess.DEVNULL, cwd=cwd)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode()


@pytest.fixture
def queue_file(tmp_path: Path) -> Path:
    path = tmp_path / "queue-local.db"
    q = DiskQueue(path)
    q.put([f"signal,machine=m1 value={i} {1_700_000_000_000_000_000 + i}"
           for i in range(30_000)])
    q.close()
    return path


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_export(tmp_path, queue_file, tty) -> None:
    rc, err = run_cmd([*CLI, "export", "--queue", str(queue_file), "--keep",
                       "-o", str(tmp_path / "out.lp")], tty, tmp_path)
    assert rc == 0, err
    summary = f"lineside export: 30000 points from {queue_file} (kept in the queue)"
    assert summary in err
    if tty:
        assert "\rlineside export: " in err and "/30,000 points (" in err
        assert err.index("\r\x1b[K") < err.index(summary)  # erased, then the summary
    else:
        assert err.strip() == summary and "\r" not in err


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_replay(tmp_path, tty) -> None:
    c = cfg([one_machine_line("running", "good")], [shift("A", "06:00-07:00")])
    rows = [("06:00", {"running": True, "good": 0}), ("06:30", {"running": False, "good": 900})]
    log = tmp_path / "samples.jsonl"
    with SampleLog(log) as w:
        w.write(poll(rows, "06:40", poll_s=1))  # 2 signals x 2400 s
    plant = tmp_path / "plant.json"
    plant.write_text(c.model_dump_json(exclude_none=True))
    rc, err = run_cmd([*CLI, "replay", str(log), str(plant), "-o", str(tmp_path / "o.lp")],
                      tty, tmp_path)
    assert rc == 0, err
    if tty:
        assert "\rreplay: 1,024 samples, at 2026-" in err and " UTC, " in err
    else:
        assert "\r" not in err and err.strip().startswith("replay: ") and "points" in err


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipe"])
def test_report_says_which_query_runs(tmp_path, tty) -> None:
    registry = Path(__file__).resolve().parents[2] / "config" / "bureau-examples" / \
        "registry.yaml"
    # nothing listens on port 9: the first query fails, after its stage was shown
    rc, err = run_cmd([*CLI, "report", "--registry", str(registry), "--url",
                       "http://127.0.0.1:9", "--timeout", "2"], tty, tmp_path)
    assert rc == 1 and "lineside report: " in err
    assert ("\rlineside report: query 1/2: " in err) is tty, err

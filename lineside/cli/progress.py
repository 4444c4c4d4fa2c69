"""Progress of a long command on one line of stderr, only when stderr is a terminal.

`export`, `replay` and `report` over a large range run for minutes; on a terminal they
redraw one status line (at most five times a second), on a pipe, a file or the journal
they write nothing extra, so scripts and logs keep only the final summary line. The line
is erased before the command prints its summary.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(self, label: str, total: int | None = None, unit: str = "",
                 stream: TextIO | None = None, interval_s: float = 0.2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_terminal(self.stream)
        self.interval_s = interval_s
        self.clock = clock
        self.started = clock()
        self._last = float("-inf")
        self._drawn = False

    def update(self, done: int, detail: str = "", force: bool = False) -> None:
        """Show `done` of `total`; drawn only when the interval has passed (or `force`)."""
        if not self.enabled:
            return
        now = self.clock()
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        text = f"{self.label}: {done:,}"
        if self.total:
            text += f"/{self.total:,} {self.unit} ({100 * done / self.total:.0f}%)".rstrip()
        elif self.unit:
            text += f" {self.unit}"
        elapsed = now - self.started
        if elapsed >= 1 and done:
            text += f", {done / elapsed:,.0f}/s"
        if detail:
            text += f", {detail}"
        self.stream.write(f"\r{text}\x1b[K")  # carriage return, clear to the line's end
        self.stream.flush()
        self._drawn = True

    def stage(self, text: str) -> None:
        """A step without a count (e.g. "query 2/4: oee, previous period")."""
        if not self.enabled:
            return
        self.stream.write(f"\r{self.label}: {text}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False

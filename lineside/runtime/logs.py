"""Structured logging: text or JSON lines, context fields, repeated errors rate-limited.

Rules (docs/deploy.md, "Logs"):
- a WARNING or worse with an error kind (the `kind` extra field: timeout, truncated,
  illegal_address, ...) passes whenever the kind differs from the last one seen for its
  logger and context (the `device`/`sink`/... extra fields), whatever the timing; the
  same kind again passes once per `period_s`. A record below WARNING with a kind (a
  driver's recovery INFO, kind `recovered`) is the context's last kind too, so the next
  failure is a change. Without a kind, a WARNING passes once per `period_s` per
  (logger, context, message template). Four failing devices are four lines, a device
  going timeout -> truncated -> timeout in ten seconds three, a device failing the same
  way every cycle one a minute;
- a record marked `extra={"every": True}` always passes: one line per event that is
  rare by nature and must each be seen (a wall-clock step);
- drivers log a WARNING when a device's error kind changes and an INFO when it recovers
  (drivers/kindlog.py);
- a library's line logged for a device (pymodbus, asyncua) names it: the drivers say
  which device they work for (drivers/logctx.py); pymodbus's own lines, which the
  Modbus driver replaces with its own, become DEBUG;
- third-party frame dumps (pymodbus appends its last frames to its errors) are cut
  unless the log level is debug: one line per record;
- a URL's password never reaches a log line (`https://user:***@host`, redact.py).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from lineside.drivers.logctx import DeviceOnRecord
from lineside.redact import mask_url_passwords

CONTEXT_KEYS = ("device", "line", "stage", "machine", "sink", "request", "kind")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(ctx)s")

    def format(self, record: logging.LogRecord) -> str:
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT_KEYS if hasattr(record, k))
        record.ctx = f" [{ctx}]" if ctx else ""
        return super().format(record)


class RateLimit(logging.Filter):
    """Let a change of error kind through at once, the same problem once per `period_s`.

    A PLC that is down produces the same error every cycle; the first one is logged, the
    rest are counted and summarised when the next one passes. A PLC whose error changes
    kind is logged at every change, even back to a kind seen seconds ago.
    """

    def __init__(self, period_s: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.period_s = period_s
        self.clock = clock
        self._last: dict[tuple, float] = {}
        self._suppressed: dict[tuple, int] = {}
        self._kind: dict[tuple, str] = {}  # (logger, context) -> the last kind seen

    def filter(self, record: logging.LogRecord) -> bool:
        kind = getattr(record, "kind", None)
        where = (record.name, *(getattr(record, k, None) for k in CONTEXT_KEYS
                                if k != "kind"))
        changed = kind is not None and self._kind.get(where) != kind
        if kind is not None:
            if len(self._kind) > 10_000:  # bound memory if contexts are unique
                self._kind.clear()
            self._kind[where] = kind
        if record.levelno < logging.WARNING or getattr(record, "every", False):
            return True
        key = (*where, kind if kind is not None else record.msg)
        now = self.clock()
        last = self._last.get(key)
        if not changed and last is not None and now - last < self.period_s:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        self._last[key] = now
        n = self._suppressed.pop(key, 0)
        if n:
            record.msg = f"{record.msg} (repeated {n} more times in the last {self.period_s:g}s)"
        if len(self._last) > 10_000:  # bound memory if messages are unique
            self._last.clear()
        return True


class NoFrameDumps(logging.Filter):
    """Cut the frames pymodbus appends to its errors ("\\n>>>>> send: ...") below debug.

    pymodbus logs the last 20 frames it saw under every error it reports: 20
    untimestamped lines per error, which buried the agent's own lines in the field.
    """

    MARK = "\n>>>>> "

    def __init__(self, debug: bool) -> None:
        super().__init__()
        self.debug = debug

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.debug and record.name.startswith("pymodbus") and isinstance(record.msg, str):
            cut = record.msg.find(self.MARK)
            if cut >= 0:
                record.msg = record.msg[:cut] + " (frames: run with log level debug)"
        return True


class NoUrlPasswords(logging.Filter):
    """Mask the password of any `scheme://user:password@` in a record's message: a URL
    from the configuration (a sink's, an OPC UA endpoint) reaches many messages."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = mask_url_passwords(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        return True


# sd-daemon(3) priorities: journald reads a leading "<N>" as the line's syslog priority
JOURNAL_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4,
                    logging.ERROR: 3, logging.CRITICAL: 2}


class JournalPrefix(logging.Formatter):
    """Prefix every line of a record with its priority, so `journalctl -p err` filters.

    Each line: journald makes one entry per line, and a traceback's lines belong to the
    error they explain.
    """

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prio = JOURNAL_PRIORITY.get(record.levelno)
        if prio is None:  # custom levels: the nearest standard one below
            prio = next((p for lvl, p in sorted(JOURNAL_PRIORITY.items(), reverse=True)
                         if record.levelno >= lvl), 7)
        return "\n".join(f"<{prio}>{line}" for line in self.inner.format(record).split("\n"))


def stderr_is_journal(env: dict[str, str] | None = None) -> bool:
    """True when stderr is the journal stream systemd connected (JOURNAL_STREAM=dev:ino).

    Comparing device and inode, as systemd.exec(5) asks: a redirected stderr (a file, a
    pipe to another program) inherits the variable but must not get the prefixes.
    """
    value = (os.environ if env is None else env).get("JOURNAL_STREAM", "")
    dev, _, ino = value.partition(":")
    try:
        st = os.fstat(sys.stderr.fileno())
        return (st.st_dev, st.st_ino) == (int(dev), int(ino))
    except (ValueError, OSError, AttributeError):
        return False


def setup_logging(level: str = "info", fmt: str = "text", period_s: float = 60.0) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler.setFormatter(JournalPrefix(formatter) if stderr_is_journal() else formatter)
    handler.addFilter(DeviceOnRecord(debug=level.lower() == "debug"))  # before RateLimit
    handler.addFilter(NoFrameDumps(level.lower() == "debug"))
    handler.addFilter(RateLimit(period_s))
    handler.addFilter(NoUrlPasswords())  # last: RateLimit keys on the message template
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("asyncua", "pymodbus", "urllib3", "influxdb_client"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))

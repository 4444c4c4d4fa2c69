"""One line for a server that could not listen: the address, why, and what sets it.

asyncio's `create_server` raises OSError "error while attempting to bind on address
('127.0.0.1', 9108): address already in use"; shown as a 30-line traceback it named
neither the configuration key nor what to do. The agent's only server is its metrics
endpoint (`http.listen`); the demo adds the simulator's (`--modbus-port`, ...).
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping

from lineside.i18n import Translator, translator

# what bind() refuses: the port is taken, the address is not this host's, a port < 1024
_BIND_ERRNOS = frozenset((errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES))
_ADDRESS = re.compile(r"bind on address \('?([^',]*)'?, (\d+)")


def _hints(t: Translator) -> dict[int, str]:
    return {
        errno.EADDRINUSE: t._("another process listens there (`ss -ltnp` shows which): stop "
                              "it or choose another port"),
        errno.EADDRNOTAVAIL: t._("no interface of this host has that address"),
        errno.EACCES: t._("ports below 1024 need privileges the agent should not have; "
                          "choose a port above 1023"),
    }


def bind_failure(exc: BaseException, owners: Mapping[int, str], locale: str = "en"
                 ) -> str | None:
    """The line to print when `exc` is a refused bind, else None (not ours to explain).

    `owners`: port -> the configuration key or option that sets it; `locale`: the
    language of the person at the console (the OS's reason stays as the OS gives it).
    """
    if not isinstance(exc, OSError) or exc.errno not in _BIND_ERRNOS:
        return None
    m = _ADDRESS.search(str(exc))
    if m is None:
        return None
    host, port = m.group(1), int(m.group(2))
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    owner = owners.get(port)
    t = translator(locale)
    reason = (exc.strerror or "").split(": ")[-1] or t._("refused")
    line = (t._("cannot listen on {address} (set by {owner}): {reason}; {hint}") if owner
            else t._("cannot listen on {address}: {reason}; {hint}"))
    return line.format(address=shown, owner=owner, reason=reason,
                       hint=_hints(t)[exc.errno])

"""asyncua's standard address space kept in a shelf: a simulator's OPC UA server in 0.2 s, not 3.

asyncua builds the standard OPC UA address space in Python at every server start (~3 s of
CPU, most of `lineside simulate`'s and `lineside demo`'s start-up). It can read it from a
shelf instead, node by node as they are used (`AddressSpace.load_aspace_shelf`), but its
own `Server.init(shelf_file)` only finds the files of dbm.gnu and dbm.ndbm: where Python has
neither (dbm.dumb writes .dat/.dir), it rebuilds the space and rewrites the shelf at every
start. So the shelf is built here, once per asyncua and Python version, in the user's
cache directory, in a private directory renamed into place (two starts at once never read
a half-written shelf). Without a writable cache the space is built as before.
"""

from __future__ import annotations

import asyncio
import dbm
import logging
import os
import shutil
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

log = logging.getLogger("lineside.simulator")


def shelf_path() -> Path:
    """Where the shelf of this asyncua and Python lives (about 20 MB)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    py = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    return base / "lineside" / f"opcua-aspace-{version('asyncua')}-{py}" / "aspace"


def _save(aspace: Any, path: Path) -> None:
    try:
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=path.parent.parent))
    except OSError as e:
        log.debug("no OPC UA address-space cache: %s", e)
        return
    try:
        aspace.make_aspace_shelf(tmp / path.name)
        os.rename(tmp, path.parent)  # atomic; fails when another start got there first
    except OSError as e:
        log.debug("OPC UA address-space cache not saved: %s", e)
        shutil.rmtree(tmp, ignore_errors=True)


async def init_server(server: Any, path: Path | None = None) -> None:
    """`await server.init()`, the standard address space from the shelf at `path`."""
    try:
        path = path or shelf_path()
    except RuntimeError:  # no home directory (a service's user): no cache
        await server.init()
        return
    iserver = server.iserver
    build = iserver.load_standard_address_space

    async def load(_shelf: Path | None = None) -> None:
        if path.parent.is_dir():
            try:
                iserver.aspace.load_aspace_shelf(path)
                return
            except (OSError, *dbm.error) as e:  # unreadable: build it as asyncua does
                log.warning("OPC UA address-space cache %s unreadable (%s); building it",
                            path.parent, e)
        await build(None)
        await asyncio.to_thread(_save, iserver.aspace, path)

    iserver.load_standard_address_space = load
    await server.init()

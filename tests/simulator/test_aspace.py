"""The simulator's OPC UA address space from the cache: what a client sees is unchanged."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua

from lineside.config.models import LinesideConfig
from lineside.simulator.aspace import shelf_path
from lineside.simulator.server import SimulatedFactory
from tests.fixtures.common import free_port

logging.getLogger("asyncua").setLevel(logging.ERROR)


async def seen(sim: SimulatedFactory) -> dict[str, Any]:
    """What a client reads of the standard space and of the simulated machines."""
    async with Client(sim.config.devices[-1].endpoint, timeout=5) as c:
        server = c.get_node(ua.ObjectIds.Server)
        objects = [await ch.read_browse_name() for ch in await c.nodes.objects.get_children()]
        below = [await ch.read_browse_name() for ch in await server.get_children()]
        out: dict[str, Any] = {
            "objects": sorted(str(n.Name) for n in objects),
            "server": sorted(str(n.Name) for n in below),
            "namespaces": await c.get_namespace_array(),
            "state": await c.get_node(ua.ObjectIds.Server_ServerStatus_State).read_value(),
            "double": (await c.get_node(ua.ObjectIds.Double).read_browse_name()).Name,
            "types": len(await c.get_node(ua.ObjectIds.BaseDataVariableType)
                         .get_children(refs=ua.ObjectIds.HasSubtype)),
        }
        values = {key: await c.get_node(nid).read_value()
                  for key, (nid, _) in sim.opcua._nodes.items()}
    assert values == sim.opcua._last  # what the model last gave: served as it was
    out["values"] = sorted(values)  # the same nodes (their values move with the clock)
    return out


async def start_and_read(cfg: LinesideConfig) -> dict[str, Any]:
    sim = SimulatedFactory(cfg, seed=9, modbus_port=free_port(), opcua_port=free_port(),
                           update_s=3600.0, start_ts=1795708800.0)
    async with sim:
        await asyncio.sleep(0.05)  # the first update, then none for an hour (update_s)
        got = await seen(sim)
        tick = sim.opcua._server.iserver.time_task  # asyncua's ServerStatus clock loop
    assert tick is not None and tick.done()  # stop() ends it instead of waiting out 1 s
    with pytest.raises(OSError):  # and the server is gone
        await asyncio.open_connection("127.0.0.1", sim.opcua_port)
    return got


async def test_cached_address_space_serves_what_the_built_one_does(
        demo_cfg: LinesideConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shelf = shelf_path()
    assert str(shelf).startswith(str(tmp_path))
    assert not shelf.parent.exists()
    built = await start_and_read(demo_cfg)  # builds the space, saves the shelf
    assert shelf.parent.is_dir()
    assert not list(shelf.parent.parent.glob(".building-*"))  # nothing half-written left
    cached = await start_and_read(demo_cfg)  # reads it from the shelf
    assert cached == built
    assert built["values"] and "Server" in built["objects"] and built["double"] == "Double"
    assert built["types"] > 5 and built["state"] == ua.ServerState.Running


async def test_unwritable_cache_builds_in_memory(demo_cfg: LinesideConfig, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    got = await start_and_read(demo_cfg)
    assert got["values"] and got["double"] == "Double"
    assert not shelf_path().parent.exists()

"""OPC UA driver (asyncua): polling and subscriptions, secured, surviving restarts."""

from __future__ import annotations

from typing import Any

__all__ = ["OpcuaDriver"]


def __getattr__(name: str) -> Any:
    # lazy: importing the config model (done by `lineside check`) must not load asyncua's
    # client stack
    if name == "OpcuaDriver":
        from lineside.drivers.opcua.driver import OpcuaDriver

        return OpcuaDriver
    raise AttributeError(name)

"""Fixtures for real servers live in tests/fixtures/<server>.py, one file per server."""

import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.fixtures.influxdb",
        "tests.fixtures.modbus_peers",
        "tests.fixtures.opcua_peers",
        "tests.fixtures.prometheus",
    )
    if importlib.util.find_spec(name) is not None
]

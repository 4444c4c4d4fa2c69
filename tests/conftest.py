"""Fixtures for real servers live in tests/fixtures/<server>.py, one file per server."""

import importlib.util

import pytest

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The real-time tests (`slow`: they wait on the wall clock) start first: with two
    workers taking one file at a time, a long file taken last would run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable

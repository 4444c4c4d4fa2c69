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


def _cost_class(item: pytest.Item) -> int:
    if item.get_closest_marker("slow"):
        return 0  # waits on the wall clock
    return 1 if item.get_closest_marker("server") else 2  # starts real servers


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files start first: real-time tests (`slow`), then those with real servers,
    then the rest. With workers taking one file at a time, a long file taken last
    would run alone at the end. scripts/test passes `--no-loadscope-reorder`, or xdist
    would reorder the files by their number of tests and take the one-test files (often
    the long ones) last."""
    first: dict[object, int] = {}  # a file's class is its longest test's: files stay whole
    for item in items:
        first[item.path] = min(first.get(item.path, 2), _cost_class(item))
    items.sort(key=lambda item: first[item.path])  # stable: a file's tests keep their order

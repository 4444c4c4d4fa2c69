"""What `check` accepts, `run` can do: bounded numbers, bounded documents, no inline secret.

The bound rule is general (every int and float key of every model has a lower and an upper
bound, floats are finite), so a key added later without bounds fails here by name.
"""

from __future__ import annotations

import time
import tracemalloc
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

import pytest
from pydantic.fields import FieldInfo

from lineside.config.errors import ConfigError
from lineside.config.introspect import config_fields
from lineside.config.loader import MAX_CONFIG_BYTES, parse_config
from lineside.config.models import LinesideConfig
from lineside.config.reference import bounds
from lineside.config.yamlpos import MAX_ALIAS_BYTES, MAX_ALIAS_NODES, MAX_EXPANDED_NODES
from tests.config.test_check import VALID


def _numbers(t: Any, meta: list[Any], where: str) -> Iterator[tuple[str, Any, list[Any]]]:
    """(path, number type, constraints) of every int/float reachable from annotation t."""
    origin = get_origin(t)
    if origin is typing.Annotated:
        inner, *extra = get_args(t)
        more = [m for fi in extra if isinstance(fi, FieldInfo) for m in fi.metadata]
        yield from _numbers(inner, meta + more, where)
    elif origin in (typing.Union, types.UnionType):
        for a in get_args(t):
            yield from _numbers(a, meta, where)
    elif origin is list:
        yield from _numbers(get_args(t)[0], [], where + "[]")
    elif origin is dict:  # keys are codes compared as written; values are quantities
        yield from _numbers(get_args(t)[1], [], where + "{}")
    elif origin is Literal or t is bool:
        return
    elif t in (int, float):
        yield where, t, meta
    elif config_fields(t) is not None:
        for name, f in config_fields(t).items():
            yield from _numbers(f.annotation, list(f.metadata), f"{t.__name__}.{name}")


def test_every_numeric_key_has_a_lower_and_an_upper_bound() -> None:
    found = list(_numbers(LinesideConfig, [], "LinesideConfig"))
    assert len(found) > 40  # the walk reaches the devices, sinks, machines, metrics
    unbounded = [where for where, _t, meta in found if None in bounds(meta)]
    assert not unbounded, f"numeric keys without both bounds: {unbounded}"


def test_floats_must_be_finite_in_every_model() -> None:
    seen: set[type] = set()

    def walk(t: Any) -> None:
        fields = config_fields(t)
        if fields is not None:
            if t in seen:
                return
            seen.add(t)
            config = getattr(t, "model_config", None) or t.__pydantic_config__
            assert config.get("allow_inf_nan") is False, t.__name__
            for f in fields.values():
                walk(f.annotation)
        for a in get_args(t):
            walk(a)

    walk(LinesideConfig)
    assert len(seen) > 15


def _refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        parse_config(text, "bad.yaml")
    return exc.value


# (key as written after `port: 5020` of the Modbus device, error path, words)
OUT_OF_RANGE = [
    ("interval_s: 1e300", "devices[0].interval_s", "less than or equal to 86400"),
    ("interval_s: 0.0001", "devices[0].interval_s", "greater than or equal to 0.01"),
    ("timeout_s: 1e12", "devices[0].timeout_s", "less than or equal to 3600"),
    ("reconnect_max_s: .inf", "devices[0].reconnect_max_s", "finite number"),
]


@pytest.mark.parametrize(("written", "path", "words"), OUT_OF_RANGE,
                         ids=[c[0] for c in OUT_OF_RANGE])
def test_out_of_range_numbers_are_named(written: str, path: str, words: str) -> None:
    err = _refused(VALID.replace("port: 5020", f"port: 5020\n    {written}", 1))
    assert any(i.path == path and words in i.message for i in err.issues), err.render()


def test_inline_secret_names_the_env_and_file_keys_and_never_echoes_the_value() -> None:
    text = VALID.replace("token_env: INFLUX_TOKEN", "token: s3cr3t-value")
    err = _refused(text)
    rendered = err.render()
    assert "`token_env`" in rendered and "`token_file`" in rendered, rendered
    assert "s3cr3t-value" not in rendered


def _refused_measured(text: str) -> tuple[Any, float, int]:
    """The refusal, the seconds it took and the peak of traced memory (bytes)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        err = _refused(text)
        return err, time.perf_counter() - t0, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


BOMB_LEVELS = ["a: &a [" + ", ".join(['"lol"'] * 9) + "]"] + [
    f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]"
    for p, c in zip("abcdefghi", "bcdefghij", strict=True)]


@pytest.mark.parametrize("levels", [9, 10])
def test_alias_bomb_is_refused_quickly_and_in_little_memory(levels: int) -> None:
    # 9 levels of 9 aliases: 9**9 = 387,420,489 strings from ~600 bytes (2.9 GB in 20 s
    # before); one level deeper: 3.5 billion.
    text = "\n".join(BOMB_LEVELS[:levels]) + "\n"
    assert len(text) < 700
    err, elapsed, peak = _refused_measured(text)
    assert elapsed < 1.0
    assert peak < 50 << 20
    (issue,) = err.issues
    assert issue.line == 1 and "aliases" in issue.message
    assert f"{MAX_EXPANDED_NODES:,}" in issue.message


# Under the node cap, over what aliases may add: 6 levels of 9 (597,871 nodes) used
# twice is 1.9 million nodes from 301 bytes (1.6 s and 310 MB before); a long
# value aliased is text, not nodes.
UNDER_THE_CAP = "\n".join(BOMB_LEVELS[:6]) + "\nlines: [*f, *f]\n"
LONG_VALUE = ('site: {enterprise_name: &n "' + "x" * (1 << 20) + '"}\n'
              "lines: [" + ", ".join(["*n"] * 6) + "]\n")


@pytest.mark.parametrize(("text", "words", "bound"), [
    (UNDER_THE_CAP, "aliases (*name) add 1,8", f"{MAX_ALIAS_NODES:,} allowed"),
    (LONG_VALUE, "aliases (*name) repeat 6,291,456 bytes", f"{MAX_ALIAS_BYTES:,} allowed"),
], ids=["nodes", "bytes"])
def test_what_aliases_add_is_bounded_by_size_and_time(text: str, words: str,
                                                      bound: str) -> None:
    assert len(text) < 320 or text is LONG_VALUE
    err, elapsed, peak = _refused_measured(text)
    assert elapsed < 1.0, elapsed
    assert peak < (50 << 20) + len(text) * 4, peak
    (issue,) = err.issues
    assert words in issue.message and bound in issue.message, issue.message


def test_a_document_at_the_alias_bound_costs_little() -> None:
    """Aliases adding just under MAX_ALIAS_NODES: accepted, and the whole check of it
    (parse, positions, ${VAR}, validation) stays well under a second of CPU (~0.15 s)."""
    per_use = 3 * 1000 + 1  # a list of 1,000 mappings of one key: 3 nodes each
    uses = MAX_ALIAS_NODES // per_use
    text = VALID.replace("sinks:\n", "x-defaults: &d [" + ", ".join(["{k: v}"] * 1000) + "]\n"
                         "x-uses: [" + ", ".join(["*d"] * uses) + "]\nsinks:\n")
    t0 = time.process_time()  # CPU time: the bound is on work, whatever else runs
    err = _refused(text)  # valid but for the two unknown keys, named
    elapsed = time.process_time() - t0
    assert {i.path for i in err.issues} == {"x-defaults", "x-uses"}
    assert elapsed < 1.0, elapsed
    with pytest.raises(ConfigError, match="aliases"):
        parse_config(text.replace("x-uses: [", "x-uses: [*d, *d, "), "over.yaml")


@pytest.mark.parametrize("text", [
    "x: &a [*a]\n",                      # a list inside itself: 10 bytes, endless
    "x: &a {y: *a}\n",                   # a mapping inside itself
    "x: &a [1, [2, {z: *a}]]\n",         # deeper down
    "devices: &d\n  - id: p\n    more: *d\n",
])
def test_an_alias_inside_its_own_anchor_is_refused_at_once(text: str) -> None:
    err, elapsed, peak = _refused_measured(text)
    assert elapsed < 1.0 and peak < 50 << 20
    (issue,) = err.issues
    assert "refers to the node that contains it" in issue.message
    assert issue.line is not None and issue.line >= 1


def test_aliases_within_the_bound_still_work() -> None:
    # merge keys and small shared mappings are ordinary YAML, not bombs
    text = VALID.replace("      - id: plc-cut\n", "      - &cut\n        id: plc-cut\n", 1)
    assert parse_config(text, "ok.yaml").devices[0].id == "plc-cut"


def test_oversized_file_is_refused_before_parsing(tmp_path: Any) -> None:
    from lineside.config.loader import load_config

    p = tmp_path / "huge.yaml"
    p.write_bytes(b"#" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert f"more than the {MAX_CONFIG_BYTES:,}" in exc.value.render()

"""Load YAML while remembering where each key and value was written."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

Loc = tuple[str | int, ...]

# Aliases make a small file stand for a huge tree (a "billion laughs" bomb: 600 bytes of
# nested anchors expand to gigabytes once walked or validated). The tree a file stands
# for, every alias counted as the nodes it repeats, is bounded well above any plant
# (10,000 signals are ~150,000 nodes) and measured before anything walks it.
MAX_EXPANDED_NODES = 2_000_000


class DocumentTooLarge(ValueError):
    """The document is refused before it is constructed (message for `lineside check`)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


# libyaml's parser when PyYAML was built with it: a 10,000-signal plant file parses in
# about 1 s instead of 20 (the pure-Python reader dominates); same nodes, same marks.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults`: merged keys may be overridden, that is the point
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[arg-type]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_with_positions(text: str) -> tuple[Any, Mapping[Loc, tuple[int, int]]]:
    """Parse YAML; return the data and a map from key path to (line, column), 1-based."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        _check_expansion(node)
        return loader.construct_document(node), Positions(text)
    finally:
        loader.dispose()


class Positions(Mapping[Loc, tuple[int, int]]):
    """Where each key path was written, recorded when first asked for by parsing the
    text again. Positions only serve error messages; held from the start they were a
    quarter of the agent's peak RSS with a 10,000-signal file (~9 MB of tuples)."""

    def __init__(self, text: str) -> None:
        self._text: str | None = text
        self._map: dict[Loc, tuple[int, int]] = {}

    def _recorded(self) -> dict[Loc, tuple[int, int]]:
        if self._text is not None:
            loader = _Loader(self._text)
            try:
                node = loader.get_single_node()
                if node is not None:
                    _record_positions(node, self._map)
            finally:
                loader.dispose()
            self._text = None
        return self._map

    def __getitem__(self, loc: Loc) -> tuple[int, int]:
        return self._recorded()[loc]

    def __iter__(self) -> Iterator[Loc]:
        return iter(self._recorded())

    def __len__(self) -> int:
        return len(self._recorded())


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a tree whose alias-expanded size exceeds MAX_EXPANDED_NODES.

    Sizes are memoised per node object (an alias is the same object as its anchor), so
    this costs one visit per distinct node however deep the nesting.
    """
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        n, done = stack.pop()
        if id(n) in size:
            continue
        kids: list[yaml.Node] = []
        if isinstance(n, yaml.MappingNode):
            kids = [x for kv in n.value for x in kv]
        elif isinstance(n, yaml.SequenceNode):
            kids = list(n.value)
        if done:
            size[id(n)] = 1 + sum(size[id(k)] for k in kids)
            continue
        stack.append((n, True))
        stack.extend((k, False) for k in kids if id(k) not in size)
    total = size[id(root)]
    if total > MAX_EXPANDED_NODES:
        mark = root.start_mark
        raise DocumentTooLarge(
            f"the document expands to {total:,} nodes through its aliases (*name), more "
            f"than the {MAX_EXPANDED_NODES:,} allowed: refused without expanding it "
            "(nested anchors repeated at every level?)", mark.line + 1, mark.column + 1)


def _record_positions(node: yaml.Node, positions: dict[Loc, tuple[int, int]]) -> None:
    def walk(n: yaml.Node, loc: Loc) -> None:
        positions.setdefault(loc, (n.start_mark.line + 1, n.start_mark.column + 1))
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                key = k.value  # text form; resolve() maps int keys onto it
                # Key position is where a reader looks for a wrong key; values nest below it.
                positions[(*loc, key)] = (k.start_mark.line + 1, k.start_mark.column + 1)
                walk(v, (*loc, key))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, (*loc, i))

    walk(node, ())


def resolve(data: Any, loc: Loc, missing: bool = False) -> Loc:
    """Map a validator's error path onto the YAML document.

    pydantic inserts union tags (``modbus-tcp``, ``function-after[...]``) into paths and
    reports int-looking keys as ints; keep only the parts that exist in the document,
    plus a final missing key.
    """
    out: list[str | int] = []
    cur = data
    parts = list(loc)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and str(part) in {str(k) for k in cur}:
            key = next(k for k in cur if str(k) == str(part))
            out.append(str(key))
            cur = cur[key]
        elif last and missing:
            out.append(part)  # a missing key: name it, point at its parent
        # else: a union tag or validator label that is not in the document
    return tuple(out)


def position(positions: Mapping[Loc, tuple[int, int]], loc: Loc) -> tuple[int, int] | None:
    """Position of a path, or of its closest written parent."""
    probe = tuple(str(p) if not isinstance(p, int) else p for p in loc)
    while True:
        if probe in positions:
            return positions[probe]
        if not probe:
            return None
        probe = probe[:-1]


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out

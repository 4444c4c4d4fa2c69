"""Load YAML while remembering where each key and value was written."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

Loc = tuple[str | int, ...]

# Aliases make a small file stand for a huge tree (a "billion laughs" bomb: 600 bytes of
# nested anchors expand to gigabytes once walked or validated). The tree a file stands
# for, every alias counted as the nodes it repeats, is bounded well above any plant
# (10,000 signals are ~150,000 nodes) and measured before anything walks it.
MAX_EXPANDED_NODES = 2_000_000
# What aliases may add to what is written. The node cap alone let a 304-byte file of
# nested anchors stand for 1.9 million nodes: 1.6 s and 310 MB spent in `check` on
# every walk of the tree (positions, ${VAR}, validation), all proportional to what the
# aliases add. Real files share small defaults (`<<: *modbus`: a few nodes per signal,
# ~60,000 for 10,000 signals); these bounds keep the work aliases can cause to about
# 0.1 s and a few MB (tests/config/test_bounds.py measures it), and the text they can
# repeat (a long string aliased many times) to a few MiB.
MAX_ALIAS_NODES = 250_000
MAX_ALIAS_BYTES = 4 << 20


class DocumentTooLarge(ValueError):
    """The document is refused before it is constructed (message for `lineside check`)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.line, self.column = line, column


# libyaml's parser when PyYAML was built with it: a 10,000-signal plant file parses in
# about 1 s instead of 20 (the pure-Python reader dominates); same nodes, same marks.
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml's if built
    pass


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults`: merged keys may be overridden, that is the point
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen[key] = key_node
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_with_positions(text: str) -> tuple[Any, Mapping[Loc, tuple[int, int]]]:
    """Parse YAML; return the data and a map from key path to (line, column), 1-based.

    Documents are built straight from the parser's events (see _EventBuilder): libyaml's
    node tree of a 10,000-signal file held ~26 MB at once, most of an agent's peak RSS.
    Whatever that builder does not cover, and every error, goes through the node tree
    (_load_nodes), so results and error messages are the node tree's own.
    """
    try:
        return _EventBuilder(text).document(), Positions(text)
    except Exception:  # unusual or invalid: the node tree decides, and says why
        return _load_nodes(text)


class _Fallback(Exception):
    """Something _EventBuilder leaves to the node tree."""


_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_MERGE, _VALUE = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"


class _EventBuilder:
    """Builds the data of a single-document file from parser events, without nodes.

    Covers what configuration files use: plain and quoted scalars with implicit or
    explicit scalar tags (the loader's own constructors), block and flow collections,
    anchors and aliases (the same object, as the node tree gives), merge keys. Anything
    else (complex or tagged keys, tagged collections, recursive or duplicate anchors,
    several documents, duplicate keys, a document above MAX_EXPANDED_NODES) raises
    _Fallback; parser errors propagate. Sizes follow _check_expansion: a node counts 1
    plus its children, an alias what its anchor counts.
    """

    def __init__(self, text: str) -> None:
        self.loader = _Loader(text)
        self.anchors: dict[str, tuple[Any, int, int]] = {}  # anchor -> (object, size, bytes)
        self.written = 0  # nodes as written (an alias: none)
        self.text_bytes = 0  # scalar text, aliases expanded
        self.alias_bytes = 0  # of which repeated by aliases

    def document(self) -> Any:
        ld = self.loader
        try:
            ld.get_event()  # stream start
            if ld.check_event(yaml.StreamEndEvent):
                return None
            ld.get_event()  # document start
            data, size = self.node()
            ld.get_event()  # document end
            if not ld.check_event(yaml.StreamEndEvent) or size > MAX_EXPANDED_NODES \
                    or size - self.written > MAX_ALIAS_NODES \
                    or self.alias_bytes > MAX_ALIAS_BYTES:
                raise _Fallback  # the node tree says which bound, and where
            return data
        finally:
            ld.dispose()

    def node(self) -> tuple[Any, int]:
        ev = self.loader.get_event()
        if isinstance(ev, yaml.AliasEvent):
            if ev.anchor not in self.anchors:
                raise _Fallback  # undefined, or an ancestor still being built
            data, size, nbytes = self.anchors[ev.anchor]
            self.text_bytes += nbytes
            self.alias_bytes += nbytes
            if self.alias_bytes > MAX_ALIAS_BYTES:
                raise _Fallback  # stop before building more
            return data, size
        if ev.anchor is not None and ev.anchor in self.anchors:
            raise _Fallback  # a duplicate anchor is an error of the node tree
        self.written += 1
        start_bytes = self.text_bytes
        if isinstance(ev, yaml.ScalarEvent):
            self.text_bytes += len(ev.value)
            out = (self.scalar(ev), 1)
        elif isinstance(ev, yaml.SequenceStartEvent):
            out = self.sequence(ev)
        elif isinstance(ev, yaml.MappingStartEvent):
            out = self.mapping(ev)
        else:
            raise _Fallback
        if ev.anchor is not None:
            if ev.anchor in self.anchors:
                raise _Fallback
            self.anchors[ev.anchor] = (*out, self.text_bytes - start_bytes)
        return out

    def _scalar_tag(self, ev: yaml.ScalarEvent) -> str:
        if ev.tag is None or ev.tag == "!":
            return str(self.loader.resolve(yaml.ScalarNode, ev.value, ev.implicit))
        return str(ev.tag)

    def scalar(self, ev: yaml.ScalarEvent) -> Any:
        tag = self._scalar_tag(ev)
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None or tag in (_SEQ, _MAP, _MERGE, _VALUE):
            raise _Fallback
        # the C parser's marks are yaml._yaml.Mark: the same fields, another class
        value = construct(self.loader, yaml.ScalarNode(
            tag, ev.value, ev.start_mark, ev.end_mark,  # type: ignore[arg-type]  # see above
            ev.style))
        # One object per distinct text: the keys and words a plant repeats on every
        # signal ("address", "float32", "temp1") are kept by the validated models.
        return sys.intern(value) if type(value) is str else value

    @staticmethod
    def _untagged(ev: Any, default: str) -> None:
        if not (ev.tag is None or ev.tag == "!" or ev.tag == default):
            raise _Fallback

    def sequence(self, ev: yaml.SequenceStartEvent) -> tuple[list[Any], int]:
        self._untagged(ev, _SEQ)
        out: list[Any] = []
        size = 1
        while not self.loader.check_event(yaml.SequenceEndEvent):
            v, n = self.node()
            out.append(v)
            size += n
        self.loader.get_event()
        return out, size

    def mapping(self, ev: yaml.MappingStartEvent) -> tuple[dict[Any, Any], int]:
        self._untagged(ev, _MAP)
        ld = self.loader
        merged: list[tuple[Any, Any]] = []
        items: list[tuple[Any, Any]] = []
        seen: set[Any] = set()
        size = 1
        while not ld.check_event(yaml.MappingEndEvent):
            kev = ld.get_event()
            if not isinstance(kev, yaml.ScalarEvent) or kev.anchor is not None:
                raise _Fallback  # a collection, an alias or an anchor as a key
            merge = self._scalar_tag(kev) == _MERGE
            self.written += 1
            self.text_bytes += len(kev.value)
            key = None if merge else self.scalar(kev)
            value, n = self.node()
            size += 1 + n
            if merge:  # `<<`: merged before the own keys; in a list the first one wins
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(m, dict) for m in sources):
                    raise _Fallback
                for m in reversed(sources):
                    merged.extend(m.items())
                continue
            if key in seen:
                raise _Fallback  # a duplicate key: the node tree names it
            seen.add(key)
            items.append((key, value))
        ld.get_event()
        return dict(merged + items), size


def _load_nodes(text: str) -> tuple[Any, Mapping[Loc, tuple[int, int]]]:
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
    """Refuse a tree whose alias-expanded size exceeds MAX_EXPANDED_NODES, or to which
    aliases add more than MAX_ALIAS_NODES nodes or MAX_ALIAS_BYTES of scalar text.

    Sizes are memoised per node object (an alias is the same object as its anchor), so
    this costs one visit per distinct node however deep the nesting. A node met again
    while its own children are being sized is inside itself (`a: &a [*a]`): infinite
    once expanded, so refused too.
    """
    size: dict[int, tuple[int, int]] = {}  # node -> (nodes, scalar bytes), expanded
    building: set[int] = set()  # nodes whose children are on the stack above them
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    written_bytes = 0
    while stack:
        n, done = stack.pop()
        if id(n) in size:
            continue
        if not done and id(n) in building:
            mark = n.start_mark
            raise DocumentTooLarge(
                "an alias (*name) refers to the node that contains it: the document "
                "would expand without end; refused", mark.line + 1, mark.column + 1)
        kids: list[yaml.Node] = []
        if isinstance(n, yaml.MappingNode):
            kids = [x for kv in n.value for x in kv]
        elif isinstance(n, yaml.SequenceNode):
            kids = list(n.value)
        if done:
            own = len(n.value) if isinstance(n, yaml.ScalarNode) else 0
            written_bytes += own
            size[id(n)] = (1 + sum(size[id(k)][0] for k in kids),
                           own + sum(size[id(k)][1] for k in kids))
            building.discard(id(n))
            continue
        building.add(id(n))
        stack.append((n, True))
        stack.extend((k, False) for k in kids if id(k) not in size)
    total, text_bytes = size[id(root)]
    added, added_bytes = total - len(size), text_bytes - written_bytes
    mark = root.start_mark
    why = "(nested anchors repeated at every level?)"
    if total > MAX_EXPANDED_NODES:
        raise DocumentTooLarge(
            f"the document expands to {total:,} nodes through its aliases (*name), more "
            f"than the {MAX_EXPANDED_NODES:,} allowed: refused without expanding it {why}",
            mark.line + 1, mark.column + 1)
    if added > MAX_ALIAS_NODES:
        raise DocumentTooLarge(
            f"its aliases (*name) add {added:,} nodes to the {len(size):,} written, more "
            f"than the {MAX_ALIAS_NODES:,} allowed: refused without expanding it {why}",
            mark.line + 1, mark.column + 1)
    if added_bytes > MAX_ALIAS_BYTES:
        raise DocumentTooLarge(
            f"its aliases (*name) repeat {added_bytes:,} bytes of text, more than the "
            f"{MAX_ALIAS_BYTES:,} allowed: refused without expanding it (a long value "
            "aliased many times?)", mark.line + 1, mark.column + 1)


def _record_positions(node: yaml.Node, positions: dict[Loc, tuple[int, int]]) -> None:
    """Positions of what is written: a node met again through an alias is not walked
    again (what is inside it is found at its closest written parent, `position`), so
    this costs one visit per written node, not per node the aliases expand to."""
    walked: set[int] = set()

    def walk(n: yaml.Node, loc: Loc) -> None:
        positions.setdefault(loc, (n.start_mark.line + 1, n.start_mark.column + 1))
        if id(n) in walked:
            return
        walked.add(id(n))
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

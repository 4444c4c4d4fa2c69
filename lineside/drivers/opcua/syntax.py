"""The syntax of a signal's `node` or `path`, without asyncua (issue 24).

`lineside check` validates every signal; importing asyncua for it (its whole client,
server and crypto stack, ~10 MB and most of check's start-up) only to split a NodeId
string was a layer leaking at import. This follows asyncua's `NodeId.from_string`,
which the driver uses at connect (addressing.py), and is stricter where asyncua would
accept what a server cannot take: a namespace index beyond UInt16, a numeric identifier
beyond UInt32. tests/config/test_address_syntax.py holds the two together: all
this accepts, asyncua parses.
"""

from __future__ import annotations

import re
import uuid

_NSU = re.compile(r"^nsu=(?P<uri>.+?);(?P<rest>[isgb]=.*)$", re.DOTALL)
_NS_FORM = re.compile(r"^(ns=\d+;)?[isgb]=.+$", re.DOTALL)
MAX_NAMESPACE = 0xFFFF  # UInt16
MAX_NUMERIC = 0xFFFF_FFFF  # UInt32


def check_address(node: str | None, path: str | None) -> None:
    """Raise ValueError (the reason, for `check`) unless exactly one is given and valid."""
    if (node is None) == (path is None):
        raise ValueError("give exactly one of `node` or `path`")
    if node is not None:
        check_nodeid(node)
    else:
        check_browse_path(str(path))


def check_nodeid(text: str) -> None:
    text = text.strip()
    m = _NSU.match(text)
    _check_plain(f"ns=0;{m.group('rest')}" if m else text, text)


def _check_plain(text: str, original: str) -> None:
    if not _NS_FORM.match(text):
        raise ValueError(f"invalid NodeId {original!r}: expected ns=<index>;<i|s|g|b>=<id> "
                         "or nsu=<namespace uri>;<i|s|g|b>=<id>")
    elements = text.split(";")
    while elements:  # asyncua's loop: parts left to right, `s=` takes the rest
        part = elements.pop(0)
        key, eq, value = part.partition("=")
        if part and not eq:
            raise ValueError(f"invalid NodeId {original!r}: {part!r} is not <key>=<value>")
        key = key.strip()
        if key in ("ns", "srv") and not _number(value, MAX_NAMESPACE):
            raise ValueError(f"invalid NodeId {original!r}: {key}= is an index from 0 to "
                             f"{MAX_NAMESPACE}")
        if key == "i":
            if not _number(value, MAX_NUMERIC):
                raise ValueError(f"invalid NodeId {original!r}: a numeric identifier "
                                 f"(i=) is an integer from 0 to {MAX_NUMERIC}")
        elif key == "s":
            return
        elif key == "g":
            try:
                uuid.UUID(f"urn:uuid:{value}")
            except ValueError:
                raise ValueError(f"invalid NodeId {original!r}: a GUID identifier (g=) is "
                                 "written 8-4-4-4-12 hex digits") from None
        elif key == "b" and not (value.isascii() and (not value.startswith("0x")
                                                      or _is_hex(value[2:]))):
            raise ValueError(f"invalid NodeId {original!r}: a ByteString identifier (b=) "
                             "is base64 or 0x<hex>")


def _number(text: str, top: int) -> bool:
    return re.fullmatch(r"\s*[0-9]+\s*", text) is not None and int(text) <= top


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def check_browse_path(text: str) -> None:
    elements = [e for e in text.strip().strip("/").split("/") if e]
    if not elements:
        raise ValueError(f"empty browse path {text!r}")
    for element in elements:
        ns, sep, name = element.partition(":")
        if sep and not (ns.isdigit() and name):
            raise ValueError(f"invalid browse path element {element!r} in {text!r}: use "
                             "<ns index>:<BrowseName>")
        if sep and int(ns) > MAX_NAMESPACE:
            raise ValueError(f"invalid browse path element {element!r} in {text!r}: "
                             f"namespace index {ns} is above {MAX_NAMESPACE}")

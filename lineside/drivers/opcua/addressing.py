"""Node addressing: NodeId strings, namespace URIs and browse paths.

A configured signal names its node in one of three ways:

- a NodeId string with a namespace index: ``ns=2;s=Packer1.Good``, ``i=2258``,
  ``ns=1;g=<uuid>``, ``ns=3;b=<base64>``;
- a NodeId string with a namespace URI: ``nsu=urn:acme:plc;s=Packer1.Good``. Servers may
  renumber their namespaces on restart, so the URI is looked up in the server's
  NamespaceArray after *every* (re)connect, never cached across sessions;
- a browse path from the Objects folder: ``2:Line1/2:Fryer/2:State`` (each element is
  ``<ns index>:<BrowseName>``; a bare name is namespace 0), translated on the server with
  TranslateBrowsePathsToNodeIds after every (re)connect.

`parse_address` is pure and checks syntax (used by config validation);
`resolve_all` needs a connected client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from asyncua import ua

_NSU = re.compile(r"^nsu=(?P<uri>.+?);(?P<rest>[isgb]=.*)$", re.DOTALL)
_NS_FORM = re.compile(r"^(ns=\d+;)?[isgb]=.+$", re.DOTALL)


class AddressError(ValueError):
    """A node address that cannot be parsed or resolved."""


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed node address, not yet bound to a server session."""

    text: str
    nodeid: ua.NodeId | None = None  # ns=/i=/s=/g=/b= form: fixed index
    ns_uri: str | None = None  # nsu= form: index looked up per session
    rest: str | None = None  # the "s=..." part of an nsu= form
    path: tuple[ua.QualifiedName, ...] | None = None  # browse path from Objects


def parse_nodeid(text: str) -> Address:
    text = text.strip()
    m = _NSU.match(text)
    if m:
        rest = m.group("rest")
        _parse_plain(f"ns=0;{rest}", text)  # syntax check of the identifier part
        return Address(text=text, ns_uri=m.group("uri"), rest=rest)
    return Address(text=text, nodeid=_parse_plain(text, text))


def _parse_plain(text: str, original: str) -> ua.NodeId:
    if not _NS_FORM.match(text):
        raise AddressError(
            f"invalid NodeId {original!r}: expected ns=<index>;<i|s|g|b>=<id> "
            "or nsu=<namespace uri>;<i|s|g|b>=<id>"
        )
    try:
        nodeid = ua.NodeId.from_string(text)
    except Exception as exc:  # asyncua raises several types for bad identifiers
        raise AddressError(f"invalid NodeId {original!r}: {exc}") from exc
    return ua.NodeId(nodeid.Identifier, nodeid.NamespaceIndex, nodeid.NodeIdType)


def parse_browse_path(text: str) -> Address:
    elements = [e for e in text.strip().strip("/").split("/") if e]
    if not elements:
        raise AddressError(f"empty browse path {text!r}")
    names = []
    for element in elements:
        ns, sep, name = element.partition(":")
        if sep and ns.isdigit() and name:
            names.append(ua.QualifiedName(name, int(ns)))
        elif not sep:
            names.append(ua.QualifiedName(element, 0))
        else:
            raise AddressError(
                f"invalid browse path element {element!r} in {text!r}: use <ns index>:<BrowseName>"
            )
    return Address(text=text, path=tuple(names))


def parse_address(node: str | None, path: str | None) -> Address:
    if node is not None:
        return parse_nodeid(node)
    if path is not None:
        return parse_browse_path(path)
    raise AddressError("give exactly one of `node` or `path`")


def bind(address: Address, namespaces: list[str]) -> ua.NodeId:
    """NodeId of a `ns=`/`nsu=` address for the current session's NamespaceArray."""
    if address.nodeid is not None:
        return address.nodeid
    if address.ns_uri is None or address.rest is None:
        raise AddressError(f"{address.text!r} is a browse path; resolve it on the server")
    try:
        index = namespaces.index(address.ns_uri)
    except ValueError:
        raise AddressError(
            f"namespace {address.ns_uri!r} of {address.text!r} is not in the server's "
            f"NamespaceArray {namespaces}"
        ) from None
    return _parse_plain(f"ns={index};{address.rest}", address.text)


async def resolve_all(
    session: object, addresses: list[Address], namespaces: list[str], chunk: int
) -> list[ua.NodeId | AddressError]:
    """Bind every address for this session: one TranslateBrowsePaths call per chunk of paths.

    `session` is asyncua's UaSession (client.uaclient). Failures are returned in place,
    so one bad address never stops the others.
    """
    out: list[ua.NodeId | AddressError] = []
    pending: list[int] = []
    for i, address in enumerate(addresses):
        if address.path is not None:
            out.append(AddressError("unresolved"))
            pending.append(i)
            continue
        try:
            out.append(bind(address, namespaces))
        except AddressError as exc:
            out.append(exc)
    objects = ua.NodeId(ua.Int32(ua.ObjectIds.ObjectsFolder))
    hierarchical = ua.NodeId(ua.Int32(ua.ObjectIds.HierarchicalReferences))
    for start in range(0, len(pending), max(chunk, 1)):
        part = pending[start : start + chunk]
        requests = []
        for i in part:
            elements = [
                ua.RelativePathElement(
                    ReferenceTypeId=hierarchical,
                    # annotated with asyncua's marker class ua.Boolean; it takes a bool
                    IsInverse=False,  # type: ignore[arg-type]  # ua.Boolean, see above
                    IncludeSubtypes=True,  # type: ignore[arg-type]  # ua.Boolean, see above
                    TargetName=name,
                )
                for name in addresses[i].path or ()
            ]
            requests.append(
                ua.BrowsePath(StartingNode=objects, RelativePath=ua.RelativePath(Elements=elements))
            )
        results = await session.translate_browsepaths_to_nodeids(requests)  # type: ignore[attr-defined]  # an asyncua session
        for i, result in zip(part, results, strict=True):
            if result.StatusCode.is_good() and result.Targets:
                target = result.Targets[0].TargetId
                out[i] = ua.NodeId(target.Identifier, target.NamespaceIndex, target.NodeIdType)
            else:
                out[i] = AddressError(
                    f"browse path {addresses[i].text!r} not found on the server "
                    f"({result.StatusCode.name})"
                )
    return out

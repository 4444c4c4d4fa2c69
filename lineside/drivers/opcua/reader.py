"""Polling: one Read service call per cycle for all nodes of a device.

The request is split only when the server declares OperationLimits/MaxNodesPerRead
smaller than the node count (or, without a declaration, above `max_nodes_per_read`):
servers answer BadTooManyOperations to oversized requests.
"""

from __future__ import annotations

from asyncua import ua

# ReadValueId's default DataEncoding builds a fresh QualifiedName per node; one shared
# empty name encodes the same and saves that allocation for every node of every cycle.
_NO_ENCODING = ua.QualifiedName()


def chunk_size(declared: int | None, configured: int) -> int:
    """Nodes per Read: the server's declared limit when it declares one, else configured."""
    return declared if declared and declared > 0 else configured


def read_plan(nodes: list[ua.NodeId], size: int) -> list[list[ua.NodeId]]:
    return [nodes[i : i + size] for i in range(0, len(nodes), size)]


async def read_values(session: object, nodes: list[ua.NodeId], size: int,
                      attribute: int = ua.AttributeIds.Value) -> tuple[
    list[ua.DataValue], int, int
]:
    """DataValues in node order, the number of Read requests issued, and the chunk size
    that worked.

    A server that declares no limit but refuses a request as too big
    (BadTooManyOperations, common on PLCs) gets the same nodes again in halves; the size
    that worked is returned so the caller keeps it for the next cycles.
    """
    out: list[ua.DataValue] = []
    requests = 0
    start = 0
    while start < len(nodes):
        part = nodes[start : start + size]
        params = ua.ReadParameters()
        params.MaxAge = 0
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=attribute,
                                             DataEncoding=_NO_ENCODING) for n in part]
        requests += 1
        try:
            results = await session.read(params)  # type: ignore[attr-defined]  # an asyncua session
        except ua.UaStatusCodeError as exc:
            if exc.code == ua.StatusCodes.BadTooManyOperations and len(part) > 1:
                size = max(1, len(part) // 2)
                continue
            raise
        if len(results) != len(part):
            raise ua.UaError(f"Read returned {len(results)} results for {len(part)} nodes")
        out.extend(results)
        start += len(part)
    return out, requests, size


# Built-in integer DataTypes (namespace 0 ids) and their width in bits.
INTEGER_BITS: dict[int, int] = {2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 32, 8: 64, 9: 64}


async def read_integer_bits(session: object, keyed: list[tuple[str, ua.NodeId]],
                            size: int) -> dict[str, int]:
    """Width of every node whose DataType attribute is a built-in integer type.

    One Read of the DataType attribute (split like value reads); other types (floats,
    booleans, strings, structures) are left out.
    """
    if not keyed:
        return {}
    dvs, _, _ = await read_values(session, [n for _, n in keyed], size,
                                  ua.AttributeIds.DataType)
    out: dict[str, int] = {}
    for (key, _), dv in zip(keyed, dvs, strict=True):
        v = dv.Value.Value if dv.Value is not None else None
        if isinstance(v, ua.NodeId) and v.NamespaceIndex == 0 \
                and isinstance(v.Identifier, int) and v.Identifier in INTEGER_BITS:
            out[key] = INTEGER_BITS[v.Identifier]
    return out

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


async def read_values(session: object, nodes: list[ua.NodeId], size: int) -> tuple[
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
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value,
                                             DataEncoding=_NO_ENCODING) for n in part]
        requests += 1
        try:
            results = await session.read(params)  # type: ignore[attr-defined]
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

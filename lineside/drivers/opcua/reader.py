"""Polling: one Read service call per cycle for all nodes of a device.

The request is split only when the server declares OperationLimits/MaxNodesPerRead
smaller than the node count (or, without a declaration, above `max_nodes_per_read`):
servers answer BadTooManyOperations to oversized requests.
"""

from __future__ import annotations

from asyncua import ua


def chunk_size(declared: int | None, configured: int) -> int:
    """Nodes per Read: the server's declared limit when it declares one, else configured."""
    return declared if declared and declared > 0 else configured


def read_plan(nodes: list[ua.NodeId], size: int) -> list[list[ua.NodeId]]:
    return [nodes[i : i + size] for i in range(0, len(nodes), size)]


async def read_values(session: object, nodes: list[ua.NodeId], size: int) -> tuple[
    list[ua.DataValue], int
]:
    """DataValues in node order and the number of Read requests issued."""
    out: list[ua.DataValue] = []
    requests = 0
    for part in read_plan(nodes, size):
        params = ua.ReadParameters()
        params.MaxAge = 0
        params.TimestampsToReturn = ua.TimestampsToReturn.Both
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=ua.AttributeIds.Value)
                              for n in part]
        results = await session.read(params)  # type: ignore[attr-defined]
        requests += 1
        if len(results) != len(part):
            raise ua.UaError(f"Read returned {len(results)} results for {len(part)} nodes")
        out.extend(results)
    return out, requests

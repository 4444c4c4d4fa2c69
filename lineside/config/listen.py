"""`host:port` listen addresses (`http.listen`, `station.listen`), parsed without the
servers that bind them: `lineside check` validates them and never loads the runtime."""

from __future__ import annotations

import ipaddress


def parse_listen(listen: str) -> tuple[str, int]:
    """`"host:port"` -> (host, port); an empty host means every IPv4 interface.

    An IPv6 address goes in brackets (`[::1]:9108`, `[::]:9108` for every interface), as
    in URLs: without them `::1:9108` could not be told from a port.
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port or [ipv6]:port, got {listen!r}")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{host[1:-1]!r} is not an IPv6 address") from None
        return host[1:-1], int(port)
    if ":" in host or "[" in host or "]" in host:
        raise ValueError(f"write an IPv6 address in brackets, e.g. [::1]:9108, got {listen!r}")
    return (host or "0.0.0.0"), int(port)

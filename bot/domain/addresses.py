"""Client addresses as the per-address limits count them.

An IPv6 client counts by its /64: a home or mobile connection is handed a whole /64 and may use
any address in it, so counting single addresses would give one person billions of fresh counts.
"""

from __future__ import annotations

import ipaddress


def address_block(address: str) -> str:
    """The key a per-address limit counts `address` under: an IPv4 address as it is, an IPv6
    address as its /64 network (an IPv4-mapped IPv6 address as the IPv4 address); text that is
    no address comes back unchanged, so it still counts as itself."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if ip.version == 6:
        mapped = ip.ipv4_mapped
        if mapped is not None:
            return str(mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)

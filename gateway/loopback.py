"""Is an address on this machine? Keyless development mode serves only such callers and listeners."""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(address: str | None) -> bool:
    """True for a loopback IP (IPv4-mapped IPv6 included); False for anything else, names included."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback


def resolves_to_loopback(host: str) -> bool:
    """True when every address `host` (an IP or a name such as "localhost") resolves to is loopback."""
    if is_loopback(host):
        return True
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False  # unresolvable: the server will fail to bind it anyway; never call it local
    return bool(infos) and all(is_loopback(str(info[4][0])) for info in infos)

"""The caller's address behind the HTTP front (docker/front/nginx.conf).

nginx connects to gunicorn over loopback, so without this every caller would look local: keyless mode
would serve everyone, and per-address caps would lump all callers together. The front replaces any
X-Forwarded-For a client sent with the address it sees, and the header is believed only from a peer on
this machine. That can only turn a loopback peer into another address, never a remote one into loopback.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from gateway.loopback import is_loopback

WsgiApp = Any  # a WSGI callable: (environ, start_response) -> iterable of bytes


def _address(value: str) -> str:
    """The value as an IP address, or "unknown" (never loopback) for anything else."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return "unknown"


class ForwardedByLocalFront:
    """WSGI middleware: REMOTE_ADDR from X-Forwarded-For (its last entry) when the peer is on this machine."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded is not None and is_loopback(environ.get("REMOTE_ADDR")):
            environ["REMOTE_ADDR"] = _address(forwarded.rsplit(",", 1)[-1])
        result: Iterable[bytes] = self.app(environ, start_response)
        return result

"""Completion webhooks: off unless hosts are allowed, and never to private addresses unless allowed too.

The address check runs at submission (a clear 422) and again right before sending, against the addresses
the name resolves to then, so a DNS answer that changed in between cannot aim the worker at the inside
network.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from shared.errors import InvalidParameterError

log = logging.getLogger(__name__)


def check_callback_url(url: str, allowed_hosts: Sequence[str], allow_private: bool) -> None:
    """Raise InvalidParameterError(field="callback_url") unless `url` may receive a webhook."""

    def refuse(reason: str) -> InvalidParameterError:
        return InvalidParameterError(f"callback_url refused: {reason}", field="callback_url")

    if not allowed_hosts:
        raise refuse("webhooks are disabled on this server (SITTER_CALLBACK_ALLOWED_HOSTS is empty)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise refuse("it must be an absolute http or https URL")
    host = parts.hostname.lower()
    if "*" not in allowed_hosts and host not in allowed_hosts:
        raise refuse(f"host {host!r} is not in the allowed list")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # "host:99999" or "host:ab": urlsplit only complains when asked
        raise refuse("its port must be a number from 1 to 65535") from exc
    try:
        infos = socket.getaddrinfo(host, port)
    except OSError as exc:
        raise refuse(f"host {host!r} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global and not allow_private:
            raise refuse(f"host {host!r} resolves to the non-public address {address}")


def send_callback(
    url: str, payload: dict[str, Any], *, allowed_hosts: Sequence[str], allow_private: bool, timeout: float
) -> bool:
    """POST the job document as JSON; best effort (logged, never raised), since the job itself is done."""
    try:
        check_callback_url(url, allowed_hosts, allow_private)
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "sitter-webhook/1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (InvalidParameterError, urllib.error.URLError, OSError) as exc:
        log.warning("webhook to %s not delivered: %s", url, exc)
        return False

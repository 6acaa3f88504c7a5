"""Completion webhooks: off unless hosts are allowed, and never to private addresses unless allowed too.

The address check runs at submission (a clear 422) and again right before sending, against the addresses
the name resolves to then, so a DNS answer that changed in between cannot aim the worker at the inside
network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import time
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
        if not is_public(address) and not allow_private:
            raise refuse(f"host {host!r} resolves to the non-public address {address}")


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Global, and so is every IPv4 address an IPv6 one carries: mapped (::ffff:a.b.c.d), compatible
    (::a.b.c.d), 6to4 (2002::/16), Teredo, NAT64 (64:ff9b::/96): each can reach 127.0.0.1 or the LAN."""
    if not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if int(address) >> 32 == 0:  # ::a.b.c.d, the deprecated IPv4-compatible form
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if any(address in network for network in NAT64):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return all(inner.is_global for inner in embedded if inner is not None)


SIGNATURE_HEADER = "X-Sitter-Signature"
TIMESTAMP_HEADER = "X-Sitter-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`: a receiver that knows the secret recomputes it to
    know the callback came from us, and rejects old timestamps to refuse replays."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could point the worker at an address the URL check never saw, so none is followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def send_callback(
    url: str,
    payload: dict[str, Any],
    *,
    allowed_hosts: Sequence[str],
    allow_private: bool,
    timeout: float,
    secret: str = "",
    attempts: int = 3,
    backoff: float = 1.0,
) -> bool:
    """POST the job document as JSON, signed when a secret is set; retried (backoff 1 s, 2 s, ...) on network
    errors, 429 and 5xx. Best effort: logged, never raised, since the job itself is done."""
    body = json.dumps(payload).encode()
    problem: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        headers = {"Content-Type": "application/json", "User-Agent": "sitter-webhook/1"}
        if secret:
            timestamp = str(int(time.time()))
            headers |= {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}
        try:
            check_callback_url(url, allowed_hosts, allow_private)  # again each time: DNS may have changed
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with _OPENER.open(request, timeout=timeout):
                return True
        except urllib.error.HTTPError as exc:  # any status >= 300 (redirects are not followed)
            problem = exc
            if exc.code < 500 and exc.code != 429:
                break
        except InvalidParameterError as exc:
            problem = exc
            break
        except (urllib.error.URLError, OSError) as exc:
            problem = exc
    log.warning("webhook to %s not delivered: %s", url, problem)
    return False

"""Completion webhooks: off unless hosts are allowed, and never to private addresses unless allowed too.

The address check runs at submission (a clear 422) and again right before sending, against the addresses
the name resolves to then; the worker then connects to exactly those checked addresses (the Host header,
TLS SNI and certificate check still use the name), never resolving the name again, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot aim the worker at the inside network.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from shared.errors import InvalidParameterError

log = logging.getLogger(__name__)


SocketAddress = tuple[Any, ...]  # what getaddrinfo gives: (host, port) or (host, port, flow, scope)


def check_callback_url(
    url: str, allowed_hosts: Sequence[str], allow_private: bool
) -> list[tuple[int, SocketAddress]]:
    """Raise InvalidParameterError(field="callback_url") unless `url` may receive a webhook; else return
    the (family, socket address) pairs its host resolved to, every one checked: the only ones to connect to.
    """

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
    checked: list[tuple[int, SocketAddress]] = []
    for family, kind, _, _, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])  # no "%scope" suffix
        if not is_public(address) and not allow_private:
            raise refuse(f"host {host!r} resolves to the non-public address {address}")
        if kind in (0, socket.SOCK_STREAM) and (family, sockaddr) not in checked:
            checked.append((family, sockaddr))
    if not checked:
        raise refuse(f"host {host!r} has no IPv4 or IPv6 address")
    return checked


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


# Standard Webhooks (https://www.standardwebhooks.com): receivers verify with any of its libraries
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# Sitter's first scheme, still sent beside the standard one until receivers have moved (docs/security.md)
LEGACY_SIGNATURE_HEADER = "X-Sitter-Signature"
LEGACY_TIMESTAMP_HEADER = "X-Sitter-Timestamp"


def signing_key(secret: str) -> bytes:
    """The HMAC key: a Standard Webhooks secret `whsec_<base64>` is the base64 of the key; any other secret
    is used as its UTF-8 bytes. Raises ValueError for a `whsec_` secret that is not base64."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error as exc:
        raise ValueError("a whsec_ secret must be followed by base64") from exc
    if not key:
        raise ValueError("a whsec_ secret must be followed by base64")
    return key


def signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` (Standard Webhooks): a receiver that knows the
    secret recomputes it to know the callback came from us, and rejects old timestamps to refuse replays."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def legacy_signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` under the secret's UTF-8 bytes: deprecated."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def message_id(payload: dict[str, Any]) -> str:
    """The same on every attempt and every resend of one message, so a receiver can drop duplicates:
    `<job id>.<status>` for a job document."""
    return ".".join(str(payload[key]) for key in ("id", "status") if key in payload) or uuid.uuid4().hex


def _connect_pinned(
    addresses: Sequence[tuple[int, SocketAddress]], timeout: float, source: Any = None
) -> socket.socket:
    """Connect to the first of the checked addresses that answers, as socket.create_connection would to
    the name's addresses, but without resolving the name again."""
    problem: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            if source:
                sock.bind(source)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            problem = exc
    raise problem


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to the name in the URL (Host header) made to addresses already checked."""

    def __init__(self, host: str, port: int, addresses: Sequence[tuple[int, SocketAddress]], **kw: Any):
        super().__init__(host, port, **kw)
        self._create_connection = lambda _, timeout, source=None: _connect_pinned(addresses, timeout, source)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to addresses already checked; SNI and the certificate check use the name in the URL."""

    def __init__(self, host: str, port: int, addresses: Sequence[tuple[int, SocketAddress]], **kw: Any):
        super().__init__(host, port, **kw)
        self._create_connection = lambda _, timeout, source=None: _connect_pinned(addresses, timeout, source)


def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    addresses: Sequence[tuple[int, SocketAddress]],
    timeout: float,
    ssl_context: ssl.SSLContext | None,
) -> int:
    """POST to `url` at one of `addresses`; returns the status. A redirect is a status like any other,
    never followed: its target was never checked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl_context or ssl.create_default_context()
        connection = _PinnedHTTPSConnection(
            host, parts.port or 443, addresses, timeout=timeout, context=context
        )
    else:
        connection = _PinnedHTTPConnection(host, parts.port or 80, addresses, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        return connection.getresponse().status  # the body is not read: nothing in it is used
    finally:
        connection.close()


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
    ssl_context: ssl.SSLContext | None = None,
) -> bool:
    """POST the job document as JSON with Standard Webhooks headers, signed when a secret is set; retried
    (backoff 1 s, 2 s, ...) on network errors, 429 and 5xx. Best effort: logged, never raised, since the job
    itself is done.

    Each attempt resolves and checks the host, then connects only to the addresses it checked. Proxy
    variables (HTTP_PROXY...) are not used: a proxy would resolve the name again, unchecked.
    `ssl_context` replaces the default (system CAs, hostname checked) for https, e.g. in tests."""
    body = json.dumps(payload).encode()
    message = message_id(payload)
    problem: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "sitter-webhook/1",
            ID_HEADER: message,
            TIMESTAMP_HEADER: timestamp,
        }
        if secret:
            headers |= {
                SIGNATURE_HEADER: signature(secret, message, timestamp, body),
                LEGACY_TIMESTAMP_HEADER: timestamp,
                LEGACY_SIGNATURE_HEADER: legacy_signature(secret, timestamp, body),
            }
        try:
            addresses = check_callback_url(url, allowed_hosts, allow_private)  # each time: DNS may change
            status = _post(url, body, headers, addresses, timeout, ssl_context)
        except InvalidParameterError as exc:
            problem = exc
            break
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, TLS, garbled answer
            problem = exc
            continue
        if 200 <= status < 300:
            return True
        problem = RuntimeError(f"HTTP {status}")
        if status < 500 and status != 429:  # a 3xx too: redirects are not followed
            break
    log.warning("webhook to %s not delivered: %s", url, problem)
    return False

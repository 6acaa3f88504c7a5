"""Webhook delivery against a real HTTP receiver on loopback: signed so the receiver can verify it,
retried on 5xx, not retried on 4xx, and redirects never followed (they could aim at hidden addresses)."""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.errors import InvalidParameterError
from shared.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_callback_url, send_callback, signature

SECRET = "webhook-secret"


class Receiver(ThreadingHTTPServer):
    """Answers each POST with the next scripted status (the last one repeats) and keeps what it got."""

    def __init__(self, statuses: list[int], location: str = "") -> None:
        self.statuses, self.location = statuses, location
        self.received: list[tuple[dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        status = self.server.statuses[min(len(self.server.received), len(self.server.statuses)) - 1]
        self.send_response(status)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for server in started:
        server.shutdown()
        server.server_close()


def _start(receivers: list[Receiver], statuses: list[int], location: str = "") -> Receiver:
    server = Receiver(statuses, location)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receivers.append(server)
    return server


def _send(url: str, payload: dict[str, object]) -> bool:
    return send_callback(
        url,
        payload,
        allowed_hosts=("127.0.0.1",),
        allow_private=True,
        timeout=5,
        secret=SECRET,
        attempts=3,
        backoff=0.01,
    )


def test_a_webhook_is_signed_and_retried_after_a_5xx(receivers: list[Receiver]) -> None:
    receiver = _start(receivers, [503, 200])
    payload = {"id": "a" * 32, "status": "succeeded"}
    assert _send(receiver.url, payload)
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert json.loads(body) == payload
    timestamp = headers[TIMESTAMP_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], expected)
    assert signature("another-secret", timestamp, body) != expected  # a forger without the key fails


def test_attempts_are_bounded_and_4xx_is_not_retried(receivers: list[Receiver]) -> None:
    failing = _start(receivers, [500])
    assert not _send(failing.url, {"id": "x"})
    assert len(failing.received) == 3
    refusing = _start(receivers, [410])
    assert not _send(refusing.url, {"id": "x"})
    assert len(refusing.received) == 1


def test_redirects_are_not_followed(receivers: list[Receiver]) -> None:
    hidden = _start(receivers, [200])
    redirecting = _start(receivers, [302], location=hidden.url)
    assert not _send(redirecting.url, {"id": "x"})
    assert hidden.received == [] and len(redirecting.received) == 1


@pytest.mark.parametrize(
    "host",
    [
        "[::127.0.0.1]",
        "[64:ff9b::7f00:1]",
        "[64:ff9b:1::7f00:1]",
        "[2002:7f00:1::]",
        "[::ffff:127.0.0.1]",
        "[2002:a00:1::]",
    ],
)
def test_ipv6_forms_of_loopback_and_private_addresses_are_refused(host: str) -> None:
    """Each carries an IPv4 address (127.0.0.1, 10.0.0.1) that a dual-stack or NAT64 network reaches."""
    with pytest.raises(InvalidParameterError, match="non-public address"):
        check_callback_url(f"http://{host}/hook", ["*"], allow_private=False)


def test_public_ipv6_and_ipv4_addresses_pass() -> None:
    check_callback_url("http://[2606:4700:4700::1111]/hook", ["*"], allow_private=False)
    check_callback_url("http://8.8.8.8/hook", ["*"], allow_private=False)

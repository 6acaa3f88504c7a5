"""Webhook delivery against a real HTTP receiver on loopback: signed so the receiver can verify it with a
Standard Webhooks library, retried on 5xx, not retried on 4xx, and redirects never followed (they could
aim at hidden addresses)."""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.errors import InvalidParameterError, SitterError
from shared.settings import Settings
from shared.webhook import (
    ID_HEADER,
    LEGACY_SIGNATURE_HEADER,
    LEGACY_TIMESTAMP_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    check_callback_url,
    send_callback,
    signature,
)

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


def _start(
    receivers: list[Receiver], statuses: list[int], location: str = "", tls: ssl.SSLContext | None = None
) -> Receiver:
    server = Receiver(statuses, location)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receivers.append(server)
    return server


def _send(url: str, payload: dict[str, object], secret: str = SECRET) -> bool:
    return send_callback(
        url,
        payload,
        allowed_hosts=("127.0.0.1",),
        allow_private=True,
        timeout=5,
        secret=secret,
        attempts=3,
        backoff=0.01,
    )


def test_a_webhook_is_signed_and_retried_after_a_5xx(receivers: list[Receiver]) -> None:
    receiver = _start(receivers, [503, 200])
    payload = {"id": "a" * 32, "status": "succeeded"}
    assert _send(receiver.url, payload)
    assert len(receiver.received) == 2
    (first, _), (headers, body) = receiver.received
    assert json.loads(body) == payload
    # a receiver verifies with the Standard Webhooks library, given the secret's bytes as the key
    assert Webhook(SECRET.encode()).verify(body, headers) == payload
    with pytest.raises(WebhookVerificationError):  # a forger without the key fails
        Webhook(b"another-secret").verify(body, headers)
    assert headers[ID_HEADER] == first[ID_HEADER] == f"{'a' * 32}.succeeded"  # one message, retried
    timestamp = headers[TIMESTAMP_HEADER]
    assert abs(int(timestamp) - time.time()) < 60
    assert headers[SIGNATURE_HEADER] == signature(SECRET, headers[ID_HEADER], timestamp, body)
    # the deprecated scheme, still sent while receivers move: X-Sitter-Signature over "<timestamp>.<body>"
    legacy = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest()
    assert headers[LEGACY_TIMESTAMP_HEADER] == timestamp
    assert hmac.compare_digest(headers[LEGACY_SIGNATURE_HEADER], legacy)


def test_a_whsec_secret_is_the_base64_of_the_key(receivers: list[Receiver]) -> None:
    """A secret in the Standard Webhooks form goes to a receiver's library as it is."""
    secret = "whsec_" + base64.b64encode(b"\x00\x01 sixteen key bytes").decode()
    receiver = _start(receivers, [200])
    assert _send(receiver.url, {"id": "b" * 32, "status": "failed"}, secret=secret)
    [(headers, body)] = receiver.received
    assert Webhook(secret).verify(body, headers) == {"id": "b" * 32, "status": "failed"}
    with pytest.raises(
        SitterError, match="SITTER_CALLBACK_SECRET: a whsec_ secret must be followed by base64"
    ):
        Settings(callback_secret="whsec_not base64!")


def test_an_unsigned_webhook_still_names_its_message(receivers: list[Receiver]) -> None:
    receiver = _start(receivers, [200])
    assert _send(receiver.url, {"id": "c" * 32, "status": "succeeded"}, secret="")
    [(headers, _)] = receiver.received
    assert headers[ID_HEADER] == f"{'c' * 32}.succeeded" and TIMESTAMP_HEADER in headers
    assert SIGNATURE_HEADER not in headers and LEGACY_SIGNATURE_HEADER not in headers


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


class Resolver:
    """The DNS for one name, answering each lookup with the next address (the last one repeats), as a
    rebinding attacker's name server would; every other name resolves as usual."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name, self.answers, self.calls = name, answers, 0
        self.real = socket.getaddrinfo

    def __call__(self, host: object, port: object, *args: Any, **kwargs: Any) -> Any:
        if host != self.name:
            return self.real(host, port, *args, **kwargs)  # type: ignore[arg-type]
        address = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port)))]  # type: ignore[call-overload]


HOOK_NAME = "hooks.example.test"


def test_a_second_dns_answer_of_loopback_is_never_connected_to(
    receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the check sees a public address, a second lookup would answer 127.0.0.1. The worker
    connects to the address it checked (here unreachable), so the loopback receiver gets nothing."""
    inside = _start(receivers, [200])
    resolver = Resolver(HOOK_NAME, ["1.1.1.1", "127.0.0.1"])
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    delivered = send_callback(
        f"http://{HOOK_NAME}:{inside.server_address[1]}/hook",
        {"id": "x"},
        allowed_hosts=(HOOK_NAME,),
        allow_private=False,
        timeout=1,
        attempts=1,
    )
    assert not delivered
    assert inside.received == []
    assert resolver.calls == 1  # resolved once, for the check; the connection did not ask again


def test_the_checked_address_is_the_one_connected_to_with_the_name_as_host(
    receivers: list[Receiver], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With private addresses allowed (development), an allowed name reaches the receiver at the address
    the check saw even though a later lookup answers elsewhere (127.0.0.2, where nothing listens), and the
    request names the host from the URL."""
    receiver = _start(receivers, [200])
    port = receiver.server_address[1]
    monkeypatch.setattr(socket, "getaddrinfo", Resolver(HOOK_NAME, ["127.0.0.1", "127.0.0.2"]))
    delivered = send_callback(
        f"http://{HOOK_NAME}:{port}/hook?job=1",
        {"id": "x"},
        allowed_hosts=(HOOK_NAME,),
        allow_private=True,
        timeout=5,
        attempts=1,
    )
    assert delivered
    [(headers, body)] = receiver.received
    assert headers["Host"] == f"{HOOK_NAME}:{port}"
    assert json.loads(body) == {"id": "x"}


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for `name` (its own CA) and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("served_name, delivered", [(HOOK_NAME, True), ("other.example.test", False)])
def test_https_checks_the_certificate_against_the_name_not_the_address(
    receivers: list[Receiver],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    served_name: str,
    delivered: bool,
) -> None:
    """Connected by address, TLS still sends the URL's name (SNI) and accepts only a certificate for it."""
    cert_file, key_file = _certificate(tmp_path, served_name)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    sni: list[str | None] = []
    server_context.sni_callback = lambda _socket, name, _context: sni.append(name)  # type: ignore[assignment,func-returns-value]
    receiver = _start(receivers, [200], tls=server_context)
    monkeypatch.setattr(socket, "getaddrinfo", Resolver(HOOK_NAME, ["127.0.0.1", "127.0.0.2"]))
    outcome = send_callback(
        f"https://{HOOK_NAME}:{receiver.server_address[1]}/hook",
        {"id": "x"},
        allowed_hosts=(HOOK_NAME,),
        allow_private=True,
        timeout=5,
        attempts=1,
        ssl_context=ssl.create_default_context(cafile=str(cert_file)),
    )
    assert outcome is delivered
    assert sni and sni[0] == HOOK_NAME
    assert len(receiver.received) == (1 if delivered else 0)

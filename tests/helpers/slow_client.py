"""A client that sends its request a byte a second, as a slowloris attacker does, and notes when the
server cuts it off."""

from __future__ import annotations

import select
import socket
import threading
import time


class SlowClient(threading.Thread):
    """Sends `head` at once, then `trickle` one byte a second (or `trickle_for` seconds of it, then
    nothing); `cut_after` is the seconds from connecting to the server closing, None while it holds."""

    def __init__(self, port: int, head: bytes, trickle: bytes, trickle_for: float = 1e9) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.started_at = time.monotonic()
        self.head, self.trickle, self.trickle_for = head, trickle, trickle_for
        self.cut_after: float | None = None
        self.stopping = threading.Event()

    def _closed_by_server(self, wait: float) -> bool:
        readable, _, _ = select.select([self.sock], [], [], wait)
        if not readable:
            return False
        try:
            return self.sock.recv(65536) == b""  # a response (408) is followed by the close
        except OSError:
            return True

    def run(self) -> None:
        try:
            self.sock.sendall(self.head)
            for index in range(len(self.trickle)):
                if self.stopping.is_set() or self._closed_by_server(1.0):
                    break
                if time.monotonic() - self.started_at < self.trickle_for:
                    self.sock.sendall(self.trickle[index : index + 1])
            else:
                while not self.stopping.is_set() and not self._closed_by_server(1.0):
                    pass
        except OSError:
            pass  # reset by the server
        if not self.stopping.is_set():
            self.cut_after = time.monotonic() - self.started_at

    def stop(self) -> None:
        self.stopping.set()
        self.sock.close()


def slow_headers(port: int) -> SlowClient:
    """A request whose headers never end: one more header byte each second."""
    return SlowClient(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ", b"a" * 3600)


def slow_body(port: int, trickle_for: float = 1e9) -> SlowClient:
    """A POST whose 1000-byte body comes a byte a second (for `trickle_for` seconds, then stalls)."""
    head = (
        b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    return SlowClient(port, head, b"b" * 1000, trickle_for)

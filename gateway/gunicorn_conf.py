"""gunicorn settings for the gateway: `gunicorn -c python:gateway.gunicorn_conf 'gateway.app:create_app()'`.

Without API keys the app serves /v1/jobs only to callers on its own machine (403 to the others). A keyless
server that listens beyond loopback, as the containers do on 0.0.0.0, would be useless to everyone it
exposes and is most likely a deployment that forgot its keys: it stops at start, with one line saying why,
instead of running as if healthy. Behind the HTTP front (nginx, docker/front/nginx.conf) gunicorn itself
listens on loopback only; SITTER_FRONT_LISTEN names the front's address so that it counts the same.
"""

from __future__ import annotations

import socket
from typing import Any

from gateway.loopback import resolves_to_loopback
from shared.settings import Settings


def _exposed(server: Any, front_listen: str) -> list[str]:
    """The addresses (host:port) `server`, gunicorn's Arbiter, listens on or was told to bind, and the
    front's (`front_listen`, "host:port"), beyond this machine.

    Both, because a listener may come from a file descriptor or systemd (not in the bind list) and with
    reuse_port the workers bind for themselves (no listener in the master yet).
    """
    bound = [item for item in server.cfg.address if isinstance(item, tuple)]  # others: Unix sockets, fds
    bound += [
        listener.sock.getsockname()[:2]
        for listener in server.LISTENERS
        if listener.sock.family in (socket.AF_INET, socket.AF_INET6)
    ]
    if front_listen:
        host, _, port = front_listen.rpartition(":")
        bound.append((host.strip("[]") or "0.0.0.0", int(port)))
    exposed = {(str(host), int(port)) for host, port in bound if not resolves_to_loopback(str(host))}
    return [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in sorted(exposed)]


def when_ready(server: Any) -> None:
    """gunicorn's hook once listening, before any worker runs: refuse to serve keyless beyond loopback."""
    settings = Settings.from_env()
    if settings.api_keys:
        return
    exposed = _exposed(server, settings.front_listen)
    if exposed:
        server.log.error(
            "REFUSING TO START: SITTER_API_KEYS is not set and gunicorn listens on %s, beyond this machine; "
            "set SITTER_API_KEYS, or bind 127.0.0.1 (and the front, SITTER_FRONT_LISTEN) for keyless "
            "development",
            ", ".join(exposed),
        )
        server.halt(exit_status=1)

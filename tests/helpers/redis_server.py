"""A private redis-server on a free loopback port, for as long as a `with` block lasts: never the
developer's own Redis."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.helpers.processes import free_port
from tests.helpers.waiting import wait_for


@contextmanager
def private_redis(workdir: Path, *options: str, what: str = "redis-server") -> Iterator[str]:
    """Start redis-server without persistence (plus `options`) and yield its URL once it answers."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no", *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def pong() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(pong, 10, f"{what} to answer")
        yield url
    finally:
        process.terminate()
        process.wait(10)

"""Redis databases of the session's redis-server: a module's own, so no worker or test of another module
sees its jobs and queued tasks.

Databases 0-15 are numbered by hand in the modules that run workers (RabbitMQ vhosts `sitter-<n>` mirror
them; see tests/conftest.py). The `module_redis_url` fixture hands out the others, from FIRST_HANDED_OUT
up, each emptied first; a module that starts module-scoped workers uses that one database throughout.
"""

from __future__ import annotations

import redis

FIRST_HANDED_OUT = 16
DATABASES = 64  # the session's redis-server is started with this many


def redis_db(redis_url: str, number: int) -> str:
    """The URL of database `number` of the server at `redis_url`."""
    return redis_url.rsplit("/", 1)[0] + f"/{number}"


class RedisDatabases:
    """Hands out databases FIRST_HANDED_OUT..DATABASES-1 of one server, each once and emptied first."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.next = FIRST_HANDED_OUT

    def take(self) -> str:
        if self.next >= DATABASES:
            raise RuntimeError(f"all {DATABASES - FIRST_HANDED_OUT} handed-out Redis databases are taken")
        url = redis_db(self.redis_url, self.next)
        self.next += 1
        redis.Redis.from_url(url).flushdb()
        return url

"""Redis databases of the session's redis-server, one per module that runs workers."""

from __future__ import annotations


def redis_db(redis_url: str, number: int) -> str:
    """Gateway-only tests use their own Redis database, so the e2e workers never see their queued tasks."""
    return redis_url.rsplit("/", 1)[0] + f"/{number}"

"""Which broker a module's services use, and its Redis database / RabbitMQ vhost pair."""

from __future__ import annotations

from dataclasses import dataclass

from sitter.rabbitmq_node import RabbitMQNode

BROKERS = ("redis", "rabbitmq")


RABBITMQ_VHOSTS = tuple(f"sitter-{db}" for db in range(16))


@dataclass(frozen=True)
class BrokerChoice:
    """Which broker a module's services use; Redis stays the job store either way."""

    name: str
    node: RabbitMQNode | None = None

    def env(self, redis_url: str, db: int) -> dict[str, str]:
        """The module's own Redis database and, on RabbitMQ, its own vhost of the same number."""
        env = {"SITTER_REDIS_URL": f"{redis_url.rsplit('/', 1)[0]}/{db}"}
        if self.node is not None:
            env["SITTER_BROKER_URL"] = self.node.url(f"sitter-{db}")
        return env

    def url(self, redis_url: str, db: int) -> str:
        env = self.env(redis_url, db)
        return env.get("SITTER_BROKER_URL", env["SITTER_REDIS_URL"])

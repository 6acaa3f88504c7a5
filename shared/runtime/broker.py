"""The task broker behind SITTER_BROKER_URL: Redis (redis://, the default) or RabbitMQ (amqp://).

Everything that differs between the two lives here: the Celery settings each needs and the two questions
the gateway and the workers ask the broker itself (does it answer? how deep is each queue?). Redis stays
the job store and the result backend either way, so chords, job records and metrics do not change.

Redis hands a late-acknowledged task back only after a visibility timeout, which must exceed the task's
hard time limit; RabbitMQ hands it back as soon as the consumer's channel closes (a dead worker), so it
needs no such timeout. On RabbitMQ every queue is a durable quorum queue (replicated, survives a node
restart) and every publish waits for the broker's confirm, so an accepted job is one the broker has
stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from celery import Celery
from kombu import Connection
from redis import Redis

from shared.runtime.storage import redis_client
from shared.settings import Settings

RABBITMQ_SCHEMES = ("amqp", "amqps", "pyamqp")
PROBE_TIMEOUT_S = 3.0


def scheme(url: str) -> str:
    return url.split("://", 1)[0].lower()


def is_rabbitmq(url: str) -> bool:
    return scheme(url) in RABBITMQ_SCHEMES


def celery_broker_conf(settings: Settings) -> dict[str, Any]:
    """The Celery settings that depend on the broker, merged into the app's one configuration."""
    if not is_rabbitmq(settings.broker_url):
        return {
            "broker_transport_options": {
                "visibility_timeout": settings.visibility_timeout,
                # look for the unacknowledged messages of dead workers a few times per visibility timeout,
                # every time (kombu's default only scans every 10th sweep: minutes of delay)
                "unacked_restore_interval": min(10, max(1, settings.visibility_timeout // 4)),
                "unacked_restore_throttle": 1,
            }
        }
    return {
        # publisher confirms: apply_async returns only once the broker has the message
        "broker_transport_options": {"confirm_publish": True},
        # every queue a task is routed to (segment, composite, stylize.<style>) is declared durable quorum;
        # topic exchanges let a retry's countdown use Celery's native delayed delivery instead of holding
        # the consumer's one prefetch slot until the countdown ends
        "task_default_queue_type": "quorum",
        "task_create_missing_queue_type": "quorum",
        "task_create_missing_queue_exchange_type": "topic",
        "task_default_exchange_type": "topic",  # Celery's default `celery` queue, bound for delays too
        "worker_detect_quorum_queues": True,  # quorum queues refuse global QoS: per-consumer prefetch
        "broker_heartbeat": 30,  # a silent peer (frozen, partitioned) is dropped within a minute
    }


def take_queues_in_order(app: Celery) -> None:
    """On Redis, this worker takes from its queues strictly in the order named (`--queues`): the segmenter
    serves every waiting preview before the next segment task (kombu's default alternates between them).
    RabbitMQ consumes each queue on its own and keeps its default."""
    if not is_rabbitmq(app.conf.broker_url):
        options = dict(app.conf.broker_transport_options or {})
        app.conf.broker_transport_options = {**options, "queue_order_strategy": "priority"}


def prepare_worker(app: Celery) -> None:
    """Declare Celery's default queue on RabbitMQ before a worker starts.

    Each worker binds every queue Celery knows, the unused default one (`celery`) included, to the
    delayed-delivery exchanges at start; a queue nobody declared makes that fail, and with it delayed
    retries for the worker's own queues. Redis needs nothing.
    """
    if not is_rabbitmq(app.conf.broker_url):
        return
    with app.connection_for_write() as connection:
        default = app.amqp.queues[app.conf.task_default_queue]
        default.bind(connection.default_channel).declare()


class Broker(Protocol):
    """What the gateway and the workers ask the broker directly (tasks themselves go through Celery)."""

    def ping(self) -> None:
        """Raise if the broker does not answer."""

    def depths(self, queues: Sequence[str]) -> list[int]:
        """Messages waiting in each queue (a queue that does not exist yet holds none)."""


class RedisBroker:
    def __init__(self, client: Redis) -> None:
        self.client = client

    def ping(self) -> None:
        self.client.ping()

    def depths(self, queues: Sequence[str]) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
        return [int(depth) for depth in pipe.execute()]


class RabbitMQBroker:
    """Short-lived AMQP connections: a probe every few seconds needs no pool, and a dead one never lingers."""

    def __init__(self, url: str, timeout: float = PROBE_TIMEOUT_S) -> None:
        self.url = url
        self.timeout = timeout

    def _connection(self) -> Connection:
        return Connection(self.url, connect_timeout=self.timeout)

    def ping(self) -> None:
        with self._connection() as connection:
            connection.ensure_connection(max_retries=0)  # one attempt: a probe reports, it does not wait

    def depths(self, queues: Sequence[str]) -> list[int]:
        """Ready messages per queue from a passive declare (it creates nothing; 404 means no queue yet).

        Unacknowledged (running) messages are not in this count; KEDA's RabbitMQ scaler counts them too.
        """
        found: list[int] = []
        with self._connection() as connection:
            connection.ensure_connection(max_retries=0)
            channel = connection.channel()
            for queue in queues:
                try:
                    found.append(int(channel.queue_declare(queue=queue, passive=True).message_count))
                except connection.channel_errors:  # NOT_FOUND closes the channel: open another
                    found.append(0)
                    channel = connection.channel()
        return found


def broker_for(settings: Settings, redis: Redis | None = None) -> Broker:
    """The broker of SITTER_BROKER_URL; `redis` is reused when the broker is the job store's own Redis."""
    if is_rabbitmq(settings.broker_url):
        return RabbitMQBroker(settings.broker_url)
    if redis is not None and settings.broker_url == settings.redis_url:
        return RedisBroker(redis)
    return RedisBroker(redis_client(settings.broker_url))

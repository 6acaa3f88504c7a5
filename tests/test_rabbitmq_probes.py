"""With SITTER_BROKER_URL=amqp://, the gateway's probes and metrics and the workers' start-up check ask
RabbitMQ itself (a private node), not Redis: /readyz names the broker when it is down, /metrics counts
the messages waiting in each quorum queue, and `--check` refuses an unreachable broker in one line.
"""

from __future__ import annotations

import os

import pytest
from kombu import Connection, Exchange, Queue

from gateway.app import create_app
from shared.settings import Settings
from sitter.processes import command
from sitter.rabbitmq_node import RabbitMQNode, free_port
from tests.helpers.processes import run_to_end
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

VHOST = "sitter-14"  # this module's own vhost; nothing consumes from it


def _settings(redis_url: str, broker_url: str) -> Settings:
    return Settings(redis_url=redis_url.rsplit("/", 1)[0] + "/14", broker_url=broker_url)


def test_readiness_checks_rabbitmq(redis_url: str, rabbitmq: RabbitMQNode) -> None:
    with create_app(_settings(redis_url, rabbitmq.url(VHOST))).test_client() as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json()["checks"] == {"broker": "ok", "redis": "ok", "storage": "ok"}
    down = f"amqp://sitter:sitter@127.0.0.1:{free_port()}/{VHOST}"
    with create_app(_settings(redis_url, down)).test_client() as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json()["checks"] == {"broker": "unavailable", "redis": "ok", "storage": "ok"}


def test_metrics_count_the_messages_waiting_in_each_queue(redis_url: str, rabbitmq: RabbitMQNode) -> None:
    queue = Queue(
        "stylize.builtin-3",
        Exchange("stylize.builtin-3", "topic"),
        "stylize.builtin-3",
        queue_arguments={"x-queue-type": "quorum"},
    )
    with Connection(rabbitmq.url(VHOST)) as connection:
        producer = connection.Producer()
        for _ in range(2):
            producer.publish({}, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue])
    with create_app(_settings(redis_url, rabbitmq.url(VHOST))).test_client() as client:

        def scraped() -> str | None:  # a quorum queue counts a message once its log committed it
            text = client.get("/metrics").get_data(as_text=True)
            return text if 'sitter_queue_depth{queue="stylize.builtin-3"} 2.0' in text else None

        text = str(wait_for(scraped, 10, "both messages to be counted"))
    assert 'sitter_queue_depth{queue="segment"} 0.0' in text  # not declared yet: none waiting, none made
    with Connection(rabbitmq.url(VHOST)) as connection:
        assert not _exists(connection, "segment"), "a metrics scrape must not create queues"
        queue.bind(connection.default_channel).delete()


def _exists(connection: Connection, name: str) -> bool:
    try:
        connection.channel().queue_declare(queue=name, passive=True)
        return True
    except connection.channel_errors:
        return False


def test_a_worker_refuses_to_start_without_its_rabbitmq(redis_url: str) -> None:
    env = {
        **os.environ,
        "SITTER_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/14",
        "SITTER_BROKER_URL": f"amqp://sitter:sitter@127.0.0.1:{free_port()}//",
    }
    result = run_to_end([*command("compositor"), "--check"], env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    lines = [line for line in output.splitlines() if "compositor worker cannot start" in line]
    assert len(lines) == 1 and "Traceback" not in output, output

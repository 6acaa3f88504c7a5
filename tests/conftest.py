"""Shared fixtures: real services on free loopback ports, never the developer's own Redis.

- `redis_url`: a private `redis-server` (no persistence) for the whole session. Modules that run workers
  use their own database so no worker takes another module's tasks: 0 storage/job-record tests,
  2 e2e, 3 the live HTTP stack (tests/live_stack.py), 4 the e2e S3 run, 5 and 8 fault tests,
  6 the deploy commands, 7 the mid-stage kills, 9 the load test, 10 the storage outage, 11 retention,
  12 the cancel-write races, 13 the preview backlog (tests/test_previews.py). `module_redis_url` hands a
  module a database of its own (16 and up, emptied first) instead of a number: use it in new modules
  (tests/helpers/databases.py).
- `s3_endpoint`: moto's S3 server over HTTP on loopback, reached through boto3 like any S3.
- `rabbitmq`: a private RabbitMQ node (sitter.rabbitmq_node) for the whole session, started only when a
  test asks for the RabbitMQ broker; its vhosts `sitter-<n>` mirror the Redis database numbers above
  (and 14 the RabbitMQ probes, 15 the RabbitMQ restart). `broker` (module scope) is "redis", or both in
  turn for a test marked `both_brokers` (or what a test's own `parametrize("broker", ..., indirect=True)`
  names); `broker.env(redis_url, db)` gives the SITTER_REDIS_URL/SITTER_BROKER_URL pair of a database.
- `spawn`: start a long-running subprocess (a worker, the gateway) with its output in a log file, wait
  for a line saying it is ready, and stop it (SIGTERM, then SIGKILL) at the end of the test or module;
  `worker`, `wait_ready` and `start_workers` start the Celery worker services with it, `start_gateway`
  the gateway (tests/helpers/processes.py; their command lines come from sitter.processes).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sitter.rabbitmq_node import RabbitMQNode, server_binary
from tests.helpers.brokers import BROKERS, RABBITMQ_VHOSTS, BrokerChoice
from tests.helpers.databases import DATABASES, RedisDatabases
from tests.helpers.processes import Spawn, free_port, spawner
from tests.helpers.redis_server import private_redis
from tests.helpers.s3 import S3_CREDENTIALS

if TYPE_CHECKING:
    from flask.testing import FlaskClient

    from shared.settings import Settings


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with private_redis(tmp_path_factory.mktemp("redis"), "--databases", str(DATABASES)) as url:
        yield url


@pytest.fixture(scope="session")
def redis_databases(redis_url: str) -> RedisDatabases:
    return RedisDatabases(redis_url)


@pytest.fixture(scope="module")
def module_redis_url(redis_databases: RedisDatabases) -> str:
    """This module's own database of the session's Redis, empty when the module starts."""
    return redis_databases.take()


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQNode]:
    """One private node per session (it takes ~8 s to boot on two cores); never the machine's own."""
    if server_binary() is None:
        pytest.skip("rabbitmq-server is not installed (sh tests/rabbitmq/install.sh)")
    node = RabbitMQNode(tmp_path_factory.mktemp("rabbitmq"), vhosts=RABBITMQ_VHOSTS)
    node.start()
    yield node
    node.close()


# Fixtures that start processes (workers, gunicorn, nginx, RabbitMQ, the whole stack): a test that uses
# one, directly or through another fixture, must be marked `slow` so `make test-fast` leaves it out.
PROCESS_FIXTURES = frozenset({"spawn", "module_spawn", "rabbitmq", "live_stack"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        item.nodeid
        for item in items
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")
    ]
    if unmarked:
        raise pytest.UsageError("tests that start processes must be marked slow:\n  " + "\n  ".join(unmarked))


def _names(argnames: str | Sequence[str]) -> list[str]:
    return [name.strip() for name in (argnames.split(",") if isinstance(argnames, str) else argnames)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of a module that uses `broker` is parametrized, so the module's Redis-broker tests share
    one set of workers whether or not they are marked to run on RabbitMQ as well."""
    explicit = any(
        "broker" in _names(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize")
    )
    if "broker" in metafunc.fixturenames and not explicit:
        both = metafunc.definition.get_closest_marker("both_brokers") is not None
        metafunc.parametrize("broker", BROKERS if both else BROKERS[:1], indirect=True, scope="module")


@pytest.fixture(scope="module")
def broker(request: pytest.FixtureRequest) -> BrokerChoice:
    name = request.param
    return BrokerChoice(name, request.getfixturevalue("rabbitmq") if name == "rabbitmq" else None)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in S3_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    function, started = spawner(tmp_path)
    yield function
    for item in started:
        item.stop()


@pytest.fixture(scope="module")
def module_spawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spawn]:
    function, started = spawner(tmp_path_factory.mktemp("procs"))
    yield function
    for item in started:
        item.stop()


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    """The gateway app, in process, with the module's own `settings` fixture; a module that needs workers
    running first, or another kind of client, defines its own `client`."""
    from gateway.app import create_app

    with create_app(settings).test_client() as test_client:
        yield test_client


@pytest.fixture(scope="session", autouse=True)
def described_answers() -> Iterator[None]:
    """Every Flask test client checks each JSON answer against /v1/openapi.json (tests/helpers/described.py),
    so every job document and problem a test provokes is one the API describes."""
    from flask import Flask

    from tests.helpers.described import DescribedClient

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Flask, "test_client_class", DescribedClient)
        yield


@pytest.fixture(scope="session")
def portrait_jpeg() -> bytes:
    """The bundled sample portrait downscaled to 180x240 px: small enough to keep service tests fast."""
    import io

    from PIL import Image

    from shared.gallery import SAMPLES_DIR

    with Image.open(SAMPLES_DIR / "obama-portrait.jpg") as image:
        image.thumbnail((240, 240))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


# `live_stack`: the whole stack over HTTP, once per session, shared by the client and browser tests.
pytest_plugins = ["tests.live_stack"]

"""Shared fixtures: real services on free loopback ports, never the developer's own Redis.

- `redis_url`: a private `redis-server` (no persistence) for the whole session. Modules that run workers
  use their own database so no worker takes another module's tasks: 0 storage/job-record tests,
  1 gateway-only tests, 2 e2e, 3 the live HTTP stack (tests/live_stack.py), 4 the e2e S3 run, 5 and 8
  fault tests, 6 schemathesis, 7 the mid-stage kills, 9 the load test, 10 the storage outage, 11 retention,
  12 the cancel-write races,
  13 the storage budgets.
- `s3_endpoint`: moto's S3 server over HTTP on loopback, reached through boto3 like any S3.
- `rabbitmq`: a private RabbitMQ node (sitter.rabbitmq_node) for the whole session, started only when a
  test asks for the RabbitMQ broker; its vhosts `sitter-<n>` mirror the Redis database numbers above
  (and 14 the RabbitMQ probes, 15 the RabbitMQ restart). `broker` (module scope) is "redis", or both in
  turn for a test marked `both_brokers` (or what a test's own `parametrize("broker", ..., indirect=True)`
  names); `broker.env(redis_url, db)` gives the SITTER_REDIS_URL/SITTER_BROKER_URL pair of a database.
- `spawn`: start a long-running subprocess (a worker, the gateway) with its output in a log file, wait
  for a line saying it is ready, and stop it (SIGTERM, then SIGKILL) at the end of the test or module;
  `worker`, `wait_ready` and `start_workers` start the Celery worker services with it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitter.rabbitmq_node import RabbitMQNode, server_binary

ROOT = Path(__file__).resolve().parents[1]
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    """Poll until `predicate` returns something truthy; fail the test naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    import redis

    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
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

    wait_for(pong, 10, "redis-server to answer")
    yield url
    process.terminate()
    process.wait(10)


BROKERS = ("redis", "rabbitmq")
RABBITMQ_VHOSTS = tuple(f"sitter-{db}" for db in range(16))


@pytest.fixture(scope="session")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQNode]:
    """One private node per session (it takes ~8 s to boot on two cores); never the machine's own."""
    if server_binary() is None:
        pytest.skip("rabbitmq-server is not installed (sh tests/rabbitmq/install.sh)")
    node = RabbitMQNode(tmp_path_factory.mktemp("rabbitmq"), vhosts=RABBITMQ_VHOSTS)
    node.start()
    yield node
    node.close()


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


@dataclass
class Spawned:
    """A started subprocess, its own process group (so its children die with it) and its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        self.kill(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.process.wait(5)


Spawn = Callable[..., Spawned]


def _spawner(log_dir: Path) -> tuple[Spawn, list[Spawned]]:
    started: list[Spawned] = []

    def spawn(
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        ready: str | None = None,
        timeout: float = 60,
        name: str = "proc",
    ) -> Spawned:
        """Start `args` (a python module invocation or any command) with `env` added to a clean copy."""
        log_path = log_dir / f"{name}-{len(started)}.log"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
        command = [sys.executable, *args] if args[0] == "-m" else list(args)
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=full_env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        spawned = Spawned(process, log_path)
        started.append(spawned)
        if ready is not None:

            def is_ready() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited with {process.returncode}:\n{spawned.log()[-3000:]}")
                return ready in spawned.log()

            wait_for(is_ready, timeout, f"{name} to log {ready!r}", interval=0.1)
        return spawned

    return spawn, started


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    function, started = _spawner(tmp_path)
    yield function
    for item in started:
        item.stop()


@pytest.fixture(scope="module")
def module_spawn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Spawn]:
    function, started = _spawner(tmp_path_factory.mktemp("procs"))
    yield function
    for item in started:
        item.stop()


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


READY = " ready."


def worker(spawn: Spawn, service: str, env: dict[str, str], *args: str, wait: bool = True) -> Spawned:
    return spawn(
        ["-m", f"services.{service}.worker", *args],
        env,
        ready=READY if wait else None,
        timeout=90,
        name=service,
    )


def wait_ready(*workers: Spawned) -> None:
    for item in workers:

        def ready(item: Spawned = item) -> bool:
            if item.process.poll() is not None:
                raise AssertionError(f"a worker exited with {item.process.returncode}:\n{item.log()[-3000:]}")
            return READY in item.log()

        wait_for(ready, 90, "a worker to be ready", 0.1)


def start_workers(spawn: Spawn, env: dict[str, str], styles: str = "starry-night") -> dict[str, Spawned]:
    """One worker per service, the stylizer serving `styles`, started together; all ready on return."""
    started = {
        "segmenter": worker(spawn, "segmenter", env, wait=False),
        "stylizer": worker(spawn, "stylizer", env, "--styles", styles, wait=False),
        "compositor": worker(spawn, "compositor", env, wait=False),
    }
    wait_ready(*started.values())
    return started


def run_to_end(
    argv: Sequence[str], env: Mapping[str, str], *, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a command that is expected to exit by itself (a check, a refused start), capturing its output."""
    return subprocess.run(list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)


def enlarged(jpeg: bytes, size: tuple[int, int]) -> bytes:
    """The photo resized to `size`, as JPEG: a bigger picture keeps a stage busy long enough to catch."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).resize(size).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


STAGE_COUNT = re.compile(r'^sitter_stage_duration_seconds_count\{stage="(\w+)"\} (\S+)$', re.M)


def stage_runs(metrics_text: str) -> dict[str, float]:
    """Completed runs per stage from the Prometheus text: a stage done twice for one job counts twice."""
    return {stage: float(count) for stage, count in STAGE_COUNT.findall(metrics_text)}


# `live_stack`: the whole stack over HTTP, once per session, shared by the client and browser tests.
pytest_plugins = ["tests.live_stack"]

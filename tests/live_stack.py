"""The whole stack over real HTTP, once per test session, for the Python client and the browser tests.

`python -m gateway` on a free loopback port and one worker process per service, on their own Redis
database (the gateway-only and e2e modules use others), exactly as `make up` runs them. The stylizer
serves only the styles these tests use, so a job in any other style stays queued: that is how tests get
a job that is reliably unfinished. Workers accept fewer pixels than the gateway, so an upload the
gateway accepts can still fail inside a stage: that is how tests get a failed job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers.processes import free_port, spawner, start_gateway, start_workers

SERVED_STYLES = ("starry-night", "great-wave", "custom")
UNSERVED_STYLE = "builtin-5"  # no worker consumes its queue in these tests
# Above the web client's upload size (a 2560 x 1920 photo: it shrinks larger ones), below what the failing
# jobs' photo has (a square one side of which is still under 2560 px, so the client leaves it whole).
WORKER_MAX_PIXELS = 5_000_000


@dataclass(frozen=True)
class LiveStack:
    base_url: str
    redis_url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def live_stack(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    spawn, started = spawner(tmp_path_factory.mktemp("live-stack"))
    port = free_port()
    env = {
        "SITTER_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/3",
        "SITTER_PORT": str(port),
        "SITTER_INFERENCE_THREADS": "1",
        "SITTER_MAX_WORKING_SIZE": "512",
        "SITTER_LOG_LEVEL": "INFO",
    }
    worker_env = {**env, "SITTER_MAX_PIXELS": str(WORKER_MAX_PIXELS)}
    try:
        start_workers(spawn, worker_env, ",".join(SERVED_STYLES))
        start_gateway(spawn, env)
        yield LiveStack(f"http://127.0.0.1:{port}", env["SITTER_REDIS_URL"], env)
    finally:
        for item in started:
            item.stop()

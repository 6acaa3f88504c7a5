"""Redis (append-only persistence on) restarted under queued and under running jobs.

Queued jobs survive the restart and succeed once workers come; jobs running through a restart each end,
succeeded or failed with a reason (SITTER_JOB_TIMEOUT catches a task lost in the restart), never stuck.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import ACTIVE_KEY
from shared.settings import Settings
from tests.conftest import Spawn, Spawned, free_port, wait_for
from tests.test_e2e import TERMINAL, WORKER_LIMITS, submit, wait_ready, worker

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 30


@pytest.fixture
def durable_redis(spawn: Spawn, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A redis-server writing every change to its append-only file, and a function that restarts it."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path)]
    processes: list[Spawned] = []

    def start() -> None:
        processes.append(spawn(command, {}, ready="Ready to accept connections", timeout=30, name="redis"))

    def restart() -> None:
        processes[-1].stop()  # SIGTERM: redis flushes the append-only file and exits
        start()

    start()
    yield f"redis://127.0.0.1:{port}/0", restart


def _ended(client: FlaskClient, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    def document(job_id: str) -> dict[str, Any] | None:
        response = client.get(f"/v1/jobs/{job_id}")
        if response.status_code != 200:  # 503 while Redis is away
            return None
        body: dict[str, Any] = response.get_json()
        return body if body["status"] in TERMINAL else None

    ended: dict[str, dict[str, Any]] = {}
    for job_id in job_ids:
        found = wait_for(lambda job_id=job_id: document(job_id), timeout, f"job {job_id} to end")
        assert isinstance(found, dict)
        ended[job_id] = found
    return ended


def test_jobs_survive_a_redis_restart(
    durable_redis: tuple[str, Callable[[], None]], spawn: Spawn, portrait_jpeg: bytes
) -> None:
    url, restart = durable_redis
    env = {**WORKER_LIMITS, "SITTER_REDIS_URL": url}
    settings = Settings(redis_url=url, task_soft_time_limit=8, task_time_limit=10, job_timeout=JOB_TIMEOUT)
    with create_app(settings).test_client() as client:
        queued = [submit(client, portrait_jpeg) for _ in range(3)]  # no worker yet: all wait in Redis
        restart()
        workers = [
            worker(spawn, "segmenter", env, wait=False),
            worker(spawn, "stylizer", env, "--styles", "starry-night", wait=False),
            worker(spawn, "compositor", env, wait=False),
        ]
        wait_ready(*workers)
        for job_id, document in _ended(client, queued, 60).items():
            assert document["status"] == "succeeded", (job_id, document["error"])

        running = [submit(client, portrait_jpeg) for _ in range(3)]
        wait_for(
            lambda: any(
                client.get(f"/v1/jobs/{job_id}").get_json()["status"] != "queued" for job_id in running
            ),
            60,
            "a job to start",
            interval=0.01,
        )
        restart()
        for job_id, document in _ended(client, running, JOB_TIMEOUT + 60).items():
            assert document["status"] == "succeeded" or document["error"]["detail"], (job_id, document)
    assert redis.Redis.from_url(url).zcard(ACTIVE_KEY) == 0  # nothing left counted as unfinished

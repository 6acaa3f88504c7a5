"""Redis (append-only persistence on) restarted under queued and under running jobs: none is lost.

Queued jobs survive the restart and succeed once workers come. A job whose stage is running when Redis
goes away also succeeds, with the same picture as an undisturbed run: the worker finishes the stage,
waits for Redis to come back to record it, and the chord goes on. (SITTER_JOB_TIMEOUT, tested in
test_faults.py, is the backstop for a task that is lost anyway, e.g. with persistence off.)
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import ACTIVE_KEY, RUNNING, JobStore
from shared.settings import Settings
from shared.storage import redis_client
from tests.conftest import Spawn, Spawned, enlarged, free_port, start_workers, wait_for
from tests.test_e2e import TERMINAL, WORKER_LIMITS, image_of, submit

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 60
OUTAGE_SECONDS = 3  # how long Redis stays down: longer than any stage here takes


@dataclass
class DurableRedis:
    """A redis-server writing every change to its append-only file, stopped and started by the test."""

    spawn: Spawn
    workdir: Path
    port: int = field(default_factory=free_port)
    process: Spawned | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)]
        self.process = self.spawn(command, {}, ready="Ready to accept connections", timeout=30, name="redis")

    def stop(self) -> None:
        assert self.process is not None
        self.process.stop()  # SIGTERM: redis flushes the append-only file and exits


@pytest.fixture
def durable_redis(spawn: Spawn, tmp_path: Path) -> Iterator[DurableRedis]:
    server = DurableRedis(spawn, tmp_path)
    server.start()
    yield server


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


def _settings(url: str) -> Settings:
    return Settings(redis_url=url, task_soft_time_limit=8, task_time_limit=10, job_timeout=JOB_TIMEOUT)


def test_queued_jobs_survive_a_redis_restart(
    durable_redis: DurableRedis, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    with create_app(_settings(durable_redis.url)).test_client() as client:
        queued = [submit(client, portrait_jpeg) for _ in range(3)]  # no worker yet: all wait in Redis
        durable_redis.stop()
        durable_redis.start()
        start_workers(spawn, {**WORKER_LIMITS, "SITTER_REDIS_URL": durable_redis.url})
        for job_id, document in _ended(client, queued, 60).items():
            assert document["status"] == "succeeded", (job_id, document["error"])
    assert redis.Redis.from_url(durable_redis.url).zcard(ACTIVE_KEY) == 0


def test_a_job_running_through_a_redis_restart_succeeds(
    durable_redis: DurableRedis, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    """The stylizer is frozen mid-stage, Redis goes down, the stylizer thaws and finishes its work into
    the outage, Redis comes back: the job and the ones queued behind it succeed, with the right picture."""
    env = {**WORKER_LIMITS, "SITTER_REDIS_URL": durable_redis.url, "SITTER_MAX_PIXELS": "4000000"}
    stylizer = start_workers(spawn, env)["stylizer"]
    portrait = enlarged(portrait_jpeg, (900, 1200))  # stylizing it takes long enough to be caught at it
    jobs = JobStore(redis_client(durable_redis.url), retention_seconds=3600)
    with create_app(_settings(durable_redis.url)).test_client() as client:
        reference = _ended(client, [submit(client, portrait)], 60).popitem()[1]
        assert reference["status"] == "succeeded", reference["error"]
        expected = image_of(client.get(reference["links"]["result"]).data)

        caught = submit(client, portrait)
        behind = [submit(client, portrait) for _ in range(2)]

        def stylizing() -> bool:
            record = jobs.get(caught)
            return record is not None and record.stages.get("stylize", {}).get("state") == RUNNING

        wait_for(stylizing, 60, "the stylize stage to start", interval=0.002)
        stylizer.kill(signal.SIGSTOP)
        assert stylizing(), "the stage ended before the stylizer was frozen"
        durable_redis.stop()
        stylizer.kill(signal.SIGCONT)
        time.sleep(OUTAGE_SECONDS)
        durable_redis.start()

        for job_id, document in _ended(client, [caught, *behind], JOB_TIMEOUT + 30).items():
            assert document["status"] == "succeeded", (job_id, document["error"])
            picture = image_of(client.get(document["links"]["result"]).data)
            assert np.abs(picture.astype(np.int16) - expected).mean() < 1.0, job_id
    # Celery's words when it kills a late-acknowledged task on connection loss instead of letting it finish
    assert "Terminating it instead" not in stylizer.log()
    assert redis.Redis.from_url(durable_redis.url).zcard(ACTIVE_KEY) == 0

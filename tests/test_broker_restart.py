"""The broker restarted under queued and under running jobs: none is lost, and each result is the one an
undisturbed run gives.

On Redis (append-only persistence on) the restarted server is the broker and the job store at once; on
RabbitMQ the private node is restarted while Redis stays up. Queued jobs survive the restart and succeed
once workers come. A job whose stage is running when the broker goes away also succeeds, with the same
picture as an undisturbed run: the worker finishes the stage, waits for Redis (on Redis) or for the
broker (to queue the chord's next step) to come back, and the chord goes on. The redelivered copy of the
running task (its acknowledgement was lost with the connection) is harmless: the job record and the
chord count each stage once. (SITTER_JOB_TIMEOUT, tested in test_faults.py, is the backstop for a task
that is lost anyway, e.g. with persistence off.)
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import RUNNING
from shared.runtime.job_store import ACTIVE_KEY, JobStore
from shared.runtime.metrics import Metrics
from shared.runtime.storage import redis_client
from shared.settings import Settings
from sitter.rabbitmq_node import RabbitMQNode
from tests.helpers.brokers import BrokerChoice
from tests.helpers.images import enlarged, image_of
from tests.helpers.jobs import TERMINAL, WORKER_LIMITS, submit
from tests.helpers.metrics import stage_runs
from tests.helpers.processes import Spawn, Spawned, free_port, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

JOB_TIMEOUT = 60
OUTAGE_SECONDS = 3  # how long the broker stays down: longer than any stage here takes
DB = 15  # the Redis database and RabbitMQ vhost of the RabbitMQ runs
# A stage that finishes during the outage waits for the broker to queue the chord's next step, inside its
# soft time limit: the 8 s of WORKER_LIMITS is shorter than a RabbitMQ node takes to boot on two cores
# (production's is 120 s)
RABBITMQ_LIMITS = {"SITTER_TASK_SOFT_TIME_LIMIT": "30", "SITTER_TASK_TIME_LIMIT": "40"}


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


@dataclass
class RestartableBroker:
    """The broker a test restarts, and the Redis the services keep their jobs in."""

    redis_url: str
    broker_url: str
    stop: Callable[[], None]
    start: Callable[[], None]

    @property
    def env(self) -> dict[str, str]:
        return {"SITTER_REDIS_URL": self.redis_url, "SITTER_BROKER_URL": self.broker_url}


@pytest.fixture
def restartable(
    broker: BrokerChoice, spawn: Spawn, tmp_path: Path, redis_url: str
) -> Iterator[RestartableBroker]:
    if broker.node is None:
        server = DurableRedis(spawn, tmp_path)
        server.start()
        yield RestartableBroker(server.url, server.url, server.stop, server.start)
        return
    node: RabbitMQNode = broker.node
    env = broker.env(redis_url, DB)
    redis.Redis.from_url(env["SITTER_REDIS_URL"]).flushdb()
    yield RestartableBroker(env["SITTER_REDIS_URL"], env["SITTER_BROKER_URL"], node.stop, node.start)
    if not node.answers():  # a failed test must not leave the session's node down
        node.start()


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


def _settings(server: RestartableBroker) -> Settings:
    return Settings(
        redis_url=server.redis_url,
        broker_url=server.broker_url,
        task_soft_time_limit=8,
        task_time_limit=10,
        job_timeout=JOB_TIMEOUT,
    )


def test_queued_jobs_survive_a_broker_restart(
    restartable: RestartableBroker, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    with create_app(_settings(restartable)).test_client() as client:
        queued = [submit(client, portrait_jpeg) for _ in range(3)]  # no worker yet: all wait in the broker
        restartable.stop()
        restartable.start()
        start_workers(spawn, {**WORKER_LIMITS, **restartable.env})
        for job_id, document in _ended(client, queued, 60).items():
            assert document["status"] == "succeeded", (job_id, document["error"])
    assert redis.Redis.from_url(restartable.redis_url).zcard(ACTIVE_KEY) == 0


@pytest.mark.both_brokers
def test_a_job_running_through_a_broker_restart_succeeds(
    broker: BrokerChoice, restartable: RestartableBroker, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    """The stylizer is frozen mid-stage, the broker goes down, the stylizer thaws and finishes its work
    into the outage, the broker comes back: the job and the ones queued behind it (which sat in the
    broker through the restart) succeed, with the right picture, each stage counted once per job."""
    limits = RABBITMQ_LIMITS if broker.node is not None else {}
    env = {**WORKER_LIMITS, **limits, **restartable.env, "SITTER_MAX_PIXELS": "4000000"}
    env["SITTER_VISIBILITY_TIMEOUT"] = str(int(env["SITTER_TASK_TIME_LIMIT"]) + 2)
    stylizer = start_workers(spawn, env)["stylizer"]
    portrait = enlarged(portrait_jpeg, (900, 1200))  # stylizing it takes long enough to be caught at it
    jobs = JobStore(redis_client(restartable.redis_url), retention_seconds=3600)
    with create_app(_settings(restartable)).test_client() as client:
        reference = _ended(client, [submit(client, portrait)], 60).popitem()[1]
        assert reference["status"] == "succeeded", reference["error"]
        expected = image_of(client.get(reference["links"]["result"]).data)

        caught = submit(client, portrait)

        def stylizing() -> bool:
            record = jobs.get(caught)
            return record is not None and record.stages.get("stylize", {}).get("state") == RUNNING

        wait_for(stylizing, 60, "the stylize stage to start", interval=0.002)
        stylizer.kill(signal.SIGSTOP)
        assert stylizing(), "the stage ended before the stylizer was frozen"
        # queued behind the frozen stylizer, so they sit in the broker through the restart (submitted only
        # now: on a loaded machine the caught stage could end while they were being submitted)
        behind = [submit(client, portrait) for _ in range(2)]
        runs_before = stage_runs(Metrics(jobs.client).render())
        down_at = time.monotonic()
        restartable.stop()
        stylizer.kill(signal.SIGCONT)
        time.sleep(OUTAGE_SECONDS)
        restartable.start()
        outage = time.monotonic() - down_at

        for job_id, document in _ended(client, [caught, *behind], JOB_TIMEOUT + 30).items():
            assert document["status"] == "succeeded", (job_id, document["error"])
            picture = image_of(client.get(document["links"]["result"]).data)
            assert np.abs(picture.astype(np.int16) - expected).mean() < 1.0, job_id
        recovered = time.monotonic() - down_at
    text = Metrics(jobs.client).render()
    runs = stage_runs(text)
    # a stage that ran while the broker went down lost its acknowledgement and may run once more (the same
    # picture); the job itself ends once
    extra = {stage: runs[stage] - runs_before.get(stage, 0.0) - 3 for stage in runs}
    print(
        f"\n{broker.name} restart: down {outage:.1f} s, the 3 jobs done {recovered:.1f} s after it went "
        f"down; stage runs beyond one per job: {extra}"
    )
    succeeded = re.search(r'^sitter_jobs_total\{status="succeeded"\} (\S+)$', text, re.M)
    assert succeeded is not None and float(succeeded.group(1)) == 4.0  # the reference, then these 3
    # Celery's words when it kills a late-acknowledged task on connection loss instead of letting it finish
    assert "Terminating it instead" not in stylizer.log()
    assert redis.Redis.from_url(restartable.redis_url).zcard(ACTIVE_KEY) == 0

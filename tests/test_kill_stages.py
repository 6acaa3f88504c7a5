"""A worker killed with SIGKILL in the middle of each stage, on each broker: the job still completes,
once, with the same picture as an undisturbed run of the same inputs.

The victim is frozen (SIGSTOP) as soon as the job record says its stage is running and is killed only if
the stage is still running while it is frozen, so the kill provably lands mid-stage; a stage that ended
before the freeze is retried with a new job. A replacement worker, started and ready while the victim is
frozen, takes the redelivered task (late acknowledgement, reject on worker lost), and the test measures
how long that took: on Redis the task comes back once the visibility timeout (short here) has passed
since it was delivered; on RabbitMQ as soon as the dead worker's connection closes.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import RUNNING
from shared.runtime.job_store import JobStore
from shared.runtime.metrics import Metrics
from shared.runtime.storage import redis_client
from shared.settings import Settings
from tests.helpers.brokers import BrokerChoice
from tests.helpers.images import enlarged, image_of
from tests.helpers.jobs import WORKER_LIMITS, poll, submit
from tests.helpers.metrics import stage_runs
from tests.helpers.processes import Spawn, Spawned, start_workers, wait_ready, worker
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

SERVICES = {"segment": "segmenter", "stylize": "stylizer", "composite": "compositor"}
ATTEMPTS = 5
DB = 7
RABBITMQ_REDELIVERY_S = 3.0  # the connection closes with the process; the rest is the new run starting


def _started_at(jobs: JobStore, job_id: str, stage: str) -> float:
    record = jobs.get(job_id)
    assert record is not None
    return float(record.stages.get(stage, {}).get("started_at", 0.0))


def _freeze_mid_stage(
    client: FlaskClient, jobs: JobStore, victim: Spawned, stage: str, portrait: bytes
) -> str:
    """Submit jobs until one is caught with `stage` running while the victim is frozen; returns its id."""

    def running(job_id: str) -> bool:
        record = jobs.get(job_id)
        return record is not None and record.stages.get(stage, {}).get("state") == RUNNING

    for _ in range(ATTEMPTS):
        job_id = submit(client, portrait)
        wait_for(lambda job_id=job_id: running(job_id), 60, f"{stage} to start", interval=0.001)
        victim.kill(signal.SIGSTOP)
        if running(job_id):
            return job_id
        victim.kill(signal.SIGCONT)  # too late: the stage had just finished; let the job end, try again
        poll(client, job_id)
    raise AssertionError(f"never caught {stage} running in {ATTEMPTS} jobs")


# every stage on Redis; on RabbitMQ one (the redelivery is the same channel closing for every queue, and
# each run costs CI ~10 s): the stylizer's, whose queues are per style
CASES = [*(("redis", stage) for stage in SERVICES), ("rabbitmq", "stylize")]


@pytest.mark.parametrize(("broker", "stage"), CASES, indirect=["broker"])
def test_a_worker_killed_mid_stage_loses_nothing(
    stage: str, broker: BrokerChoice, spawn: Spawn, redis_url: str, portrait_jpeg: bytes
) -> None:
    env = {**WORKER_LIMITS, **broker.env(redis_url, DB), "SITTER_MAX_PIXELS": "4000000"}
    url = env["SITTER_REDIS_URL"]
    redis_client(url).flushdb()  # this module's own database: empty for each stage's run
    workers = start_workers(spawn, env)
    portrait = enlarged(portrait_jpeg, (1200, 1600))  # big enough that every stage takes a moment
    jobs = JobStore(redis_client(url), retention_seconds=3600)
    settings = Settings(redis_url=url, broker_url=env.get("SITTER_BROKER_URL", ""))
    with create_app(settings).test_client() as client:
        reference: dict[str, Any] = poll(client, submit(client, portrait))
        assert reference["status"] == "succeeded", reference["error"]
        expected = image_of(client.get(reference["links"]["result"]).data)

        victim = workers[SERVICES[stage]]
        job_id = _freeze_mid_stage(client, jobs, victim, stage, portrait)
        first_start = _started_at(jobs, job_id, stage)
        args = ("--styles", "starry-night") if stage == "stylize" else ()
        replacement = worker(spawn, SERVICES[stage], env, *args, wait=False)
        wait_ready(replacement)  # waiting on the queue before the kill: what follows is the broker's time
        runs_before = stage_runs(Metrics(jobs.client).render())
        killed_at = time.time()
        victim.kill(signal.SIGKILL)
        victim.process.wait(5)
        assert client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "running"
        restarted = wait_for(
            lambda: _started_at(jobs, job_id, stage) > first_start, 90, "the redelivered task to start", 0.01
        )
        assert restarted
        second_start = _started_at(jobs, job_id, stage)
        after_kill, after_delivery = second_start - killed_at, second_start - first_start
        print(
            f"\n{broker.name}: {stage} redelivered {after_kill:.2f} s after the SIGKILL, "
            f"{after_delivery:.2f} s after its first start"
        )
        if broker.name == "rabbitmq":
            assert after_kill < RABBITMQ_REDELIVERY_S, after_kill
        else:  # Redis gives the task back only once the visibility timeout has passed since delivery
            assert after_delivery >= int(WORKER_LIMITS["SITTER_VISIBILITY_TIMEOUT"]) - 1, after_delivery

        job = poll(client, job_id, timeout=90)
        assert job["status"] == "succeeded", job["error"]
        picture = image_of(client.get(job["links"]["result"]).data)
        assert np.abs(picture.astype(np.int16) - expected).mean() < 1.0, "not the undisturbed picture"
    runs = stage_runs(Metrics(jobs.client).render())
    # once: the killed run never completed, so each stage still to do completed exactly once more
    assert runs[stage] - runs_before.get(stage, 0.0) == 1, (runs_before, runs)
    assert f"sitter.{stage}[{job_id}-{stage}]" in replacement.log(), "the redelivered task ran elsewhere"

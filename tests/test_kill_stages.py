"""A worker killed with SIGKILL in the middle of each stage: the job still completes, once, with the same
picture as an undisturbed run of the same inputs.

The victim is frozen (SIGSTOP) as soon as the job record says its stage is running and is killed only if
the stage is still running while it is frozen, so the kill provably lands mid-stage; a stage that ended
before the freeze is retried with a new job. A replacement worker then takes the redelivered task (late
acknowledgement, reject on worker lost, short visibility timeout here).
"""

from __future__ import annotations

import signal
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import RUNNING, JobStore
from shared.metrics import Metrics
from shared.settings import Settings
from shared.storage import redis_client
from tests.conftest import Spawn, Spawned, enlarged, stage_runs, start_workers, wait_for, worker
from tests.test_e2e import WORKER_LIMITS, image_of, poll, submit

pytestmark = pytest.mark.slow

SERVICES = {"segment": "segmenter", "stylize": "stylizer", "composite": "compositor"}
ATTEMPTS = 5


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


@pytest.mark.parametrize("stage", list(SERVICES))
def test_a_worker_killed_mid_stage_loses_nothing(
    stage: str, spawn: Spawn, redis_url: str, portrait_jpeg: bytes
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/7"
    redis_client(url).flushdb()  # this module's own database: empty for each stage's run
    env = {**WORKER_LIMITS, "SITTER_REDIS_URL": url, "SITTER_MAX_PIXELS": "4000000"}
    workers = start_workers(spawn, env)
    portrait = enlarged(portrait_jpeg, (1200, 1600))  # big enough that every stage takes a moment
    jobs = JobStore(redis_client(url), retention_seconds=3600)
    with create_app(Settings(redis_url=url)).test_client() as client:
        reference: dict[str, Any] = poll(client, submit(client, portrait))
        assert reference["status"] == "succeeded", reference["error"]
        expected = image_of(client.get(reference["links"]["result"]).data)

        victim = workers[SERVICES[stage]]
        job_id = _freeze_mid_stage(client, jobs, victim, stage, portrait)
        runs_before = stage_runs(Metrics(jobs.client).render())
        victim.kill(signal.SIGKILL)
        victim.process.wait(5)
        assert client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "running"
        args = ("--styles", "starry-night") if stage == "stylize" else ()
        replacement = worker(spawn, SERVICES[stage], env, *args, wait=False)

        job = poll(client, job_id, timeout=90)
        assert job["status"] == "succeeded", job["error"]
        picture = image_of(client.get(job["links"]["result"]).data)
        assert np.abs(picture.astype(np.int16) - expected).mean() < 1.0, "not the undisturbed picture"
    runs = stage_runs(Metrics(jobs.client).render())
    # once: the killed run never completed, so each stage still to do completed exactly once more
    assert runs[stage] - runs_before.get(stage, 0.0) == 1, (runs_before, runs)
    assert f"sitter.{stage}[{job_id}-{stage}]" in replacement.log(), "the redelivered task ran elsewhere"

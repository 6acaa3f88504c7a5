"""A job with several people when a worker dies or a task comes twice (issue 14): still one correct
result, and what was done is not done again.

- A worker killed (SIGKILL) in the middle of the plan step, of one person's segment or stylize task, or of
  the composite: the victim is frozen (SIGSTOP) while that stage runs, a replacement worker is started, the
  victim is killed; the broker redelivers the task (late acknowledgement) and the job ends with the
  picture of an undisturbed run, each stage still to do completed exactly once, one composite.
- A person's task delivered again after it finished (what a broker does after a lost acknowledgement):
  it finds its output stored and does nothing; the job's result is unchanged.
"""

from __future__ import annotations

import io
import signal
from typing import Any

import numpy as np
import pytest
from celery import Celery
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from gateway.app import create_app
from shared.jobs import MATTE_BLOB, RUNNING, SUCCEEDED, blob_key, person_blob
from shared.queues import SEGMENT_QUEUE, SEGMENT_TASK
from shared.runtime.celery_app import create_celery
from shared.runtime.job_store import JobStore
from shared.runtime.metrics import Metrics
from shared.runtime.storage import blob_store, redis_client
from shared.settings import Settings
from tests.helpers.images import enlarged, image_of
from tests.helpers.jobs import WORKER_LIMITS, poll
from tests.helpers.metrics import stage_runs
from tests.helpers.processes import Spawn, start_workers, wait_ready, worker
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

SERVICES = {"plan": "stylizer", "segment": "segmenter", "stylize": "stylizer", "composite": "compositor"}
PERSON_STAGES = ("segment", "stylize")
TASKS = {"plan": "plan_people", "segment": "segment", "stylize": "stylize", "composite": "composite"}
ATTEMPTS = 5


def _submit(client: FlaskClient, photos: list[bytes]) -> str:
    form: list[tuple[str, Any]] = [("portrait", (io.BytesIO(p), f"p{k}.jpg")) for k, p in enumerate(photos)]
    response = client.post("/v1/jobs", data=MultiDict([*form, ("painting", "starry-night")]))
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def _running(jobs: JobStore, job_id: str, stage: str) -> str | None:
    """The running stage of that kind: `plan`, `composite`, or one person's (`segment.2`)."""
    record = jobs.get(job_id)
    names = [f"{stage}.{person}" for person in (1, 2)] if stage in PERSON_STAGES else [stage]
    for name in names:
        if record is not None and record.stages.get(name, {}).get("state") == RUNNING:
            return name
    return None


def _setup(spawn: Spawn, url: str) -> tuple[dict[str, str], Settings, JobStore]:
    redis_client(url).flushdb()  # this module's own database: empty for each run
    env = {**WORKER_LIMITS, "SITTER_REDIS_URL": url, "SITTER_MAX_PIXELS": "4000000"}
    settings = Settings(redis_url=url, max_active_jobs_per_key=10**6)
    return env, settings, JobStore(redis_client(url), retention_seconds=3600)


@pytest.mark.parametrize("stage", ["plan", "segment", "stylize", "composite"])
def test_a_worker_killed_mid_stage_gives_one_correct_result(
    stage: str, spawn: Spawn, module_redis_url: str, portrait_jpeg: bytes
) -> None:
    env, settings, jobs = _setup(spawn, module_redis_url)
    workers = start_workers(spawn, env)
    # big enough that each person's stages take a moment
    photos = [enlarged(portrait_jpeg, (900, 1200)), enlarged(portrait_jpeg, (750, 1000))]
    with create_app(settings).test_client() as client:
        reference = poll(client, _submit(client, photos), timeout=120)
        assert reference["status"] == "succeeded", reference["error"]
        expected = image_of(client.get(reference["links"]["result"]).data)

        victim = workers[SERVICES[stage]]
        for _ in range(ATTEMPTS):
            job_id = _submit(client, photos)
            started = lambda job_id=job_id: _running(jobs, job_id, stage)  # noqa: E731
            wait_for(started, 90, f"a {stage} to start", interval=0.001)
            victim.kill(signal.SIGSTOP)
            caught = _running(jobs, job_id, stage)
            if caught is not None:
                break
            victim.kill(signal.SIGCONT)  # too late: that stage had just ended; let the job end, try again
            poll(client, job_id, timeout=120)
        else:
            raise AssertionError(f"never caught a {stage} running in {ATTEMPTS} jobs")
        args = ("--styles", "starry-night") if SERVICES[stage] == "stylizer" else ()
        replacement = worker(spawn, SERVICES[stage], env, *args, wait=False)
        wait_ready(replacement)
        record = jobs.get(job_id)
        assert record is not None
        names = [f"{stage}.{k}" for k in (1, 2)] if stage in PERSON_STAGES else [stage]
        done_before = sum(record.stages.get(name, {}).get("state") == SUCCEEDED for name in names)
        runs_before = stage_runs(Metrics(jobs.client).render())
        victim.kill(signal.SIGKILL)
        victim.process.wait(5)

        job = poll(client, job_id, timeout=120)
        assert job["status"] == "succeeded", job["error"]
        picture = image_of(client.get(job["links"]["result"]).data)
        assert np.abs(picture.astype(np.int16) - expected).mean() < 1.0, "not the undisturbed picture"
    runs = stage_runs(Metrics(jobs.client).render())
    # once: the killed run never completed, so each person's stage still to do completed exactly once more
    assert runs[stage] - runs_before.get(stage, 0.0) == len(names) - done_before, (runs_before, runs)
    assert runs["composite"] - runs_before.get("composite", 0.0) == 1
    killed = f"sitter.{TASKS[stage]}[{job_id}-{caught.replace('.', '-')}]"
    assert killed in replacement.log(), f"the redelivered {killed} ran elsewhere"


def test_a_person_task_delivered_again_does_nothing_again(
    spawn: Spawn, module_redis_url: str, portrait_jpeg: bytes
) -> None:
    env, settings, jobs = _setup(spawn, module_redis_url)
    segmenter = worker(spawn, "segmenter", env, wait=False)
    stylizer = worker(spawn, "stylizer", env, "--styles", "starry-night", wait=False)
    wait_ready(segmenter, stylizer)  # no compositor yet: the job waits after its people are done
    photos = [portrait_jpeg, enlarged(portrait_jpeg, (200, 260))]
    blobs = blob_store(settings)
    with create_app(settings).test_client() as client:
        job_id = _submit(client, photos)

        def people_done() -> bool:
            record = jobs.get(job_id)
            assert record is not None and record.status in ("queued", RUNNING), record
            names = [f"{s}.{k}" for s in ("segment", "stylize") for k in (1, 2)]
            return all(record.stages.get(name, {}).get("state") == SUCCEEDED for name in names)

        wait_for(people_done, 90, "both people's segment and stylize tasks")
        record = jobs.get(job_id)
        assert record is not None
        first = record.stages["segment.1"]
        matte = blobs.get(blob_key(job_id, person_blob(MATTE_BLOB, 1)))
        runs_before = stage_runs(Metrics(jobs.client).render())["segment"]

        celery: Celery = create_celery(settings, send_only=True)
        params = record.params
        celery.signature(
            SEGMENT_TASK,
            args=(job_id, params),
            kwargs={"person": 1},
            queue=SEGMENT_QUEUE,
            task_id=f"{job_id}-segment-1",
        ).apply_async()

        def again() -> dict[str, Any] | None:
            state = jobs.get(job_id).stages["segment.1"]  # type: ignore[union-attr]
            return (
                state if state["started_at"] > first["started_at"] and state["state"] == SUCCEEDED else None
            )

        second = wait_for(again, 30, "the task delivered again to finish")
        assert isinstance(second, dict)
        assert second["duration_ms"] < first["duration_ms"] / 2, (first, second)  # no segmentation ran
        assert blobs.get(blob_key(job_id, person_blob(MATTE_BLOB, 1))) == matte
        assert stage_runs(Metrics(jobs.client).render())["segment"] == runs_before + 1

        compositor = worker(spawn, "compositor", env)
        wait_ready(compositor)
        job = poll(client, job_id, timeout=60)
        assert job["status"] == "succeeded", job["error"]

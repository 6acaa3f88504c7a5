"""Retention end to end: a finished job's record, images and idempotency key are gone from Redis once the
retention period has passed, with no DELETE, and the API then knows nothing of the job.

(S3 expiry is a bucket lifecycle rule in whole days, checked in test_storage.py; it cannot be waited for.)
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from gateway.app import create_app
from shared.runtime.storage import redis_client
from shared.settings import Settings
from tests.helpers.jobs import WORKER_LIMITS, poll
from tests.helpers.processes import Spawn, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

RETENTION = 5  # seconds; longer than the job takes, so nothing expires while it runs


def test_everything_of_a_job_expires_after_the_retention_period(
    spawn: Spawn, redis_url: str, portrait_jpeg: bytes
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/11"
    store = redis_client(url)
    store.flushdb()
    limits = {"SITTER_RETENTION_SECONDS": str(RETENTION), "SITTER_RESULT_EXPIRES": str(RETENTION)}
    env = {**WORKER_LIMITS, **limits, "SITTER_REDIS_URL": url}
    start_workers(spawn, env)
    settings = Settings(redis_url=url, retention_seconds=RETENTION, result_expires=RETENTION)
    with create_app(settings).test_client() as client:
        form = {"portrait": (io.BytesIO(portrait_jpeg), "me.jpg"), "painting": "starry-night"}
        response = client.post("/v1/jobs", data=form, headers={"Idempotency-Key": "retention-test"})
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["id"]
        job: dict[str, Any] = poll(client, job_id)
        assert job["status"] == "succeeded", job["error"]
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 200

        def traces() -> list[bytes]:
            found = [key for key in store.scan_iter(count=1000) if job_id.encode() in key]
            found += [key for key in store.scan_iter("sitter:idempotency:*")]
            return found

        assert traces(), "the job left nothing to expire: the check below would prove nothing"
        wait_for(lambda: not traces(), RETENTION + 10, "the job's keys to expire")
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 404

"""S3 storage going away in the middle of a job, with real workers and a real S3 server (moto) behind a
relay the test takes down: a short outage is retried away and the job succeeds; a long one ends in a
clear `storage-unavailable` failure of the stage that met it after bounded retries, never a stuck job.

The stylizer is frozen (SIGSTOP) while the job is submitted and segmented, so its task meets the outage
when it thaws; its retries back off 1, 2, 4 s (SITTER_TASK_MAX_RETRIES=3 here).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import SUCCEEDED
from shared.runtime.job_store import JobStore
from shared.runtime.storage import redis_client
from shared.settings import Settings
from tests.helpers.jobs import WORKER_LIMITS, poll, submit
from tests.helpers.processes import Spawn, Spawned, start_workers
from tests.helpers.s3 import S3_CREDENTIALS
from tests.helpers.tcp_relay import TcpRelay
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

BUCKET = "sitter-outage"


@pytest.fixture
def relay(s3_endpoint: str) -> Iterator[TcpRelay]:
    relay = TcpRelay(int(s3_endpoint.rsplit(":", 1)[1]))
    relay.up()
    yield relay
    relay.down()


@pytest.fixture
def stack(relay: TcpRelay, spawn: Spawn, redis_url: str) -> tuple[Settings, Spawned]:
    url = redis_url.rsplit("/", 1)[0] + "/10"
    redis_client(url).flushdb()
    endpoint = f"http://127.0.0.1:{relay.port}"
    env = {
        **WORKER_LIMITS,
        **S3_CREDENTIALS,
        "SITTER_REDIS_URL": url,
        "SITTER_STORAGE": "s3",
        "SITTER_S3_BUCKET": BUCKET,
        "SITTER_S3_ENDPOINT_URL": endpoint,
        "SITTER_TASK_MAX_RETRIES": "3",
    }
    workers = start_workers(spawn, env)
    settings = Settings(redis_url=url, storage="s3", s3_bucket=BUCKET, s3_endpoint_url=endpoint)
    return settings, workers["stylizer"]


def _stylize_meets_an_outage(
    client: FlaskClient, settings: Settings, stylizer: Spawned, relay: TcpRelay, portrait: bytes
) -> str:
    """Submit a job with the stylizer frozen, cut the storage once the matte is stored, thaw the stylizer."""
    jobs = JobStore(redis_client(settings.redis_url), retention_seconds=3600)
    stylizer.kill(signal.SIGSTOP)
    job_id = submit(client, portrait)

    def segmented() -> bool:
        record = jobs.get(job_id)
        return record is not None and record.stages.get("segment", {}).get("state") == SUCCEEDED

    wait_for(segmented, 60, "the segment stage to finish")
    relay.down()
    stylizer.kill(signal.SIGCONT)
    return job_id


def test_a_short_storage_outage_is_retried_away(
    stack: tuple[Settings, Spawned], relay: TcpRelay, portrait_jpeg: bytes
) -> None:
    settings, stylizer = stack
    with create_app(settings).test_client() as client:
        job_id = _stylize_meets_an_outage(client, settings, stylizer, relay, portrait_jpeg)
        wait_for(lambda: "Retry in" in stylizer.log(), 30, "the stylize task to retry")
        time.sleep(0.5)
        relay.up()
        job: dict[str, Any] = poll(client, job_id, timeout=60)
    assert job["status"] == "succeeded", job["error"]


def test_a_long_storage_outage_fails_the_job_with_the_reason(
    stack: tuple[Settings, Spawned], relay: TcpRelay, portrait_jpeg: bytes
) -> None:
    settings, stylizer = stack
    with create_app(settings).test_client() as client:
        job_id = _stylize_meets_an_outage(client, settings, stylizer, relay, portrait_jpeg)
        started = time.monotonic()
        job: dict[str, Any] = poll(client, job_id, timeout=90)
        waited = time.monotonic() - started
    assert job["status"] == "failed", job
    assert job["error"]["stage"] == "stylize" and job["error"]["code"] == "storage-unavailable", job["error"]
    assert stylizer.log().count("Retry in") == 3, "not the configured 3 retries"
    assert waited >= 1 + 2 + 4, "failed before backing off through its retries"

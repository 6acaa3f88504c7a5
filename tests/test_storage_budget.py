"""Storage budgets against real Redis servers: blobs in a Redis of their own with a small maxmemory
(`noeviction`), the job store and broker in another, and per-key quotas counted in a ledger.

A full blob store refuses new jobs with 507 `storage-full` (at the admission threshold, or at Redis's own
OOM) while the job store and the broker keep answering and nothing accepted is lost; a stage whose write
meets a full store fails its job with `storage-full` at once; one key over its quota gets 429
`storage-quota` while another key is served; deleting jobs gives the room back.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from gateway.app import create_app
from shared.errors import StorageFullError
from shared.jobs import FAILED
from shared.queues import SEGMENT_QUEUE
from shared.runtime.job_store import ACTIVE_KEY, JobStore
from shared.runtime.storage import RedisBlobStore
from shared.runtime.storage_ledger import StorageLedger
from shared.settings import Settings
from tests.helpers.forms import assert_problem
from tests.helpers.jobs import WORKER_LIMITS
from tests.helpers.processes import Spawn, start_workers, worker
from tests.helpers.redis_server import private_redis
from tests.helpers.waiting import wait_for

BLOB_MAXMEMORY = 20 * 1024 * 1024
KEYS = {"alpha": {"X-API-Key": "alpha"}, "beta": {"X-API-Key": "beta"}}
NOISE_SIDE = 900  # a PNG of noise this size is about 2.3 MiB: seven of them pass the blob Redis's 20 MiB


@pytest.fixture(scope="module")
def blob_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server for blobs only, as production runs it: small maxmemory, never evicting."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    limits = ["--maxmemory", str(BLOB_MAXMEMORY), "--maxmemory-policy", "noeviction"]
    with private_redis(tmp_path_factory.mktemp("blob-redis"), *limits, what="the blob redis-server") as url:
        yield url


@pytest.fixture
def blob_url(blob_server: str) -> str:
    """This test's own server, emptied: no blobs, and no earlier test's connections, whose input buffers
    Redis counts as used memory (a loaded machine left ~6 MiB of them and the fill test refused early)."""
    client = redis.Redis.from_url(blob_server)
    client.flushall()
    client.client_kill_filter(_type="normal", skipme=True)
    wait_for(
        lambda: int(client.info("memory")["used_memory"]) < 3 * 1024 * 1024, 10, "the blob Redis to be empty"
    )
    return blob_server


@pytest.fixture
def jobs_url(module_redis_url: str) -> str:
    url = module_redis_url
    redis.Redis.from_url(url).flushdb()
    return url


def _settings(jobs_url: str, blob_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "redis_url": jobs_url,
        "blob_redis_url": blob_url,
        "api_keys": tuple(KEYS),
        "max_upload_bytes": 4_000_000,
        "max_pixels": 2_000_000,
        "max_active_jobs_per_key": 1000,
        "storage_quota_per_key": 0,
        "storage_admit_percent": 100,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="module")
def noise_png() -> bytes:
    """Incompressible pixels, so the bytes stored are what the test counts on."""
    pixels = np.random.default_rng(7).integers(0, 256, (NOISE_SIDE, NOISE_SIDE, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _submit(client: FlaskClient, image: bytes, key: str = "alpha") -> Any:
    form = {"portrait": (io.BytesIO(image), "me.png"), "painting": "starry-night"}
    return client.post("/v1/jobs", data=form, headers=KEYS[key])


def _fill_until_refused(client: FlaskClient, image: bytes, key: str = "alpha") -> tuple[list[str], Any]:
    """Submit until the gateway says no; returns the accepted job ids and the refusal."""
    accepted: list[str] = []
    for _ in range(30):
        response = _submit(client, image, key)
        if response.status_code != 202:
            return accepted, response
        accepted.append(response.get_json()["id"])
    raise AssertionError("30 jobs accepted: nothing bounds the blob store")


def _app(settings: Settings) -> Flask:
    return create_app(settings)


def test_a_full_blob_redis_refuses_new_jobs_while_the_job_store_and_broker_work(
    jobs_url: str, blob_url: str, noise_png: bytes
) -> None:
    """With the admission threshold at 100 %, the gateway refuses what would not fit, before Redis must."""
    settings = _settings(jobs_url, blob_url)
    jobs_redis, blob_redis = redis.Redis.from_url(jobs_url), redis.Redis.from_url(blob_url)
    with _app(settings).test_client() as client:
        accepted, refusal = _fill_until_refused(client, noise_png)
        body = assert_problem(refusal, 507, "storage-full")
        assert refusal.headers["Retry-After"]
        assert "full" in body["detail"]
        assert 4 <= len(accepted) <= 9
        # the refused job does not exist and holds no place; every accepted one is whole and queued
        assert jobs_redis.zcard(ACTIVE_KEY) == len(accepted)
        assert jobs_redis.llen(SEGMENT_QUEUE) == len(accepted)
        store = RedisBlobStore(blob_redis, ttl_seconds=60)
        assert all(store.get(f"{job}/portrait") == noise_png for job in accepted)
        assert client.get(f"/v1/jobs/{accepted[0]}", headers=KEYS["alpha"]).status_code == 200
        assert client.get("/readyz").status_code == 200
        # another key meets the same clear refusal: the store is full for everyone
        assert_problem(_submit(client, noise_png, "beta"), 507, "storage-full")
        # deleting a job gives its room back at once
        assert client.delete(f"/v1/jobs/{accepted[0]}", headers=KEYS["alpha"]).status_code == 200
        assert _submit(client, noise_png, "beta").status_code == 202


def test_new_jobs_stop_at_the_admission_threshold_so_accepted_ones_keep_room(
    jobs_url: str, blob_url: str, noise_png: bytes
) -> None:
    settings = _settings(jobs_url, blob_url, storage_admit_percent=60)
    blob_redis = redis.Redis.from_url(blob_url)
    with _app(settings).test_client() as client:
        accepted, refusal = _fill_until_refused(client, noise_png)
        body = assert_problem(refusal, 507, "storage-full")
        assert "60 %" in body["detail"] and len(accepted) >= 3
    used = int(blob_redis.info("memory")["used_memory"])
    assert used <= BLOB_MAXMEMORY * 60 // 100 < used + len(noise_png)
    # what is left is there for the running jobs' intermediates: the store still takes writes
    blob_redis.set("sitter:blob:intermediate", noise_png)


def test_a_key_over_its_storage_quota_is_refused_while_another_key_is_served(
    jobs_url: str, redis_url: str, noise_png: bytes
) -> None:
    quota = 3 * len(noise_png) + 1000
    settings = _settings(jobs_url, jobs_url, storage_quota_per_key=quota, storage_admit_percent=90)
    with _app(settings).test_client() as client:
        accepted, refusal = _fill_until_refused(client, noise_png, "alpha")
        body = assert_problem(refusal, 429, "storage-quota")
        assert "DELETE" in body["detail"]
        assert len(accepted) == 3
        assert _submit(client, noise_png, "beta").status_code == 202
        assert client.delete(f"/v1/jobs/{accepted[0]}", headers=KEYS["alpha"]).status_code == 200
        assert _submit(client, noise_png, "alpha").status_code == 202
        assert_problem(_submit(client, noise_png, "alpha"), 429, "storage-quota")


def test_concurrent_uploads_of_one_key_cannot_overshoot_its_quota(jobs_url: str, noise_png: bytes) -> None:
    """The reported attack: many large uploads at once. The quota is checked and taken in one step."""
    settings = _settings(jobs_url, jobs_url, storage_quota_per_key=2 * len(noise_png) + 1000)
    app = _app(settings)
    statuses: list[int] = []

    def submit() -> None:
        with app.test_client() as client:
            statuses.append(_submit(client, noise_png).status_code)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [202, 202] + [429] * 6


def test_concurrent_uploads_into_a_nearly_full_store_are_kept_whole_or_refused_clearly(
    jobs_url: str, blob_url: str, noise_png: bytes
) -> None:
    """Uploads at once all pass the admission check; those Redis then refuses are a 507, never a 500."""
    app = _app(_settings(jobs_url, blob_url))
    with app.test_client() as client:
        for _ in range(4):
            assert _submit(client, noise_png, "beta").status_code == 202
    responses: list[Any] = []

    def submit() -> None:
        with app.test_client() as client:
            responses.append(_submit(client, noise_png))

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    accepted = [response.get_json()["id"] for response in responses if response.status_code == 202]
    for response in responses:
        if response.status_code != 202:
            assert_problem(response, 507, "storage-full")
    assert len(accepted) < len(responses)
    store = RedisBlobStore(redis.Redis.from_url(blob_url), ttl_seconds=60)
    assert all(store.get(f"{job}/portrait") == noise_png for job in accepted)
    assert redis.Redis.from_url(jobs_url).zcard(ACTIVE_KEY) == 4 + len(accepted)


def test_the_ledger_counts_rewrites_once_and_forgets_expired_jobs(jobs_url: str) -> None:
    ledger = StorageLedger(redis.Redis.from_url(jobs_url), retention_seconds=1)
    ledger.admit("job-a", "key:x", {"portrait": 100}, quota=1000)
    ledger.record("job-a", "matte.png", 50)
    ledger.record("job-a", "matte.png", 70)  # a redelivered task rewrites the same blob
    ledger.record("job-unknown", "matte.png", 999)  # not admitted (or already released): ignored
    assert ledger.used("key:x") == 170
    time.sleep(1.1)
    ledger.admit("job-b", "key:x", {"portrait": 900}, quota=1000)  # job-a's retention is over
    assert ledger.used("key:x") == 900
    ledger.release("job-b")
    assert ledger.used("key:x") == 0


def test_a_write_to_a_full_blob_redis_is_storage_full_and_evicts_nothing(blob_url: str) -> None:
    RedisBlobStore(redis.Redis.from_url(blob_url), ttl_seconds=60).put("job/portrait", b"kept")
    _fill_to_the_brim(blob_url)
    store = RedisBlobStore(redis.Redis.from_url(blob_url), ttl_seconds=60)
    with pytest.raises(StorageFullError, match="full"):
        store.put("job/matte.png", b"\0" * 4096)
    assert store.get("job/portrait") == b"kept"
    assert store.capacity() is not None


def test_a_full_job_store_redis_answers_507_not_503(
    blob_url: str, jobs_url: str, portrait_jpeg: bytes
) -> None:
    """The one-Redis case, or a job store left without room: a submission is a clear storage-full."""
    _fill_to_the_brim(blob_url)
    settings = _settings(blob_url, jobs_url)  # the job records in the full Redis, the blobs elsewhere
    with _app(settings).test_client() as client:
        body = assert_problem(_submit(client, portrait_jpeg), 507, "storage-full")
        assert "Redis is full" in body["detail"]


@pytest.mark.slow
def test_a_stage_that_meets_a_full_store_fails_its_job_at_once(
    spawn: Spawn, jobs_url: str, blob_url: str, portrait_jpeg: bytes
) -> None:
    """The segmenter's matte write hits Redis's OOM: the job fails with `storage-full`, never retried."""
    settings = _settings(jobs_url, blob_url)
    with _app(settings).test_client() as client:
        response = _submit(client, portrait_jpeg)
        assert response.status_code == 202
        job_id = response.get_json()["id"]
        _fill_to_the_brim(blob_url)
        env = {**WORKER_LIMITS, "SITTER_REDIS_URL": jobs_url, "SITTER_BLOB_REDIS_URL": blob_url}
        segmenter = worker(spawn, "segmenter", env)
        document = _poll(client, job_id)
        assert document["status"] == FAILED
        assert document["error"]["stage"] == "segment" and document["error"]["code"] == "storage-full"
        assert "full" in document["error"]["detail"]
        assert segmenter.process.poll() is None  # the worker lives on
        assert "Retry" not in segmenter.log()
    record = JobStore(redis.Redis.from_url(jobs_url), retention_seconds=60).get(job_id)
    assert record is not None and record.stages["segment"]["state"] == FAILED


@pytest.mark.slow
def test_a_job_with_its_blobs_in_their_own_redis_succeeds_and_all_its_bytes_count(
    spawn: Spawn, jobs_url: str, blob_url: str, portrait_jpeg: bytes
) -> None:
    """Blobs never reach the job store's Redis; the ledger holds what the store holds for the key."""
    start_workers(spawn, {**WORKER_LIMITS, "SITTER_REDIS_URL": jobs_url, "SITTER_BLOB_REDIS_URL": blob_url})
    with _app(_settings(jobs_url, blob_url)).test_client() as client:
        response = _submit(client, portrait_jpeg)
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["id"]
        assert _poll(client, job_id)["status"] == "succeeded"
        blob_redis, jobs_redis = redis.Redis.from_url(blob_url), redis.Redis.from_url(jobs_url)
        keys = list(blob_redis.scan_iter(match=f"sitter:blob:{job_id}/*"))
        assert len(keys) >= 5  # portrait, matte, stylized, plan, cut-out, result
        assert not list(jobs_redis.scan_iter(match="sitter:blob:*"))
        held = sum(int(blob_redis.strlen(key)) for key in keys)
        caller = "key:" + hashlib.sha256(b"alpha").hexdigest()[:16]
        ledger = StorageLedger(jobs_redis, retention_seconds=60)
        assert ledger.used(caller) == held
        assert client.delete(f"/v1/jobs/{job_id}", headers=KEYS["alpha"]).status_code == 200
        assert ledger.used(caller) == 0


def _fill_to_the_brim(url: str) -> None:
    """Write until even a small value from a fresh connection is refused. Redis counts a connection's
    buffers while it checks maxmemory, so a refused large write, or a closed connection, leaves room."""
    for size in (512 * 1024, 16 * 1024):
        client = redis.Redis.from_url(url)
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            for index in range(BLOB_MAXMEMORY // size + 1):
                client.set(f"filler:{size}:{index}", b"\0" * size)
        client.close()
    for attempt in range(10_000):
        client = redis.Redis.from_url(url)
        try:
            client.set(f"filler:small:{attempt}", b"\0" * 256)
        except redis.exceptions.OutOfMemoryError:
            return
        finally:
            client.close()
    raise AssertionError("the blob Redis never filled up")


def _poll(client: FlaskClient, job_id: str) -> dict[str, Any]:
    def over() -> dict[str, Any] | None:
        document: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=KEYS["alpha"]).get_json()
        return document if document["status"] in ("succeeded", "failed", "canceled") else None

    result = wait_for(over, 30, f"job {job_id} to end")
    assert isinstance(result, dict)
    return result

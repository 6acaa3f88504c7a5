"""Both blob-store backends behave the same against real servers: round trip, prefixes, expiry, errors."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import boto3
import pytest
import redis

from shared.runtime.storage import (
    BlobNotFoundError,
    BlobStore,
    RedisBlobStore,
    S3BlobStore,
    StorageUnavailableError,
    blob_store,
)
from shared.settings import Settings


@pytest.fixture(params=["redis", "s3"])
def store(request: pytest.FixtureRequest, redis_url: str) -> Iterator[BlobStore]:
    if request.param == "redis":
        yield blob_store(Settings(redis_url=redis_url, retention_seconds=60))
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    settings = Settings(
        redis_url=redis_url, storage="s3", s3_endpoint_url=endpoint, s3_bucket=f"b-{uuid.uuid4().hex[:12]}"
    )
    s3 = blob_store(settings)
    assert isinstance(s3, S3BlobStore)
    s3.ensure_bucket()
    yield s3


def test_round_trip_exists_delete(store: BlobStore) -> None:
    job = uuid.uuid4().hex
    payload = bytes(range(256)) * 100
    store.put(f"{job}/portrait", payload, content_type="image/jpeg")
    assert store.get(f"{job}/portrait") == payload
    assert store.exists(f"{job}/portrait")
    store.put(f"{job}/portrait", b"second")  # fixed keys: a rewrite replaces
    assert store.get(f"{job}/portrait") == b"second"
    store.delete(f"{job}/portrait")
    assert not store.exists(f"{job}/portrait")
    with pytest.raises(BlobNotFoundError):
        store.get(f"{job}/portrait")
    store.ping()


def test_delete_prefix_removes_only_that_job(store: BlobStore) -> None:
    job, other = uuid.uuid4().hex, uuid.uuid4().hex
    for name in ("a", "b", "c/d"):
        store.put(f"{job}/{name}", name.encode())
    store.put(f"{other}/a", b"keep")
    assert store.delete_prefix(f"{job}/") == 3
    assert not store.exists(f"{job}/a") and not store.exists(f"{job}/c/d")
    assert store.get(f"{other}/a") == b"keep"
    assert store.delete_prefix(f"{job}/") == 0


def test_redis_blobs_expire(redis_url: str) -> None:
    store = RedisBlobStore(redis.Redis.from_url(redis_url), ttl_seconds=1)
    key = f"{uuid.uuid4().hex}/x"
    store.put(key, b"short-lived")
    assert 0 < store.client.ttl(store.prefix + key) <= 1
    time.sleep(1.2)
    assert not store.exists(key)


def test_s3_bucket_gets_an_expiry_rule(s3_endpoint: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(client, bucket, prefix="jobs/", retention_seconds=36 * 3600)
    store.ensure_bucket()
    store.ensure_bucket()  # idempotent
    rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["Expiration"]["Days"] == 2 and rules[0]["Filter"]["Prefix"] == "jobs/"
    store.put("j/x", b"1")
    assert client.get_object(Bucket=bucket, Key="jobs/j/x")["Body"].read() == b"1"


def test_unreachable_stores_raise_a_transient_error() -> None:
    dead = Settings(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    with pytest.raises(StorageUnavailableError):
        blob_store(dead).put("x", b"1")
    s3 = blob_store(Settings(storage="s3", s3_endpoint_url=f"http://127.0.0.1:{_closed_port()}"))
    with pytest.raises(StorageUnavailableError):
        s3.ping()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

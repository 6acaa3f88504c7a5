"""Blob storage for job inputs, intermediates and results: Redis (default) or S3-compatible object storage.

Only keys travel through the broker; the bytes live here. Every blob expires after the retention period:
Redis sets a TTL on each key, S3 relies on a bucket lifecycle rule (installed by `ensure_bucket`, which
expires objects under the prefix after whole days, the finest S3 supports). Jobs delete their blobs early
when a client deletes the job.

Connection problems raise `StorageUnavailableError`, which tasks retry with backoff; a missing key raises
`BlobNotFoundError`, and a full Redis (maxmemory with `noeviction`) `StorageFullError`: neither is retried.
The Redis store may be a Redis of its own (SITTER_BLOB_REDIS_URL), so a full blob store never stops the
broker and the job records.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any, Protocol

import redis
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from shared.errors import SitterError, StorageFullError

log = logging.getLogger(__name__)

REDIS_RETRY_INTERVAL = 0.5  # seconds between reconnection attempts while riding out a Redis outage

if TYPE_CHECKING:
    from shared.settings import Settings


class StorageUnavailableError(Exception):
    """The store could not be reached or answered with a server error: transient, worth a retry."""


class BlobNotFoundError(SitterError):
    """No blob under that key (expired, deleted, or never written)."""

    code = "blob-not-found"


class BlobStore(Protocol):
    """The few operations jobs need; keys are relative ("<job-id>/matte.png"), the store adds its prefix."""

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def ping(self) -> None: ...

    def capacity(self) -> tuple[int, int] | None:
        """(bytes used, bytes allowed) when the store has a fixed size; None when it has none (S3)."""
        ...


class RedisBlobStore:
    """Blobs as Redis strings with a TTL: nothing to set up, and expiry is exact."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int, prefix: str = "sitter:blob:") -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.prefix = prefix

    def _call(self, method: str, *args: object, **kwargs: object) -> object:
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StorageUnavailableError(f"redis blob store unreachable: {exc}") from exc
        except redis.exceptions.OutOfMemoryError as exc:
            raise StorageFullError(
                "the blob store is full (its Redis reached maxmemory); "
                "space comes back as jobs expire or are deleted"
            ) from exc

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        self._call("set", self.prefix + key, data, ex=self.ttl_seconds or None)  # 0: kept (the gallery)

    def get(self, key: str) -> bytes:
        data = self._call("get", self.prefix + key)
        if data is None:
            raise BlobNotFoundError(f"no blob {key!r} (expired or deleted)")
        assert isinstance(data, bytes)
        return data

    def exists(self, key: str) -> bool:
        return bool(self._call("exists", self.prefix + key))

    def delete(self, key: str) -> None:
        self._call("delete", self.prefix + key)

    def delete_prefix(self, prefix: str) -> int:
        pattern = _glob_escape(self.prefix + prefix) + "*"
        try:
            keys = list(self.client.scan_iter(match=pattern, count=500))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StorageUnavailableError(f"redis blob store unreachable: {exc}") from exc
        if keys:
            self._call("delete", *keys)
        return len(keys)

    def ping(self) -> None:
        self._call("ping")

    def capacity(self) -> tuple[int, int] | None:
        """Redis's own accounting: used_memory against maxmemory (None when Redis has no maxmemory)."""
        info = self._call("info", "memory")
        assert isinstance(info, dict)
        limit = int(info.get("maxmemory", 0))
        return (int(info["used_memory"]), limit) if limit else None


class S3BlobStore:
    """Blobs as S3 objects under a prefix; works with AWS, MinIO and any S3-compatible endpoint.

    Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, instance role...).
    """

    def __init__(
        self, client: object, bucket: str, *, prefix: str = "", retention_seconds: int = 86400
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.retention_seconds = retention_seconds
        self._client_error = ClientError
        self._transient: tuple[type[Exception], ...] = (BotoCoreError,)

    def _call(self, method: str, **kwargs: object) -> dict[str, Any]:
        try:
            result: dict[str, Any] = getattr(self.client, method)(Bucket=self.bucket, **kwargs)
            return result
        except self._client_error as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error.get("Code") in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFoundError(f"no blob {kwargs.get('Key')!r} (expired or deleted)") from exc
            if status >= 500 or error.get("Code") in ("SlowDown", "RequestTimeout"):
                raise StorageUnavailableError(f"S3 {method} failed: {exc}") from exc
            raise SitterError(f"S3 {method} on bucket {self.bucket!r} failed: {exc}") from exc
        except self._transient as exc:
            raise StorageUnavailableError(f"S3 endpoint unreachable: {exc}") from exc

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        self._call("put_object", Key=self.prefix + key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        body = self._call("get_object", Key=self.prefix + key)["Body"]
        return body.read()

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", Key=self.prefix + key)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self.prefix + key)

    def delete_prefix(self, prefix: str) -> int:
        deleted = 0
        token: dict[str, object] = {}
        while True:
            page = self._call("list_objects_v2", Prefix=self.prefix + prefix, **token)
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self._call("delete_objects", Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
            if not page.get("IsTruncated"):
                return deleted
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def ping(self) -> None:
        try:
            self._call("head_bucket")
        except BlobNotFoundError:
            raise SitterError(f"S3 bucket {self.bucket!r} does not exist") from None

    def capacity(self) -> tuple[int, int] | None:
        return None  # S3 has no fixed size: the per-key quota bounds what each caller stores

    def ensure_bucket(self) -> None:
        """Create the bucket if missing and install the expiry rule for our prefix (idempotent)."""
        try:
            self._call("head_bucket")
        except BlobNotFoundError:
            self._call("create_bucket")
        days = max(1, math.ceil(self.retention_seconds / 86400))
        rule = {
            "ID": f"sitter-expire-{self.prefix or 'all'}".rstrip("/"),
            "Filter": {"Prefix": self.prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        try:
            self._call("put_bucket_lifecycle_configuration", LifecycleConfiguration={"Rules": [rule]})
        except SitterError as exc:  # e.g. AccessDenied: the operator manages the bucket's rules
            log.warning("could not set the expiry rule on bucket %s (%s); set one yourself", self.bucket, exc)


def _glob_escape(text: str) -> str:
    """Escape Redis MATCH metacharacters so a key prefix matches only itself."""
    return "".join("\\" + char if char in "*?[]\\" else char for char in text)


def redis_client(url: str, *, ride_out_seconds: float = 0) -> redis.Redis:
    """A client with short timeouts, so an unreachable Redis fails a request instead of hanging it.

    `ride_out_seconds`: how long to keep retrying a refused or dropped connection before raising. Workers
    wait out a Redis restart this way, so a task running through one still records its stage and result;
    the gateway answers 503 at once instead of holding the request.
    """
    retries = math.ceil(ride_out_seconds / REDIS_RETRY_INTERVAL)
    return redis.Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=3,
        health_check_interval=30,
        retry=Retry(
            ConstantBackoff(REDIS_RETRY_INTERVAL), retries, supported_errors=(redis.ConnectionError,)
        ),
    )


def blob_store(
    settings: Settings, client: redis.Redis | None = None, *, ride_out_seconds: float = 0
) -> BlobStore:
    """The store chosen by SITTER_STORAGE; `client` is reused when the blobs share the job store's Redis."""
    if settings.storage == "s3":
        import boto3
        from botocore.config import Config

        # bounded: an S3 that hangs fails a call within about a minute (tasks then retry with backoff)
        # instead of botocore's default of a minute per attempt over five attempts
        config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
        s3 = boto3.client(
            "s3", endpoint_url=settings.s3_endpoint_url or None, region_name=settings.s3_region, config=config
        )
        return S3BlobStore(
            s3, settings.s3_bucket, prefix=settings.s3_prefix, retention_seconds=settings.retention_seconds
        )
    if client is None or settings.blob_redis_url != settings.redis_url:
        client = redis_client(settings.blob_redis_url, ride_out_seconds=ride_out_seconds)
    return RedisBlobStore(client, ttl_seconds=settings.retention_seconds)


def gallery_blob_store(settings: Settings, client: redis.Redis | None = None) -> BlobStore:
    """Where the operator's paintings' files live: the same store as the jobs' blobs, under a prefix of
    their own and without expiry (they stay until the operator deletes them)."""
    store = blob_store(settings, client)
    if isinstance(store, S3BlobStore):
        return S3BlobStore(store.client, store.bucket, prefix=settings.s3_gallery_prefix, retention_seconds=0)
    assert isinstance(store, RedisBlobStore)
    return RedisBlobStore(store.client, ttl_seconds=0, prefix="sitter:gallery-file:")

"""The service's store of the operator's paintings: records in Redis, files in the blob store.

Records: the hash `sitter:gallery:paintings` (painting id -> JSON of shared.gallery_store.StoredPainting),
so every gateway and worker sees an added painting at once, and it survives restarts with Redis's data.
Files: `<id>/<version>/<name>` in the gallery blob store (no expiry). A deleted painting's record goes at
once; its version's files go `grace_seconds` later (the zset `sitter:gallery:trash`, swept on every
change), so jobs accepted before the delete still read them.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

import redis

from shared.gallery_store import (
    ANALYSIS_FILE,
    FAILED,
    IMAGE_FILE,
    READY,
    THUMBNAIL_FILE,
    PaintingExistsError,
    StoredPainting,
    unknown_painting,
)
from shared.runtime.storage import BlobStore, gallery_blob_store
from shared.settings import Settings

RECORDS = "sitter:gallery:paintings"
TRASH = "sitter:gallery:trash"
CHANGES = "sitter:gallery:changes"  # bumped on every change: caches compare it instead of re-reading


def file_key(painting_id: str, version: str, name: str) -> str:
    return f"{painting_id}/{version}/{name}"


class RedisGalleryStore:
    def __init__(self, client: redis.Redis, files: BlobStore, *, grace_seconds: int) -> None:
        self.client = client
        self.files = files
        self.grace_seconds = grace_seconds

    def list(self) -> list[StoredPainting]:
        raw = self.client.hgetall(RECORDS)
        items = [StoredPainting.from_json(json.loads(value)) for value in raw.values()]
        return sorted(items, key=lambda item: (item.added_at, item.id))

    def get(self, painting_id: str) -> StoredPainting | None:
        raw = self.client.hget(RECORDS, painting_id)
        return StoredPainting.from_json(json.loads(raw)) if raw else None

    def generation(self) -> int:
        return int(self.client.get(CHANGES) or 0)

    def add(self, painting: StoredPainting, image: bytes) -> None:
        self.sweep()
        if self.client.hexists(RECORDS, painting.id):
            raise PaintingExistsError(f"the gallery already has a painting {painting.id!r}", field="id")
        # the file first: a record never points at a missing image
        self.files.put(
            file_key(painting.id, painting.version, IMAGE_FILE), image, content_type=painting.content_type
        )
        if not self.client.hsetnx(RECORDS, painting.id, json.dumps(painting.to_json())):
            self.files.delete(file_key(painting.id, painting.version, IMAGE_FILE))
            raise PaintingExistsError(f"the gallery already has a painting {painting.id!r}", field="id")
        self.client.incr(CHANGES)

    def update(self, painting: StoredPainting) -> None:
        if not self._replace(painting.id, painting.version, lambda _: painting):
            raise unknown_painting(painting.id)

    def remove(self, painting_id: str) -> StoredPainting:
        record = self.get(painting_id)
        if record is None or not self.client.hdel(RECORDS, painting_id):
            raise unknown_painting(painting_id)
        self.client.zadd(TRASH, {f"{painting_id}/{record.version}": time.time() + self.grace_seconds})
        self.client.incr(CHANGES)
        self.sweep()
        return record

    def sweep(self, now: float | None = None) -> int:
        """Delete the files of versions deleted more than the grace period ago."""
        due = self.client.zrangebyscore(TRASH, "-inf", time.time() if now is None else now)
        for member in due:
            name = member.decode() if isinstance(member, bytes) else str(member)
            self.files.delete_prefix(f"{name}/")
            self.client.zrem(TRASH, name)
        return len(due)

    def finish_analysis(
        self, painting_id: str, version: str, analysis: dict[str, Any], thumbnail: bytes
    ) -> bool:
        if not self._is_current(painting_id, version):
            return False
        self.files.put(
            file_key(painting_id, version, ANALYSIS_FILE),
            json.dumps(analysis, separators=(",", ":")).encode(),
            content_type="application/json",
        )
        self.files.put(file_key(painting_id, version, THUMBNAIL_FILE), thumbnail, content_type="image/jpeg")
        return self._replace(painting_id, version, lambda item: replace(item, analysis=READY, error=""))

    def fail_analysis(self, painting_id: str, version: str, reason: str) -> bool:
        return self._replace(painting_id, version, lambda item: replace(item, analysis=FAILED, error=reason))

    def mark_analysis_started(self, painting_id: str, version: str, now: float) -> None:
        self._replace(painting_id, version, lambda item: _started(item, now))

    def read(self, painting_id: str, version: str, name: str) -> bytes:
        return self.files.get(file_key(painting_id, version, name))

    def _is_current(self, painting_id: str, version: str) -> bool:
        record = self.get(painting_id)
        return record is not None and record.version == version

    def _replace(self, painting_id: str, version: str, change: Any) -> bool:
        """Apply `change` to the record if it still holds `version` (optimistic: retried on a race)."""
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(RECORDS)
                    raw = pipe.hget(RECORDS, painting_id)
                    if not raw:
                        return False
                    record = StoredPainting.from_json(json.loads(raw))
                    if record.version != version:
                        return False
                    pipe.multi()
                    pipe.hset(RECORDS, painting_id, json.dumps(change(record).to_json()))
                    pipe.incr(CHANGES)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue


def _started(item: StoredPainting, now: float) -> StoredPainting:
    return replace(item, analysis_started_at=now)


def gallery_store(settings: Settings, client: redis.Redis) -> RedisGalleryStore:
    """The store every gateway and worker opens. A deleted painting's files stay as long as a job accepted
    before the delete can still be waiting for its tasks (the job timeout) and its result be re-read."""
    grace = settings.job_timeout + settings.retention_seconds
    return RedisGalleryStore(client, gallery_blob_store(settings, client), grace_seconds=grace)

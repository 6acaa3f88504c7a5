"""The gateway's connections (Redis, blob store, Celery), opened lazily on first use.

Creating the app touches no network, so `create_app()` works for URL-map checks and the process starts
even while Redis is still coming up; /readyz reports when the backends answer.
"""

from __future__ import annotations

from functools import cached_property

from celery import Celery
from flask import current_app
from redis import Redis

from gateway.decode_budget import DecodeBudget
from gateway.preview_slots import PreviewSlots
from shared.painting_catalog import PaintingCatalog
from shared.runtime.broker import Broker, broker_for
from shared.runtime.celery_app import create_celery
from shared.runtime.gallery_store import RedisGalleryStore, gallery_store
from shared.runtime.job_store import JobStore
from shared.runtime.metrics import Metrics
from shared.runtime.storage import S3BlobStore, redis_client
from shared.runtime.storage_ledger import MeteredBlobStore, metered_blob_store
from shared.settings import Settings


class Backends:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # made here, not lazily: every request thread of the process must share the one budget
        self.decode_budget = DecodeBudget(settings.decode_budget_bytes, settings.decode_wait_seconds)
        self.preview_slots = PreviewSlots(settings.preview_slots, settings.preview_slots_per_key)

    @cached_property
    def redis(self) -> Redis:
        return redis_client(self.settings.redis_url)

    @cached_property
    def broker(self) -> Broker:
        """The broker the jobs go through (Redis or RabbitMQ), for readiness and queue depths."""
        return broker_for(self.settings, self.redis)

    @cached_property
    def blobs(self) -> MeteredBlobStore:
        store = metered_blob_store(self.settings, self.redis)
        if isinstance(store.store, S3BlobStore):  # a job may come before any worker made the bucket
            store.store.ensure_bucket()
        return store

    @cached_property
    def jobs(self) -> JobStore:
        return JobStore(self.redis, retention_seconds=self.settings.retention_seconds)

    @cached_property
    def gallery(self) -> RedisGalleryStore:
        """The operator's added paintings (records in Redis, files in the blob store)."""
        return gallery_store(self.settings, self.redis)

    @property
    def catalog(self) -> PaintingCatalog:
        """The gallery callers see: bundled (unless SITTER_BUNDLED_GALLERY is off) and added paintings."""
        return PaintingCatalog(self.gallery, bundled=self.settings.bundled_gallery)

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(self.redis)

    @cached_property
    def celery(self) -> Celery:
        return create_celery(self.settings, send_only=True)


def backends() -> Backends:
    result: Backends = current_app.extensions["sitter"]
    return result


def settings() -> Settings:
    return backends().settings

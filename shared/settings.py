"""All configuration, read from SITTER_* environment variables once, at each entry point, and passed down.

Pure image code never reads settings; the CLI, the gateway and the workers build one `Settings` and hand
the values they need to the cores.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from shared.errors import SitterError
from shared.flags import parse_flag
from shared.models import ModelStore, default_model_dir
from shared.webhook import signing_key


def _env_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Every knob Sitter has; the env var of field `foo_bar` is SITTER_FOO_BAR."""

    redis_url: str = "redis://127.0.0.1:6379/0"  # job records, metrics, and the default broker/backend/blobs
    broker_url: str = ""  # defaults to redis_url
    result_backend: str = ""  # defaults to redis_url
    storage: str = "redis"  # "redis" or "s3"
    blob_redis_url: str = ""  # the Redis that holds the blobs with storage "redis"; defaults to redis_url
    s3_bucket: str = "sitter"
    s3_prefix: str = "jobs/"
    s3_gallery_prefix: str = "gallery/"  # the operator's paintings: never expired, so not under s3_prefix
    s3_endpoint_url: str = ""  # e.g. http://minio:9000 for MinIO
    s3_region: str = "us-east-1"
    model_dir: Path = field(default_factory=default_model_dir)  # default: the per-user cache
    model_catalog: Path | None = None  # a JSON list of extra models (user-trained ONNX files)
    trained_dir: Path | None = None  # more trained networks (`sitter train-style --out`), beside the shipped
    retention_seconds: int = 24 * 3600
    max_upload_bytes: int = 20 * 1024 * 1024
    max_pixels: int = 40_000_000
    decode_budget_bytes: int = 320 * 1024 * 1024  # pixels one gateway process validates at once
    decode_wait_seconds: int = 10  # a decode waits this long for budget, then gets 503 busy
    max_working_size: int = 1024
    # the memory one job may add to a worker's pool process (shared/work_budget.py predicts it from the
    # headers; the gateway refuses a job over any): under the deploy limits less the idle worker; 0: none
    segmenter_budget_bytes: int = 1280 * 1024 * 1024
    stylizer_budget_bytes: int = 2304 * 1024 * 1024  # its pods have 3 GiB (4 GiB for custom)
    compositor_budget_bytes: int = 1280 * 1024 * 1024
    preview_wait_seconds: int = 8  # POST /v1/previews waits this long for a segmenter, then answers 503 busy
    preview_slots: int = 3  # previews one gateway process lets wait at once (below its threads: 8 deployed)
    preview_slots_per_key: int = 2  # of those, one API key's (one address's without keys)
    preview_queue_max: int = 16  # previews waiting in the broker at most (all gateways): none pile up
    task_soft_time_limit: int = 120
    task_time_limit: int = 180
    visibility_timeout: int = 0  # 0: task_time_limit + 60: a task is redelivered only once surely dead
    task_max_retries: int = 3  # for transient storage/broker errors only; bad input is never retried
    result_expires: int = 3600
    job_timeout: int = 3600  # a job unfinished this long after submission is reported failed (lost task)
    worker_concurrency: int = 1
    port: int = 8000
    front_listen: str = ""  # host:port of the HTTP front (nginx) before gunicorn; the keyless check counts it
    public_base_url: str = ""  # e.g. https://sitter.example.com; empty: links use the request's host
    max_active_jobs: int = 1000  # unfinished jobs at once; beyond it POST /v1/jobs answers 429
    max_active_jobs_per_key: int = 20  # unfinished jobs of one API key (one address without keys) at once
    rate_limit_per_minute: int = 0  # job submissions per client per minute; 0: unlimited
    storage_quota_per_key: int = 512 * 1024 * 1024  # blob bytes one key's (address's) live jobs hold; 0: none
    storage_admit_percent: int = 90  # a maxmemory-capped blob Redis takes new jobs up to this fill
    log_level: str = "INFO"
    styles: tuple[str, ...] = ("all",)
    inference_threads: int = 0  # 0: let the runtime choose
    callback_allowed_hosts: tuple[str, ...] = ()  # empty: webhooks off
    callback_allow_private: bool = False  # allow webhooks to loopback/private addresses (development only)
    callback_timeout: int = 5
    callback_secret: str = ""  # signs webhooks (Standard Webhooks): whsec_<base64 key> or any text; "": none
    api_keys: tuple[str, ...] = ()
    metrics_public: bool = False  # /metrics without a key even when API keys are set (a private scrape)
    cors_origins: tuple[str, ...] = ()
    admin_keys: tuple[str, ...] = ()  # keys that may add, change and remove gallery paintings (/v1/paintings)
    bundled_gallery: bool = True  # offer the 13 bundled paintings; false: the gallery is only the operator's
    gallery_dir: Path | None = None  # the CLI's own gallery (`sitter gallery add` without --server)

    def __post_init__(self) -> None:
        if self.storage not in ("redis", "s3"):
            raise SitterError(f"SITTER_STORAGE must be 'redis' or 's3', not {self.storage!r}")
        if not self.broker_url:
            object.__setattr__(self, "broker_url", self.redis_url)
        if not self.result_backend:
            object.__setattr__(self, "result_backend", self.redis_url)
        if not self.blob_redis_url:
            object.__setattr__(self, "blob_redis_url", self.redis_url)
        if self.storage_quota_per_key < 0:
            raise SitterError("SITTER_STORAGE_QUOTA_PER_KEY must be 0 (no quota) or a number of bytes")
        if not 1 <= self.storage_admit_percent <= 100:
            raise SitterError("SITTER_STORAGE_ADMIT_PERCENT must be between 1 and 100")
        if not self.visibility_timeout:
            object.__setattr__(self, "visibility_timeout", self.task_time_limit + 60)
        if self.task_soft_time_limit >= self.task_time_limit:
            raise SitterError("SITTER_TASK_SOFT_TIME_LIMIT must be below SITTER_TASK_TIME_LIMIT")
        if self.visibility_timeout <= self.task_time_limit:
            raise SitterError(
                "SITTER_VISIBILITY_TIMEOUT must exceed SITTER_TASK_TIME_LIMIT, "
                "or a task still running would be delivered again"
            )
        if self.job_timeout <= self.task_time_limit:
            raise SitterError("SITTER_JOB_TIMEOUT must exceed SITTER_TASK_TIME_LIMIT")
        if not 1 <= self.preview_wait_seconds < 10:  # the Redis client's socket timeout is 10 s
            raise SitterError("SITTER_PREVIEW_WAIT_SECONDS must be 1 to 9")
        if min(self.preview_slots, self.preview_slots_per_key, self.preview_queue_max) < 1:
            raise SitterError(
                "SITTER_PREVIEW_SLOTS, SITTER_PREVIEW_SLOTS_PER_KEY and SITTER_PREVIEW_QUEUE_MAX "
                "must be at least 1"
            )
        if self.storage == "s3" and self.s3_gallery_prefix.startswith(self.s3_prefix):
            raise SitterError(
                "SITTER_S3_GALLERY_PREFIX must not lie under SITTER_S3_PREFIX: job blobs expire, "
                "the gallery's paintings must not"
            )
        if set(self.admin_keys) & set(self.api_keys):
            raise SitterError("SITTER_ADMIN_KEYS must differ from SITTER_API_KEYS")
        if self.worker_concurrency < 1:
            raise SitterError("SITTER_WORKER_CONCURRENCY must be at least 1")
        try:
            signing_key(self.callback_secret)
        except ValueError as exc:
            raise SitterError(f"SITTER_CALLBACK_SECRET: {exc}") from None

    @property
    def models(self) -> ModelStore:
        """The model directory and catalogues (the extra one, the trained networks), for everything that
        loads, checks or fetches a model, or lists the trained styles."""
        return ModelStore(self.model_dir, self.model_catalog, self.trained_dir)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build from SITTER_* variables; an unparsable value is an error that names the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            name = f"SITTER_{spec.name.upper()}"
            if name not in env:
                continue
            raw = env[name]
            kind = str(spec.type)
            try:
                if kind == "int":
                    values[spec.name] = int(raw)
                elif kind == "bool":
                    values[spec.name] = parse_flag(raw)
                elif kind in ("Path", "Path | None"):
                    if raw:  # empty: the default, as if unset
                        values[spec.name] = Path(raw).expanduser()
                elif kind.startswith("tuple"):
                    values[spec.name] = _env_list(raw)
                else:
                    values[spec.name] = raw
            except ValueError as exc:
                raise SitterError(f"{name}={raw!r} is not a valid {kind}") from exc
        return cls(**values)  # type: ignore[arg-type]

    @staticmethod
    def env_names() -> list[str]:
        """Every variable this module reads, for docs and deployment cross-checks."""
        return [f"SITTER_{spec.name.upper()}" for spec in fields(Settings)]


def model_store(model_dir: Path | None = None) -> ModelStore:
    """The configured models (SITTER_MODEL_DIR, SITTER_MODEL_CATALOG, SITTER_TRAINED_DIR), kept in
    `model_dir` instead when one is given (the CLI's --model-dir)."""
    store = Settings.from_env().models
    return replace(store, directory=model_dir) if model_dir else store

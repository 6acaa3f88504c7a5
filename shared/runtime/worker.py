"""What every worker service shares: start-up checks, the per-process runtime, and the stage wrapper.

A service's `worker.py` names its queues and how to load its models; `serve` refuses to start (one clear
log line, exit 1) when a model is missing or corrupt or the broker is unreachable, then runs a Celery
worker. Models load once in each pool process at start-up (`worker_process_init`), never per task; they
are not loaded before the fork because inference runtimes' thread pools do not survive one.
`run_stage` is the common body of every task: skip if the job is over, mark the stage, do the work,
record the failure with its stage and reason, or retry transient storage errors with backoff.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import secrets
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import ChordError, Ignore, SoftTimeLimitExceeded
from celery.signals import worker_init, worker_process_init
from kombu.exceptions import OperationalError  # an unreachable RabbitMQ

from shared.errors import SitterError
from shared.jobs import CANCELED, stage_words
from shared.queues import JOB_FAILED_TASK
from shared.runtime.broker import broker_for, prepare_worker, take_queues_in_order
from shared.runtime.celery_app import create_celery
from shared.runtime.gallery_store import RedisGalleryStore, gallery_store
from shared.runtime.heap_trim import trim_after_each_task
from shared.runtime.job_store import JobStore
from shared.runtime.storage import BlobStore, S3BlobStore, StorageUnavailableError, blob_store, redis_client
from shared.runtime.storage_ledger import metered_blob_store
from shared.settings import Settings
from shared.webhook import send_callback

log = logging.getLogger("sitter.worker")

TRANSIENT_ERRORS = (StorageUnavailableError, redis.ConnectionError, redis.TimeoutError)
# what the chord's error callback gets when Celery itself ended a task (billiard's exception classes, or
# their namesakes rebuilt from a result backend)
CELERY_KILLS = ("TimeLimitExceeded", "WorkerLostError")
REDIS_OUTAGE_SECONDS = 30  # a worker's Redis calls wait this long for a restarting Redis before failing


@dataclass
class Runtime:
    """One per worker process: configuration, connections, and the service's warm models."""

    settings: Settings
    redis: redis.Redis
    blobs: BlobStore
    jobs: JobStore
    name: str
    models: Any = None
    gallery: RedisGalleryStore | None = None  # the operator's added paintings

    @property
    def added(self) -> RedisGalleryStore:
        assert self.gallery is not None
        return self.gallery


_runtime: Runtime | None = None


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the worker runtime is not initialised; start the worker with its entry point")
    return _runtime


def init_runtime(settings: Settings, name: str, load_models: Callable[[Settings], Any]) -> Runtime:
    """Connect and load the models for this process (called in each pool process, and by tests)."""
    global _runtime
    client = redis_client(settings.redis_url, ride_out_seconds=REDIS_OUTAGE_SECONDS)
    _runtime = Runtime(
        settings=settings,
        redis=client,
        blobs=metered_blob_store(settings, client, ride_out_seconds=REDIS_OUTAGE_SECONDS),
        jobs=JobStore(client, retention_seconds=settings.retention_seconds),
        name=f"{name}@{socket.gethostname()}",
        models=load_models(settings),
        gallery=gallery_store(settings, client),
    )
    return _runtime


def settle(rt: Runtime, job_id: str, result: dict[str, Any]) -> bool:
    """End a job that composited: succeeded, and its webhook sent. If it was canceled meanwhile, what was
    just written is dropped; if a twin of this task (a chord body sent twice) already succeeded, its result
    is the job's and stays. Returns whether this call succeeded the job."""
    if rt.jobs.succeed(job_id, result):
        notify(rt, job_id)
        return True
    record = rt.jobs.get(job_id)
    if record is None or record.status == CANCELED:
        rt.blobs.delete_prefix(f"{job_id}/")
    return False


def notify(rt: Runtime, job_id: str) -> None:
    """Send the job's webhook if it asked for one (the gateway validated the URL at submission)."""
    record = rt.jobs.get(job_id)
    if record is None or not record.params.get("callback_url"):
        return
    payload = {"id": job_id, "status": record.status, "error": record.error, "result": record.result}
    send_callback(
        record.params["callback_url"],
        payload,
        allowed_hosts=rt.settings.callback_allowed_hosts,
        allow_private=rt.settings.callback_allow_private,
        timeout=rt.settings.callback_timeout,
        secret=rt.settings.callback_secret,
    )


def run_stage(task: Task, job_id: str, stage: str, work: Callable[[Runtime], Any]) -> Any:
    """Run one stage of a job with the bookkeeping every task needs; returns what `work` returns."""
    rt = runtime()
    started = rt.jobs.start_stage(job_id, stage, rt.name)
    if started is None:
        log.info("job %s is over (canceled or failed); skipping %s", job_id, stage)
        raise Ignore()
    try:
        output = work(rt)
    except Exception as exc:
        # a DELETE that lands before the stage reads its inputs makes it fail on a missing blob: that is
        # the cancellation showing, not a fault, so it ends like any stage of a canceled job
        if not isinstance(exc, TRANSIENT_ERRORS):  # a retry of a canceled job skips itself at its start
            _end_if_canceled(rt, job_id, stage)
        _record_failure(task, rt, job_id, stage, exc)
        raise
    _end_if_canceled(rt, job_id, stage)
    rt.jobs.finish_stage(job_id, stage, started, rt.name)
    return output


def _record_failure(task: Task, rt: Runtime, job_id: str, stage: str, exc: Exception) -> None:
    """Retry a transient storage failure (raises Retry); otherwise mark the job failed with the reason."""
    if isinstance(exc, TRANSIENT_ERRORS):
        if task.request.retries < (task.max_retries or 0):
            raise task.retry(exc=exc, countdown=min(2**task.request.retries, 30)) from exc
        incident = _incident(job_id, stage, "met a storage outage it could not retry away", exc)
        _fail(rt, job_id, stage, "storage-unavailable", f"storage kept failing; {_see_log(incident)}")
    elif isinstance(exc, SoftTimeLimitExceeded):
        limit = rt.settings.task_soft_time_limit
        _fail(rt, job_id, stage, "timeout", f"the {stage_words(stage)} took longer than {limit} s")
    elif isinstance(exc, SitterError):  # our own messages, written for the caller
        _fail(rt, job_id, stage, exc.code, exc.message)
    else:
        incident = _incident(job_id, stage, "crashed", exc)
        _fail(
            rt,
            job_id,
            stage,
            "internal-error",
            f"internal error in the {stage_words(stage)}; {_see_log(incident)}",
        )


def _incident(job_id: str, stage: str, what: str, exc: BaseException) -> str:
    """Log the whole exception under a short reference, for the job document to name instead of it.

    A library's message is no answer for the caller: OpenCV's names its source files and allocation
    sizes, a storage client's names hosts and ports. The operator finds it by the reference.
    """
    incident = secrets.token_hex(4)
    log.error("job %s: %s %s (incident %s)", job_id, stage, what, incident, exc_info=exc)
    return incident


def _see_log(incident: str) -> str:
    return f"the operator can look up incident {incident} in the worker log"


def _end_if_canceled(rt: Runtime, job_id: str, stage: str) -> None:
    """Stop the task quietly when its job was deleted while the stage ran.

    DELETE marks the job canceled, then deletes its blobs: a stage that wrote after that deletion sees the
    mark here and removes what it wrote, so nothing of a deleted job outlives it.
    """
    record = rt.jobs.get(job_id)
    if record is None or record.status == CANCELED:
        rt.blobs.delete_prefix(f"{job_id}/")
        log.info("job %s was canceled during %s; its output is deleted", job_id, stage)
        raise Ignore()


def _fail(rt: Runtime, job_id: str, stage: str, code: str, detail: str) -> None:
    if rt.jobs.fail(job_id, stage, code, detail, rt.name):
        notify(rt, job_id)


def register_failure_handler(app: Celery) -> None:
    """The chord's error callback: marks the job failed when a task died without reporting it itself.

    (Tasks record their own failures with a precise reason; this covers hard time limits and crashes.)
    """

    @app.task(name=JOB_FAILED_TASK)
    def job_failed(request: Any, exc: BaseException, traceback: Any, job_id: str) -> None:
        rt = runtime()
        record = rt.jobs.get(job_id)
        if record is None:
            return
        stage = record.current_stage()
        if _celery_kill(exc):  # Celery's own words, nothing internal: keep them
            detail = f"{type(exc).__name__}: {exc}"
        else:
            detail = f"the {stage_words(stage)} failed; {_see_log(_incident(job_id, stage, 'failed', exc))}"
        _fail(rt, job_id, stage, "stage-failed", detail)


def _celery_kill(exc: BaseException) -> bool:
    """Whether Celery killed the task (hard time limit, lost worker), also when the chord wraps that in
    a ChordError ("Dependency <id> raised TimeLimitExceeded(2)"), as it does for a header task."""
    seen: BaseException | None = exc
    for _ in range(4):  # the exception, then what it was raised from
        if seen is None:
            return False
        if type(seen).__name__ in CELERY_KILLS:
            return True
        if isinstance(seen, ChordError) and any(f"raised {kill}" in str(seen) for kill in CELERY_KILLS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def worker_parser(service: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=f"python -m services.{service}.worker")


def serve(
    service: str,
    queues: Sequence[str],
    check_models: Callable[[Settings], None],
    load_models: Callable[[Settings], Any],
    argv: Sequence[str] | None = None,
    parser: argparse.ArgumentParser | None = None,
    *,
    in_order: bool = False,
) -> int:
    """Parse `--check` (plus the service's own options, already on `parser`), verify models and broker,
    then run the Celery worker until SIGTERM/SIGINT. `in_order`: take from `queues` strictly in order."""
    parser = parser or worker_parser(service)
    parser.add_argument("--check", action="store_true", help="verify models and broker, then exit 0 or 1")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format=f"%(asctime)s {service} %(levelname)s %(message)s")
    store = blob_store(settings)
    try:
        check_models(settings)
        broker_for(settings).ping()
        if isinstance(store, S3BlobStore) and not args.check:
            store.ensure_bucket()
        store.ping()
    except (SitterError, redis.RedisError, StorageUnavailableError, OperationalError) as exc:
        message = exc.message if isinstance(exc, SitterError) else str(exc)
        log.error("%s worker cannot start: %s", service, message)
        return 1
    if args.check:
        print(f"ok: {service} models verified, broker and storage reachable; queues {', '.join(queues)}")
        return 0
    app = create_celery(settings)
    if in_order:
        take_queues_in_order(app)
    prepare_worker(app)
    register_failure_handler(app)
    trim_after_each_task()
    # the main process gets a runtime without models: Celery runs the chord's error callback there when it
    # kills a task itself (hard time limit), and that callback needs the job records
    worker_init.connect(lambda **_: init_runtime(settings, service, lambda _: None), weak=False)
    failed = multiprocessing.get_context("fork").Event()
    worker_process_init.connect(
        lambda **_: _start_pool_process(settings, service, load_models, failed), weak=False
    )
    log.info(
        "%s worker serving %s with concurrency %d", service, ", ".join(queues), settings.worker_concurrency
    )
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(queues)}",
            f"--concurrency={settings.worker_concurrency}",
            # unique per process: RabbitMQ gives each node name one exclusive control queue (the one that
            # carries revokes), so two workers of a service on one host must not share a name
            f"--hostname={service}-{os.getpid()}@%h",
            f"--loglevel={settings.log_level}",
            "--pool=prefork",
            "--optimization=fair",
            "--without-gossip",
            "--without-mingle",
        ]
    )
    return 1 if failed.is_set() else 0


def _start_pool_process(
    settings: Settings, service: str, load_models: Callable[[Settings], Any], failed: Any
) -> None:
    """Load this pool process's models; if that fails, stop the whole worker with one clear line.

    Celery only logs an exception raised in `worker_process_init` and lets the process take tasks anyway,
    so every job it took would fail; a worker that cannot work must exit (non-zero) and be restarted.
    """
    try:
        init_runtime(settings, service, load_models)
    except Exception as exc:
        reason = exc.message if isinstance(exc, SitterError) else f"{type(exc).__name__}: {exc}"
        log.error("%s worker cannot start: a pool process could not load its models: %s", service, reason)
        failed.set()
        os.kill(os.getppid(), signal.SIGTERM)
        os._exit(1)

"""The one Celery configuration shared by the gateway (which only sends) and every worker (which runs).

Reliability settings live here so no service can drift: late acknowledgement with rejection on a lost
worker and a prefetch of one (a killed worker's task goes back to the queue and no task waits behind a
busy one), bounded retries, JSON only, expiring results, and the broker's own settings from
shared.runtime.broker (on Redis a visibility timeout above the hard time limit, so a running task is never
redelivered while still alive; on RabbitMQ quorum queues and publisher confirms).

A worker's own publishes (a chord's callback, a retry) wait about a minute for an unreachable broker, as
its result writes do, so a stage that finishes during a broker restart still hands on its job; the
gateway's publishes fail fast instead (503 broker-unavailable: the caller retries, no request hangs).

Through a Redis restart, a running task is left to finish and its result write is retried until Redis is
back (Celery would otherwise terminate it and record "revoked", which fails the whole chord). The copy of
its message that Redis redelivers later is harmless: the job record makes it skip a finished job, and the
chord counts each header task once.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.backends.redis import RedisBackend

from shared.queues import COMPOSITE_QUEUE, COMPOSITE_TASK, SEGMENT_QUEUE, SEGMENT_TASK
from shared.runtime.broker import celery_broker_conf
from shared.runtime.own_limits import SitterTask
from shared.settings import Settings

# kombu's back-off between attempts: 0, 0.5, 1, 1.5, then 2 s apart; about a minute in all
WORKER_PUBLISH_RETRY = {"max_retries": 32, "interval_start": 0, "interval_step": 0.5, "interval_max": 2}


class SendOnlyRedisBackend(RedisBackend):
    """The result backend for a process that only sends work (the gateway) and never waits on a result.

    Celery's canvas subscribes the sender to the result channel of every task of a group and keeps the
    result objects until they are read; a gateway never reads them, so its pubsub connection would buffer
    every job's result messages and its memory would grow with every job. Chord bookkeeping is unchanged.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None

    def add_pending_result(self, result: Any, weak: bool = False, start_drainer: bool = True) -> Any:
        return result

    def remove_pending_result(self, result: Any) -> Any:
        return result


def create_celery(settings: Settings, *, send_only: bool = False) -> Celery:
    """The app; `send_only` for processes that queue tasks but never run or wait on them."""
    app = Celery(
        "sitter",
        broker=settings.broker_url,
        backend=settings.result_backend,
        set_as_current=True,
        task_cls=SitterTask,  # a worker keeps its own time limits (shared/runtime/own_limits.py)
    )
    if send_only:
        backend = f"{__name__}:SendOnlyRedisBackend"
        app.loader.override_backends = {"redis": backend, "rediss": backend}
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # stylize tasks name their queue per job (stylize.<style-id>), the others are fixed
        task_routes={SEGMENT_TASK: {"queue": SEGMENT_QUEUE}, COMPOSITE_TASK: {"queue": COMPOSITE_QUEUE}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        task_annotations={"*": {"max_retries": settings.task_max_retries}},
        result_expires=settings.result_expires,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        result_backend_always_retry=True,
        result_backend_max_retries=20,  # jittered backoff up to 10 s apart: about a minute of outage
        **celery_broker_conf(settings),
    )
    if not send_only:
        app.conf.task_publish_retry_policy = WORKER_PUBLISH_RETRY
    return app

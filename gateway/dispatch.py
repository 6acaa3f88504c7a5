"""Queue a job as `chord([segment, stylize], composite)`, by task name only, with fixed task ids.

Fixed ids (`<job>-<stage>`) let DELETE revoke a job's tasks without storing their ids, and make a
redelivered message recognisably the same task. The chord's error callback marks the job failed when a
task dies without saying why (hard time limit, crash).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, chord

from shared.jobs import STAGES
from shared.queues import (
    COMPOSITE_QUEUE,
    COMPOSITE_TASK,
    JOB_FAILED_TASK,
    SEGMENT_QUEUE,
    SEGMENT_TASK,
    STYLIZE_TASK,
    stylize_queue,
)


def task_ids(job_id: str) -> list[str]:
    return [f"{job_id}-{stage}" for stage in STAGES]


def enqueue(celery: Celery, job_id: str, params: dict[str, Any]) -> None:
    args = (job_id, params)
    segment = celery.signature(SEGMENT_TASK, args=args, queue=SEGMENT_QUEUE, task_id=f"{job_id}-segment")
    stylize = celery.signature(
        STYLIZE_TASK, args=args, queue=stylize_queue(params["style"]), task_id=f"{job_id}-stylize"
    )
    composite = celery.signature(
        COMPOSITE_TASK, args=args, queue=COMPOSITE_QUEUE, task_id=f"{job_id}-composite"
    )
    composite.link_error(celery.signature(JOB_FAILED_TASK, args=(job_id,)))
    chord([segment, stylize], composite, app=celery).apply_async()


def revoke(celery: Celery, job_id: str) -> None:
    """Tell running workers to drop the job's tasks; tasks also check the job record before working."""
    celery.control.revoke(task_ids(job_id))

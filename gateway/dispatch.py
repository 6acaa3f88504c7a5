"""Queue a job by task name only, with fixed task ids.

One person: `chord([segment, stylize], composite)`, as always. Several people (or every person of a
group photo): one `plan` task, which finds and plans the people and then sends the chord of one segment
and one stylize task per person and one composite (shared/runtime/fanout.py says why the plan task sends it).

Fixed ids (`<job>-<stage>`, `<job>-<stage>-<person>`) let DELETE revoke a job's tasks without storing their
ids, and make a redelivered message recognisably the same task. The chord's error callback marks the job
failed when a task dies without saying why (hard time limit, crash).
"""

from __future__ import annotations

from typing import Any

from celery import Celery, chord

from shared.jobs import STAGES, is_group
from shared.queues import (
    COMPOSITE_QUEUE,
    COMPOSITE_TASK,
    JOB_FAILED_TASK,
    SEGMENT_QUEUE,
    SEGMENT_TASK,
    STYLIZE_TASK,
    job_style_queue,
)
from shared.runtime.fanout import all_task_ids, plan_signature, task_id


def task_ids(job_id: str) -> list[str]:
    """The ids of a one-person job's tasks."""
    return [task_id(job_id, stage) for stage in STAGES]


def enqueue(celery: Celery, job_id: str, params: dict[str, Any]) -> None:
    if is_group(params):
        plan_signature(celery, job_id, params).apply_async()
        return
    args = (job_id, params)
    segment = celery.signature(SEGMENT_TASK, args=args, queue=SEGMENT_QUEUE, task_id=f"{job_id}-segment")
    stylize = celery.signature(
        STYLIZE_TASK, args=args, queue=job_style_queue(params, params["style"]), task_id=f"{job_id}-stylize"
    )
    composite = celery.signature(
        COMPOSITE_TASK, args=args, queue=COMPOSITE_QUEUE, task_id=f"{job_id}-composite"
    )
    composite.link_error(celery.signature(JOB_FAILED_TASK, args=(job_id,)))
    chord([segment, stylize], composite, app=celery).apply_async()


def revoke(celery: Celery, job_id: str, params: dict[str, Any]) -> None:
    """Tell running workers to drop the job's tasks (for several people every id such a job can have);
    tasks also check the job record before working."""
    celery.control.revoke(all_task_ids(job_id) if is_group(params) else task_ids(job_id))

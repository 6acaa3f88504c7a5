"""The chord of a job with several people, and every task id a job can have, spelled in one place.

The gateway queues a one-person job as `chord([segment, stylize], composite)` itself (gateway/dispatch.py).
A job with several people first runs one `plan` task on the stylize queue of the job's style (it needs the
painting analyser, which the stylizer workers hold); that task finds the people, plans them together,
stores the plan, and then sends this module's chord: one segment and one stylize task per person, all in
parallel, then one composite. The plan task sends it, not the gateway, because the number of people of a
group photo is known only once its faces are found.

Task ids are fixed per stage and person (`<job>-segment-2`), so DELETE can revoke every task of a job
without storing ids, and a redelivered message is recognisably the same task.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, chord
from celery.canvas import Signature

from shared.jobs import PLAN_STAGE, STAGES
from shared.limits import MAX_PEOPLE
from shared.queues import (
    COMPOSITE_QUEUE,
    COMPOSITE_TASK,
    JOB_FAILED_TASK,
    PLAN_PEOPLE_TASK,
    SEGMENT_QUEUE,
    SEGMENT_TASK,
    STYLIZE_TASK,
    job_style_queue,
)


def task_id(job_id: str, stage: str, person: int | None = None) -> str:
    return f"{job_id}-{stage}" if person is None else f"{job_id}-{stage}-{person}"


def all_task_ids(job_id: str) -> list[str]:
    """Every id a task of this job can have, whether it has one person or several."""
    people = [task_id(job_id, stage, k) for k in range(1, MAX_PEOPLE + 1) for stage in ("segment", "stylize")]
    return [*(task_id(job_id, stage) for stage in STAGES), task_id(job_id, PLAN_STAGE), *people]


def person_style(params: dict[str, Any], person: int) -> str:
    """The style id (and so the stylize queue) of one person: their own `style.<n>`, else the job's."""
    given = params["group"]["people"].get(str(person), {})
    return str(given.get("style", params["style"]))


def plan_signature(celery: Celery, job_id: str, params: dict[str, Any]) -> Signature:
    """The first task of a job with several people (on the job's style queue: a stylizer plans)."""
    signature = celery.signature(
        PLAN_PEOPLE_TASK,
        args=(job_id, params),
        queue=job_style_queue(params, params["style"]),
        task_id=task_id(job_id, PLAN_STAGE),
    )
    signature.link_error(celery.signature(JOB_FAILED_TASK, args=(job_id,)))
    return signature


def send_people_chord(celery: Celery, job_id: str, params: dict[str, Any], count: int) -> None:
    """One segment and one stylize task per person (1..count), in parallel, then one composite."""
    header = []
    for person in range(1, count + 1):
        kwargs = {"person": person}
        header.append(
            celery.signature(
                SEGMENT_TASK,
                args=(job_id, params),
                kwargs=kwargs,
                queue=SEGMENT_QUEUE,
                task_id=task_id(job_id, "segment", person),
            )
        )
        header.append(
            celery.signature(
                STYLIZE_TASK,
                args=(job_id, params),
                kwargs=kwargs,
                queue=job_style_queue(params, person_style(params, person)),
                task_id=task_id(job_id, "stylize", person),
            )
        )
    composite = celery.signature(
        COMPOSITE_TASK, args=(job_id, params), queue=COMPOSITE_QUEUE, task_id=task_id(job_id, "composite")
    )
    composite.link_error(celery.signature(JOB_FAILED_TASK, args=(job_id,)))
    chord(header, composite, app=celery).apply_async()

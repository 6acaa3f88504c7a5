"""The job document clients see (status, stages with timings, error, result, links), built from its record
as the shapes of gateway/job_shape.py say."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from gateway.job_shape import (
    PENDING,
    Job,
    JobError,
    JobResult,
    Links,
    PersonStage,
    Stage,
    Stages,
    StageTimes,
)
from shared.jobs import (
    ARTIFACT_BLOBS,
    ARTIFACT_STAGES,
    CANCELED,
    FAILED,
    GROUP_ARTIFACTS,
    PLAN_STAGE,
    RUNNING,
    SUCCEEDED,
    JobRecord,
    is_group,
    person_stage,
)
from shared.queues import COMPOSITE_QUEUE, SEGMENT_QUEUE, job_style_queue
from shared.runtime.fanout import person_style
from shared.settings import Settings


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_or_none(timestamp: float | None) -> str | None:
    return None if timestamp is None else iso(timestamp)


def base_url(settings: Settings) -> str:
    """What links and `Location` start with: SITTER_PUBLIC_BASE_URL, else nothing (links are paths on
    this server). Never the request's Host header: any caller sets that, and the web page sends its API
    key to the links it follows."""
    return settings.public_base_url.rstrip("/")


def job_document(record: JobRecord, settings: Settings) -> Job:
    root = f"{base_url(settings)}/v1/jobs/{record.id}"
    return {
        "id": record.id,
        "status": record.status,
        "created_at": iso(record.created_at),
        "started_at": _iso_or_none(record.started_at),
        "finished_at": _iso_or_none(record.finished_at),
        "params": {key: value for key, value in record.params.items() if key != "max_size"},
        "stages": _group_stages(record) if is_group(record.params) else _stages(record),
        "error": cast("JobError | None", record.error),  # as JobStore.fail wrote it, whole
        "result": _result(record.result),
        "links": _links(record, root),
    }


def _links(record: JobRecord, root: str) -> Links:
    artifacts = {
        name: f"{root}/artifacts/{name}"
        for name in (GROUP_ARTIFACTS if is_group(record.params) else ARTIFACT_BLOBS)
        if record.stages.get(ARTIFACT_STAGES[name], {}).get("state") == SUCCEEDED
    }
    if record.status == SUCCEEDED:
        return {"self": root, "result": f"{root}/result", "artifacts": artifacts}
    return {"self": root, "artifacts": artifacts}


def _result(stored: dict[str, Any] | None) -> JobResult | None:
    """The stored result's public keys (not its blob key), in the shape's order; older results lack some."""
    if stored is None:
        return None
    return cast(JobResult, {key: stored[key] for key in JobResult.__annotations__ if key in stored})


def _times(state: dict[str, Any], queue: str) -> StageTimes:
    """What every stage shows, from what its record holds (nothing before it starts)."""
    return {
        "state": state.get("state", PENDING),
        "queue": queue,
        "started_at": _iso_or_none(state.get("started_at")),
        "finished_at": _iso_or_none(state.get("finished_at")),
        "duration_ms": state.get("duration_ms"),
        "worker": state.get("worker"),
    }


def _stage(record: JobRecord, name: str, queue: str) -> Stage:
    """A stage of the whole job, not one person's."""
    return {**_times(record.stages.get(name, {}), queue)}


def _stages(record: JobRecord) -> Stages:
    return {
        "segment": _stage(record, "segment", SEGMENT_QUEUE),
        "stylize": _stage(record, "stylize", job_style_queue(record.params, record.params["style"])),
        "composite": _stage(record, "composite", COMPOSITE_QUEUE),
    }


def _group_stages(record: JobRecord) -> Stages:
    """A job with several people: its `plan` stage, then `segment` and `stylize` each summed over the
    people (from the first start to the last end) with every person's own in `people`, then `composite`."""
    style_queue = job_style_queue(record.params, record.params["style"])
    return {
        "plan": _stage(record, PLAN_STAGE, style_queue),
        "segment": _people_stage(record, "segment", SEGMENT_QUEUE),
        "stylize": _people_stage(record, "stylize", style_queue),
        "composite": _stage(record, "composite", COMPOSITE_QUEUE),
    }


def _people_stage(record: JobRecord, stage: str, queue: str) -> Stage:
    count = record.people or 0
    people: list[PersonStage] = []
    for person in range(1, count + 1):
        own = (
            queue
            if stage == "segment"
            else job_style_queue(record.params, person_style(record.params, person))
        )
        people.append({"person": person, **_times(record.stages.get(person_stage(stage, person), {}), own)})
    return {**_summed(record, stage, count, queue), "people": people}


def _summed(record: JobRecord, stage: str, count: int, queue: str) -> StageTimes:
    states = [
        record.stages[name] for k in range(1, count + 1) if (name := person_stage(stage, k)) in record.stages
    ]
    kinds = [state.get("state") for state in states]
    if FAILED in kinds:
        summary = FAILED
    elif CANCELED in kinds or (record.status == CANCELED and kinds.count(SUCCEEDED) < max(count, 1)):
        summary = CANCELED
    elif count and kinds.count(SUCCEEDED) == count:
        summary = SUCCEEDED
    elif RUNNING in kinds or kinds:
        summary = RUNNING
    else:
        summary = PENDING
    starts = [state["started_at"] for state in states if "started_at" in state]
    ends = [state["finished_at"] for state in states if "finished_at" in state]
    started = min(starts) if starts else None
    finished = max(ends) if ends and summary in (SUCCEEDED, FAILED, CANCELED) else None
    duration = round((finished - started) * 1000, 1) if started is not None and finished is not None else None
    return {
        "state": summary,
        "queue": queue,
        "started_at": _iso_or_none(started),
        "finished_at": _iso_or_none(finished),
        "duration_ms": duration,
        "worker": None,
    }

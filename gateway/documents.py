"""The JSON shape of a job, as clients see it: status, stages with timings, error, and links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.jobs import (
    ARTIFACT_BLOBS,
    ARTIFACT_STAGES,
    CANCELED,
    FAILED,
    GROUP_ARTIFACTS,
    PERSON_STAGES,
    PLAN_STAGE,
    RUNNING,
    STAGES,
    SUCCEEDED,
    JobRecord,
    is_group,
    person_stage,
)
from shared.queues import COMPOSITE_QUEUE, SEGMENT_QUEUE, stylize_queue
from shared.runtime.fanout import person_style
from shared.settings import Settings


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def base_url(settings: Settings) -> str:
    """What links and `Location` start with: SITTER_PUBLIC_BASE_URL, else nothing (links are paths on
    this server). Never the request's Host header: any caller sets that, and the web page sends its API
    key to the links it follows."""
    return settings.public_base_url.rstrip("/")


def job_document(record: JobRecord, settings: Settings) -> dict[str, Any]:
    root = f"{base_url(settings)}/v1/jobs/{record.id}"
    queues = {
        "segment": SEGMENT_QUEUE,
        "stylize": stylize_queue(record.params["style"]),
        "composite": COMPOSITE_QUEUE,
    }
    stages: dict[str, Any] = {}
    if is_group(record.params):
        stages = _group_stages(record, queues)
    for stage in STAGES:
        if stage in stages:
            continue
        stages[stage] = _stage(record.stages.get(stage, {}), queues[stage])
    links: dict[str, Any] = {"self": root}
    if record.status == SUCCEEDED:
        links["result"] = f"{root}/result"
    links["artifacts"] = {
        name: f"{root}/artifacts/{name}"
        for name in (GROUP_ARTIFACTS if is_group(record.params) else ARTIFACT_BLOBS)
        if record.stages.get(ARTIFACT_STAGES[name], {}).get("state") == SUCCEEDED
    }
    public_params = {key: value for key, value in record.params.items() if key != "max_size"}
    result = None
    if record.result is not None:
        fields = ("format", "content_type", "box", "placement", "people", "order", "width", "height")
        result = {key: record.result[key] for key in fields if key in record.result}  # placement: since v0.2
    return {
        "id": record.id,
        "status": record.status,
        "created_at": iso(record.created_at),
        "started_at": iso(record.started_at),
        "finished_at": iso(record.finished_at),
        "params": public_params,
        "stages": stages,
        "error": record.error,
        "result": result,
        "links": links,
    }


def _stage(state: dict[str, Any], queue: str) -> dict[str, Any]:
    return {
        "state": state.get("state", "pending"),
        "queue": queue,
        "started_at": iso(state.get("started_at")),
        "finished_at": iso(state.get("finished_at")),
        "duration_ms": state.get("duration_ms"),
        "worker": state.get("worker"),
    }


def _group_stages(record: JobRecord, queues: dict[str, str]) -> dict[str, Any]:
    """A job with several people: its `plan` stage, then `segment` and `stylize` each summed over the
    people (from the first start to the last end) with every person's own in `people`, then `composite`."""
    stages = {PLAN_STAGE: _stage(record.stages.get(PLAN_STAGE, {}), queues["stylize"])}
    count = record.people or 0
    for stage in PERSON_STAGES:
        people = []
        for person in range(1, count + 1):
            queue = (
                queues[stage] if stage == "segment" else stylize_queue(person_style(record.params, person))
            )
            people.append(
                {"person": person, **_stage(record.stages.get(person_stage(stage, person), {}), queue)}
            )
        stages[stage] = {**_summed(record, stage, count, queues[stage]), "people": people}
    return stages


def _summed(record: JobRecord, stage: str, count: int, queue: str) -> dict[str, Any]:
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
        summary = "pending"
    starts = [state["started_at"] for state in states if "started_at" in state]
    ends = [state["finished_at"] for state in states if "finished_at" in state]
    started = min(starts) if starts else None
    finished = max(ends) if ends and summary in (SUCCEEDED, FAILED, CANCELED) else None
    duration = round((finished - started) * 1000, 1) if started is not None and finished is not None else None
    return {
        "state": summary,
        "queue": queue,
        "started_at": iso(started),
        "finished_at": iso(finished),
        "duration_ms": duration,
        "worker": None,
    }

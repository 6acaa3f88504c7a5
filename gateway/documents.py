"""The JSON shape of a job, as clients see it: status, stages with timings, error, and links."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.jobs import ARTIFACT_BLOBS, ARTIFACT_STAGES, STAGES, SUCCEEDED, JobRecord
from shared.queues import COMPOSITE_QUEUE, SEGMENT_QUEUE, stylize_queue
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
    for stage in STAGES:
        state = record.stages.get(stage, {})
        stages[stage] = {
            "state": state.get("state", "pending"),
            "queue": queues[stage],
            "started_at": iso(state.get("started_at")),
            "finished_at": iso(state.get("finished_at")),
            "duration_ms": state.get("duration_ms"),
            "worker": state.get("worker"),
        }
    links: dict[str, Any] = {"self": root}
    if record.status == SUCCEEDED:
        links["result"] = f"{root}/result"
    links["artifacts"] = {
        name: f"{root}/artifacts/{name}"
        for name in ARTIFACT_BLOBS
        if record.stages.get(ARTIFACT_STAGES[name], {}).get("state") == SUCCEEDED
    }
    public_params = {key: value for key, value in record.params.items() if key != "max_size"}
    result = None
    if record.result is not None:
        fields = ("format", "content_type", "box", "placement", "width", "height")
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

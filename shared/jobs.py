"""What a job is, by name: statuses, stages, blob names, artifacts, ids and the record read back.

Pure names and small functions that the gateway and every worker agree on; no Redis, Celery or ML
imports. The records themselves live in Redis, written and read by `shared.runtime.job_store.JobStore`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, NamedTuple

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
TERMINAL = (SUCCEEDED, FAILED, CANCELED)
STAGES = ("segment", "stylize", "composite")
# A job with several people (issue 14) also has a `plan` stage, and one segment and one stylize stage per
# person, named `<stage>.<person>` (person 1, 2, ...): `segment.2` is the second person's segmentation.
PLAN_STAGE = "plan"
PERSON_STAGES = ("segment", "stylize")

# Blob names inside a job's folder: fixed, so a redelivered task overwrites instead of duplicating.
PORTRAIT_BLOB = "portrait"
PAINTING_BLOB = "painting"
MATTE_BLOB = "matte.png"
STYLIZED_BLOB = "stylized.png"
PLAN_BLOB = "plan.json"  # the placement plan the stylizer followed; the compositor follows it too
CUTOUT_BLOB = "cutout.png"
THUMBNAIL_BLOB = "thumbnail.jpg"  # the result, small: for lists of results (the web client's history)
# The API's artifacts (/v1/jobs/{id}/artifacts/{name}): their blobs, and the stage that must have succeeded
# for each to exist. "mask" is the API's name for the matte, kept so that clients and links keep working;
# everywhere else (code, blobs, docs) it is the matte.
ARTIFACT_BLOBS = {
    "mask": MATTE_BLOB,
    "stylized": STYLIZED_BLOB,
    "cutout": CUTOUT_BLOB,
    "thumbnail": THUMBNAIL_BLOB,
}
ARTIFACT_STAGES = {"mask": "segment", "stylized": "stylize", "cutout": "composite", "thumbnail": "composite"}
GROUP_ARTIFACTS = ("thumbnail",)  # a job with several people has no one matte, stylized photo or cut-out
PEOPLE_BLOB = "people.json"  # a job with several people: every person's crop and plan, and the order


class JobLimitError(Exception):
    """A job was refused because too many are unfinished: `scope` is "total" or "client"."""

    def __init__(self, scope: str, limit: int) -> None:
        super().__init__(f"{limit} unfinished jobs ({scope})")
        self.scope = scope
        self.limit = limit


def blob_key(job_id: str, name: str) -> str:
    return f"{job_id}/{name}"


def person_stage(stage: str, person: int | None) -> str:
    """The record's name of one person's stage (`segment.2`); the plain stage for a one-person job."""
    return stage if person is None else f"{stage}.{person}"


def split_stage(name: str) -> tuple[str, int | None]:
    """`segment.2` -> ("segment", 2); `segment` -> ("segment", None)."""
    stage, _, person = name.partition(".")
    return stage, int(person) if person.isdigit() else None


def is_group(params: dict[str, Any]) -> bool:
    """Whether a job's parameters ask for several people (or every person of a photo): issue 14."""
    return "group" in params


def stage_words(name: str) -> str:
    """A stage as errors name it: `segment stage`, or `segment stage of person 2`."""
    stage, person = split_stage(name)
    return f"{stage} stage" if person is None else f"{stage} stage of person {person}"


def photo_blob(photo: int) -> str:
    """The blob of the n-th uploaded photo (1-based): the first is `portrait`, as for one-person jobs."""
    return PORTRAIT_BLOB if photo == 1 else f"{PORTRAIT_BLOB}.{photo}"


def person_blob(name: str, person: int | None) -> str:
    """A per-person output of a job with several people (`matte.2.png`); `name` itself for one person."""
    if person is None:
        return name
    stem, dot, extension = name.rpartition(".")
    return f"{stem}.{person}.{extension}" if dot else f"{name}.{person}"


def result_blob(fmt: str) -> str:
    return f"result.{fmt}"


def new_job_id() -> str:
    """Unguessable ids: a job id is the only credential needed to read its images."""
    return secrets.token_hex(16)


def is_job_id(text: str) -> bool:
    return len(text) == 32 and all(char in "0123456789abcdef" for char in text)


class IdempotentClaim(NamedTuple):
    job_id: str
    fingerprint: str  # "" for claims stored before fingerprints were kept: they match any request


@dataclass
class JobRecord:
    id: str
    status: str
    created_at: float
    params: dict[str, Any]
    started_at: float | None = None
    finished_at: float | None = None
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    owner: str = ""  # who may see the job (a hash of the API key); empty when the gateway runs without keys
    people: int | None = None  # a job with several people, once its plan step has sent their tasks

    def current_stage(self) -> str:
        """The stage to blame when a failure is noticed outside a task: the running one (with its person,
        `stylize.2`, in a job with several people), else the next."""
        in_order = (PLAN_STAGE, *STAGES)
        running = iter(
            sorted(
                (name for name, state in self.stages.items() if state.get("state") == RUNNING),
                key=lambda name: (in_order.index(split_stage(name)[0]), split_stage(name)[1] or 0),
            )
        )
        kinds = self._stage_kinds()
        return next(
            running, next((name for name in self.expected_stages() if name not in kinds), "composite")
        )

    def expected_stages(self) -> tuple[str, ...]:
        """The stages every job of this kind has (per-person stages appear as they start)."""
        return (PLAN_STAGE, "composite") if is_group(self.params) else STAGES

    def _stage_kinds(self) -> set[str]:
        return {split_stage(name)[0] for name in self.stages}

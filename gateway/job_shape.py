"""What the API answers with, described once: the job document and the problem body.

gateway/documents.py and gateway/problems.py build these types, so mypy holds what is sent to what is
described, and gateway/openapi.py derives its Job, Stage and Problem components from them (pydantic's
TypeAdapter, read through gateway/json_schema.py); a class docstring is its component's description.

Typed dicts, not pydantic models: the documents are plain dicts that Flask sends as they are built, so the
JSON keeps its exact keys and their order, and nothing copies or re-validates it on the way out; pydantic
reads the same types for the schema. Keys that are sometimes absent are NotRequired; a key sent as null
is `X | None`.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import Field, WithJsonSchema
from typing_extensions import TypedDict  # pydantic takes typing's TypedDict only from Python 3.12

from gateway.problem_types import PROBLEMS
from shared.jobs import QUEUED, RUNNING, TERMINAL

PENDING = "pending"  # a stage that has not started: the record has no state for it yet, the API says so


def _one_of(*values: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "enum": list(values)})


Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class StageTimes(TypedDict):
    state: Annotated[str, _one_of(PENDING, RUNNING, *TERMINAL)]
    queue: str
    started_at: Timestamp | None
    finished_at: Timestamp | None
    duration_ms: float | None
    worker: str | None


class Stage(StageTimes):
    """A stage's state, the queue that serves it, when it ran and on which worker."""

    people: NotRequired[Annotated[list[PersonStage], Field(description="Each person's own stage")]]


class PersonStage(StageTimes):
    """One person's own segment or stylize stage, in a job with several people."""

    person: int


class Stages(TypedDict):
    plan: NotRequired[Stage]
    segment: Stage
    stylize: Stage
    composite: Stage


class JobError(TypedDict):  # sent whole, as JobStore.fail wrote it: any other key it holds goes out too
    """Why the job failed: at which stage, a stable code, and words for people."""

    stage: str
    person: NotRequired[Annotated[int, Field(description="Several people: whose stage failed (1-based)")]]
    code: str
    detail: str


class Box(TypedDict):
    x: int
    y: int
    w: int
    h: int


class Placement(TypedDict):
    kind: str
    spot: int | None
    reason: str


class PersonResult(TypedDict):
    person: int
    photo: int
    box: Box
    placement: Placement


# documents.py sends these keys of the stored result (not its blob key), in this order, where present
class PaintingCredit(TypedDict):
    """Whose painting the picture is made from, and on what terms (a gallery painting's record)."""

    id: str
    title: str
    artist: str
    year: str
    licence: str
    source: str


class JobResult(TypedDict):
    """The finished picture: its format, size, and where the person (or each person) was placed."""

    format: str
    content_type: str
    box: Annotated[Box, Field(description="Where the person was placed: x, y, w, h, in the result's pixels")]
    placement: NotRequired[  # results made before v0.2 have none
        Annotated[
            Placement,
            Field(
                description="How the box was chosen: kind (auto, spot, explicit; `group` for several "
                "people), spot, reason"
            ),
        ]
    ]
    people: NotRequired[
        Annotated[
            list[PersonResult],
            Field(description="Several people: each one's number, photo, box (x, y, w, h), placement"),
        ]
    ]
    order: NotRequired[Annotated[list[int], Field(description="Several people: back to front")]]
    painting: NotRequired[
        Annotated[
            PaintingCredit,
            Field(description="A gallery painting's credit: title, artist, year, licence and source"),
        ]
    ]
    width: int
    height: int


class Links(TypedDict):
    self: str
    result: NotRequired[str]
    artifacts: dict[str, str]


class Queue(TypedDict):
    ahead: Annotated[int, Field(ge=0)]


class Job(TypedDict):
    id: str
    status: Annotated[str, _one_of(QUEUED, RUNNING, *TERMINAL)]
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    params: dict[str, Any]
    stages: Annotated[
        Stages,
        Field(
            description="segment, stylize, composite; a job with several people also has `plan`, and its "
            "segment and stylize are summed over the people, each person's own in `people`"
        ),
    ]
    error: JobError | None
    result: JobResult | None
    links: Annotated[
        Links, Field(description="Paths on this server, or absolute URLs under SITTER_PUBLIC_BASE_URL")
    ]
    queue: NotRequired[
        Annotated[
            Queue,
            Field(
                description="Only while the job is queued or running (GET /v1/jobs/{id}): `ahead`, how many "
                "unfinished jobs were submitted before it, the most it can be waiting behind"
            ),
        ]
    ]


class Problem(TypedDict):
    """An RFC 9457 problem: every error the API answers with."""

    type: Annotated[str, WithJsonSchema({"type": "string", "format": "uri-reference"})]
    title: str
    status: int
    detail: str
    code: Annotated[str, _one_of(*PROBLEMS)]
    field: NotRequired[str]
    instance: str
    limit: NotRequired[Annotated[str, Field(description="job-too-large: the setting of the budget")]]
    largest: NotRequired[
        Annotated[
            float | None,
            Field(description="job-too-large: the largest value of `field` that fits (null: none does)"),
        ]
    ]

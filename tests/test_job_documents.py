"""The job document, byte for byte: what gateway/documents.py sends for one record of each kind (one
person succeeded, queued, failed, canceled; several people done, running, failed, queued, canceled) is the
JSON the API sent before its shapes were typed (issue 16), keys in the same order, floats still floats;
and each one is a `Job` as /v1/openapi.json describes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.documents import job_document
from shared.jobs import JobRecord
from shared.settings import Settings
from tests.helpers.described import component_validator

T = 1_700_000_000.0
ID = "0123456789abcdef0123456789abcdef"
ONE = {
    "painting": "starry-night",
    "style": "painting",
    "strength": 1.0,
    "keep_colors": False,
    "harmonize": True,
    "format": "png",
    "output_scale": 1.0,
    "spot": None,
    "max_size": 2048,
    "placement": {"mode": "auto"},
}
GROUP = {
    **ONE,
    "style": "builtin-1",
    "group": {"people": {"2": {"style": "builtin-3", "x": 40}}, "order": None},
}
BASE_URLS = {"succeeded": "https://sitter.example.com/"}  # the others' links are paths


def _done(start: float, end: float, worker: str = "w1") -> dict[str, Any]:
    return {
        "state": "succeeded",
        "started_at": T + start,
        "finished_at": T + end,
        "duration_ms": round((end - start) * 1000, 1),
        "worker": worker,
    }


def _box(x: int, w: int, h: int) -> dict[str, int]:
    return {"x": x, "y": 20, "w": w, "h": h}


def _placement(kind: str, reason: str) -> dict[str, Any]:
    return {"kind": kind, "spot": None, "reason": reason}


PICTURE = {"key": "result.png", "format": "png", "content_type": "image/png", "width": 800, "height": 600}
RECORDS = {
    "succeeded": JobRecord(
        ID,
        "succeeded",
        T,
        ONE,
        started_at=T + 0.5,
        finished_at=T + 4.25,
        stages={"segment": _done(0.5, 1.2), "stylize": _done(1.3, 3.0, "w2"), "composite": _done(3.1, 4.25)},
        result={
            **PICTURE,
            "box": _box(10, 100, 300),
            "placement": _placement("auto", "the largest free wall"),
        },
    ),
    "queued": JobRecord(ID, "queued", T, {**ONE, "painting": None, "style": "builtin-7"}),
    "failed": JobRecord(
        ID,
        "failed",
        T,
        ONE,
        started_at=T + 0.5,
        finished_at=T + 1.0,
        stages={
            "segment": {"state": "failed", "started_at": T + 0.5, "finished_at": T + 1.0, "worker": "w1"}
        },
        # a key JobStore.fail does not write today goes out as it is
        error={
            "stage": "segment",
            "code": "no-person",
            "detail": "no person in the photo",
            "field": "portrait",
        },
    ),
    "canceled": JobRecord(
        ID,
        "canceled",
        T,
        ONE,
        started_at=T + 0.5,
        finished_at=T + 2.0,
        stages={
            "segment": _done(0.5, 1.2),
            "stylize": {"state": "canceled", "started_at": T + 1.3, "finished_at": T + 2.0, "worker": "w2"},
            "composite": {"state": "canceled", "finished_at": T + 2.0},
        },
    ),
    "group": JobRecord(
        ID,
        "succeeded",
        T,
        GROUP,
        started_at=T + 0.5,
        finished_at=T + 9.0,
        people=2,
        stages={
            "plan": _done(0.5, 1.0, "s1"),
            "segment.1": _done(1.1, 2.0),
            "segment.2": _done(1.2, 2.5),
            "stylize.1": _done(2.6, 4.0, "s1"),
            "stylize.2": _done(2.7, 5.0, "s3"),
            "composite": _done(5.1, 9.0),
        },
        result={
            **PICTURE,
            "box": _box(10, 300, 300),
            "placement": _placement("group", "2 people planned together"),
            "people": [
                {"person": 1, "photo": 1, "box": _box(10, 100, 300), "placement": _placement("auto", "left")},
                {
                    "person": 2,
                    "photo": 2,
                    "box": _box(210, 100, 280),
                    "placement": _placement("auto", "right"),
                },
            ],
            "order": [2, 1],
        },
    ),
    "group_running": JobRecord(
        ID,
        "running",
        T,
        GROUP,
        started_at=T + 0.5,
        people=2,
        stages={
            "plan": _done(0.5, 1.0, "s1"),
            "segment.1": _done(1.1, 2.0),
            "segment.2": {"state": "running", "started_at": T + 1.2, "worker": "w2"},
        },
    ),
    "group_failed": JobRecord(
        ID,
        "failed",
        T,
        GROUP,
        started_at=T + 0.5,
        finished_at=T + 3.0,
        people=2,
        stages={
            "plan": _done(0.5, 1.0, "s1"),
            "segment.1": _done(1.1, 2.0),
            "segment.2": {"state": "failed", "started_at": T + 1.2, "finished_at": T + 3.0, "worker": "w2"},
        },
        error={"stage": "segment", "person": 2, "code": "no-person", "detail": "no person in photo 2"},
    ),
    "group_queued": JobRecord(ID, "queued", T, GROUP),
    "group_canceled": JobRecord(
        ID,
        "canceled",
        T,
        GROUP,
        started_at=T + 0.5,
        finished_at=T + 1.5,
        people=2,
        stages={
            "plan": _done(0.5, 1.0, "s1"),
            "segment.1": _done(1.1, 1.4),
            "segment.2": {"state": "canceled", "started_at": T + 1.2, "finished_at": T + 1.5},
        },
    ),
}

# what gateway/documents.py made of RECORDS before the shapes were typed; kept, never regenerated
EXPECTED: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data/job_documents.json").read_text()
)


@pytest.mark.parametrize("kind", RECORDS)
def test_the_document_is_the_json_sent_before(kind: str) -> None:
    document = job_document(RECORDS[kind], Settings(public_base_url=BASE_URLS.get(kind, "")))
    assert json.dumps(document) == json.dumps(EXPECTED[kind])  # the same keys, order, values and types


@pytest.mark.parametrize("kind", RECORDS)
def test_the_document_is_a_described_job(kind: str) -> None:
    document: dict[str, Any] = {**EXPECTED[kind]}
    if document["status"] in ("queued", "running"):
        document["queue"] = {"ahead": 3}  # GET adds it while the job waits or runs
    component_validator("Job").validate(document)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "done"},
        {"created_at": "yesterday"},
        {"queue": {"ahead": -1}},
        {"stages": {"segment": {"state": "pending"}, "stylize": {}, "composite": {}}},
        {"result": {"format": "png", "content_type": "image/png", "box": {"x": 1}, "width": 1, "height": 1}},
    ],
)
def test_what_is_not_a_job_is_refused(change: dict[str, Any]) -> None:
    """The check above has teeth: a wrong value, a missing key, a bad nested shape."""
    assert list(component_validator("Job").iter_errors({**EXPECTED["succeeded"], **change}))

"""Several people through the HTTP API, gateway only (issue 14): the form shape, what is stored and
queued, and every refusal (problem+json naming the field, nothing stored or queued). No workers: the
jobs stay queued, so their parameters and queued first task can be looked at."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from shared.jobs import blob_key, photo_blob
from shared.queues import SEGMENT_QUEUE, stylize_queue
from shared.runtime.job_store import ACTIVE_KEY, JOB_PREFIX
from shared.runtime.storage import blob_store
from shared.settings import Settings
from tests.helpers.forms import assert_problem
from tests.helpers.images import enlarged


@pytest.fixture
def settings(module_redis_url: str) -> Settings:
    return Settings(redis_url=module_redis_url, max_active_jobs_per_key=10**6)


def _form(portraits: list[bytes], **fields: Any) -> Any:
    files = [("portrait", (io.BytesIO(data), f"p{k}.jpg")) for k, data in enumerate(portraits)]
    form: list[tuple[str, Any]] = [*files, ("painting", "starry-night")]
    return form + [(name.replace("_", "."), value) for name, value in fields.items()]


def _post(client: FlaskClient, portraits: list[bytes], **fields: Any) -> Any:
    from werkzeug.datastructures import MultiDict

    return client.post("/v1/jobs", data=MultiDict(_form(portraits, **fields)))


def _queued(settings: Settings) -> tuple[int, int, int]:
    r = redis.Redis.from_url(settings.redis_url)
    return int(r.zcard(ACTIVE_KEY)), int(r.llen(SEGMENT_QUEUE)), int(r.llen(stylize_queue("starry-night")))


def _message_task(settings: Settings) -> str:
    r = redis.Redis.from_url(settings.redis_url)
    raw = r.lindex(stylize_queue("starry-night"), 0)
    assert raw is not None
    return str(json.loads(raw)["headers"]["task"])


def test_one_portrait_keeps_todays_params(client: FlaskClient, portrait_jpeg: bytes) -> None:
    response = _post(client, [portrait_jpeg], x="10", y="20", height="300")
    assert response.status_code == 202, response.get_json()
    params = response.get_json()["params"]
    assert set(params) == {
        "painting", "style", "strength", "keep_colors", "harmonize", "placement", "spot", "format",
        "output_scale", "callback_url", "painting_credit",
    }  # fmt: skip
    assert params["placement"] == {"x": 10, "y": 20, "height": 300}
    assert params["painting_credit"]["artist"] == "Vincent van Gogh"  # whose painting, on what terms
    assert set(response.get_json()["stages"]) == {"segment", "stylize", "composite"}


def test_two_portraits_are_one_job_with_one_plan_task_queued(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    second = enlarged(portrait_jpeg, (200, 260))
    before = _queued(settings)
    response = _post(client, [portrait_jpeg, second], x_2="500", y_2="100", height_2="300", order="2,1")
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    group = job["params"]["group"]
    assert group == {
        "photos": 2,
        "every_person": False,
        "order": [1, 0],
        "people": {"2": {"x": 500, "y": 100, "height": 300}},
    }
    assert "placement" not in job["params"] and "spot" not in job["params"]
    assert list(job["stages"]) == ["plan", "segment", "stylize", "composite"]
    assert job["stages"]["plan"]["queue"] == "stylize.starry-night"
    blobs = blob_store(settings)
    assert blobs.get(blob_key(job["id"], photo_blob(1))) == portrait_jpeg
    assert blobs.get(blob_key(job["id"], photo_blob(2))) == second
    after = _queued(settings)
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (1, 0, 1)
    assert _message_task(settings) == "sitter.plan_people"
    deleted = client.delete(f"/v1/jobs/{job['id']}")
    assert deleted.status_code == 200 and deleted.get_json()["status"] == "canceled"


def test_group_photo_with_per_person_style(client: FlaskClient, portrait_jpeg: bytes) -> None:
    response = _post(client, [portrait_jpeg], people="all", style_2="builtin-3", strength_1="0.5")
    assert response.status_code == 202, response.get_json()
    group = response.get_json()["params"]["group"]
    assert group["every_person"] and group["photos"] == 1
    assert group["people"] == {"1": {"strength": 0.5}, "2": {"style": "builtin-3"}}


SEVEN = 7


@pytest.mark.parametrize(
    ("photos", "fields", "field", "words"),
    [
        (SEVEN, {}, "portrait", "at most 6 portraits"),
        (2, {"x_3": "10"}, "x.3", "2 portraits were sent"),
        (1, {"people": "all", "height_7": "100"}, "height.7", "at most 6 people"),
        (1, {"x_1": "10"}, "x.1", "use x for one person"),
        (2, {"x": "10"}, "x", "x is for one person"),
        (2, {"spot": "0"}, "spot", "spot is for one person"),
        (2, {"order": "1,1"}, "order", "each person once"),
        (2, {"order": "1"}, "order", "each person once"),
        (1, {"order": "1"}, "order", "several people"),
        (2, {"style_2": "nope"}, "style.2", "unknown style.2"),
        (2, {"strength_1": "2"}, "strength.1", "between 0 and 1"),
        (2, {"height_2": "0"}, "height.2", "positive"),
        (2, {"x_2": "abc"}, "x.2", "whole number"),
        (2, {"x_2": "5000"}, "x.2", "outside"),
        (1, {"people": "everyone"}, "people", "main"),
    ],
)
def test_bad_people_fields_are_refused_and_nothing_is_queued(
    client: FlaskClient,
    settings: Settings,
    portrait_jpeg: bytes,
    photos: int,
    fields: dict[str, str],
    field: str,
    words: str,
) -> None:
    before = _queued(settings)
    jobs_before = len(redis.Redis.from_url(settings.redis_url).keys(f"{JOB_PREFIX}*"))
    code = "unknown-style" if field.startswith("style") else "invalid-parameter"
    body = assert_problem(_post(client, [portrait_jpeg] * photos, **fields), 422, code, field)
    assert words in body["detail"], body["detail"]
    assert _queued(settings) == before
    assert len(redis.Redis.from_url(settings.redis_url).keys(f"{JOB_PREFIX}*")) == jobs_before


def test_a_bad_second_portrait_is_named(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    before = _queued(settings)
    body = assert_problem(_post(client, [portrait_jpeg, b"not an image"]), 415, "unsupported-media-type")
    assert body["field"] == "portrait" and "portrait 2" in body["detail"]
    assert _queued(settings) == before


def test_a_job_deleted_before_its_plan_ran_reads_canceled_throughout(
    client: FlaskClient, portrait_jpeg: bytes
) -> None:
    job = _post(client, [portrait_jpeg, portrait_jpeg]).get_json()
    deleted = client.delete(f"/v1/jobs/{job['id']}").get_json()
    assert deleted["status"] == "canceled"
    assert {name: stage["state"] for name, stage in deleted["stages"].items()} == dict.fromkeys(
        ("plan", "segment", "stylize", "composite"), "canceled"
    )
    assert deleted["stages"]["segment"]["people"] == []

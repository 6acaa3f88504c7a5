"""POST /v1/previews: the person cut out of a photo within a second, from the live stack's real segmenter;
a photo without a person refused with `no-person`; no segmenter free: 503 busy, quickly."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import redis
import requests
from flask.testing import FlaskClient
from PIL import Image

from gateway.app import create_app
from shared.gallery import SAMPLES_DIR
from shared.imageio import open_for_probe, preview_of
from shared.jobs import RUNNING
from shared.previews import PREVIEW_SIDE
from shared.queues import PREVIEW_SEGMENTER
from shared.runtime.job_store import JobStore
from shared.settings import Settings
from sitter.processes import arguments, environment
from tests.helpers.brokers import BrokerChoice
from tests.helpers.forms import assert_problem
from tests.helpers.images import enlarged
from tests.helpers.processes import Spawn, wait_ready
from tests.helpers.waiting import wait_for
from tests.live_stack import LiveStack

PERSON_CHECK = SAMPLES_DIR.parents[2] / "tests" / "data" / "person_check"


def _jpeg(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90, **save)
    return buffer.getvalue()


def test_a_preview_is_small_upright_rgb_whatever_the_upload() -> None:
    with Image.open(SAMPLES_DIR / "obama-portrait.jpg") as photo:
        big = photo.convert("RGB").resize((1800, 2400))
    small = preview_of(open_for_probe(_jpeg(big), long_side=PREVIEW_SIDE), PREVIEW_SIDE)
    assert small.shape == (480, 360, 3) and small.dtype == np.uint8
    # a sideways-stored photo with EXIF orientation 6 comes out upright, as the workers decode it
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways = _jpeg(big.transpose(Image.Transpose.ROTATE_90), exif=exif)
    assert preview_of(open_for_probe(sideways, long_side=PREVIEW_SIDE), PREVIEW_SIDE).shape == (480, 360, 3)
    wide = np.zeros((40, 1000), np.uint16) + 40000  # 16-bit greyscale PNG
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, "PNG")
    assert preview_of(open_for_probe(buffer.getvalue()), PREVIEW_SIDE).shape == (19, 480, 3)


@pytest.mark.slow
def test_the_preview_is_the_person_cut_out_with_their_proportions(live_stack: LiveStack) -> None:
    with Image.open(SAMPLES_DIR / "obama-portrait.jpg") as photo:
        upload = _jpeg(photo)
        width, height = photo.size
    start = time.perf_counter()
    response = requests.post(f"{live_stack.base_url}/v1/previews", files={"portrait": ("me.jpg", upload)})
    elapsed = time.perf_counter() - start
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png" and response.headers["Cache-Control"] == "no-store"
    cutout = Image.open(io.BytesIO(response.content))
    assert cutout.mode == "RGBA" and max(cutout.size) <= PREVIEW_SIDE
    alpha = np.asarray(cutout)[..., 3]
    assert alpha.max() == 255 and (alpha == 0).mean() > 0.1  # the person, and the background gone
    # cropped to the person: the box is narrower than the photo (a bust with room either side)
    assert cutout.size[0] / cutout.size[1] < 0.95 * width / height
    assert elapsed < 5, f"a preview took {elapsed:.1f} s"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["no-person-brick-wall.jpg", "no-person-cat.jpg"])
def test_a_photo_without_a_person_is_refused_before_any_job(live_stack: LiveStack, name: str) -> None:
    upload = (PERSON_CHECK / name).read_bytes()
    response = requests.post(f"{live_stack.base_url}/v1/previews", files={"portrait": (name, upload)})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "no-person" and body["field"] == "portrait" and "person" in body["detail"]


BACKLOG = 20  # jobs whose segment tasks are queued before the previews: one key's cap on unfinished jobs
PREVIEWS = 4
SEGMENTERS = ("segmenter", PREVIEW_SEGMENTER)  # as deployed: on `segment` and on `preview`
DB = 13  # the Redis database and RabbitMQ vhost of the backlog test (tests/conftest.py)


@pytest.mark.slow
@pytest.mark.both_brokers
def test_previews_are_answered_ahead_of_a_backlog_of_jobs(
    broker: BrokerChoice, redis_url: str, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    """The segmenters as deployed (`sitter up`, compose, k8s: the segmenter on `segment`, the dedicated
    preview consumer on `preview`, one pool process each) with 20 jobs' segment tasks queued: a preview
    sent just as the segmenter starts a segment task is answered in well under that task's time, on
    either broker. A lone segmenter on both queues failed this: its preview waited for the whole segment
    task (Redis and RabbitMQ), and so did every other preview when it ran beside the preview consumer on
    RabbitMQ, which hands a queue's messages to its consumers in turn."""
    env = {**broker.env(redis_url, DB), "SITTER_INFERENCE_THREADS": "1"}
    store = redis.Redis.from_url(env["SITTER_REDIS_URL"])
    store.flushdb()
    jobs_store = JobStore(store, retention_seconds=3600)
    big = enlarged(portrait_jpeg, (5475, 7300))  # each segment task takes seconds on one thread
    settings = replace(Settings.from_env(env), preview_wait_seconds=9)  # the most: then 503 busy
    with create_app(settings).test_client() as client:
        jobs = []
        for _ in range(BACKLOG):  # no worker yet: their segment tasks wait in the queue
            form = {"portrait": (io.BytesIO(big), "me.jpg"), "painting": "starry-night"}
            response = client.post("/v1/jobs", data=form)
            assert response.status_code == 202, response.get_json()
            jobs.append(response.get_json()["id"])
        wait_ready(
            *(spawn(arguments(name, in_stack=True), environment(name, env), name=name) for name in SEGMENTERS)
        )

        def segment(job: str) -> dict[str, Any]:
            record = jobs_store.get(job)
            assert record is not None
            return record.stages.get("segment", {})

        def just_started(seen: set[str]) -> str | None:
            running = (job for job in jobs if segment(job).get("state") == RUNNING)
            return next((job for job in running if job not in seen), None)

        seen: set[str] = set()
        answers = []  # (status, seconds) of each preview
        for _ in range(PREVIEWS):
            started = wait_for(lambda: just_started(seen), 120, "the segmenter to start a segment task", 0.01)
            seen.add(str(started))
            start = time.perf_counter()
            response = client.post("/v1/previews", data={"portrait": (io.BytesIO(portrait_jpeg), "me.jpg")})
            answers.append((response.status_code, round(time.perf_counter() - start, 2)))
        wait_for(
            lambda: all("duration_ms" in segment(job) for job in seen), 120, "their segment tasks to end"
        )
    durations = sorted(round(segment(job)["duration_ms"] / 1000, 2) for job in seen)
    waiting = [job for job in jobs if not segment(job)]
    print(f"\n{broker.name}: previews (status, s) {answers}; the segment tasks they met {durations} s")
    assert len(waiting) >= BACKLOG - 2 * PREVIEWS, "the backlog ran out before the previews were measured"
    assert all(status == 200 for status, _ in answers), answers
    assert max(seconds for _, seconds in answers) < durations[0] / 2, (
        f"previews {answers}, segments {durations}"
    )


@pytest.fixture
def no_workers(module_redis_url: str) -> FlaskClient:
    """A gateway whose segment queue nobody consumes."""
    return create_app(Settings(redis_url=module_redis_url, preview_wait_seconds=1)).test_client()


def test_without_a_free_segmenter_the_preview_answers_busy_quickly(
    no_workers: FlaskClient, portrait_jpeg: bytes
) -> None:
    start = time.perf_counter()
    response = no_workers.post("/v1/previews", data={"portrait": (io.BytesIO(portrait_jpeg), "me.jpg")})
    assert time.perf_counter() - start < 4
    body = assert_problem(response, 503, "busy")
    assert "a job with it will still work" in body["detail"] and response.headers["Retry-After"] == "5"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({"other": "1"}, 422, "invalid-parameter"),
        (
            {"portrait": (io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "a.svg")},
            415,
            "unsupported-media-type",
        ),
        ({"portrait": (io.BytesIO(b""), "")}, 422, "invalid-parameter"),
    ],
)
def test_bad_uploads_are_refused_without_asking_a_worker(
    no_workers: FlaskClient, data: dict[str, object], status: int, code: str
) -> None:
    assert_problem(no_workers.post("/v1/previews", data=data), status, code, "portrait")


def test_a_preview_must_be_multipart(no_workers: FlaskClient) -> None:
    assert_problem(no_workers.post("/v1/previews", json={"portrait": "x"}), 415, "unsupported-media-type")

"""POST /v1/previews: the person cut out of a photo within a second, from the live stack's real segmenter;
a photo without a person refused with `no-person`; no segmenter free: 503 busy, quickly."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import requests
from flask.testing import FlaskClient
from PIL import Image

from gateway.app import create_app
from shared.gallery import SAMPLES_DIR
from shared.imageio import open_for_probe, preview_of
from shared.previews import PREVIEW_SIDE
from shared.settings import Settings
from tests.helpers.forms import assert_problem
from tests.helpers.images import enlarged
from tests.helpers.processes import Spawn, worker
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


BACKLOG = 8  # jobs whose segment tasks are queued before the preview


@pytest.mark.slow
def test_a_preview_is_answered_ahead_of_a_backlog_of_jobs(
    module_redis_url: str, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    """Segmenters take previews first: with jobs' segment tasks queued, a preview waits for at most the one
    task running, not the backlog (on the segment queue it waited for all of them, or answered busy)."""
    big = enlarged(portrait_jpeg, (2400, 3200))  # each segment task takes a while on one thread
    settings = Settings(redis_url=module_redis_url, preview_wait_seconds=9)
    with create_app(settings).test_client() as client:
        jobs = []
        for _ in range(BACKLOG):  # no worker yet: their segment tasks wait in the queue
            form = {"portrait": (io.BytesIO(big), "me.jpg"), "painting": "starry-night"}
            response = client.post("/v1/jobs", data=form)
            assert response.status_code == 202, response.get_json()
            jobs.append(response.get_json()["id"])
        worker(spawn, "segmenter", {"SITTER_REDIS_URL": module_redis_url, "SITTER_INFERENCE_THREADS": "1"})
        start = time.perf_counter()
        response = client.post("/v1/previews", data={"portrait": (io.BytesIO(portrait_jpeg), "me.jpg")})
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.get_json()
        segments = [client.get(f"/v1/jobs/{job}").get_json()["stages"]["segment"]["state"] for job in jobs]
    waiting = [state for state in segments if state != "succeeded"]
    assert len(waiting) >= BACKLOG // 2, f"the preview came after {BACKLOG - len(waiting)} jobs' segments"
    assert elapsed < 6, f"a preview behind {BACKLOG} queued jobs took {elapsed:.1f} s"


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

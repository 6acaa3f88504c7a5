"""Several people through the real stack (issue 14): redis-server, one worker process per service (the
segmenter and the stylizer with two pool processes each, so one person's task need not wait for the
other's), the Flask app over its test client.

A two-portrait job and a group-photo job each give one picture with every person inside their box, no
one covering another's face, and the painting untouched (bit for bit) outside all boxes; both people's
segment tasks, and both stylize tasks, overlap in time; failures found by a worker name the person and
the stage. The result PNGs are kept in the test's tmp folder (printed) for looking at.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.datastructures import MultiDict

from gateway.app import create_app
from services.people_io import load_people
from shared import gallery
from shared.runtime.job_store import JobStore
from shared.runtime.storage import blob_store, redis_client
from shared.settings import Settings
from tests.helpers.images import PHOTOS, group_photo, image_of, jpeg, small
from tests.helpers.jobs import WORKER_LIMITS, poll
from tests.helpers.processes import Spawn, Spawned, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

CAT = Path(__file__).resolve().parent / "data" / "person_check" / "no-person-cat.jpg"
LIMITS = {  # two pool processes per worker share two busy cores: generous time limits
    "SITTER_TASK_SOFT_TIME_LIMIT": "40",
    "SITTER_TASK_TIME_LIMIT": "50",
    "SITTER_VISIBILITY_TIMEOUT": "60",
    "SITTER_WORKER_CONCURRENCY": "2",
}


@pytest.fixture(scope="module")
def env(module_redis_url: str) -> dict[str, str]:
    return {**WORKER_LIMITS, **LIMITS, "SITTER_REDIS_URL": module_redis_url}


@pytest.fixture(scope="module")
def workers(module_spawn: Spawn, env: dict[str, str]) -> Iterator[dict[str, Spawned]]:
    started = start_workers(module_spawn, env, "starry-night,great-wave")
    yield started
    for item in started.values():
        item.stop()


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> Settings:
    return Settings(redis_url=env["SITTER_REDIS_URL"], max_working_size=384, max_active_jobs_per_key=10**6)


@pytest.fixture
def client(settings: Settings, workers: dict[str, Spawned]) -> Iterator[FlaskClient]:
    with create_app(settings).test_client() as test_client:
        yield test_client


def submit_people(client: FlaskClient, photos: list[bytes], painting: str, **fields: str) -> str:
    form: list[tuple[str, Any]] = [
        ("portrait", (io.BytesIO(p), f"photo{k}.jpg")) for k, p in enumerate(photos)
    ]
    form += [("painting", painting), *((name.replace("_", "."), value) for name, value in fields.items())]
    response = client.post("/v1/jobs", data=MultiDict(form))
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def _rect(box: dict[str, int]) -> tuple[int, int, int, int]:
    return (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"])


def _touches(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check_result(
    client: FlaskClient, settings: Settings, job: dict[str, Any], painting_id: str, keep: Path
) -> np.ndarray:
    """Every person inside their box, nobody's box on another's face, the painting untouched outside."""
    assert job["status"] == "succeeded", job["error"]
    people = job["result"]["people"]
    image = image_of(client.get(job["links"]["result"]).data)
    Image.fromarray(image).save(keep)
    print(f"\nresult: {keep}")
    painting = gallery.load_painting(painting_id)
    assert image.shape == painting.shape
    height, width = painting.shape[:2]
    outside = np.ones(painting.shape[:2], dtype=bool)
    faces = load_people(blob_store(settings), job["id"]).group.faces
    assert len(faces) == len(people)
    for i, person in enumerate(people):
        x0, y0, x1, y1 = _rect(person["box"])
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, person
        outside[y0:y1, x0:x1] = False
        for j, face in enumerate(faces):
            if i != j:
                assert not _touches((x0, y0, x1, y1), face), f"person {i + 1} covers person {j + 1}'s face"
    assert np.array_equal(image[outside], painting[outside]), "pixels outside every person's box changed"
    for person in people:
        x0, y0, x1, y1 = _rect(person["box"])
        changed = (image[y0:y1, x0:x1] != painting[y0:y1, x0:x1]).any(axis=2)
        assert changed.mean() > 0.1, f"nobody painted in person {person['person']}'s box"
    return image


def overlapping_job(
    client: FlaskClient, settings: Settings, photos: list[bytes], painting: str, **fields: str
) -> dict[str, Any]:
    """A succeeded job whose people's segment tasks overlapped in time, and their stylize tasks too."""
    jobs = JobStore(redis_client(settings.redis_url), retention_seconds=3600)
    for _ in range(2):  # one retry absorbs a scheduling hiccup on a busy 2-core machine
        job = poll(client, submit_people(client, photos, painting, **fields), timeout=180)
        assert job["status"] == "succeeded", job["error"]
        record = jobs.get(job["id"])
        assert record is not None and record.people == 2
        spans = {name: (s["started_at"], s["finished_at"]) for name, s in record.stages.items()}
        origin = spans["plan"][1]
        shown = {name: (round(a - origin, 3), round(b - origin, 3)) for name, (a, b) in spans.items()}
        print("\nstage spans, s after the plan ended:", shown)
        if all(
            spans[f"{stage}.1"][0] < spans[f"{stage}.2"][1]
            and spans[f"{stage}.2"][0] < spans[f"{stage}.1"][1]
            for stage in ("segment", "stylize")
        ):
            return job
    raise AssertionError("the two people's segment and stylize tasks did not overlap in time")


def test_two_portraits_in_one_painting(client: FlaskClient, settings: Settings, tmp_path: Path) -> None:
    photos = [jpeg(small(PHOTOS / "obama-portrait.jpg", 240)), jpeg(small(PHOTOS / "grace-hopper.jpg", 240))]
    job = overlapping_job(client, settings, photos, "starry-night")
    stages = job["stages"]
    assert list(stages) == ["plan", "segment", "stylize", "composite"]
    assert all(stages[name]["state"] == "succeeded" for name in stages)
    assert [p["person"] for p in stages["segment"]["people"]] == [1, 2]
    assert all(p["worker"].startswith("stylizer@") for p in stages["stylize"]["people"])
    assert [p["person"] for p in job["result"]["people"]] == [1, 2]
    assert job["result"]["order"] == [1, 2] and job["result"]["placement"]["kind"] == "group"
    check_result(client, settings, job, "starry-night", tmp_path / "two-portraits.png")


def test_every_person_of_a_group_photo(client: FlaskClient, settings: Settings, tmp_path: Path) -> None:
    job = overlapping_job(client, settings, [group_photo()], "great-wave", people="all")
    people = job["result"]["people"]
    assert [p["photo"] for p in people] == [1, 1]
    heights = [p["box"]["h"] for p in people]
    assert heights[1] < heights[0], "the child (3/4 size in the photo) is not smaller in the painting"
    assert job["result"]["order"][-1] == 1, "the larger face is not in front"
    check_result(client, settings, job, "great-wave", tmp_path / "group-photo.png")


def test_explicit_boxes_and_order(client: FlaskClient, settings: Settings, tmp_path: Path) -> None:
    photos = [jpeg(small(PHOTOS / "obama-portrait.jpg", 240)), jpeg(small(PHOTOS / "grace-hopper.jpg", 240))]
    fields = {"x_1": "100", "y_1": "200", "height_1": "300", "x_2": "600", "y_2": "250", "height_2": "250"}
    job = poll(client, submit_people(client, photos, "starry-night", order="2,1", **fields), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    boxes = [p["box"] for p in job["result"]["people"]]
    assert [(b["x"], b["y"], b["h"]) for b in boxes] == [(100, 200, 300), (600, 250, 250)]
    assert [p["placement"]["kind"] for p in job["result"]["people"]] == ["explicit", "explicit"]
    assert job["result"]["order"] == [2, 1]
    check_result(client, settings, job, "starry-night", tmp_path / "explicit-boxes.png")


def test_a_group_photo_with_nobody_fails_at_the_plan(client: FlaskClient) -> None:
    cat = jpeg(np.asarray(Image.open(CAT).convert("RGB").resize((240, 300))))
    job = poll(client, submit_people(client, [cat], "starry-night", people="all"), timeout=120)
    assert job["status"] == "failed"
    assert job["error"]["stage"] == "plan" and job["error"]["code"] == "no-person"
    assert "no person found in the group photo" in job["error"]["detail"]


def test_a_portrait_with_nobody_names_the_person(client: FlaskClient) -> None:
    cat = jpeg(np.asarray(Image.open(CAT).convert("RGB").resize((240, 300))))
    photos = [jpeg(small(PHOTOS / "obama-portrait.jpg", 240)), cat]
    job = poll(client, submit_people(client, photos, "starry-night"), timeout=120)
    assert job["status"] == "failed", job
    assert job["error"]["stage"] == "segment" and job["error"]["person"] == 2
    assert job["error"]["code"] == "no-person" and job["error"]["detail"].startswith("person 2 (photo 2): ")
    assert job["stages"]["segment"]["state"] == "failed"


def test_a_field_for_a_person_the_photo_lacks_fails_at_the_plan(client: FlaskClient) -> None:
    job = poll(
        client, submit_people(client, [group_photo()], "great-wave", people="all", x_3="10"), timeout=120
    )
    assert job["status"] == "failed"
    assert job["error"]["stage"] == "plan" and job["error"]["code"] == "invalid-parameter"
    assert job["error"]["detail"].startswith("x.3 is for person 3, but the photos hold 2 people")


def test_delete_cancels_a_job_with_several_people_and_leaves_nothing(
    client: FlaskClient, settings: Settings
) -> None:
    photos = [jpeg(small(PHOTOS / "obama-portrait.jpg", 240)), jpeg(small(PHOTOS / "grace-hopper.jpg", 240))]
    job_id = submit_people(client, photos, "starry-night")
    jobs = JobStore(redis_client(settings.redis_url), retention_seconds=3600)

    def fanned_out() -> bool:
        record = jobs.get(job_id)
        return record is not None and (record.people is not None or record.status != "queued")

    wait_for(fanned_out, 60, "the plan step to send the people's tasks", interval=0.005)
    deleted = client.delete(f"/v1/jobs/{job_id}").get_json()
    print(f"\nDELETE answered {deleted['status']}; stages then: {sorted(deleted['stages'])}")
    assert deleted["status"] in ("canceled", "succeeded"), deleted  # a fast machine may have finished
    time.sleep(3)  # let any task still running end, see the cancellation and clean up after itself
    assert blob_store(settings).delete_prefix(f"{job_id}/") == 0, "a blob of the deleted job was left"
    record = jobs.get(job_id)
    assert record is not None and record.status == deleted["status"]
    if deleted["status"] == "canceled":
        assert all(state["state"] in ("canceled", "succeeded") for state in record.stages.values()), record


def test_the_service_paints_what_sitter_blend_paints(client: FlaskClient, settings: Settings) -> None:
    """The same group photo through the chord and through the in-process `blend_group` (what `sitter
    blend --people all` runs): one joint plan, so the same boxes and, but for the 16-bit matte's rounding,
    the same pixels."""
    from sitter.pipeline import BlendOptions, Pipeline

    photo = group_photo()
    job = poll(client, submit_people(client, [photo], "great-wave", people="all"), timeout=180)
    assert job["status"] == "succeeded", job["error"]
    service = image_of(client.get(job["links"]["result"]).data)
    painting = gallery.load_painting("great-wave")
    options = BlendOptions(max_size=settings.max_working_size)
    group = Pipeline().blend_group(
        [image_of(photo)], painting, None, options, painting_id="great-wave", group_photo=True
    )
    boxes = [p["box"] for p in job["result"]["people"]]
    assert boxes == [{"x": b.x, "y": b.y, "w": b.w, "h": b.h} for b in group.boxes]
    assert [k - 1 for k in job["result"]["order"]] == group.order
    difference = np.abs(service.astype(np.int16) - group.image)
    assert difference.max() <= 2 and difference.mean() < 0.01, (difference.max(), difference.mean())

"""The operator's own gallery (issue 25) through the real workers: an admin adds a painting that is not
bundled (Munch's The Scream), a stylizer analyses it, it is listed with spots, a job in it succeeds and
keeps clear of its painted faces; ordinary keys, bad images and bad fields are refused; it survives a
restart of every worker and of the gateway; a delete hides it while a job accepted before still finishes.
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

from gateway.app import create_app
from shared.added_paintings import STYLE_VECTOR
from shared.gallery_store import ANALYSIS_FILE
from shared.runtime.gallery_store import gallery_store
from shared.runtime.storage import redis_client
from shared.settings import Settings
from tests.helpers.images import image_of
from tests.helpers.jobs import TERMINAL
from tests.helpers.processes import Spawn, Spawned, start_workers, worker
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

SCREAM = Path(__file__).parent / "data" / "gallery" / "the-scream.jpg"
USER, ADMIN = "user-key", "admin-key"
WORKER_MAX_PIXELS = 2_000_000  # The Scream has 1.83 MP
AS_USER, AS_ADMIN = {"X-API-Key": USER}, {"X-API-Key": ADMIN}
FIELDS = {"id": "the-scream", "title": "The Scream", "artist": "Edvard Munch", "year": "1893"}
LICENCE = {"licence": "public domain", "source": "jcjohnson/fast-neural-style images/styles/the_scream.jpg"}


@pytest.fixture(scope="module")
def env(module_redis_url: str) -> dict[str, str]:
    return {
        "SITTER_REDIS_URL": module_redis_url,
        "SITTER_INFERENCE_THREADS": "1",
        "SITTER_MAX_WORKING_SIZE": "512",
        "SITTER_LOG_LEVEL": "INFO",
        "SITTER_MAX_PIXELS": str(WORKER_MAX_PIXELS),  # the gateway's is larger: how a painting fails below
    }


@pytest.fixture(scope="module")
def workers(module_spawn: Spawn, env: dict[str, str]) -> Iterator[dict[str, Spawned]]:
    started = start_workers(module_spawn, env, "great-wave,gallery")
    yield started
    for item in started.values():
        item.stop()


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> Settings:
    return Settings(redis_url=env["SITTER_REDIS_URL"], api_keys=(USER,), admin_keys=(ADMIN,))


@pytest.fixture
def client(settings: Settings, workers: dict[str, Spawned]) -> Iterator[FlaskClient]:
    with create_app(settings).test_client() as test_client:
        yield test_client


def add(client: FlaskClient, image: bytes, headers: dict[str, str], **fields: str) -> Any:
    form: dict[str, Any] = {**FIELDS, **LICENCE, **fields, "image": (io.BytesIO(image), "painting.jpg")}
    return client.post("/v1/paintings", data=form, headers=headers)


def wait_analysed(client: FlaskClient, painting_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        document: dict[str, Any] = client.get(f"/v1/paintings/{painting_id}", headers=AS_USER).get_json()
        return document if document["analysis"] != "pending" else None

    found = wait_for(done, timeout, f"painting {painting_id} to be analysed", interval=0.5)
    assert isinstance(found, dict)
    return found


def poll(client: FlaskClient, job_id: str, timeout: float = 90) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        document: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=AS_USER).get_json()
        return document if document["status"] in TERMINAL else None

    found = wait_for(finished, timeout, f"job {job_id} to finish", interval=0.2)
    assert isinstance(found, dict)
    return found


def job(client: FlaskClient, portrait: bytes, **fields: str) -> Any:
    form = {"portrait": (io.BytesIO(portrait), "me.jpg"), **fields}
    return client.post("/v1/jobs", data=form, headers=AS_USER)


def test_admin_adds_a_painting_and_jobs_use_it(
    client: FlaskClient, settings: Settings, workers: dict[str, Spawned], portrait_jpeg: bytes
) -> None:
    scream = SCREAM.read_bytes()
    assert add(client, scream, {}).status_code == 401
    refused = add(client, scream, AS_USER)
    assert refused.status_code == 403 and refused.get_json()["code"] == "admin-required"
    not_image = add(client, b"%PDF-1.4 not a painting", AS_ADMIN)
    assert not_image.status_code == 422 and not_image.get_json()["field"] == "image", not_image.get_json()
    for bad, field in (({"id": "The Scream"}, "id"), ({"id": "builtin-3"}, "id"), ({"title": ""}, "title")):
        answer = add(client, scream, AS_ADMIN, **bad)
        assert answer.status_code == 422 and answer.get_json()["field"] == field, answer.get_json()
    taken = add(client, scream, AS_ADMIN, id="great-wave")
    assert taken.status_code == 409 and taken.get_json()["code"] == "painting-exists"
    assert client.get("/v1/paintings/the-scream", headers=AS_USER).status_code == 404  # nothing stored

    started = time.monotonic()
    added = add(client, scream, AS_ADMIN)
    assert added.status_code == 202, added.get_json()
    assert added.get_json()["analysis"] == "pending" and added.headers["Location"].endswith("/the-scream")
    early = job(client, portrait_jpeg, painting="the-scream")
    assert early.status_code in (202, 409), early.get_json()  # 409 painting-not-ready while it is analysed
    if early.status_code == 409:
        assert early.get_json()["code"] == "painting-not-ready" and early.headers["Retry-After"]
    item = wait_analysed(client, "the-scream")
    analysed_in = time.monotonic() - started
    print(f"the-scream added and analysed in {analysed_in:.1f} s")
    assert item["analysis"] == "ready", item
    assert analysed_in < 60, f"the analysis took {analysed_in:.0f} s"
    assert (item["width"], item["height"], item["licence"]) == (1200, 1528, "public domain")
    assert item["spots"] and all({"x", "y", "width", "height", "reason"} <= set(s) for s in item["spots"])
    listed = {p["id"]: p for p in client.get("/v1/paintings", headers=AS_USER).get_json()["paintings"]}
    assert listed["the-scream"]["bundled"] is False and listed["great-wave"]["bundled"] is True
    thumbnail = client.get("/v1/paintings/the-scream/image?size=thumbnail")
    assert thumbnail.status_code == 200 and max(Image.open(io.BytesIO(thumbnail.data)).size) == 256
    assert client.get("/v1/paintings/the-scream/image").data == scream
    styles = {s["id"]: s for s in client.get("/v1/styles", headers=AS_USER).get_json()["styles"]}
    assert styles["the-scream"]["queue"] == "stylize.gallery"

    store = gallery_store(settings, redis_client(settings.redis_url))
    record = store.get("the-scream")
    assert record is not None
    import json

    analysis = json.loads(store.read("the-scream", record.version, ANALYSIS_FILE))
    assert len(analysis[STYLE_VECTOR]) == 100
    faces = [face["box"] for face in analysis["faces"]]

    submitted = job(client, portrait_jpeg, painting="the-scream")
    assert submitted.status_code == 202, submitted.get_json()
    done = poll(client, submitted.get_json()["id"], timeout=90)
    assert done["status"] == "succeeded", done["error"]
    box = done["result"]["box"]
    x0, y0, x1, y1 = box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]
    for fx0, fy0, fx1, fy1 in faces:
        assert x1 <= fx0 or fx1 <= x0 or y1 <= fy0 or fy1 <= y0, f"the person covers a painted face {faces}"
    result = image_of(client.get(f"/v1/jobs/{done['id']}/result", headers=AS_USER).data)
    assert result.shape[:2] == (1528, 1200)
    painting = np.asarray(Image.open(SCREAM).convert("RGB"))
    changed = np.abs(result.astype(int) - painting.astype(int)).sum(axis=2) > 30
    assert 0.01 < changed.mean() < 0.6, changed.mean()
    spotted = job(client, portrait_jpeg, painting="great-wave", style="the-scream", spot="0")
    assert spotted.status_code == 202, spotted.get_json()
    assert poll(client, spotted.get_json()["id"], timeout=90)["status"] == "succeeded"

    changed_meta = client.patch("/v1/paintings/the-scream", json={"title": "Der Schrei"}, headers=AS_ADMIN)
    assert changed_meta.status_code == 200 and changed_meta.get_json()["title"] == "Der Schrei"
    assert client.patch("/v1/paintings/the-scream", json={"width": "3"}, headers=AS_ADMIN).status_code == 422
    read_only = client.delete("/v1/paintings/great-wave", headers=AS_ADMIN)
    assert read_only.status_code == 409 and read_only.get_json()["code"] == "painting-read-only"


def test_a_popular_painting_gets_a_worker_group_of_its_own(
    client: FlaskClient, module_spawn: Spawn, env: dict[str, str], portrait_jpeg: bytes
) -> None:
    """`own_queue: true` routes its jobs to `stylize.<id>`, which the shared group does not serve: the
    job waits until a stylizer started with `--styles <id>` (a dedicated group) takes it."""
    if client.get("/v1/paintings/the-scream").status_code == 404:
        assert add(client, SCREAM.read_bytes(), AS_ADMIN).status_code == 202
    assert wait_analysed(client, "the-scream")["analysis"] == "ready"
    routed = client.patch("/v1/paintings/the-scream", json={"own_queue": True}, headers=AS_ADMIN)
    assert routed.status_code == 200 and routed.get_json()["queue"] == "stylize.the-scream"
    bad = client.patch("/v1/paintings/the-scream", json={"own_queue": "maybe"}, headers=AS_ADMIN)
    assert bad.status_code == 422 and bad.get_json()["field"] == "own_queue"
    submitted = job(client, portrait_jpeg, painting="the-scream")
    assert submitted.status_code == 202, submitted.get_json()
    job_id = submitted.get_json()["id"]
    time.sleep(3)
    waiting = client.get(f"/v1/jobs/{job_id}", headers=AS_USER).get_json()
    assert waiting["stages"]["stylize"]["queue"] == "stylize.the-scream"
    assert waiting["stages"]["stylize"]["state"] == "pending", waiting
    dedicated = worker(module_spawn, "stylizer", env, "--styles", "the-scream")
    try:
        done = poll(client, job_id)
        assert done["status"] == "succeeded", done["error"]
        assert done["result"]["painting"]["licence"] == "public domain"
    finally:
        dedicated.stop()
    unknown = worker(module_spawn, "stylizer", env, "--styles", "no-such-painting", wait=False)
    assert unknown.process.wait(60) == 1 and "unknown style 'no-such-painting'" in unknown.log()
    back = client.patch("/v1/paintings/the-scream", json={"own_queue": False}, headers=AS_ADMIN)
    assert back.get_json()["queue"] == "stylize.gallery"


def test_the_painting_survives_restarts_and_a_delete_keeps_accepted_jobs(
    client: FlaskClient,
    settings: Settings,
    workers: dict[str, Spawned],
    module_spawn: Spawn,
    env: dict[str, str],
    portrait_jpeg: bytes,
) -> None:
    if client.get("/v1/paintings/the-scream").status_code == 404:
        assert add(client, SCREAM.read_bytes(), AS_ADMIN).status_code == 202
    assert wait_analysed(client, "the-scream")["analysis"] == "ready"
    for item in workers.values():
        item.stop()
    # a job accepted while no worker runs, then the painting deleted: the job still finishes on it
    queued = job(client, portrait_jpeg, painting="the-scream")
    assert queued.status_code == 202, queued.get_json()
    assert client.delete("/v1/paintings/the-scream", headers=AS_USER).status_code == 403
    assert client.delete("/v1/paintings/the-scream", headers=AS_ADMIN).status_code == 204
    assert client.get("/v1/paintings/the-scream").status_code == 404
    refused = job(client, portrait_jpeg, painting="the-scream")
    assert refused.status_code == 422 and refused.get_json()["code"] == "unknown-painting"
    ids = [p["id"] for p in client.get("/v1/paintings").get_json()["paintings"]]
    assert "the-scream" not in ids

    workers.update(start_workers(module_spawn, env, "great-wave,gallery"))  # every worker restarted
    with create_app(settings).test_client() as fresh:  # and a new gateway
        finished = poll(fresh, queued.get_json()["id"], timeout=90)
        assert finished["status"] == "succeeded", finished["error"]
        # added again under the same id: a new version, analysed again, and listed
        assert add(fresh, SCREAM.read_bytes(), AS_ADMIN).status_code == 202
        assert wait_analysed(fresh, "the-scream")["analysis"] == "ready"


def test_a_painting_the_worker_cannot_analyse_is_marked_failed_and_refused(
    client: FlaskClient, workers: dict[str, Spawned], portrait_jpeg: bytes
) -> None:
    """A painting that passes the gateway's checks but not the worker's (here its pixel limit is lower)
    ends `failed` with the reason, and jobs naming it are refused with it."""
    large = io.BytesIO()
    noise = np.random.default_rng(5).integers(0, 255, (1500, 1500, 3), dtype=np.uint8)
    Image.fromarray(noise).save(large, "JPEG", quality=70)
    answer = add(client, large.getvalue(), AS_ADMIN, id="too-large-for-workers")
    assert answer.status_code == 202, answer.get_json()
    item = wait_analysed(client, "too-large-for-workers")
    assert item["analysis"] == "failed" and "pixels" in item["error"], item
    assert "thumbnail" not in item
    refused = job(client, portrait_jpeg, painting="too-large-for-workers")
    assert refused.status_code == 422 and refused.get_json()["code"] == "painting-analysis-failed"

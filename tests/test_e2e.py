"""End to end, with real services: redis-server, one Celery worker process per service (separate queues),
the Flask app; jobs are submitted over HTTP (test client), polled to completion and their images checked.

Workers start once per module. Time limits and the visibility timeout are short here so that a killed
worker's task comes back within seconds; tasks on these small images take well under a second.
"""

from __future__ import annotations

import io
import json
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import numpy as np
import pytest
import redis
from flask.testing import FlaskClient
from PIL import Image

from gateway.app import create_app
from shared import gallery
from shared.jobs import PORTRAIT_BLOB, STYLIZED_BLOB, blob_key
from shared.runtime.storage import blob_store
from shared.settings import Settings
from tests.helpers.brokers import BrokerChoice
from tests.helpers.images import image_of
from tests.helpers.jobs import WORKER_LIMITS, poll, submit
from tests.helpers.processes import Spawn, Spawned, start_workers, worker
from tests.helpers.s3 import S3_CREDENTIALS
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(redis_url: str, broker: BrokerChoice) -> dict[str, str]:
    """This module's own Redis database (and RabbitMQ vhost), so other modules' tasks never reach these
    workers."""
    return {**broker.env(redis_url, 2), **WORKER_LIMITS}


@pytest.fixture(scope="module")
def workers(module_spawn: Spawn, env: dict[str, str]) -> Iterator[dict[str, Spawned]]:
    started = start_workers(module_spawn, env, "starry-night,great-wave,mona-lisa,custom")
    yield started
    for item in started.values():  # before the next broker's workers start
        item.stop()


@pytest.fixture(scope="module")
def settings(env: dict[str, str]) -> Settings:
    return Settings(
        redis_url=env["SITTER_REDIS_URL"],
        broker_url=env.get("SITTER_BROKER_URL", ""),
        callback_allowed_hosts=("127.0.0.1",),
        callback_allow_private=True,
    )


@pytest.fixture
def client(settings: Settings, workers: dict[str, Spawned]) -> Iterator[FlaskClient]:
    with create_app(settings).test_client() as test_client:
        yield test_client


@pytest.mark.both_brokers
def test_a_job_puts_the_person_into_the_painting(client: FlaskClient, portrait_jpeg: bytes) -> None:
    job_id = submit(client, portrait_jpeg, x="300", y="120", height="360")
    job = poll(client, job_id)
    assert job["status"] == "succeeded", job["error"]
    assert all(job["stages"][stage]["state"] == "succeeded" for stage in ("segment", "stylize", "composite"))
    assert all(job["stages"][stage]["duration_ms"] > 0 for stage in ("segment", "stylize", "composite"))
    assert job["stages"]["stylize"]["worker"].startswith("stylizer@")

    response = client.get(f"/v1/jobs/{job_id}/result")
    assert response.status_code == 200 and response.content_type == "image/png" and response.headers["ETag"]
    assert (
        client.get(
            f"/v1/jobs/{job_id}/result", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )
    result = image_of(response.data)
    painting = gallery.load_painting("starry-night")
    assert result.shape == painting.shape
    box = job["result"]["box"]
    assert (box["x"], box["y"], box["h"]) == (300, 120, 360)
    inside = np.zeros(painting.shape[:2], bool)
    inside[box["y"] : box["y"] + box["h"], box["x"] : box["x"] + box["w"]] = True
    assert np.array_equal(result[~inside], painting[~inside]), "pixels outside the placement box changed"
    changed = np.abs(result.astype(int) - painting.astype(int)).sum(axis=2) > 30
    assert changed[inside].mean() > 0.2, "no person in the placement box"
    centre = changed[box["y"] + box["h"] // 3, box["x"] : box["x"] + box["w"]]
    assert centre[len(centre) // 2], "the middle of the box (the person's face) was not painted"

    for name, mode in (("mask", "I;16"), ("stylized", "RGB"), ("cutout", "RGBA")):
        artifact = client.get(f"/v1/jobs/{job_id}/artifacts/{name}")
        assert artifact.status_code == 200 and artifact.content_type == "image/png", name
        assert Image.open(io.BytesIO(artifact.data)).mode == mode, name


def parallel_job(client: FlaskClient, portrait: bytes, **fields: Any) -> dict[str, Any]:
    """A succeeded job whose segment and stylize stages overlapped in time, on separate workers."""
    for _ in range(2):  # one retry absorbs a scheduling hiccup on a busy 2-core machine
        job = poll(client, submit(client, portrait, **fields))
        assert job["status"] == "succeeded", job["error"]
        segment, stylize = job["stages"]["segment"], job["stages"]["stylize"]
        assert segment["worker"] != stylize["worker"]
        if segment["started_at"] < stylize["finished_at"] and stylize["started_at"] < segment["finished_at"]:
            return job
    raise AssertionError("segment and stylize did not overlap in time")


def test_header_tasks_run_in_parallel(client: FlaskClient, portrait_jpeg: bytes) -> None:
    parallel_job(client, portrait_jpeg, style="great-wave")


def test_default_job_places_the_person_off_the_painted_face_in_parallel(
    client: FlaskClient, portrait_jpeg: bytes
) -> None:
    """The default (auto placement, harmonised, the painting's own local style) through the real chord:
    the stylizer plans from the painting's analysis and the portrait's face while the segmenter runs, and
    the compositor follows the stored plan."""
    from services.painting.gallery_analysis import gallery_analysis

    painting = gallery.load_painting("mona-lisa")
    faces = [face.box for face in gallery_analysis("mona-lisa").faces]
    job = parallel_job(client, portrait_jpeg, painting="mona-lisa")
    placement, box = job["result"]["placement"], job["result"]["box"]
    assert placement["kind"] == "auto" and "face matched" in placement["reason"]
    x0, y0, x1, y1 = box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"]
    for fx0, fy0, fx1, fy1 in faces:
        assert x1 <= fx0 or fx1 <= x0 or y1 <= fy0 or fy1 <= y0, f"the person covers the painted face {faces}"
    result = image_of(client.get(f"/v1/jobs/{job['id']}/result").data)
    inside = np.zeros(painting.shape[:2], bool)
    inside[max(y0, 0) : y1, max(x0, 0) : x1] = True
    assert np.array_equal(result[~inside], painting[~inside]), "pixels outside the placement box changed"
    assert np.abs(result[inside].astype(int) - painting[inside].astype(int)).sum(axis=1).mean() > 10


def test_custom_painting_and_jpeg_output(client: FlaskClient, portrait_jpeg: bytes) -> None:
    canvas = np.zeros((300, 400, 3), np.uint8)
    canvas[..., 0] = np.linspace(0, 255, 400, dtype=np.uint8)[None, :]
    canvas[::20] = 255
    buffer = io.BytesIO()
    Image.fromarray(canvas).save(buffer, "PNG")
    job = poll(
        client, submit(client, portrait_jpeg, painting="", painting_file=buffer.getvalue(), format="jpeg")
    )
    assert job["status"] == "succeeded", job["error"]
    assert job["params"]["style"] == "custom" and job["stages"]["stylize"]["queue"] == "stylize.custom"
    result = client.get(f"/v1/jobs/{job['id']}/result")
    assert result.content_type == "image/jpeg" and image_of(result.data).shape == (300, 400, 3)


def test_webhook_reports_completion(client: FlaskClient, portrait_jpeg: bytes) -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        job_id = submit(client, portrait_jpeg, callback_url=f"http://127.0.0.1:{server.server_port}/done")
        assert poll(client, job_id)["status"] == "succeeded"
        wait_for(lambda: received, 10, "the webhook")
        assert received[0]["id"] == job_id and received[0]["status"] == "succeeded"
        assert received[0]["result"]["format"] == "png"
    finally:
        server.shutdown()


def test_idempotency_key_runs_the_job_once(
    client: FlaskClient, portrait_jpeg: bytes, settings: Settings
) -> None:
    headers = {"Idempotency-Key": f"e2e-{time.time()}"}
    first = submit(client, portrait_jpeg, headers)
    second = submit(client, portrait_jpeg, headers)
    assert first == second
    assert poll(client, first)["status"] == "succeeded"


@pytest.mark.both_brokers
def test_failures_are_reported_with_stage_and_reason(client: FlaskClient, portrait_jpeg: bytes) -> None:
    big = io.BytesIO()
    Image.open(io.BytesIO(portrait_jpeg)).resize((600, 800)).save(big, "JPEG")
    job = poll(client, submit(client, big.getvalue()))  # passes the gateway's pixel limit, not the workers'
    assert job["status"] == "failed"
    assert job["error"]["stage"] in ("segment", "stylize") and job["error"]["code"] == "image-too-large"
    assert "pixels" in job["error"]["detail"]
    assert job["stages"][job["error"]["stage"]]["state"] == "failed"
    assert client.get(f"/v1/jobs/{job['id']}/result").status_code == 409

    blank = io.BytesIO()
    Image.new("RGB", (160, 200), (128, 128, 128)).save(blank, "PNG")
    job = poll(client, submit(client, blank.getvalue()))  # nobody in the photo: the segmenter says so
    assert job["status"] == "failed" and job["error"]["stage"] == "segment", job
    assert job["error"]["code"] == "no-person" and "no person found" in job["error"]["detail"]
    assert "composite" not in job["stages"] or job["stages"]["composite"]["state"] != "succeeded"


@pytest.mark.both_brokers
def test_cancel_stops_pending_work(
    client: FlaskClient, portrait_jpeg: bytes, settings: Settings, spawn: Spawn, env: dict[str, str]
) -> None:
    job_id = submit(client, portrait_jpeg, style="builtin-5")  # no worker serves builtin-5 yet
    wait_for(
        lambda: client.get(f"/v1/jobs/{job_id}").get_json()["stages"]["segment"]["state"] == "succeeded",
        30,
        "segmentation",
    )
    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.status_code == 200 and response.get_json()["status"] == "canceled"
    blobs = blob_store(settings)
    assert not blobs.exists(blob_key(job_id, PORTRAIT_BLOB))
    late = worker(spawn, "stylizer", env, "--styles", "builtin-5")
    wait_for(lambda: "skipping stylize" in late.log(), 30, "the late worker to skip the canceled job")
    job = client.get(f"/v1/jobs/{job_id}").get_json()
    assert job["status"] == "canceled" and job["stages"]["stylize"]["state"] == "canceled"
    assert not blobs.exists(blob_key(job_id, STYLIZED_BLOB))
    assert client.get(f"/v1/jobs/{job_id}/result").status_code == 409


def test_s3_storage_backend(spawn: Spawn, s3_endpoint: str, redis_url: str, portrait_jpeg: bytes) -> None:
    """The same flow with blobs in S3 (moto over HTTP): inputs, intermediates and result are objects."""
    bucket = f"sitter-e2e-{int(time.time())}"
    env = {
        "SITTER_REDIS_URL": redis_url.rsplit("/", 1)[0] + "/4",
        "SITTER_STORAGE": "s3",
        "SITTER_S3_BUCKET": bucket,
        "SITTER_S3_ENDPOINT_URL": s3_endpoint,
        **WORKER_LIMITS,
        **S3_CREDENTIALS,
    }
    start_workers(spawn, env, "great-wave")
    settings = Settings(
        redis_url=env["SITTER_REDIS_URL"], storage="s3", s3_bucket=bucket, s3_endpoint_url=s3_endpoint
    )
    with create_app(settings).test_client() as client:
        job = poll(client, submit(client, portrait_jpeg, painting="great-wave"))
        assert job["status"] == "succeeded", job["error"]
        result = image_of(client.get(f"/v1/jobs/{job['id']}/result").data)
        assert result.shape == gallery.load_painting("great-wave").shape
        s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
        keys = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]}
        names = {
            "portrait",
            "matte.png",
            "plan.json",
            "stylized.png",
            "cutout.png",
            "thumbnail.jpg",
            "result.png",
        }
        assert keys == {f"jobs/{job['id']}/{name}" for name in names}
        assert not redis.Redis.from_url(env["SITTER_REDIS_URL"]).keys("sitter:blob:*")
        client.delete(f"/v1/jobs/{job['id']}")
        assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


GRACEFUL_STYLE = "builtin-4"  # served only by the worker the SIGTERM test stops


def test_sigterm_lets_the_running_task_finish(
    client: FlaskClient, portrait_jpeg: bytes, spawn: Spawn, env: dict[str, str]
) -> None:
    """SIGTERM (what Kubernetes and docker send) to a worker busy with a task: it finishes that task, the job
    succeeds without any other worker for that queue, and the worker exits 0."""
    stopping = worker(spawn, "stylizer", env, "--styles", GRACEFUL_STYLE)
    large = io.BytesIO()  # a bigger photo keeps the stylize stage busy long enough to be caught mid-work
    Image.open(io.BytesIO(portrait_jpeg)).resize((300, 400)).save(large, "JPEG")
    job_id = submit(client, large.getvalue(), style=GRACEFUL_STYLE)
    wait_for(
        lambda: client.get(f"/v1/jobs/{job_id}").get_json()["stages"]["stylize"]["state"] == "running",
        30,
        "stylize to start",
        interval=0.005,
    )
    stopping.process.send_signal(signal.SIGTERM)  # to the main process only, as an orchestrator does
    job = poll(client, job_id, timeout=60)
    assert job["status"] == "succeeded", job["error"]
    assert job["stages"]["stylize"]["worker"].startswith("stylizer@")
    assert stopping.process.wait(60) == 0, stopping.log()[-3000:]

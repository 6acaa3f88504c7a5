"""SIGTERM (what Kubernetes and docker send) to a worker busy with a task: it finishes that task, the job
succeeds without any other worker for that queue, and the worker exits 0."""

from __future__ import annotations

import io
import signal

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.conftest import Spawn, wait_for, worker
from tests.test_e2e import client, env, poll, settings, submit, workers

pytestmark = pytest.mark.slow
__all__ = ["client", "env", "settings", "workers"]  # the e2e module's fixtures: its workers and app

STYLE = "builtin-4"  # served only by the worker this test stops


def test_sigterm_lets_the_running_task_finish(
    client: FlaskClient, portrait_jpeg: bytes, spawn: Spawn, env: dict[str, str]
) -> None:
    stopping = worker(spawn, "stylizer", env, "--styles", STYLE)
    large = io.BytesIO()  # a bigger photo keeps the stylize stage busy long enough to be caught mid-work
    Image.open(io.BytesIO(portrait_jpeg)).resize((300, 400)).save(large, "JPEG")
    job_id = submit(client, large.getvalue(), style=STYLE)
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

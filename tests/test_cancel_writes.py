"""DELETE while a stage runs: the stage's late writes are removed too, so a deleted job leaves nothing."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import MATTE_BLOB, PLAN_BLOB, STYLIZED_BLOB, blob_key
from shared.runtime.storage import blob_store
from shared.settings import Settings
from tests.helpers.images import enlarged
from tests.helpers.processes import Spawn, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow


def _job_state(client: FlaskClient, job_id: str) -> dict[str, object]:
    document: dict[str, object] = client.get(f"/v1/jobs/{job_id}").get_json()
    return document


def test_delete_while_stylize_runs_leaves_no_blobs(
    redis_url: str, spawn: Spawn, portrait_jpeg: bytes
) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/12"
    env = {"SITTER_REDIS_URL": url, "SITTER_INFERENCE_THREADS": "1"}
    workers = start_workers(spawn, env)
    settings = Settings(redis_url=url, max_working_size=3200)  # a big photo keeps stylize busy for seconds
    big = enlarged(portrait_jpeg, (2400, 3200))
    form = {"portrait": (io.BytesIO(big), "me.jpg"), "painting": "starry-night", "harmonize": "false"}
    with create_app(settings).test_client() as client:
        response = client.post("/v1/jobs", data=form)
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["id"]

        def stylizing() -> bool:
            stages = _job_state(client, job_id)["stages"]
            return stages["stylize"]["state"] == "running"  # type: ignore[index]

        wait_for(stylizing, 60, "the stylize stage to start")
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
        blobs = blob_store(settings)
        late = f"job {job_id} was canceled during stylize"
        stylized = blob_key(job_id, STYLIZED_BLOB)
        # the task ends by writing its output (the hole: it stays) or by writing then removing it (the fix)
        wait_for(lambda: blobs.exists(stylized) or late in workers["stylizer"].log(), 120, "stylize to write")
        names = (STYLIZED_BLOB, PLAN_BLOB, MATTE_BLOB)
        wait_for(
            lambda: not any(blobs.exists(blob_key(job_id, name)) for name in names),
            10,
            "the canceled job's late writes to be removed",
        )
        assert _job_state(client, job_id)["status"] == "canceled"

"""Submitting a job through the gateway's test client and waiting for its end."""

from __future__ import annotations

import io
from typing import Any

from flask.testing import FlaskClient

from tests.helpers.waiting import wait_for

WORKER_LIMITS = {
    "SITTER_TASK_SOFT_TIME_LIMIT": "8",
    "SITTER_TASK_TIME_LIMIT": "10",
    "SITTER_VISIBILITY_TIMEOUT": "12",
    "SITTER_MAX_PIXELS": "200000",  # below the gateway's, to provoke a failure inside the header tasks
    "SITTER_INFERENCE_THREADS": "1",
    "SITTER_LOG_LEVEL": "INFO",
    "SITTER_CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
    "SITTER_CALLBACK_ALLOW_PRIVATE": "true",
}


TERMINAL = ("succeeded", "failed", "canceled")


def submit(client: FlaskClient, portrait: bytes, headers: dict[str, str] | None = None, **fields: Any) -> str:
    form: dict[str, Any] = {"portrait": (io.BytesIO(portrait), "portrait.jpg"), "painting": "starry-night"}
    form.update(
        {
            name: (io.BytesIO(value), "upload.png") if isinstance(value, bytes) else value
            for name, value in fields.items()
        }
    )
    response = client.post("/v1/jobs", data=form, headers=headers or {})
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def poll(client: FlaskClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        document: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").get_json()
        return document if document["status"] in TERMINAL else None

    result = wait_for(finished, timeout, f"job {job_id} to finish")
    assert isinstance(result, dict)
    return result

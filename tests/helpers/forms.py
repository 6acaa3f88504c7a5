"""The submission form, and what a refusal (problem+json) must look like."""

from __future__ import annotations

import io
from typing import Any


def job_form(image: bytes, **fields: Any) -> dict[str, Any]:
    form: dict[str, Any] = {"portrait": (io.BytesIO(image), "me.jpg"), "painting": "starry-night"}
    for name, value in fields.items():
        if value is None:
            form.pop(name, None)
        elif isinstance(value, bytes):
            form[name] = (io.BytesIO(value), f"{name}.png")
        else:
            form[name] = value
    return form


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    """Check a problem+json answer; returns its body for the test's own further checks."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    assert body["type"] == f"/v1/docs#problem-{code}"
    if field is not None:
        assert body["field"] == field
    return body

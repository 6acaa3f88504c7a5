"""Schemathesis drives every operation of the OpenAPI document with generated requests (bounded), through
the real app on a private Redis database with no workers: no request may get a 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway.app import create_app
from gateway.openapi import PATHS
from shared.settings import Settings

OPERATIONS = [(method.upper(), path) for path, item in PATHS.items() for method in item]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_generated_request_gets_a_5xx(module_redis_url: str, method: str, path: str) -> None:
    app = create_app(
        Settings(redis_url=module_redis_url, max_upload_bytes=200_000, max_active_jobs_per_key=10**6)
    )
    operation = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)[path][method]

    @given(operation.as_strategy())
    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def no_5xx(case: schemathesis.Case) -> None:
        response = case.call()
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"

    no_5xx()

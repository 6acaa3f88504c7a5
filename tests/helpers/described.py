"""Holds the gateway's answers to its own description: a JSON body must match the schema /v1/openapi.json
gives its path, method and status, and a problem body must be a `Problem`, whatever its status.

conftest.py makes every in-process test client check this, so each job document and problem any test
provokes is checked against the derived schemas (gateway/job_shape.py), not only hand-picked samples.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from werkzeug.test import TestResponse

from gateway.json_schema import COMPONENTS
from gateway.openapi import PATHS, response_schemas
from gateway.problems import PROBLEM_JSON


@cache
def _validator(schema: str) -> Draft202012Validator:
    # the components sit beside the schema, so its #/components/schemas/... references resolve
    document = {**json.loads(schema), "components": {"schemas": response_schemas()}}
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def component_validator(name: str) -> Draft202012Validator:
    return _validator(json.dumps({"$ref": COMPONENTS.format(model=name)}))


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path))


TEMPLATES = [(_template(path), operations) for path, operations in PATHS.items()]


def described_schema(method: str, path: str, status: int, media_type: str) -> dict[str, Any] | None:
    for template, operations in TEMPLATES:
        if template.fullmatch(path) and method.lower() in operations:
            response = operations[method.lower()]["responses"].get(str(status), {})
            schema: dict[str, Any] | None = response.get("content", {}).get(media_type, {}).get("schema")
            return schema
    return None


def check_described(response: TestResponse) -> None:
    if not response.is_json or not response.data:
        return
    if response.mimetype == PROBLEM_JSON:
        component_validator("Problem").validate(response.get_json())
        return
    request = response.request
    schema = described_schema(request.method, request.path, response.status_code, response.mimetype)
    if schema is not None:
        _validator(json.dumps(schema, sort_keys=True)).validate(response.get_json())


class DescribedClient(FlaskClient):
    """A test client whose every answer is checked against the API description."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        check_described(response)
        return response

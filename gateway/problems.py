"""RFC 9457 problem details: every error the API returns has a stable `type`, a human `detail`, a field.

Typed errors from shared.errors map to HTTP statuses here, in one table, so the CLI and the API agree on
what went wrong and clients can branch on `code` without parsing prose.
"""

from __future__ import annotations

from flask import Response, jsonify, request
from PIL import UnidentifiedImageError

from gateway.job_shape import Problem
from shared.errors import (
    ImageTooLargeError,
    InvalidImageError,
    InvalidParameterError,
    SitterError,
    StorageFullError,
)
from shared.gallery_store import PaintingExistsError, PaintingNotReadyError, PaintingReadOnlyError

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    507: "Insufficient storage",
}


class ApiProblem(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, str | float | None] | None = None,
    ) -> None:
        """`extra`: more members of the problem document (`limit`, `largest` of `job-too-large`)."""
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}


def from_sitter_error(error: SitterError) -> ApiProblem:
    """Too many pixels is 413; bytes that are no known image format are 415; other bad input is 422;
    a full blob store is 507, with a hint to retry later."""
    if isinstance(error, StorageFullError):
        return ApiProblem(507, error.code, error.message, headers={"Retry-After": "60"})
    if isinstance(error, PaintingNotReadyError):
        return ApiProblem(409, error.code, error.message, field=error.field, headers={"Retry-After": "5"})
    if isinstance(error, PaintingExistsError | PaintingReadOnlyError):
        return ApiProblem(409, error.code, error.message, field=error.field)
    if isinstance(error, ImageTooLargeError):
        status = 413
    elif isinstance(error, InvalidImageError) and isinstance(error.__cause__, UnidentifiedImageError):
        return ApiProblem(415, "unsupported-media-type", error.message, field=error.field)
    elif isinstance(error, InvalidImageError | InvalidParameterError):
        status = 422
    else:
        status = 500
    return ApiProblem(status, error.code, error.message, field=error.field)


def problem_response(problem: ApiProblem) -> Response:
    body: Problem = {
        "type": f"/v1/docs#problem-{problem.code}",
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "instance": request.path,
    }
    if problem.field:
        body["field"] = problem.field
    response = jsonify({**body, **problem.extra})
    response.status_code = problem.status
    response.content_type = PROBLEM_JSON
    for name, value in problem.headers.items():
        response.headers[name] = value
    return response

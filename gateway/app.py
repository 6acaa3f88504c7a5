"""The gateway's app factory: `gunicorn -c python:gateway.gunicorn_conf 'gateway.app:create_app()'` or
`python -m gateway`.

One blueprint per resource; every error leaves as problem+json; every request is counted in the shared
metrics. The web client (static files in gateway/static/) is served at `/` when present.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, redirect, request, send_from_directory
from redis import RedisError
from redis.exceptions import OutOfMemoryError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from gateway.backends import Backends, backends
from gateway.docs_api import docs_api
from gateway.forwarded import ForwardedByLocalFront
from gateway.gallery_admin import gallery_admin
from gateway.gallery_api import gallery_api
from gateway.health_api import health_api
from gateway.jobs_api import jobs_api
from gateway.memory_request import InMemoryRequest
from gateway.params import max_request_bytes
from gateway.previews_api import previews_api
from gateway.problems import ApiProblem, from_sitter_error, problem_response
from shared.errors import SitterError
from shared.runtime.storage import StorageUnavailableError
from shared.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"

log = logging.getLogger("sitter.gateway")

HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "upload-too-large", 400: "bad-request"}


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# The page keeps the API key in localStorage: only its own scripts may run, nothing may frame it, and
# nothing it loads or links to learns its URL. Images also come from blob: (results fetched with the key,
# local previews) and data: (the empty favicon); fetch may read back those object URLs (they are this
# origin's own, so that opens no way out). A route may set a stricter or wider policy of its own.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    if not settings.api_keys:
        log.warning(
            "DEVELOPMENT MODE: SITTER_API_KEYS is not set, so /v1/jobs serves only callers on this machine "
            "(others get 403), and every job and result is open to all of them. Set keys to serve others."
        )
    app = Flask(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.request_class = InMemoryRequest
    app.config["MAX_CONTENT_LENGTH"] = max_request_bytes(settings)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["sitter"] = Backends(settings)
    app.wsgi_app = ForwardedByLocalFront(app.wsgi_app)  # type: ignore[method-assign]
    for blueprint in (jobs_api, previews_api, gallery_api, gallery_admin, health_api, docs_api):
        app.register_blueprint(blueprint)

    @app.get("/")
    def index() -> BaseResponse:
        if (STATIC_DIR / "index.html").is_file():
            return send_from_directory(STATIC_DIR, "index.html")
        return redirect("/v1/docs")

    @app.errorhandler(ApiProblem)
    def api_problem(problem: ApiProblem) -> Response:
        return problem_response(problem)

    @app.errorhandler(SitterError)
    def sitter_error(error: SitterError) -> Response:
        return problem_response(from_sitter_error(error))

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_: RequestEntityTooLarge) -> Response:
        detail = (
            f"the request is too large: at most {max_request_bytes(settings)} bytes in all, "
            f"{settings.max_upload_bytes} per file"
        )
        return problem_response(ApiProblem(413, "upload-too-large", detail))

    @app.errorhandler(StorageUnavailableError)
    @app.errorhandler(RedisError)
    def backend_down(error: Exception) -> Response:
        log.warning("backend unavailable on %s %s: %s", request.method, request.path, error)
        return problem_response(
            ApiProblem(503, "storage-unavailable", "storage is unreachable; try again shortly")
        )

    @app.errorhandler(OutOfMemoryError)
    def redis_full(error: OutOfMemoryError) -> Response:
        log.error("Redis is full (maxmemory) on %s %s: %s", request.method, request.path, error)
        return problem_response(
            ApiProblem(507, "storage-full", "Redis is full; try again later", headers={"Retry-After": "60"})
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return problem_response(
            ApiProblem(status, HTTP_CODES.get(status, "http-error"), error.description or "")
        )

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(ApiProblem(500, "internal-error", "internal error; see the gateway log"))

    @app.after_request
    def count_and_cors(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"  # labels must stay finite
        labels = {"method": method, "endpoint": rule, "status": str(response.status_code)}
        try:
            backends().metrics.inc("sitter_http_requests_total", labels)
        except Exception:  # metrics must never break a response (e.g. /healthz while Redis is down)
            log.debug("could not count request", exc_info=True)
        origin = request.headers.get("Origin")
        if origin and ("*" in settings.cors_origins or origin in settings.cors_origins):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = (
                "Content-Type, Idempotency-Key, X-API-Key, Authorization"
            )
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Expose-Headers"] = "Location, ETag, Retry-After"
        return response

    return app

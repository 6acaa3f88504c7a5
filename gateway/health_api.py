"""/healthz (the process answers), /readyz (broker and storage answer), /metrics (Prometheus)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gateway.backends import backends
from shared import gallery
from shared.queues import all_queues

health_api = Blueprint("health", __name__)


@health_api.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@health_api.get("/readyz")
def readyz() -> Response:
    back = backends()
    checks: dict[str, str] = {}
    for name, probe in (
        ("broker", back.broker.ping),
        ("redis", back.redis.ping),
        ("storage", back.blobs.ping),
    ):
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason is reported, not raised
            checks[name] = f"unavailable: {exc}"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@health_api.get("/metrics")
def metrics() -> Response:
    back = backends()
    queues = all_queues(list(gallery.paintings()))
    pipe = back.broker.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
    depths = pipe.execute()
    gauges = [
        ("sitter_queue_depth", {"queue": queue}, float(depth))
        for queue, depth in zip(queues, depths, strict=True)
    ]
    return Response(back.metrics.render(gauges), content_type="text/plain; version=0.0.4; charset=utf-8")

"""/healthz (the process answers), /readyz (broker and storage answer), /metrics (Prometheus).

The probes need no key (the kubelet has none) and say only which backend is down, never its address or
the client's error text, which can carry hosts, ports and user names; the log has those. /metrics needs
an API key when keys are set (the ingress routes every path), unless SITTER_METRICS_PUBLIC=true; without
keys (development mode) it serves only this machine, like /v1/jobs.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from gateway.backends import backends, settings
from gateway.loopback import is_loopback
from gateway.problems import ApiProblem
from shared import gallery
from shared.queues import all_queues

health_api = Blueprint("health", __name__)
log = logging.getLogger("sitter.gateway")


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
        except Exception as exc:  # any failure means not ready; the reason is logged, not shown
            log.warning("readiness: %s unavailable: %s", name, exc)
            checks[name] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ready" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


def _may_scrape() -> None:
    conf = backends().settings
    if conf.metrics_public:
        return
    if conf.api_keys:
        given = request.headers.get("X-API-Key") or request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        )
        if given not in conf.api_keys:
            raise ApiProblem(
                401, "unauthorized", "/metrics needs an API key (X-API-Key or Authorization: Bearer)"
            )
    elif not is_loopback(request.remote_addr):
        raise ApiProblem(403, "development-mode", "without API keys, /metrics serves only its own machine")


@health_api.get("/metrics")
def metrics() -> Response:
    _may_scrape()
    back = backends()
    queues = all_queues(list(gallery.paintings()), settings().models.trained_style_ids())
    # an added painting given a worker group of its own has its own queue too
    own = [item.queue for item in back.catalog.items() if not item.bundled and item.own_queue]
    queues += [queue for queue in own if queue not in queues]
    depths = back.broker.depths(queues)
    gauges = [
        ("sitter_queue_depth", {"queue": queue}, float(depth))
        for queue, depth in zip(queues, depths, strict=True)
    ]
    body, content_type = back.metrics.exposition(gauges, request.headers.get("Accept", ""))
    return Response(body, content_type=content_type)

"""The gateway's answers keep what they carry where it belongs (security issue #12, low items): browser
hardening headers on every response, results never cached, job errors and probes that reveal no
internals, links that do not follow a caller's Host header, and canceled jobs whose stages say so.

Real gateway app over the test client, on its own Redis database (1, shared with the gateway-only tests)
of the session's private redis-server.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import CUTOUT_BLOB, blob_key, result_blob
from shared.runtime.job_store import JobStore
from shared.runtime.storage import blob_store
from shared.settings import Settings


@pytest.fixture
def settings(module_redis_url: str) -> Settings:
    return Settings(redis_url=module_redis_url, max_active_jobs_per_key=10**6)


def _form(portrait: bytes) -> dict[str, Any]:
    return {"portrait": (io.BytesIO(portrait), "me.jpg"), "painting": "starry-night"}


def _succeeded_job(client: FlaskClient, settings: Settings, portrait: bytes) -> str:
    """A job taken through its stages by the job store, as the workers would, with a result blob."""
    job_id: str = client.post("/v1/jobs", data=_form(portrait)).get_json()["id"]
    store = blob_store(settings)
    jobs = JobStore(redis.Redis.from_url(settings.redis_url), retention_seconds=60)
    for stage in ("segment", "stylize", "composite"):
        started = jobs.start_stage(job_id, stage, "test")
        assert started is not None
        jobs.finish_stage(job_id, stage, started, "test")
    store.put(blob_key(job_id, result_blob("png")), b"\x89PNG result bytes")
    store.put(blob_key(job_id, CUTOUT_BLOB), b"\x89PNG cutout bytes")
    result = {"key": result_blob("png"), "format": "png", "content_type": "image/png", "width": 1}
    assert jobs.succeed(job_id, result | {"height": 1})
    return job_id


# ---- hardening headers (item 5) -------------------------------------------------------------------

SECURITY_HEADERS = ("X-Content-Type-Options", "Content-Security-Policy", "Referrer-Policy")


def test_every_response_carries_the_hardening_headers(client: FlaskClient, portrait_jpeg: bytes) -> None:
    answers = {
        "page": client.get("/"),
        "script": client.get("/static/app.js"),
        "json": client.get("/v1/paintings"),
        "problem": client.get("/v1/jobs/" + "0" * 32),
        "unmatched": client.get("/no/such/route"),
        "probe": client.get("/healthz"),
        "docs": client.get("/v1/docs"),
        "submit": client.post("/v1/jobs", data=_form(portrait_jpeg)),
    }
    for name, response in answers.items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        assert response.headers.get("Referrer-Policy") == "no-referrer", name
        policy = response.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in policy, name
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
    page_policy = answers["page"].headers["Content-Security-Policy"]
    assert "default-src 'self'" in page_policy and "script-src" not in page_policy  # scripts: own origin


def test_the_page_has_no_inline_script_or_style_and_the_docs_style_is_allowed_by_hash(
    client: FlaskClient,
) -> None:
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script would be blocked"
    assert "<style" not in page and " style=" not in page and not re.search(r"\son\w+=", page)
    docs = client.get("/v1/docs")
    [style] = re.findall(r"<style>(.*?)</style>", docs.get_data(as_text=True), re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in docs.headers["Content-Security-Policy"]
    assert "<script" not in docs.get_data(as_text=True)


# ---- results are never cached (item 6) ------------------------------------------------------------


def test_results_are_not_kept_by_any_cache(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    job_id = _succeeded_job(client, settings, portrait_jpeg)
    for url in (f"/v1/jobs/{job_id}/result", f"/v1/jobs/{job_id}/artifacts/cutout"):
        response = client.get(url)
        assert response.status_code == 200 and response.data.startswith(b"\x89PNG")
        directives = {item.strip() for item in response.headers.get("Cache-Control", "").split(",")}
        assert {"private", "no-store"} <= directives, (url, response.headers.get("Cache-Control"))
        assert "immutable" not in directives and not any(d.startswith("max-age") for d in directives)


# ---- a canceled job's stages say so (item 7) ------------------------------------------------------


def test_cancel_marks_unfinished_stages_canceled(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    jobs = JobStore(redis.Redis.from_url(settings.redis_url), retention_seconds=60)
    running: str = client.post("/v1/jobs", data=_form(portrait_jpeg)).get_json()["id"]
    started = jobs.start_stage(running, "segment", "segmenter@test")
    assert started is not None
    jobs.finish_stage(running, "segment", started, "segmenter@test")
    assert jobs.start_stage(running, "stylize", "stylizer@test") is not None  # stylize runs, then DELETE
    document = client.delete(f"/v1/jobs/{running}").get_json()
    assert document == client.get(f"/v1/jobs/{running}").get_json()
    stages = document["stages"]
    assert document["status"] == "canceled"
    assert [stages[name]["state"] for name in ("segment", "stylize", "composite")] == [
        "succeeded",
        "canceled",
        "canceled",
    ]
    assert stages["segment"]["duration_ms"] is not None  # finished work keeps its record
    assert stages["stylize"]["worker"] == "stylizer@test" and stages["stylize"]["started_at"]
    assert stages["stylize"]["finished_at"] == document["finished_at"]

    queued: str = client.post("/v1/jobs", data=_form(portrait_jpeg)).get_json()["id"]
    document = client.delete(f"/v1/jobs/{queued}").get_json()
    assert {stage["state"] for stage in document["stages"].values()} == {"canceled"}
    # a worker that took the task before the cancel cannot bring a stage back
    assert jobs.start_stage(queued, "segment", "segmenter@test") is None
    assert client.get(f"/v1/jobs/{queued}").get_json()["stages"]["segment"]["state"] == "canceled"


# ---- probes and metrics reveal no backend addresses, and metrics need a key (item 3) -----------------


def test_readiness_names_the_backend_that_is_down_but_not_its_address() -> None:
    dead = "redis://sitter-user:s3cret-pass@127.0.0.1:1/0"
    with create_app(Settings(redis_url=dead)).test_client() as down:
        response = down.get("/readyz")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert response.get_json()["checks"] == {
        "broker": "unavailable",
        "redis": "unavailable",
        "storage": "unavailable",
    }
    for secret in ("127.0.0.1", "s3cret", "sitter-user", "Connection", "Error"):
        assert secret not in body


def test_a_job_the_broker_could_not_take_records_no_broker_address(
    module_redis_url: str, portrait_jpeg: bytes
) -> None:
    url = module_redis_url
    redis.Redis.from_url(url).flushdb()
    dead_broker = "redis://broker-user:s3cret-pass@127.0.0.1:1/0"
    with create_app(Settings(redis_url=url, broker_url=dead_broker)).test_client() as client:
        response = client.post("/v1/jobs", data=_form(portrait_jpeg))
    assert response.status_code == 503 and response.get_json()["code"] == "broker-unavailable"
    jobs = redis.Redis.from_url(url)
    (key,) = list(jobs.scan_iter("sitter:job:*"))
    error = jobs.hget(key, "error") or b""
    assert b"broker-unavailable" in error
    for secret in (b"127.0.0.1", b"s3cret", b"broker-user", b"Error"):
        assert secret not in error


def test_readiness_without_a_key_still_works_for_the_kubelet(settings: Settings) -> None:
    keyed = Settings(redis_url=settings.redis_url, api_keys=("k1",))
    with create_app(keyed).test_client() as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_metrics_need_an_api_key_when_keys_are_set(settings: Settings) -> None:
    keyed = Settings(redis_url=settings.redis_url, api_keys=("k1", "k2"))
    with create_app(keyed).test_client() as client:
        refused = client.get("/metrics")
        assert refused.status_code == 401 and refused.content_type == "application/problem+json"
        assert client.get("/metrics", headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": "k2"}).status_code == 200
        scraped = client.get("/metrics", headers={"Authorization": "Bearer k1"})  # Prometheus' own way
        assert scraped.status_code == 200 and "sitter_http_requests_total" in scraped.get_data(as_text=True)
    public = Settings(redis_url=settings.redis_url, api_keys=("k1",), metrics_public=True)
    with create_app(public).test_client() as client:
        assert client.get("/metrics").status_code == 200


def test_keyless_metrics_serve_only_this_machine(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert remote.status_code == 403


# ---- links never follow the Host header (item 4) --------------------------------------------------


def test_links_and_location_ignore_the_host_header(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    evil = {"Host": "attacker.example", "X-Forwarded-Host": "attacker.example"}
    response = client.post("/v1/jobs", data=_form(portrait_jpeg), headers=evil)
    job_id = response.get_json()["id"]
    assert response.headers["Location"] == f"/v1/jobs/{job_id}"
    document = client.get(f"/v1/jobs/{job_id}", headers=evil).get_json()
    assert document["links"]["self"] == f"/v1/jobs/{job_id}"
    paintings = client.get("/v1/paintings", headers=evil).get_data(as_text=True)
    docs = client.get("/v1/docs", headers=evil).get_data(as_text=True)
    spec = client.get("/v1/openapi.json", headers=evil).get_json()
    for text in (response.get_data(as_text=True), str(document), paintings, docs, str(spec)):
        assert "attacker.example" not in text


def test_links_use_the_public_base_url_when_set(settings: Settings, portrait_jpeg: bytes) -> None:
    public = Settings(
        redis_url=settings.redis_url,
        public_base_url="https://sitter.example.com/",
        max_active_jobs_per_key=10**6,
    )
    with create_app(public).test_client() as client:
        response = client.post("/v1/jobs", data=_form(portrait_jpeg), headers={"Host": "attacker.example"})
        job_id = response.get_json()["id"]
        assert response.headers["Location"] == f"https://sitter.example.com/v1/jobs/{job_id}"
        assert response.get_json()["links"]["self"] == f"https://sitter.example.com/v1/jobs/{job_id}"

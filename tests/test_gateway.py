"""The gateway alone (no workers): validation as problem+json, idempotency, cancel, limits, docs, probes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from gateway.app import create_app
from gateway.openapi import PATHS
from gateway.problem_types import PROBLEMS
from shared.jobs import PORTRAIT_BLOB, blob_key
from shared.runtime.storage import blob_store
from shared.settings import Settings
from shared.trained import trained_styles
from tests.helpers.forms import assert_problem, job_form


@pytest.fixture
def settings(module_redis_url: str) -> Settings:
    return Settings(  # no worker ends these jobs: the caps on unfinished jobs would fill
        redis_url=module_redis_url,
        max_upload_bytes=400_000,
        max_pixels=2_000_000,
        max_active_jobs_per_key=10**6,
    )


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as test_client:
        yield test_client


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 100, 50)).save(buffer, "PNG")
    return buffer.getvalue()


def test_submit_stores_inputs_and_answers_202(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    response = client.post(
        "/v1/jobs",
        data=job_form(portrait_jpeg, strength="0.5", x="10", y="-5", height="100", output_scale="1.5"),
    )
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["Location"].endswith(f"/v1/jobs/{job['id']}")
    assert job["status"] == "queued"
    assert job["params"]["style"] == "starry-night" and job["params"]["strength"] == 0.5
    assert job["params"]["placement"] == {"x": 10, "y": -5, "height": 100}
    assert job["params"]["output_scale"] == 1.5
    assert job["stages"]["stylize"]["queue"] == "stylize.starry-night"
    assert blob_store(settings).get(blob_key(job["id"], PORTRAIT_BLOB)) == portrait_jpeg
    assert client.get(f"/v1/jobs/{job['id']}").get_json()["status"] == "queued"
    assert_problem(client.get(f"/v1/jobs/{job['id']}/result"), 409, "job-not-finished")
    assert_problem(client.get(f"/v1/jobs/{job['id']}/artifacts/mask"), 409, "artifact-not-ready")
    assert_problem(client.get(f"/v1/jobs/{job['id']}/artifacts/poster"), 404, "artifact-not-found")


def test_style_resolution(client: FlaskClient, portrait_jpeg: bytes) -> None:
    def style_of(**fields: Any) -> str:
        response = client.post("/v1/jobs", data=job_form(portrait_jpeg, **fields))
        assert response.status_code == 202, response.get_json()
        return str(response.get_json()["params"]["style"])

    assert style_of() == "starry-night"
    assert style_of(style="great-wave") == "great-wave"
    assert style_of(style="builtin-7") == "builtin-7"
    assert style_of(painting=None, painting_file=_png(64, 48)) == "custom"
    assert style_of(painting=None, painting_file=_png(64, 48), style="builtin-0") == "builtin-0"


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        (
            {"portrait": None, "painting": None, "painting_file": b"\x89PNG"},
            422,
            "invalid-parameter",
            "portrait",
        ),
        ({"painting": None}, 422, "invalid-parameter", "painting"),
        ({"painting": "no-such-painting"}, 422, "unknown-painting", "painting"),
        ({"painting_file": b"x"}, 422, "invalid-parameter", "painting"),
        ({"style": "builtin-99"}, 422, "unknown-style", "style"),
        ({"style": "custom"}, 422, "unknown-style", "style"),
        ({"strength": "1.5"}, 422, "invalid-parameter", "strength"),
        ({"strength": "nan"}, 422, "invalid-parameter", "strength"),
        ({"keep_colors": "maybe"}, 422, "invalid-parameter", "keep_colors"),
        ({"x": "1.5"}, 422, "invalid-parameter", "x"),
        ({"height": "0"}, 422, "invalid-parameter", "height"),
        ({"auto": "true", "height": "10"}, 422, "invalid-parameter", "auto"),
        ({"format": "gif"}, 422, "invalid-parameter", "format"),
        ({"x": "1" + "0" * 4000}, 422, "invalid-parameter", "x"),
        ({"x": "1024"}, 422, "invalid-parameter", "x"),
        ({"y": "-99999999"}, 422, "invalid-parameter", "y"),
        ({"height": "2561"}, 422, "invalid-parameter", "height"),
        ({"height": "9" * 5000}, 422, "invalid-parameter", "height"),
        ({"spot": "9"}, 422, "invalid-parameter", "spot"),
        ({"spot": "-1"}, 422, "invalid-parameter", "spot"),
        ({"spot": "first"}, 422, "invalid-parameter", "spot"),
        ({"spot": "0", "x": "10"}, 422, "invalid-parameter", "spot"),
        ({"spot": "0", "painting": None, "painting_file": _png(64, 48)}, 422, "invalid-parameter", "spot"),
        ({"harmonize": "perhaps"}, 422, "invalid-parameter", "harmonize"),
        ({"output_scale": "3"}, 422, "invalid-parameter", "output_scale"),
        ({"output_scale": "twice"}, 422, "invalid-parameter", "output_scale"),
        ({"output_scale": "2"}, 422, "invalid-parameter", "output_scale"),  # 2048x1280 > 2 MP in this test
        ({"callback_url": "https://example.com/hook"}, 422, "invalid-parameter", "callback_url"),
    ],
)
def test_each_invalid_parameter_is_a_422(
    client: FlaskClient, portrait_jpeg: bytes, fields: dict[str, Any], status: int, code: str, field: str
) -> None:
    assert_problem(client.post("/v1/jobs", data=job_form(portrait_jpeg, **fields)), status, code, field)


def test_bad_images_and_sizes(client: FlaskClient, settings: Settings, portrait_jpeg: bytes) -> None:
    assert_problem(
        client.post("/v1/jobs", data=job_form(b"%PDF-1.4 not an image")),
        415,
        "unsupported-media-type",
        "portrait",
    )
    assert_problem(
        client.post("/v1/jobs", data=job_form(portrait_jpeg[:300])), 422, "invalid-image", "portrait"
    )
    assert_problem(client.post("/v1/jobs", data=job_form(_png(8, 8))), 422, "invalid-image", "portrait")
    assert_problem(
        client.post("/v1/jobs", data=job_form(_png(2000, 1500))), 413, "image-too-large", "portrait"
    )
    big = b"\xff\xd8" + bytes(settings.max_upload_bytes)
    assert_problem(client.post("/v1/jobs", data=job_form(big)), 413, "upload-too-large", "portrait")
    assert_problem(client.post("/v1/jobs", json={"portrait": "x"}), 415, "unsupported-media-type")


def test_unknown_jobs_are_404(client: FlaskClient) -> None:
    assert_problem(client.get("/v1/jobs/" + "0" * 32), 404, "job-not-found")
    assert_problem(client.get("/v1/jobs/not-a-job-id"), 404, "job-not-found")
    assert_problem(client.delete("/v1/jobs/" + "0" * 32), 404, "job-not-found")
    assert_problem(client.get("/v1/nothing-here"), 404, "not-found")
    assert_problem(client.put("/v1/jobs"), 405, "method-not-allowed")


def test_idempotency_key_returns_the_same_job(client: FlaskClient, portrait_jpeg: bytes) -> None:
    headers = {"Idempotency-Key": "retry-me-123"}
    first = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers)
    second = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers)
    other = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers={"Idempotency-Key": "another"})
    assert first.status_code == second.status_code == other.status_code == 202
    assert first.get_json()["id"] == second.get_json()["id"] != other.get_json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"


def test_an_idempotency_key_reused_for_another_request_is_refused(
    client: FlaskClient, portrait_jpeg: bytes
) -> None:
    headers = {"Idempotency-Key": "reused-key"}
    first = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers)
    assert first.status_code == 202
    other_body = client.post("/v1/jobs", data=job_form(portrait_jpeg, strength="0.5"), headers=headers)
    assert_problem(other_body, 422, "idempotency-key-reused")
    assert first.get_json()["id"] in other_body.get_json()["detail"]
    other_photo = client.post("/v1/jobs", data=job_form(_png(64, 80)), headers=headers)
    assert_problem(other_photo, 422, "idempotency-key-reused")


def test_after_delete_the_same_idempotent_request_makes_a_new_job(
    client: FlaskClient, portrait_jpeg: bytes
) -> None:
    headers = {"Idempotency-Key": "delete-then-retry"}
    first = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers).get_json()["id"]
    assert client.delete(f"/v1/jobs/{first}").status_code == 200
    again = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers)
    assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    assert again.get_json()["id"] != first and again.get_json()["status"] == "queued"


def test_uploads_stay_in_memory(app: Flask) -> None:
    """Werkzeug spools uploads over 500 KB to a temporary file; the gateway keeps them off the disk."""
    big = os.urandom(600_000)
    with app.test_request_context("/v1/jobs", method="POST", data={"portrait": (io.BytesIO(big), "a.jpg")}):
        from flask import request

        upload = request.files["portrait"]
        assert isinstance(upload.stream, io.BytesIO) and upload.read() == big


def test_delete_cancels_a_queued_job_and_its_blobs(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    job_id = client.post("/v1/jobs", data=job_form(portrait_jpeg)).get_json()["id"]
    response = client.delete(f"/v1/jobs/{job_id}")
    assert response.status_code == 200 and response.get_json()["status"] == "canceled"
    assert not blob_store(settings).exists(blob_key(job_id, PORTRAIT_BLOB))
    assert client.get(f"/v1/jobs/{job_id}").get_json()["status"] == "canceled"


def test_limits_answer_429(settings: Settings, portrait_jpeg: bytes) -> None:
    limited = create_app(
        Settings(
            redis_url=settings.redis_url,
            rate_limit_per_minute=2,
            max_active_jobs=10**6,
            max_active_jobs_per_key=10**6,
        )
    )
    with limited.test_client() as client:
        headers = {"X-API-Key": "rate-test-key"}
        statuses = [
            client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers).status_code
            for _ in range(3)
        ]
        assert statuses[:2] == [202, 202]
        third = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=headers)
        assert_problem(third, 429, "rate-limited")
        assert int(third.headers["Retry-After"]) > 0
    full = create_app(Settings(redis_url=settings.redis_url, max_active_jobs=0))
    with full.test_client() as client:
        assert_problem(client.post("/v1/jobs", data=job_form(portrait_jpeg)), 429, "too-many-jobs")


def test_api_keys_and_cors(settings: Settings, portrait_jpeg: bytes) -> None:
    app = create_app(
        Settings(redis_url=settings.redis_url, api_keys=("s3cret",), cors_origins=("https://ui.test",))
    )
    with app.test_client() as client:
        assert_problem(client.get("/v1/jobs/" + "0" * 32), 401, "unauthorized")
        assert_problem(
            client.get("/v1/jobs/" + "0" * 32, headers={"X-API-Key": "s3cret"}), 404, "job-not-found"
        )
        bearer = {"Authorization": "Bearer s3cret", "Origin": "https://ui.test"}
        response = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=bearer)
        assert response.status_code == 202
        assert response.headers["Access-Control-Allow-Origin"] == "https://ui.test"
        assert (
            "Access-Control-Allow-Origin"
            not in client.get("/healthz", headers={"Origin": "https://evil.test"}).headers
        )
        assert client.get("/v1/paintings").status_code == 200  # the gallery stays public
        # a browser's preflight carries no key: it must pass, or no cross-origin page can ever send one
        preflight = client.options(
            "/v1/jobs",
            headers={
                "Origin": "https://ui.test",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        assert preflight.status_code == 200, preflight.get_json()
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://ui.test"
        assert "X-API-Key" in preflight.headers["Access-Control-Allow-Headers"]
        assert (
            client.options("/v1/jobs/" + "0" * 32, headers={"Origin": "https://ui.test"}).status_code == 200
        )


def test_gallery_and_styles(client: FlaskClient) -> None:
    paintings = client.get("/v1/paintings").get_json()["paintings"]
    starry = next(item for item in paintings if item["id"] == "starry-night")
    assert starry["width"] > 0 and starry["height"] > 0
    thumbnail = client.get(starry["thumbnail"].replace("http://localhost", ""))
    assert thumbnail.status_code == 200 and thumbnail.content_type == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumbnail.data)).size) == 256
    etag = thumbnail.headers["ETag"]
    again = client.get(starry["thumbnail"].replace("http://localhost", ""), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert_problem(client.get("/v1/paintings/nope/image"), 404, "unknown-painting")
    styles = {item["id"]: item for item in client.get("/v1/styles").get_json()["styles"]}
    assert styles["custom"]["queue"] == "stylize.custom" and styles["builtin-25"]["kind"] == "builtin"
    trained = trained_styles()
    assert styles["starry-night"]["kind"] == "painting"
    assert len(styles) == len(paintings) + 26 + len(trained) + 1
    for style_id, style in trained.items():
        assert styles[style_id]["kind"] == "trained" and styles[style_id]["queue"] == f"stylize.{style_id}"
        assert styles[style_id]["painting"] == style.painting
    assert styles["builtin-18"]["title"] == "Built-in: sepia engraving"
    builtin_thumb = client.get(styles["builtin-18"]["thumbnail"].replace("http://localhost", ""))
    assert builtin_thumb.status_code == 200 and Image.open(io.BytesIO(builtin_thumb.data)).format == "JPEG"
    assert_problem(client.get("/v1/styles/builtin-26/thumbnail"), 404, "style-not-found")


def test_the_gallery_states_the_upload_limits_it_enforces(client: FlaskClient, settings: Settings) -> None:
    """The web page shrinks photos to the limits /v1/paintings states: they must be the enforced ones."""
    uploads = client.get("/v1/paintings").get_json()["uploads"]
    assert uploads == {
        "max_file_bytes": settings.max_upload_bytes,
        "max_request_bytes": 2 * settings.max_upload_bytes + 64 * 1024,
    }
    over = b"-" * (uploads["max_request_bytes"] + 1)  # refused on its length, before it is read
    refused = client.post("/v1/jobs", data=over, content_type="multipart/form-data; boundary=sitter")
    assert_problem(refused, 413, "upload-too-large")
    # two files of the largest size fit in one request: read, and judged as images (these are not)
    largest = b"\xff\xd8" + bytes(uploads["max_file_bytes"] - 2)
    form = {**job_form(largest), "painting_file": (io.BytesIO(largest), "painting.jpg")}
    del form["painting"]
    assert_problem(client.post("/v1/jobs", data=form), 415, "unsupported-media-type", "portrait")


def test_a_painting_offers_its_suggested_spots(client: FlaskClient, portrait_jpeg: bytes) -> None:
    mona = client.get("/v1/paintings/mona-lisa").get_json()
    assert mona["id"] == "mona-lisa" and 1 <= len(mona["spots"]) <= 3
    for index, spot in enumerate(mona["spots"]):
        assert spot["index"] == index and spot["reason"]
        assert spot["kind"] in ("bust", "standing") and spot["side"] in ("left", "centre", "right")
        assert spot["x"] >= 0 and spot["x"] + spot["width"] <= mona["width"]
        assert spot["y"] >= 0 and spot["y"] + spot["height"] <= mona["height"]
    assert_problem(client.get("/v1/paintings/nope"), 404, "unknown-painting")
    job = client.post("/v1/jobs", data=job_form(portrait_jpeg, painting="mona-lisa", spot="1")).get_json()
    assert job["params"]["spot"] == 1 and job["params"]["harmonize"] is True
    plain = client.post("/v1/jobs", data=job_form(portrait_jpeg, harmonize="false")).get_json()
    assert plain["params"]["spot"] is None and plain["params"]["harmonize"] is False


def test_openapi_describes_every_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    routes = {rule.rule.replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules()}
    routes -= {"/", "/static/{path:filename}"}
    assert routes == set(PATHS) == set(document["paths"])
    page = client.get("/v1/docs")
    assert page.status_code == 200 and "text/html" in page.content_type
    html = page.get_data(as_text=True)
    assert all(f'id="problem-{code}"' in html for code in PROBLEMS)


def test_probes_and_metrics(client: FlaskClient, settings: Settings, portrait_jpeg: bytes) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"] == {
        "broker": "ok",
        "redis": "ok",
        "storage": "ok",
    }
    client.post("/v1/jobs", data=job_form(portrait_jpeg))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'sitter_http_requests_total{endpoint="/v1/jobs",method="POST",status="202"}' in text
    for made_up in ("FOO", "BREW", "X" * 40):  # any method string must not become a new series
        client.open("/healthz", method=made_up)
    text = client.get("/metrics").get_data(as_text=True)
    assert "FOO" not in text and "BREW" not in text and 'method="other"' in text
    depth = redis.Redis.from_url(settings.redis_url).llen("segment")
    assert f'sitter_queue_depth{{queue="segment"}} {float(depth)!r}' in text and depth >= 1
    dead = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))
    with dead.test_client() as down:
        assert down.get("/healthz").status_code == 200
        response = down.get("/readyz")
        assert response.status_code == 503 and response.get_json()["checks"]["broker"].startswith(
            "unavailable"
        )


def test_unreachable_storage_is_a_503(portrait_jpeg: bytes) -> None:
    with create_app(Settings(redis_url="redis://127.0.0.1:1/0")).test_client() as client:
        assert_problem(client.get("/v1/jobs/" + "0" * 32), 503, "storage-unavailable")
        assert_problem(client.post("/v1/jobs", data=job_form(portrait_jpeg)), 503, "storage-unavailable")


def test_portrait_from_reuses_an_earlier_upload(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    def reuse(job_id: str, **fields: Any) -> Any:
        return client.post(
            "/v1/jobs", data=job_form(portrait_jpeg, portrait=None, portrait_from=job_id, **fields)
        )

    first = client.post("/v1/jobs", data=job_form(portrait_jpeg)).get_json()["id"]
    again = reuse(first, height="50")
    assert again.status_code == 202, again.get_json()
    assert blob_store(settings).get(blob_key(again.get_json()["id"], PORTRAIT_BLOB)) == portrait_jpeg
    both = client.post("/v1/jobs", data=job_form(portrait_jpeg, portrait_from=first))
    assert_problem(both, 422, "invalid-parameter", "portrait")
    assert_problem(reuse("not-a-job"), 422, "invalid-parameter", "portrait_from")
    client.delete(f"/v1/jobs/{first}")
    assert_problem(reuse(first), 410, "blob-gone", "portrait_from")


def test_the_web_client_is_served_at_the_root(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.content_type
    assert b"<html" in page.data.lower() or b"<!doctype html" in page.data.lower()


def test_downloads_have_readable_names() -> None:
    """sitter-<painting id>-<the job's UTC day>, as the web page names its own download; an uploaded
    painting has no id, and nothing from the params can break the header's quoting."""
    from datetime import UTC, datetime

    from gateway.jobs_api import download_stem
    from shared.jobs import JobRecord

    made = datetime(2026, 3, 9, 23, 59, tzinfo=UTC).timestamp()
    assert download_stem(JobRecord("a" * 32, "succeeded", made, {"painting": "starry-night"})) == (
        "sitter-starry-night-2026-03-09"
    )
    assert download_stem(JobRecord("a" * 32, "succeeded", made, {"painting": None})) == (
        "sitter-own-painting-2026-03-09"
    )
    odd = JobRecord("a" * 32, "succeeded", made, {"painting": 'x"; filename=evil'})
    assert download_stem(odd) == "sitter-x-filename-evil-2026-03-09"


def test_a_waiting_job_says_how_many_earlier_jobs_are_unfinished(
    client: FlaskClient, portrait_jpeg: bytes
) -> None:
    """No worker runs here, so every job stays queued: each later one has one more ahead of it."""
    ids = [client.post("/v1/jobs", data=job_form(portrait_jpeg)).get_json()["id"] for _ in range(3)]

    def ahead(job_id: str) -> int:
        count: int = client.get(f"/v1/jobs/{job_id}").get_json()["queue"]["ahead"]
        return count

    first, second, third = (ahead(job_id) for job_id in ids)
    assert second == first + 1 and third == first + 2
    assert client.delete(f"/v1/jobs/{ids[0]}").status_code == 200
    assert ahead(ids[2]) == third - 1  # a canceled job no longer counts
    assert "queue" not in client.get(f"/v1/jobs/{ids[0]}").get_json()  # only while waiting or running

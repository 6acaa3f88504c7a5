"""Access control: a job is visible only to the API key that made it; ids are unguessable; keyless mode
is loopback-only and says so."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.jobs import PORTRAIT_BLOB, blob_key, is_job_id, new_job_id
from shared.settings import Settings
from shared.storage import blob_store
from tests.conftest import Spawn, free_port
from tests.test_gateway import _db, _form, _problem

ALICE = {"X-API-Key": "alice-key"}
MALLORY = {"Authorization": "Bearer mallory-key"}


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(redis_url=_db(redis_url, 1), api_keys=("alice-key", "mallory-key"))


@pytest.fixture
def client(settings: Settings) -> Iterator[FlaskClient]:
    with create_app(settings).test_client() as test_client:
        yield test_client


def test_another_key_sees_a_404_and_cannot_touch_the_job(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    job_id = client.post("/v1/jobs", data=_form(portrait_jpeg), headers=ALICE).get_json()["id"]
    for path in ("", "/result", "/artifacts/mask", "/artifacts/nope"):
        _problem(client.get(f"/v1/jobs/{job_id}{path}", headers=MALLORY), 404, "job-not-found")
    _problem(client.delete(f"/v1/jobs/{job_id}", headers=MALLORY), 404, "job-not-found")
    stolen = client.post(
        "/v1/jobs", data=_form(portrait_jpeg, portrait=None, portrait_from=job_id), headers=MALLORY
    )
    _problem(stolen, 410, "blob-gone", "portrait_from")
    # the owner still has everything, untouched by the other key's attempts
    assert client.get(f"/v1/jobs/{job_id}", headers=ALICE).get_json()["status"] == "queued"
    assert blob_store(settings).get(blob_key(job_id, PORTRAIT_BLOB)) == portrait_jpeg
    _problem(client.get(f"/v1/jobs/{job_id}/result", headers=ALICE), 409, "job-not-finished")
    reused = client.post(
        "/v1/jobs", data=_form(portrait_jpeg, portrait=None, portrait_from=job_id), headers=ALICE
    )
    assert reused.status_code == 202, reused.get_json()
    # an unknown id and another key's id answer alike (bar the id in the text), so probing leaks nothing
    unknown = client.get("/v1/jobs/" + "0" * 32, headers=MALLORY)
    foreign = client.get(f"/v1/jobs/{job_id}", headers=MALLORY)
    assert unknown.get_data(as_text=True).replace("0" * 32, job_id) == foreign.get_data(as_text=True)


def test_job_ids_carry_128_random_bits(client: FlaskClient, portrait_jpeg: bytes) -> None:
    submitted = [
        client.post("/v1/jobs", data=_form(portrait_jpeg), headers=ALICE).get_json()["id"] for _ in range(3)
    ]
    samples = 2000
    ids = submitted + [new_job_id() for _ in range(samples)]
    assert all(is_job_id(job_id) for job_id in ids) and len(set(ids)) == len(ids)
    values = [int(job_id, 16) for job_id in ids[len(submitted) :]]
    # each of the 128 bit positions must behave like a fair coin: a counter, a timestamp or a short
    # random part leaves positions fixed (150 is over 6 standard deviations of a fair coin's count)
    for position in range(128):
        ones = sum((value >> position) & 1 for value in values)
        assert abs(ones - samples / 2) < 150, f"bit {position} set in {ones} of {samples} ids"


def test_keyless_mode_listens_on_loopback_only_and_says_so(spawn: Spawn) -> None:
    port = free_port()
    keyless = spawn(
        ["-m", "gateway"], {"SITTER_PORT": str(port), "SITTER_API_KEYS": ""}, ready="Running on", name="open"
    )
    assert "DEVELOPMENT MODE" in keyless.log() and f"Running on http://127.0.0.1:{port}" in keyless.log()
    assert "all addresses" not in keyless.log()
    keyed = spawn(
        ["-m", "gateway"],
        {"SITTER_PORT": str(free_port()), "SITTER_API_KEYS": "k1"},
        ready="Running on",
        name="keyed",
    )
    assert "all addresses" in keyed.log() and "DEVELOPMENT MODE" not in keyed.log()


def test_the_keyless_warning_comes_from_the_factory(caplog: pytest.LogCaptureFixture) -> None:
    """gunicorn builds the app with `create_app()`, so the warning must come from the factory itself."""
    create_app(Settings(api_keys=()))
    assert any("DEVELOPMENT MODE" in record.getMessage() for record in caplog.records)
    caplog.clear()
    create_app(Settings(api_keys=("k",)))
    assert not any("DEVELOPMENT MODE" in record.getMessage() for record in caplog.records)

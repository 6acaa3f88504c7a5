"""Access control: a job is visible only to the API key that made it; ids are unguessable; keyless mode
serves jobs to loopback callers only, under any server, says so, and under the project's gunicorn settings
refuses to start on other addresses; each key has its own cap on unfinished jobs."""

from __future__ import annotations

import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask.testing import FlaskClient
from werkzeug.test import TestResponse as Response

from gateway.app import create_app
from gateway.loopback import resolves_to_loopback
from shared.jobs import PORTRAIT_BLOB, blob_key, is_job_id, new_job_id
from shared.runtime.job_store import ACTIVE_KEY, JobStore
from shared.runtime.storage import blob_store, redis_client
from shared.settings import Settings
from tests.helpers.forms import assert_problem, job_form
from tests.helpers.processes import Spawn, free_port, start_gateway
from tests.helpers.waiting import wait_for

ALICE = {"X-API-Key": "alice-key"}
MALLORY = {"Authorization": "Bearer mallory-key"}


@pytest.fixture
def settings(module_redis_url: str) -> Settings:
    return Settings(  # no worker ends these jobs: the caps on unfinished jobs would fill
        redis_url=module_redis_url, api_keys=("alice-key", "mallory-key"), max_active_jobs_per_key=10**6
    )


def test_another_key_sees_a_404_and_cannot_touch_the_job(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes
) -> None:
    job_id = client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=ALICE).get_json()["id"]
    for path in ("", "/result", "/artifacts/mask", "/artifacts/nope"):
        assert_problem(client.get(f"/v1/jobs/{job_id}{path}", headers=MALLORY), 404, "job-not-found")
    assert_problem(client.delete(f"/v1/jobs/{job_id}", headers=MALLORY), 404, "job-not-found")
    stolen = client.post(
        "/v1/jobs", data=job_form(portrait_jpeg, portrait=None, portrait_from=job_id), headers=MALLORY
    )
    assert_problem(stolen, 410, "blob-gone", "portrait_from")
    # the owner still has everything, untouched by the other key's attempts
    assert client.get(f"/v1/jobs/{job_id}", headers=ALICE).get_json()["status"] == "queued"
    assert blob_store(settings).get(blob_key(job_id, PORTRAIT_BLOB)) == portrait_jpeg
    assert_problem(client.get(f"/v1/jobs/{job_id}/result", headers=ALICE), 409, "job-not-finished")
    reused = client.post(
        "/v1/jobs", data=job_form(portrait_jpeg, portrait=None, portrait_from=job_id), headers=ALICE
    )
    assert reused.status_code == 202, reused.get_json()
    # an unknown id and another key's id answer alike (bar the id in the text), so probing leaks nothing
    unknown = client.get("/v1/jobs/" + "0" * 32, headers=MALLORY)
    foreign = client.get(f"/v1/jobs/{job_id}", headers=MALLORY)
    assert unknown.get_data(as_text=True).replace("0" * 32, job_id) == foreign.get_data(as_text=True)


def test_job_ids_carry_128_random_bits(client: FlaskClient, portrait_jpeg: bytes) -> None:
    submitted = [
        client.post("/v1/jobs", data=job_form(portrait_jpeg), headers=ALICE).get_json()["id"]
        for _ in range(3)
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


@pytest.mark.slow
def test_keyless_mode_listens_on_loopback_only_and_says_so(spawn: Spawn) -> None:
    port = free_port()
    keyless = start_gateway(spawn, {"SITTER_PORT": str(port), "SITTER_API_KEYS": ""}, name="open", timeout=60)
    assert "DEVELOPMENT MODE" in keyless.log() and f"Running on http://127.0.0.1:{port}" in keyless.log()
    assert "all addresses" not in keyless.log()
    keyed = start_gateway(
        spawn, {"SITTER_PORT": str(free_port()), "SITTER_API_KEYS": "k1"}, name="keyed", timeout=60
    )
    assert "all addresses" in keyed.log() and "DEVELOPMENT MODE" not in keyed.log()


def test_the_keyless_warning_comes_from_the_factory(caplog: pytest.LogCaptureFixture) -> None:
    """gunicorn builds the app with `create_app()`, so the warning must come from the factory itself."""
    create_app(Settings(api_keys=()))
    assert any("DEVELOPMENT MODE" in record.getMessage() for record in caplog.records)
    caplog.clear()
    create_app(Settings(api_keys=("k",)))
    assert not any("DEVELOPMENT MODE" in record.getMessage() for record in caplog.records)


def _primary_address() -> str:
    """This machine's own non-loopback address (no packet is sent), or skip when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        except OSError:
            pytest.skip("no network interface besides loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no network interface besides loopback")
    return address


GUNICORN_CONF = "python:gateway.gunicorn_conf"
UNKNOWN_JOB = "/v1/jobs/" + "0" * 32


def _gunicorn(bind: str, *config: str) -> list[str]:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return [gunicorn, *config, "--bind", bind, "--workers", "1", "gateway.app:create_app()"]


def _wait_served(port: int) -> None:
    def healthy() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).ok
        except requests.ConnectionError:
            return False

    wait_for(healthy, 30, "gunicorn to answer")


@pytest.mark.slow
def test_a_keyless_gateway_under_gunicorn_serves_jobs_to_its_own_machine_only(
    spawn: Spawn, module_redis_url: str
) -> None:
    """Bound to every interface without the project's gunicorn settings: loopback callers are served,
    others get 403, so even a server started by hand cannot expose keyless jobs."""
    port = free_port()
    env = {"SITTER_REDIS_URL": module_redis_url, "SITTER_API_KEYS": ""}
    server = spawn(_gunicorn(f"0.0.0.0:{port}"), env, ready="Booting worker", name="gunicorn")
    _wait_served(port)

    def get(host: str) -> requests.Response:
        return requests.get(f"http://{host}:{port}{UNKNOWN_JOB}", timeout=10)

    assert get("127.0.0.1").status_code == 404  # served: the job is simply unknown
    outside = get(_primary_address())
    assert outside.status_code == 403 and outside.json()["code"] == "development-mode", outside.text
    assert "SITTER_API_KEYS" in outside.json()["detail"]
    assert "DEVELOPMENT MODE" in server.log()


@pytest.mark.slow
def test_keyless_gunicorn_with_the_gateway_settings_refuses_to_listen_beyond_loopback(
    spawn: Spawn, module_redis_url: str
) -> None:
    """What the containers run (`-c python:gateway.gunicorn_conf`, all interfaces) stops without keys."""
    bind = f"0.0.0.0:{free_port()}"
    env = {"SITTER_REDIS_URL": module_redis_url, "SITTER_API_KEYS": ""}
    server = spawn(_gunicorn(bind, "-c", GUNICORN_CONF), env, name="exposed")
    assert server.process.wait(30) == 1, server.log()
    (line,) = [line for line in server.log().splitlines() if "REFUSING TO START" in line]
    assert bind in line and "SITTER_API_KEYS is not set" in line
    assert "Booting worker" not in server.log()


def test_only_addresses_of_this_machine_count_as_loopback() -> None:
    assert all(map(resolves_to_loopback, ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "localhost"]))
    assert not any(map(resolves_to_loopback, ["0.0.0.0", "::", "203.0.113.7", "name.invalid"]))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("host", "keys"), [("127.0.0.1", ""), ("localhost", ""), ("0.0.0.0", "gunicorn-key")]
)
def test_gunicorn_with_the_gateway_settings_serves_keyless_on_loopback_and_with_keys_anywhere(
    spawn: Spawn, module_redis_url: str, host: str, keys: str
) -> None:
    port = free_port()
    env = {"SITTER_REDIS_URL": module_redis_url, "SITTER_API_KEYS": keys}
    spawn(_gunicorn(f"{host}:{port}", "-c", GUNICORN_CONF), env, ready="Booting worker", name="served")
    _wait_served(port)
    headers = {"X-API-Key": keys} if keys else {}
    served = requests.get(f"http://127.0.0.1:{port}{UNKNOWN_JOB}", headers=headers, timeout=10)
    assert served.status_code == 404, served.text  # served: the job is simply unknown


@pytest.mark.parametrize("address", ["203.0.113.7", "10.1.2.3", "::ffff:192.0.2.1"])
def test_keyless_mode_refuses_every_job_route_to_other_machines(
    module_redis_url: str, portrait_jpeg: bytes, address: str
) -> None:
    settings = Settings(redis_url=module_redis_url, max_active_jobs_per_key=10**6)
    with create_app(settings).test_client() as local:
        job_id = local.post("/v1/jobs", data=job_form(portrait_jpeg)).get_json()["id"]
    with create_app(settings).test_client() as remote:
        remote.environ_base["REMOTE_ADDR"] = address
        assert_problem(remote.post("/v1/jobs", data=job_form(portrait_jpeg)), 403, "development-mode")
        for path in ("", "/result", "/artifacts/mask"):
            assert_problem(remote.get(f"/v1/jobs/{job_id}{path}"), 403, "development-mode")
        assert_problem(remote.delete(f"/v1/jobs/{job_id}"), 403, "development-mode")
        assert remote.get("/v1/paintings").status_code == 200  # public, non-personal routes stay open
        assert remote.get("/healthz").status_code == 200


def test_with_keys_other_machines_are_served(settings: Settings, portrait_jpeg: bytes) -> None:
    with create_app(settings).test_client() as remote:
        remote.environ_base["REMOTE_ADDR"] = "203.0.113.7"
        assert remote.post("/v1/jobs", data=job_form(portrait_jpeg), headers=ALICE).status_code == 202


def _submit_as(client: FlaskClient, key: str, portrait: bytes) -> Response:
    return client.post("/v1/jobs", data=job_form(portrait), headers={"X-API-Key": key})


def test_each_key_has_its_own_cap_on_unfinished_jobs(module_redis_url: str, portrait_jpeg: bytes) -> None:
    settings = Settings(
        redis_url=module_redis_url, api_keys=("carol-key", "dave-key"), max_active_jobs_per_key=2
    )
    with create_app(settings).test_client() as client:
        held = [_submit_as(client, "carol-key", portrait_jpeg).get_json()["id"] for _ in range(2)]
        refused = _submit_as(client, "carol-key", portrait_jpeg)
        assert_problem(refused, 429, "too-many-jobs")
        assert (
            refused.headers["Retry-After"] == "5" and "2 jobs of this API key" in refused.get_json()["detail"]
        )
        assert _submit_as(client, "dave-key", portrait_jpeg).status_code == 202  # others are not held back
        # a job that ends, however it ends, gives its place back
        client.delete(f"/v1/jobs/{held[0]}", headers={"X-API-Key": "carol-key"})
        again = _submit_as(client, "carol-key", portrait_jpeg)
        assert again.status_code == 202
        jobs = JobStore(redis_client(settings.redis_url), retention_seconds=settings.retention_seconds)
        jobs.fail(held[1], "segment", "test", "ended by the test")
        assert _submit_as(client, "carol-key", portrait_jpeg).status_code == 202
        assert_problem(_submit_as(client, "carol-key", portrait_jpeg), 429, "too-many-jobs")


def test_a_job_that_succeeds_or_times_out_gives_its_place_back(
    module_redis_url: str, portrait_jpeg: bytes
) -> None:
    settings = Settings(redis_url=module_redis_url, api_keys=("frank-key",), max_active_jobs_per_key=1)
    client = redis_client(settings.redis_url)
    jobs = JobStore(client, retention_seconds=settings.retention_seconds)
    with create_app(settings).test_client() as api:
        done = _submit_as(api, "frank-key", portrait_jpeg).get_json()["id"]
        assert_problem(_submit_as(api, "frank-key", portrait_jpeg), 429, "too-many-jobs")
        jobs.start_stage(done, "segment", "test-worker")
        assert jobs.succeed(done, {"format": "png"})
        lost = _submit_as(api, "frank-key", portrait_jpeg).get_json()["id"]
        assert_problem(_submit_as(api, "frank-key", portrait_jpeg), 429, "too-many-jobs")
        # as if submitted before SITTER_JOB_TIMEOUT: the next submission fails it and takes its place
        client.zadd(ACTIVE_KEY, {lost: time.time() - settings.job_timeout - 1})
        assert _submit_as(api, "frank-key", portrait_jpeg).status_code == 202
        timed_out = api.get(f"/v1/jobs/{lost}", headers={"X-API-Key": "frank-key"}).get_json()
        assert timed_out["status"] == "failed" and timed_out["error"]["code"] == "job-timeout"


def test_concurrent_submissions_never_overshoot_the_cap(module_redis_url: str, portrait_jpeg: bytes) -> None:
    settings = Settings(redis_url=module_redis_url, api_keys=("erin-key",), max_active_jobs_per_key=3)
    app = create_app(settings)
    start = threading.Barrier(8)

    def submit(_: int) -> int:
        with app.test_client() as client:
            start.wait()
            return _submit_as(client, "erin-key", portrait_jpeg).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(submit, range(8)))
    assert statuses == [202] * 3 + [429] * 5


def test_without_keys_a_made_up_key_is_no_new_caller(module_redis_url: str, portrait_jpeg: bytes) -> None:
    """Keyless, any X-API-Key value proves nothing: the per-address cap still counts every request."""
    settings = Settings(redis_url=module_redis_url, api_keys=(), max_active_jobs_per_key=2)
    with create_app(settings).test_client() as client:
        client.environ_base["REMOTE_ADDR"] = "127.0.0.9"
        for index in range(2):
            assert _submit_as(client, f"invented-{index}", portrait_jpeg).status_code == 202
        assert_problem(_submit_as(client, "invented-2", portrait_jpeg), 429, "too-many-jobs")

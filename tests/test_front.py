"""The gateway's HTTP front against slow clients, with the real processes (issue #12, item 4).

gunicorn runs with compose's gateway command (shrunk to 1 worker x 2 threads, bound to a free loopback
port) and nginx with docker/front/nginx.conf (only its ports changed), as in compose and Kubernetes.
Slow clients (headers, or a body, a byte a second) must neither delay /healthz nor hold on past the
front's timeouts; plain gunicorn, as compose published it before, fails the first check (strict xfail).
Through the front the gateway still sees each caller's own address, and a client cannot claim another.
Needs nginx (tests/front/install.sh, run by `make test`).
"""

from __future__ import annotations

import http.client
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient

from gateway.app import create_app
from shared.settings import Settings
from tests.helpers.compose import COMPOSE, interpolate
from tests.helpers.deploy import FRONT_COMMAND, FRONT_CONF, front_directives, front_port, front_upstream
from tests.helpers.processes import Spawn, free_port
from tests.helpers.slow_client import SlowClient, slow_body, slow_headers
from tests.helpers.waiting import wait_for

SLOW_HEADERS, SLOW_BODIES = 3, 2  # five slow clients against gunicorn's 2 threads
HEALTHZ_WITHIN = 1.0  # seconds


def seconds(directive: str) -> float:
    (value,) = front_directives()[directive]
    return float(value.removesuffix("s"))


def nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed: run tests/front/install.sh (make test does)")
    return found


def outward_address() -> str | None:
    """This machine's address on its network (no packet is sent), to call the front as a remote client."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def gunicorn(spawn: Spawn, redis_url: str, port: int, front_listen: str) -> None:
    """compose's gateway command, 1 worker x 2 threads on 127.0.0.1:`port`, keyless (this machine only)."""
    command = interpolate(yaml.safe_load(COMPOSE.read_text()))["services"]["gateway"]["command"]
    argv = [str(Path(sys.executable).parent / command[0]), *command[1:]]
    for flag, value in (("--bind", f"127.0.0.1:{port}"), ("--workers", "1"), ("--threads", "2")):
        argv[argv.index(flag) + 1] = value
    env = {
        "SITTER_REDIS_URL": redis_url,
        "SITTER_FRONT_LISTEN": front_listen,
    }
    spawn(argv, env, ready="Booting worker", timeout=30, name="gunicorn")
    wait_for(lambda: healthz(port) is not None, 15, "gunicorn to answer /healthz", interval=0.1)


def front(spawn: Spawn, tmp: Path, listen: list[str], upstream: int) -> None:
    """nginx with the repository's config, its listen and upstream moved to this test's ports."""
    text = FRONT_CONF.read_text()
    listen_line, upstream_url = f"listen {front_port()};", f"http://{front_upstream()};"
    assert text.count(listen_line) == 1 and text.count(upstream_url) == 1
    text = text.replace(listen_line, " ".join(f"listen {address};" for address in listen))
    config = tmp / "nginx.conf"
    config.write_text(text.replace(upstream_url, f"http://127.0.0.1:{upstream};"))
    argv = [nginx(), *FRONT_COMMAND[1:]]
    argv[argv.index("-c") + 1], argv[argv.index("-p") + 1] = str(config), f"{tmp}/"
    spawn(argv, {}, name="nginx")
    port = int(listen[0].rpartition(":")[2])
    wait_for(lambda: healthz(port) is not None, 15, "nginx to answer /healthz", interval=0.1)


def healthz(port: int, timeout: float = 2 * HEALTHZ_WITHIN) -> float | None:
    """Seconds /healthz took to answer 200, None when it did not within `timeout`."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as response:
            return time.monotonic() - started if response.status == 200 else None
    except (OSError, urllib.error.URLError):
        return None


def healthz_with_slow_clients(
    port: int, trickle_body_for: float = 1e9
) -> tuple[list[float | None], list[SlowClient]]:
    """Start the slow clients, let them settle, then time /healthz three times over about two seconds
    (stopping at the first that does not answer in time)."""
    clients = [slow_headers(port) for _ in range(SLOW_HEADERS)]
    clients += [slow_body(port, trickle_body_for) for _ in range(SLOW_BODIES)]
    for client in clients:
        client.start()
    time.sleep(1.0)
    timings = []
    for _ in range(3):
        timings.append(healthz(port))
        if timings[-1] is None:
            break
        time.sleep(0.5)
    return timings, clients


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, module_spawn: Spawn, module_redis_url: str
) -> dict[str, object]:
    """nginx (on loopback and, where there is one, this machine's outward address) before gunicorn."""
    port, upstream, outward = free_port(), free_port(), outward_address()
    gunicorn(module_spawn, module_redis_url, upstream, front_listen=f"127.0.0.1:{port}")
    listen = [f"127.0.0.1:{port}"] + ([f"{outward}:{port}"] if outward else [])
    front(module_spawn, tmp_path_factory.mktemp("front"), listen, upstream)
    return {"port": port, "outward": outward}


@pytest.mark.slow
def test_slow_clients_neither_delay_healthz_nor_outlast_the_front_timeouts(served: dict[str, object]) -> None:
    port = int(str(served["port"]))
    trickle = 2.0  # then the body stalls: cut client_body_timeout after its last byte
    timings, clients = healthz_with_slow_clients(port, trickle_body_for=trickle)
    try:
        print(f"\nfront: /healthz with {len(clients)} slow clients: {timings}")
        assert all(took is not None and took < HEALTHZ_WITHIN for took in timings), timings
        header_limit, body_limit = seconds("client_header_timeout"), seconds("client_body_timeout")
        wait_for(lambda: all(c.cut_after is not None for c in clients), body_limit + trickle + 5, "the cuts")
        cuts = [round(c.cut_after or 0, 1) for c in clients]
        print(f"front: slow clients cut after {cuts} s")
        for client in clients[:SLOW_HEADERS]:
            assert header_limit - 1 <= (client.cut_after or 0) <= header_limit + 2
        for client in clients[SLOW_HEADERS:]:
            assert body_limit + 1 <= (client.cut_after or 0) <= body_limit + trickle + 3
    finally:
        for client in clients:
            client.stop()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="plain gunicorn: two slow clients hold both threads (the finding)")
def test_plain_gunicorn_is_blocked_by_slow_clients(spawn: Spawn, module_redis_url: str) -> None:
    """The check above, against gunicorn published directly as compose did before the front."""
    port = free_port()
    gunicorn(spawn, module_redis_url, port, front_listen="")
    timings, clients = healthz_with_slow_clients(port)
    for client in clients:
        client.stop()
    print(f"\nplain gunicorn: /healthz with {len(clients)} slow clients: {timings}")
    assert all(took is not None and took < HEALTHZ_WITHIN for took in timings), timings


def _jobs_status(address: str, port: int, source: str, headers: dict[str, str]) -> int:
    connection = http.client.HTTPConnection(address, port, timeout=5, source_address=(source, 0))
    try:
        connection.request("GET", "/v1/jobs/" + "0" * 32, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.slow
def test_the_gateway_sees_the_caller_through_the_front_and_it_cannot_pose_as_local(
    served: dict[str, object],
) -> None:
    """Keyless, /v1/jobs serves only this machine: nginx reaches gunicorn over loopback, yet a caller from
    the network still gets 403, with or without an X-Forwarded-For claiming loopback."""
    port, outward = int(str(served["port"])), served["outward"]
    assert _jobs_status("127.0.0.1", port, "127.0.0.1", {}) == 404  # local: served (no such job)
    if not outward:
        pytest.skip("this machine has no non-loopback address to call from")
    for claim in ({}, {"X-Forwarded-For": "127.0.0.1"}, {"X_Forwarded_For": "127.0.0.1"}):
        assert _jobs_status(str(outward), port, str(outward), claim) == 403, claim


@pytest.mark.slow
def test_the_front_refuses_a_body_past_the_upload_limit_before_reading_it(served: dict[str, object]) -> None:
    (limit,) = front_directives()["client_max_body_size"]
    connection = http.client.HTTPConnection("127.0.0.1", int(str(served["port"])), timeout=5)
    connection.putrequest("POST", "/v1/jobs")
    connection.putheader("Content-Length", str(int(limit.removesuffix("m")) * 1024 * 1024 + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()


@pytest.fixture
def keyless(module_redis_url: str) -> FlaskClient:
    return create_app(Settings(redis_url=module_redis_url)).test_client()


def test_forwarded_for_is_believed_only_from_a_peer_on_this_machine(keyless: FlaskClient) -> None:
    """A remote peer cannot become local with the header; a local one (the front) passes the caller on."""
    url = "/v1/jobs/" + "0" * 32
    local, remote = {"REMOTE_ADDR": "127.0.0.1"}, {"REMOTE_ADDR": "203.0.113.9"}
    assert keyless.get(url, environ_base=local).status_code == 404
    assert keyless.get(url, environ_base=remote, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 403
    assert keyless.get(url, environ_base=local, headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert keyless.get(url, environ_base=local, headers={"X-Forwarded-For": "not-an-ip"}).status_code == 403
    forwarded = {"X-Forwarded-For": "127.0.0.1, 203.0.113.9"}  # the last entry is the front's own
    assert keyless.get(url, environ_base=local, headers=forwarded).status_code == 403

"""`make up` (sitter.stack): with no Redis at SITTER_REDIS_URL it starts its own (and with `--broker
rabbitmq` a private RabbitMQ node), then the README's curl session (submit, poll, download) works over
real HTTP, and Ctrl-C stops every process it started."""

from __future__ import annotations

import signal
import subprocess
import time
from urllib.parse import urljoin

import pytest
import requests

from sitter.processes import STACK
from sitter.rabbitmq_node import server_binary
from tests.helpers.processes import Spawn, free_port
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_make_up_serves_the_curl_session(broker_kind: str, spawn: Spawn, portrait_jpeg: bytes) -> None:
    if broker_kind == "rabbitmq" and server_binary() is None:
        pytest.skip("rabbitmq-server is not installed (sh tests/rabbitmq/install.sh)")
    port = free_port()
    env = {
        "SITTER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "SITTER_BROKER_URL": "",
        "SITTER_INFERENCE_THREADS": "1",
    }
    args = ["-m", "sitter.stack", "--port", str(port), "--styles", "great-wave", "--broker", broker_kind]
    stack = spawn(args, env, name="stack")
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert stack.process.poll() is None, stack.log()[-3000:]
        try:
            workers_up = stack.log().count(" ready.") == len(STACK) - 1  # all but the gateway
            return workers_up and requests.get(f"{base}/readyz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(ready, 120, "the stack to come up", interval=0.2)
    assert "starting a private redis-server" in stack.log()
    assert ("starting a private node" in stack.log()) == (broker_kind == "rabbitmq")

    files = {"portrait": ("me.jpg", portrait_jpeg, "image/jpeg")}
    preview = requests.post(f"{base}/v1/previews", files=files, timeout=15)  # served by segmenter-preview
    assert preview.status_code == 200 and preview.content.startswith(b"\x89PNG"), preview.text
    response = requests.post(f"{base}/v1/jobs", files=files, data={"painting": "great-wave"}, timeout=10)
    assert response.status_code == 202, response.text
    location = urljoin(base, response.headers["Location"])  # a path unless SITTER_PUBLIC_BASE_URL is set

    def finished() -> dict[str, object] | None:
        job: dict[str, object] = requests.get(location, timeout=5).json()
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(finished, 60, "the job")
    assert isinstance(job, dict) and job["status"] == "succeeded", job
    result = requests.get(f"{location}/result", timeout=5)
    assert result.status_code == 200 and result.headers["Content-Type"] == "image/png"
    assert result.content.startswith(b"\x89PNG")
    for name in STACK:
        assert f"{name} " in stack.log(), f"no log lines prefixed {name!r}"

    stack.process.send_signal(signal.SIGINT)  # what Ctrl-C does
    try:  # stop() is bounded (20 s for the children, 10 s for Redis); a loaded 2-core CI machine adds to it
        code = stack.process.wait(90)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the stack did not stop within 90 s:\n{stack.log()[-4000:]}") from None
    assert code == 0, stack.log()[-4000:]
    time.sleep(0.5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=1)

"""Issue 22 item 4: a flood of previews with no segmenter free holds no more than SITTER_PREVIEW_SLOTS of
a gateway process's threads (SITTER_PREVIEW_SLOTS_PER_KEY of one key's); the rest are answered 503 `busy`
at once, and /healthz stays quick meanwhile (it once took 6.6-8.2 s, past the readiness probe's 5 s)."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.helpers.peaks import children
from tests.helpers.processes import Spawn, free_port
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

KEYS = ("key-a", "key-b", "key-c", "key-d")
WAIT = 3  # SITTER_PREVIEW_WAIT_SECONDS: no segmenter runs, so a preview that waits gets 503 after it


@pytest.fixture
def gateway_url(spawn: Spawn, module_redis_url: str) -> str:
    """gunicorn as deployed but with 4 threads (the issue's probe), API keys set, no worker at all."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    env = {
        "SITTER_REDIS_URL": module_redis_url,
        "SITTER_API_KEYS": ",".join(KEYS),
        "SITTER_PREVIEW_WAIT_SECONDS": str(WAIT),
    }
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    server = spawn([*command, "gateway.app:create_app()"], env, ready="Booting worker", name="gunicorn")
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _healthy(url), 30, "gunicorn to answer")
    assert len(children(server.process.pid)) == 1
    return url


def _healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=10).ok
    except requests.ConnectionError:
        return False


def test_a_preview_flood_leaves_the_gateway_free(gateway_url: str, portrait_jpeg: bytes) -> None:
    def preview(key: str) -> tuple[str, int, float, str | None]:
        start = time.perf_counter()
        response = requests.post(
            f"{gateway_url}/v1/previews",
            files={"portrait": ("me.jpg", portrait_jpeg)},
            headers={"X-API-Key": key},
            timeout=30,
        )
        return key, response.status_code, time.perf_counter() - start, response.headers.get("Retry-After")

    health: list[float] = []
    done = threading.Event()

    def probe_health() -> None:
        while not done.is_set():
            start = time.perf_counter()
            assert requests.get(f"{gateway_url}/healthz", timeout=10).ok
            health.append(time.perf_counter() - start)
            time.sleep(0.1)

    prober = threading.Thread(target=probe_health)
    prober.start()
    try:
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(preview, [key for key in KEYS for _ in range(4)]))
    finally:
        done.set()
        prober.join()
    assert all(status == 503 and retry for _, status, _, retry in answers), answers
    waited = [(key, seconds) for key, _, seconds, _ in answers if seconds >= WAIT - 0.5]
    at_once = [seconds for _, _, seconds, _ in answers if seconds < WAIT - 0.5]
    assert len(waited) <= 3  # SITTER_PREVIEW_SLOTS
    assert all(sum(1 for key, _ in waited if key == each) <= 2 for each in KEYS)  # ..._PER_KEY
    assert len(at_once) >= 13 and max(at_once) < 1.5, answers
    health.sort()
    p95 = health[int(0.95 * (len(health) - 1))]
    print(f"/healthz during the flood: {len(health)} probes, p95 {p95 * 1000:.0f} ms; previews {answers}")
    assert p95 < 1.0

"""Issue 22 items 4 and 6: a flood of previews with no segmenter free holds no more than
SITTER_PREVIEW_SLOTS of a gateway process's threads (SITTER_PREVIEW_SLOTS_PER_KEY of one key's); the rest
are answered 503 `busy` at once, and /healthz stays quick meanwhile (it once took 6.6-8.2 s, past the
readiness probe's 5 s). No more than SITTER_PREVIEW_QUEUE_MAX previews wait in the broker, and a
segmenter serves every waiting preview before its next segment task (Redis)."""

from __future__ import annotations

import io
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


@pytest.mark.slow
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


def test_previews_do_not_pile_up_in_the_broker(module_redis_url: str, portrait_jpeg: bytes) -> None:
    """No segmenter runs: each preview waits its second and leaves its expired message in the queue,
    until SITTER_PREVIEW_QUEUE_MAX are there; then a preview is 503 `busy` at once, queueing nothing."""
    import redis

    from gateway.app import create_app
    from shared.queues import PREVIEW_QUEUE
    from shared.settings import Settings

    store = redis.Redis.from_url(module_redis_url)
    store.delete(PREVIEW_QUEUE)
    settings = Settings(redis_url=module_redis_url, preview_wait_seconds=1, preview_queue_max=2)
    with create_app(settings).test_client() as client:

        def preview() -> tuple[int, float, str]:
            start = time.perf_counter()
            response = client.post("/v1/previews", data={"portrait": (io.BytesIO(portrait_jpeg), "me.jpg")})
            return response.status_code, time.perf_counter() - start, response.get_json()["detail"]

        waited = [preview() for _ in range(2)]
        assert all(status == 503 and seconds >= 0.9 for status, seconds, _ in waited), waited
        status, seconds, detail = preview()
    assert status == 503 and seconds < 0.5 and "already waiting" in detail
    assert store.llen(PREVIEW_QUEUE) == 2


@pytest.mark.slow
def test_a_segmenter_serves_waiting_previews_before_segments(
    spawn: Spawn, module_redis_url: str, portrait_jpeg: bytes
) -> None:
    """Three segment tasks queued first, then three previews, then the segmenter starts: it answers every
    preview while the segment tasks still wait (kombu alternated between the two queues)."""
    import base64
    import uuid

    import redis

    from shared.imageio import decode_image, encode_image
    from shared.previews import PREVIEW_TASK
    from shared.queues import PREVIEW_QUEUE, SEGMENT_QUEUE, SEGMENT_TASK
    from shared.runtime.celery_app import create_celery
    from shared.runtime.preview_replies import wait_for_answer
    from shared.settings import Settings
    from tests.helpers.processes import worker

    store = redis.Redis.from_url(module_redis_url)
    store.delete(PREVIEW_QUEUE, SEGMENT_QUEUE)
    app = create_celery(Settings(redis_url=module_redis_url), send_only=True)
    for _ in range(3):  # jobs that do not exist: each ends at once, it only has to be taken after
        app.send_task(SEGMENT_TASK, args=(uuid.uuid4().hex, {}), queue=SEGMENT_QUEUE)
    photo = base64.b64encode(encode_image(decode_image(portrait_jpeg), "jpeg")).decode()
    ids = [uuid.uuid4().hex for _ in range(3)]
    for preview_id in ids:
        app.send_task(PREVIEW_TASK, args=(preview_id, photo), queue=PREVIEW_QUEUE, expires=120)
    worker(spawn, "segmenter", {"SITTER_REDIS_URL": module_redis_url, "SITTER_INFERENCE_THREADS": "1"})
    depths = []
    for preview_id in ids:
        answer = wait_for_answer(store, preview_id, 60)
        assert answer is not None and answer.png is not None, answer
        depths.append(store.llen(SEGMENT_QUEUE))
    assert depths[-1] >= 2, depths  # at most one segment task was taken before the last preview's answer

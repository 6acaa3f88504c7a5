"""Memory follows what the limits allow, not what a request asks for: measured on real processes.

The peak resident memory (VmHWM) of the gunicorn worker and of the compositor's pool process is read
from /proc before and after the request, so what is measured is what the kernel would kill them for.
"""

from __future__ import annotations

import io
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests
from PIL import Image

from tests.helpers.processes import Spawn, free_port, start_workers
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow

MB = 1024 * 1024
GREY_16BIT_SIDE = 6300  # under the 40 MP limit; the file is ~80 KB, the pixels 79 MB as stored


def _peak_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _grey_16bit_png(side: int) -> bytes:
    """A smooth 16-bit greyscale picture: tiny as PNG, big as pixels."""
    ramp = np.linspace(0, 65535, side, dtype=np.float64).astype(np.uint16)
    pixels = np.broadcast_to(ramp, (side, side)).copy()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def gunicorn_worker(spawn: Spawn, module_redis_url: str) -> tuple[str, int]:
    """The gateway under gunicorn as production runs it (1 process, 4 threads); its URL and worker pid."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    env = {"SITTER_REDIS_URL": module_redis_url, "SITTER_MAX_ACTIVE_JOBS_PER_KEY": "1000"}
    server = spawn([*command, "gateway.app:create_app()"], env, ready="Booting worker", name="gunicorn")
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{url}/healthz", timeout=10).ok
        except requests.ConnectionError:
            return False

    wait_for(healthy, 30, "gunicorn to answer")
    (pid,) = _children(server.process.pid)
    return url, pid


def _submit(url: str, portrait: bytes, **fields: str) -> requests.Response:
    files = {"portrait": ("grey.png", portrait, "image/png")}
    data = {"painting": "starry-night", **fields}
    return requests.post(f"{url}/v1/jobs", files=files, data=data, timeout=60)


def test_a_small_file_of_many_16bit_pixels_costs_the_gateway_its_pixels_only(
    gunicorn_worker: tuple[str, int],
) -> None:
    url, pid = gunicorn_worker
    portrait = _grey_16bit_png(GREY_16BIT_SIDE)
    assert len(portrait) < 200_000
    before = _peak_bytes(pid)
    refused = _submit(url, portrait, strength="2")
    assert refused.status_code == 422 and refused.json()["field"] == "strength"
    # the bad parameter is found before the image is decoded: the peak did not move by the pixels
    assert _peak_bytes(pid) - before < 40 * MB
    accepted = _submit(url, portrait)
    assert accepted.status_code == 202, accepted.text
    one = _peak_bytes(pid) - before
    with ThreadPoolExecutor(4) as pool:
        statuses = [response.status_code for response in pool.map(lambda _: _submit(url, portrait), range(4))]
    assert statuses == [202] * 4
    four = _peak_bytes(pid) - before
    side = GREY_16BIT_SIDE
    print(f"gateway peak growth, 16-bit {side}^2: one upload {one / MB:.0f} MB, four {four / MB:.0f} MB")
    # stored as 16-bit the pixels take 79 MB; a float64 copy of them once took ~0.65 GB per request
    assert one < 150 * MB
    assert four < 400 * MB


def test_a_giant_placement_box_costs_the_compositor_only_what_shows(
    spawn: Spawn, module_redis_url: str, portrait_jpeg: bytes
) -> None:
    """A 2000x2000 painting with the person 8000 px tall: only the visible window is resized."""
    env = {"SITTER_REDIS_URL": module_redis_url, "SITTER_INFERENCE_THREADS": "1"}
    workers = start_workers(spawn, env, styles="custom")
    (pool_pid,) = _children(workers["compositor"].process.pid)
    painting = np.random.default_rng(0).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(painting).save(buffer, "PNG", compress_level=1)
    from gateway.app import create_app
    from shared.settings import Settings

    settings = Settings(redis_url=module_redis_url)
    before = _peak_bytes(pool_pid)
    form = {
        "portrait": (io.BytesIO(portrait_jpeg), "me.jpg"),
        "painting_file": (io.BytesIO(buffer.getvalue()), "wall.png"),
        "x": "-1000",
        "y": "-500",
        "height": "8000",
    }
    with create_app(settings).test_client() as client:
        response = client.post("/v1/jobs", data=form)
        assert response.status_code == 202, response.get_json()
        job = response.get_json()["id"]

        def finished() -> dict[str, object] | None:
            document: dict[str, object] = client.get(f"/v1/jobs/{job}").get_json()
            return document if document["status"] in ("succeeded", "failed") else None

        document = wait_for(finished, 120, "the giant-box job to finish")
    assert document["status"] == "succeeded", document  # type: ignore[index]
    growth = _peak_bytes(pool_pid) - before
    print(f"compositor peak growth for a 5333x8000 box on a 2000x2000 painting: {growth / MB:.0f} MB")
    assert growth < 900 * MB  # resizing the whole box took ~2.8 GB (its Kubernetes limit is 2 GiB)

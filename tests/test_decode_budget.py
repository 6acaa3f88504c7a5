"""The gateway's per-process decode budget: refuse what alone exceeds it, queue what would overflow it."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from PIL import Image

from gateway.app import create_app
from gateway.decode_budget import DecodeBudget
from gateway.problems import ApiProblem
from shared.errors import ImageTooLargeError
from shared.imageio import open_for_probe
from shared.settings import Settings

MB = 1024 * 1024


def test_a_decode_bigger_than_the_budget_is_refused_at_once() -> None:
    refusal = "needs 20 MB to decode; this server decodes at most 10 MB"
    budget = DecodeBudget(10 * MB, 5)
    with pytest.raises(ImageTooLargeError, match=refusal), budget.reserve(20 * MB, "portrait"):
        pass


def test_decodes_that_would_overflow_wait_for_each_other_then_get_503() -> None:
    budget = DecodeBudget(10 * MB, 0.3)
    inside = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with budget.reserve(8 * MB, "portrait"):
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    started = time.monotonic()
    with pytest.raises(ApiProblem) as refused, budget.reserve(4 * MB, "painting_file"):
        pass
    assert refused.value.status == 503 and time.monotonic() - started >= 0.3
    with budget.reserve(2 * MB, "portrait"):  # what fits beside the holder goes ahead
        assert budget.in_use == 10 * MB
    threading.Timer(0.1, release.set).start()
    with budget.reserve(4 * MB, "painting_file"):  # and a waiter goes once the holder is done
        assert budget.in_use == 4 * MB
    holder.join()
    assert budget.in_use == 0


def _png(width: int, height: int, mode: str) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def test_the_cost_comes_from_the_header_mode_and_bit_depth() -> None:
    assert open_for_probe(_png(300, 200, "RGB")).cost == 300 * 200 * 4  # Pillow keeps RGB as RGBX
    assert open_for_probe(_png(300, 200, "L")).cost == 300 * 200
    grey16 = io.BytesIO()
    Image.fromarray(np.zeros((200, 300), np.uint16)).save(grey16, "PNG")
    assert open_for_probe(grey16.getvalue()).cost == 300 * 200 * 2
    jpeg = io.BytesIO()
    Image.new("RGB", (800, 640)).save(jpeg, "JPEG")
    assert open_for_probe(jpeg.getvalue()).cost == 100 * 80 * 4  # validated at 1/8 scale


def test_the_gateway_refuses_an_upload_over_its_decode_budget(module_redis_url: str) -> None:
    settings = Settings(redis_url=module_redis_url, decode_budget_bytes=1 * MB)
    form = {"portrait": (io.BytesIO(_png(800, 600, "RGB")), "me.png"), "painting": "starry-night"}
    with create_app(settings).test_client() as client:
        response = client.post("/v1/jobs", data=form)
    problem = response.get_json()
    assert response.status_code == 413 and problem["code"] == "image-too-large", problem
    assert problem["field"] == "portrait" and "SITTER_DECODE_BUDGET_BYTES" in problem["detail"]

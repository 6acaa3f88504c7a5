"""The Python client and `sitter submit` against the live stack (gateway over HTTP, real workers)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared import gallery
from sitter.client import (
    ConflictError,
    Job,
    JobCanceledError,
    JobFailedError,
    NotFoundError,
    SitterClient,
    UnauthorizedError,
    UnsupportedMediaError,
    ValidationError,
    WaitTimeoutError,
    add_submit_parser,
)
from tests.helpers.processes import Spawn, start_gateway
from tests.live_stack import UNSERVED_STYLE, WORKER_MAX_PIXELS, LiveStack

pytestmark = pytest.mark.slow


@pytest.fixture
def client(live_stack: LiveStack) -> SitterClient:
    return SitterClient(live_stack.base_url)


def _painting(painting_id: str) -> np.ndarray:
    with Image.open(gallery.painting(painting_id).path) as image:
        return np.asarray(image.convert("RGB"))


def _decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def test_submit_wait_result_places_the_person_where_asked(client: SitterClient, portrait_jpeg: bytes) -> None:
    job = client.submit(portrait_jpeg, painting="great-wave", x=300, y=120, height=300, strength=0.8)
    assert job.status == "queued" and job.document["params"]["placement"] == {
        "x": 300,
        "y": 120,
        "height": 300,
    }
    seen: list[str] = []
    done = client.wait(job.id, timeout=90, on_update=lambda update: seen.append(update.status))
    assert done.status == "succeeded" and seen[-1] == "succeeded"
    assert all(stage["state"] == "succeeded" for stage in done.stages.values())
    assert done.result is not None and done.result["format"] == "png"
    box = done.result["box"]
    assert (box["x"], box["y"], box["h"]) == (300, 120, 300)

    picture = _decode(client.result(job.id))
    painting = _painting("great-wave")
    assert picture.shape == painting.shape
    outside = np.ones(painting.shape[:2], bool)
    outside[box["y"] : box["y"] + box["h"], box["x"] : box["x"] + box["w"]] = False
    assert np.array_equal(picture[outside], painting[outside])  # untouched outside the person's box
    inside = ~outside
    assert np.abs(picture[inside].astype(int) - painting[inside]).mean() > 10  # someone is in the box

    thumbnail = Image.open(io.BytesIO(client.artifact(job.id, "thumbnail")))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 256  # the result, small, for lists
    assert abs(thumbnail.size[0] / thumbnail.size[1] - painting.shape[1] / painting.shape[0]) < 0.01

    mask = _decode(client.artifact(job.id, "mask"))
    assert mask.shape == _decode(portrait_jpeg).shape  # the matte has the portrait's size
    assert mask.max() > 200 and mask.min() < 50  # a person and a background


def test_portrait_from_reuses_the_upload_and_jpeg_output(client: SitterClient, portrait_jpeg: bytes) -> None:
    first = client.wait(client.submit(portrait_jpeg, painting="starry-night", auto=True).id, timeout=90)
    second = client.submit(
        portrait_from=first.id,
        painting="starry-night",
        x=-20,
        y=200,
        height=400,
        format="jpeg",
        output_scale=1.5,
    )
    done = client.wait(second.id, timeout=90)
    assert done.result is not None and done.result["content_type"] == "image/jpeg"
    # 1.5 times the painting: the box asked for in painting pixels comes back in the result's
    assert (done.result["width"], done.result["height"]) == (1536, 960)
    assert (done.result["box"]["x"], done.result["box"]["h"]) == (-30, 600)
    assert client.result(second.id)[:3] == b"\xff\xd8\xff"
    # the same portrait: the same matte
    assert np.array_equal(
        _decode(client.artifact(first.id, "mask")), _decode(client.artifact(second.id, "mask"))
    )
    with pytest.raises(ValueError):
        client.submit(portrait_jpeg, portrait_from=first.id, painting="starry-night")


def test_unfinished_job_times_out_then_cancels(client: SitterClient, portrait_jpeg: bytes) -> None:
    job = client.submit(portrait_jpeg, painting="starry-night", style=UNSERVED_STYLE)
    with pytest.raises(WaitTimeoutError) as timeout:
        client.wait(job.id, timeout=0.5)
    assert timeout.value.job.status in ("queued", "running")
    with pytest.raises(ConflictError) as conflict:
        client.result(job.id)
    assert conflict.value.status == 409 and conflict.value.code == "job-not-finished"
    assert client.cancel(job.id).status == "canceled"
    with pytest.raises(JobCanceledError):
        client.wait(job.id, timeout=5)


def test_failed_job_raises_with_its_stage(client: SitterClient) -> None:
    side = int(WORKER_MAX_PIXELS**0.5) + 100  # accepted by the gateway, refused by the workers
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (120, 90, 60)).save(buffer, "PNG")
    job = client.submit(buffer.getvalue(), painting="starry-night")
    with pytest.raises(JobFailedError) as failed:
        client.wait(job.id, timeout=60)
    assert failed.value.stage in ("segment", "stylize")
    assert failed.value.job.status == "failed" and "pixels" in failed.value.message


def test_problems_become_typed_errors(client: SitterClient, portrait_jpeg: bytes) -> None:
    with pytest.raises(ValidationError) as invalid:
        client.submit(portrait_jpeg, painting="starry-night", strength=2)
    assert (invalid.value.status, invalid.value.field) == (422, "strength")
    assert "between 0 and 1" in invalid.value.message
    with pytest.raises(ValidationError) as unknown:
        client.submit(portrait_jpeg, painting="no-such-painting")
    assert unknown.value.code == "unknown-painting"
    with pytest.raises(UnsupportedMediaError) as media:
        client.submit(b"this is not an image", painting="starry-night")
    assert media.value.status == 415 and media.value.field == "portrait"
    with pytest.raises(NotFoundError) as missing:
        client.job("0" * 32)
    assert missing.value.code == "job-not-found"
    assert [item["id"] for item in client.paintings()] == list(gallery.paintings())
    assert {"painting", "builtin", "trained", "custom"} == {style["kind"] for style in client.styles()}


def test_api_key_is_sent(module_spawn: Spawn, live_stack: LiveStack) -> None:
    from tests.helpers.processes import free_port

    port = free_port()
    env = {**live_stack.env, "SITTER_PORT": str(port), "SITTER_API_KEYS": "s3cret"}
    start_gateway(module_spawn, env, name="keyed-gateway")
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(UnauthorizedError):
        SitterClient(url).job("0" * 32)
    with pytest.raises(NotFoundError):  # past the key check
        SitterClient(url, api_key="s3cret").job("0" * 32)


def test_submit_command_writes_the_picture(
    live_stack: LiveStack, tmp_path: Path, portrait_jpeg: bytes
) -> None:
    portrait = tmp_path / "me.jpg"
    portrait.write_bytes(portrait_jpeg)
    out = tmp_path / "out" / "me-in-starry-night.jpg"
    parser = argparse.ArgumentParser(prog="sitter")
    add_submit_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "submit",
            str(portrait),
            "--painting",
            "starry-night",
            "--server",
            live_stack.base_url,
            "-o",
            str(out),
        ]
    )
    lines: list[str] = []
    assert args.handler(args, echo=lines.append) == 0
    assert _decode(out.read_bytes()).shape == _painting("starry-night").shape
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"  # the format follows the -o suffix
    assert lines[0].startswith("job ") and lines[-1] == f"wrote     {out}"
    assert {line.split()[0] for line in lines[1:-1]} == {"segment", "stylize", "composite"}


def test_job_document_accessors() -> None:
    job = Job({"id": "a" * 32, "status": "failed", "error": {"stage": "segment", "detail": "no person"}})
    assert job.done and job.stages == {} and job.result is None
    error = JobFailedError(job)
    assert error.stage == "segment" and "no person" in error.message


def test_client_several_people_and_sitter_submit_with_two_portraits(
    client: SitterClient, live_stack: LiveStack, tmp_path: Path, portrait_jpeg: bytes
) -> None:
    from sitter.client import PersonOptions

    second = Image.open(io.BytesIO(portrait_jpeg)).resize((150, 200))
    buffer = io.BytesIO()
    second.save(buffer, "JPEG")
    job = client.submit(
        [portrait_jpeg, buffer.getvalue()],
        painting="great-wave",
        persons=[None, PersonOptions(x=600, y=200, height=250, strength=0.5)],
        order=[2, 1],
    )
    group = job.document["params"]["group"]
    assert group["people"] == {"2": {"x": 600, "y": 200, "height": 250, "strength": 0.5}}
    assert group["order"] == [1, 0]
    done = client.wait(job.id, timeout=120)
    assert done.result is not None and [p["person"] for p in done.result["people"]] == [1, 2]
    box = done.result["people"][1]["box"]
    assert (box["x"], box["y"], box["h"]) == (600, 200, 250)

    paths = []
    for name, data in (("a.jpg", portrait_jpeg), ("b.jpg", buffer.getvalue())):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(data)
    out = tmp_path / "two.png"
    parser = argparse.ArgumentParser(prog="sitter")
    add_submit_parser(parser.add_subparsers(dest="command"))
    argv = ["submit", *map(str, paths), "--painting", "starry-night", "--box", "100,150,300"]
    args = parser.parse_args([*argv, "--server", live_stack.base_url, "-o", str(out)])
    lines: list[str] = []
    assert args.handler(args, echo=lines.append) == 0
    assert _decode(out.read_bytes()).shape == _painting("starry-night").shape
    assert lines[-3].startswith("person 1  x=100 y=150 ") and lines[-2].startswith("person 2  x=")
    stages = {line.split()[0] for line in lines[1:-3]}
    assert stages == {"plan", "segment", "stylize", "composite"}


def test_job_failed_error_names_the_person() -> None:
    error = {"stage": "segment", "person": 2, "detail": "person 2 (photo 2): no person found"}
    failed = JobFailedError(Job({"id": "a" * 32, "status": "failed", "error": error}))
    assert failed.person == 2 and "in stage segment (person 2)" in failed.message

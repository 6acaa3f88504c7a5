"""Hostile and odd uploads through the real HTTP API: each bad one is a clear 4xx problem+json with
nothing stored or queued; each odd-but-valid one is accepted and decodes upright to RGB."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import pillow_heif
import pytest
import redis
from flask.testing import FlaskClient
from PIL import Image

from shared.imageio import decode_image
from shared.jobs import PORTRAIT_BLOB, blob_key
from shared.queues import SEGMENT_QUEUE
from shared.runtime.job_store import ACTIVE_KEY
from shared.runtime.storage import blob_store
from shared.settings import Settings
from tests.helpers.forms import assert_problem

MAX_UPLOAD = 400_000


@pytest.fixture
def settings(module_redis_url: str) -> Settings:
    return Settings(  # no worker ends these jobs: the caps on unfinished jobs would fill
        redis_url=module_redis_url,
        max_upload_bytes=MAX_UPLOAD,
        max_pixels=2_000_000,
        max_active_jobs_per_key=10**6,
    )


def _encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _photo(width: int = 60, height: int = 80) -> Image.Image:
    """Top half white, bottom half dark: orientation shows in the decoded pixels."""
    arr = np.full((height, width, 3), 30, np.uint8)
    arr[: height // 2] = 250
    return Image.fromarray(arr)


def _png_claiming(width: int, height: int) -> bytes:
    """A 60-byte PNG whose header declares `width` x `height`: a decompression bomb's calling card."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _heic() -> bytes:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(_photo()).save(buffer, quality=90)
    return buffer.getvalue()


def _rotated_phone_photo() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways; the viewer turns it 90 degrees clockwise
    return _encode(_photo().transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif, quality=95)


def _animated(fmt: str) -> bytes:
    frames = [_photo(), Image.new("RGB", (60, 80), (0, 0, 255))]
    return _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)


def _sixteen_bit() -> bytes:
    arr = (np.asarray(_photo().convert("L"), np.uint16) * 257).astype(np.uint16)
    return _encode(Image.fromarray(arr), "PNG")


def _post(
    client: FlaskClient, portrait: bytes, filename: str = "me.jpg", content_type: str = "image/jpeg"
) -> Any:
    form = {"portrait": (io.BytesIO(portrait), filename, content_type), "painting": "starry-night"}
    return client.post("/v1/jobs", data=form)


def _nothing_queued(settings: Settings) -> tuple[int, int]:
    client = redis.Redis.from_url(settings.redis_url)
    return int(client.zcard(ACTIVE_KEY)), int(client.llen(SEGMENT_QUEUE))


TRUNCATED_PNG = _encode(_photo(), "PNG")[:120]
REFUSED = {
    "text-as-jpeg": (b"GIF89 is what I claim, but I am just text", 415, "unsupported-media-type"),
    "html-as-jpeg": (b"<html><script>alert(1)</script></html>", 415, "unsupported-media-type"),
    "zero-bytes": (b"", 422, "invalid-image"),
    "truncated-png": (TRUNCATED_PNG, 422, "invalid-image"),
    "bomb": (_png_claiming(100_000, 100_000), 413, "image-too-large"),
    "over-pixel-limit": (_png_claiming(2000, 1001), 413, "image-too-large"),
    "tiny": (_encode(Image.new("RGB", (15, 200)), "PNG"), 422, "invalid-image"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_bad_uploads_are_refused_and_nothing_is_queued(
    client: FlaskClient, settings: Settings, name: str
) -> None:
    data, status, code = REFUSED[name]
    before = _nothing_queued(settings)
    body = assert_problem(_post(client, data), status, code)
    assert body["field"] == "portrait"
    assert _nothing_queued(settings) == before


def test_an_empty_painting_file_is_named_as_such(client: FlaskClient, settings: Settings) -> None:
    """An uploaded painting, even an empty one, is judged as the upload, not as a missing gallery id."""
    form = {
        "portrait": (io.BytesIO(_encode(_photo(), "JPEG")), "me.jpg", "image/jpeg"),
        "painting_file": (io.BytesIO(b""), "wall.png", "image/png"),
    }
    body = assert_problem(client.post("/v1/jobs", data=form), 422, "invalid-image")
    assert body["field"] == "painting_file" and "empty" in body["detail"]


ACCEPTED = {
    "cmyk-jpeg": lambda: _encode(_photo().convert("CMYK"), "JPEG"),
    "16-bit-png": _sixteen_bit,
    "palette-png": lambda: _encode(_photo().convert("P"), "PNG"),
    "grayscale-jpeg": lambda: _encode(_photo().convert("L"), "JPEG"),
    "alpha-png": lambda: _encode(_photo().convert("RGBA"), "PNG"),
    "exif-rotated-jpeg": _rotated_phone_photo,
    "animated-gif": lambda: _animated("GIF"),
    "animated-webp": lambda: _animated("WEBP"),
    "heic": _heic,
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_odd_but_valid_uploads_are_accepted_upright(
    client: FlaskClient, settings: Settings, name: str
) -> None:
    """Animated images: the first frame is the portrait (as the README and decode_image say)."""
    data = ACCEPTED[name]()
    response = _post(client, data)
    assert response.status_code == 202, response.get_json()
    stored = blob_store(settings).get(blob_key(response.get_json()["id"], PORTRAIT_BLOB))
    assert stored == data  # the workers decode the original bytes with the same decoder
    pixels = decode_image(stored)
    assert pixels.shape == (80, 60, 3) and pixels.dtype == np.uint8
    assert pixels[:30].mean() > 200 and pixels[50:].mean() < 60, "not upright, or not the first frame"


def test_malformed_multipart_is_a_4xx(client: FlaskClient, settings: Settings) -> None:
    before = _nothing_queued(settings)
    for body, content_type in (
        (
            b'--xyz\r\nContent-Disposition: form-data; name="portrait"; filename="a.jpg"\r\n\r\n\xff\xd8',
            "xyz",
        ),
        (b"no boundary at all", "abc"),
        (b"", "xyz"),
    ):
        response = client.post(
            "/v1/jobs", data=body, content_type=f"multipart/form-data; boundary={content_type}"
        )
        assert 400 <= response.status_code < 500, response.get_data(as_text=True)
        assert response.content_type == "application/problem+json"
    response = client.post("/v1/jobs", data=b"--x\r\n", content_type="multipart/form-data")  # no boundary
    assert 400 <= response.status_code < 500 and response.content_type == "application/problem+json"
    assert _nothing_queued(settings) == before


class _CountingStream(io.RawIOBase):
    """A 4 MiB request body (far less than it declares) that counts what the server reads of it."""

    HEAD = b'--xyz\r\nContent-Disposition: form-data; name="portrait"; filename="a.jpg"\r\n\r\n'

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), 4 * 1024**2 - self.read_bytes)
        head = self.HEAD[self.read_bytes :][:size]
        buffer[:size] = head + b"x" * (size - len(head))
        self.read_bytes += size
        return size


def test_an_oversize_request_is_refused_before_its_body_is_read(client: FlaskClient) -> None:
    stream = _CountingStream()
    declared = 5 * 1024**3  # 5 GiB declared; the gateway must answer from the header alone
    response = client.post(
        "/v1/jobs",
        content_type="multipart/form-data; boundary=xyz",
        environ_overrides={"wsgi.input": stream, "CONTENT_LENGTH": str(declared)},
    )
    assert_problem(response, 413, "upload-too-large")
    assert stream.read_bytes == 0, f"read {stream.read_bytes} bytes of a refused body"


@pytest.mark.parametrize(
    "filename",
    ["../../../../etc/passwd", "<script>alert('x')</script>.jpg", "C:\\Windows\\win.ini", 'a"; rm -rf /.jpg'],
)
def test_file_names_are_never_used_or_echoed(
    client: FlaskClient, settings: Settings, portrait_jpeg: bytes, filename: str
) -> None:
    refused = _post(client, b"<svg onload=alert(1)>", filename=filename)
    assert 400 <= refused.status_code < 500
    accepted = _post(client, portrait_jpeg, filename=filename)
    assert accepted.status_code == 202
    job_id = accepted.get_json()["id"]
    keys = [key.decode() for key in redis.Redis.from_url(settings.redis_url).keys(f"*{job_id}*")]
    for response in (refused, accepted, client.get(f"/v1/jobs/{job_id}")):
        text = response.get_data(as_text=True)
        assert (
            "<script" not in text and "passwd" not in text and "win.ini" not in text and "rm -rf" not in text
        )
    assert blob_store(settings).get(blob_key(job_id, PORTRAIT_BLOB)) == portrait_jpeg
    assert not any("passwd" in key or "script" in key or ".." in key for key in keys)

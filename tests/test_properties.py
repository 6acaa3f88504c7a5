"""Property tests of the two parsers of untrusted input: the image decoder and the job-parameter parser.

Whatever bytes or form fields arrive, the answer is a valid result or the typed error that becomes a 4xx;
never another exception (which would be a 500 at the gateway, or a crashed task in a worker).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict

from gateway.decode_budget import DecodeBudget
from gateway.params import parse_submission
from gateway.problems import ApiProblem
from shared.errors import InvalidImageError, InvalidParameterError
from shared.imageio import OUTPUT_FORMATS, decode_image
from shared.settings import Settings


def _encode(fmt: str, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (24, 20), 128).save(buffer, fmt)
    return buffer.getvalue()


SEEDS = [
    _encode("PNG"),
    _encode("JPEG"),
    _encode("GIF", "P"),
    _encode("WEBP"),
    _encode("BMP"),
    _encode("TIFF"),
]


DAMAGED_TIFF = (
    b"II\x00*\x08\x00\x00\x00\x00\x01\x00\x01\x03\x00\x01\x00\x00\x00\x00\x01\x00\x00\x01\x01\x03\x00"
    b"\x01\x00\x00\x00\x00\x01" + bytes(38) + b"\x11\x01\x02\x00\x01" + bytes(7)
)


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    """A real image with some bytes overwritten and maybe cut short: reaches deep into each decoder."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))])


@pytest.mark.filterwarnings("ignore:Tag data larger than file")  # Pillow's note on a damaged TIFF
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=512), damaged_images()))
@example(DAMAGED_TIFF)  # found by this test: Pillow raised TypeError, a 500 at the gateway
def test_decoder_returns_rgb_or_invalid_image_error(data: bytes) -> None:
    try:
        pixels = decode_image(data, max_pixels=100_000)
    except InvalidImageError as error:
        assert error.field == "image" and error.message
        return
    assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
    assert min(pixels.shape[:2]) >= 16 and pixels.shape[0] * pixels.shape[1] <= 100_000


PORTRAIT = _encode("PNG")
CONFIG = Settings(max_upload_bytes=100_000, callback_allowed_hosts=("localhost",))
BUDGET = DecodeBudget(CONFIG.decode_budget_bytes, CONFIG.decode_wait_seconds)
FIELD_VALUES = {
    "painting": st.sampled_from(["starry-night", "great-wave", "", "no-such", "../etc"]),
    "style": st.sampled_from(["painting", "custom", "builtin-0", "builtin-25", "builtin-26", "great-wave"]),
    "strength": st.one_of(st.floats(allow_nan=True).map(repr), st.text(max_size=8)),
    "keep_colors": st.sampled_from(["true", "no", "", "maybe", "ON"]),
    "harmonize": st.text(max_size=5),
    "x": st.one_of(st.integers().map(str), st.text(max_size=6)),
    "y": st.integers(-(10**30), 10**30).map(str),
    "height": st.one_of(st.integers(-5, 10**12).map(str), st.text(max_size=6)),
    "auto": st.sampled_from(["true", "false", "", "2"]),
    "format": st.sampled_from(["png", "jpg", "JPEG", "webp", "gif", ""]),
    "portrait_from": st.one_of(st.just("0" * 32), st.text(max_size=33)),
    "callback_url": st.one_of(
        st.text(max_size=20),
        st.builds("http://localhost:{}/hook".format, st.one_of(st.integers(-10, 10**6), st.text(max_size=4))),
    ),
}


@st.composite
def forms(draw: st.DrawFn) -> dict[str, str]:
    """A valid base form with up to three fields replaced by arbitrary values, so that each odd value
    gets past the other fields' checks and is judged by its own."""
    names = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), max_size=3, unique=True))
    return {"painting": "starry-night", **{name: draw(FIELD_VALUES[name]) for name in names}}


@settings(max_examples=400, deadline=None)
@given(forms(), st.sampled_from(["portrait", "portrait", "portrait", "painting_file", "both", "none"]))
def test_parameter_parser_returns_valid_params_or_a_4xx(fields: dict[str, str], uploads: str) -> None:
    files: MultiDict[str, FileStorage] = MultiDict()
    for name in ("portrait", "painting_file"):
        if uploads in (name, "both"):
            files[name] = FileStorage(io.BytesIO(PORTRAIT), filename=f"{name}.png")
    try:
        submission = parse_submission(MultiDict(fields), files, CONFIG, BUDGET)
    except (InvalidImageError, InvalidParameterError) as error:
        assert error.field and error.message
        return
    except ApiProblem as problem:
        assert 400 <= problem.status < 500
        return
    params = submission.params
    assert (submission.portrait is None) != (submission.portrait_from is None)
    strength = params["strength"]  # None: automatic, by the painting's abstraction
    assert strength is None or (math.isfinite(strength) and 0 <= strength <= 1)
    assert params["format"] in OUTPUT_FORMATS
    height = params["placement"]["height"]
    assert height is None or height > 0
    assert isinstance(params["keep_colors"], bool) and isinstance(params["harmonize"], bool)
    assert params["callback_url"] is None or params["callback_url"].startswith("http://localhost:")

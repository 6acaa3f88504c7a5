"""The many-core PNG encoder (shared/png_encode.py): what it writes decodes, pixel for pixel, with PIL."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from shared.imageio import FAST_PNG_PIXELS, encode_image
from shared.png_encode import adler32_combine, encode_png


def _decoded(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    image.load()  # reads every chunk: a bad CRC or Adler-32 fails here
    return np.asarray(image)


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 9, 4), (2, 5, 3), (7, 3, 4), (37, 101, 3), (301, 200, 4)])
@pytest.mark.parametrize("workers", [1, 2, 5])
def test_every_pixel_comes_back(shape: tuple[int, int, int], workers: int) -> None:
    pixels = np.random.default_rng(sum(shape) + workers).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(_decoded(encode_png(pixels, workers=workers)), pixels)


def test_a_picture_with_flat_areas_compresses() -> None:
    """Up filter and run-length deflate: a smooth picture comes out far smaller than its raw bytes."""
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    pixels = np.dstack([np.tile(ramp, (480, 1))] * 3).astype(np.uint8)
    data = encode_png(pixels)
    assert np.array_equal(_decoded(data), pixels)
    assert len(data) < pixels.nbytes / 20


def test_large_pngs_go_through_it_and_decode_the_same() -> None:
    """encode_image hands pictures above FAST_PNG_PIXELS to the many-core encoder; a view that is not
    contiguous (a crop) is encoded as what it shows."""
    side = int(FAST_PNG_PIXELS**0.5) + 8
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, (side + 10, side + 20, 3), dtype=np.uint8)
    crop = base[5 : 5 + side, 7 : 7 + side]
    assert np.array_equal(_decoded(encode_image(crop, "png")), crop)


def test_adler32_of_joined_pieces() -> None:
    first, second = b"the person in" * 997, bytes(range(256)) * 301
    combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)
    assert adler32_combine(zlib.adler32(first), zlib.adler32(b""), 0) == zlib.adler32(first)


@pytest.mark.parametrize(
    "pixels",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 2), np.uint8), np.zeros((4, 4, 3), np.float32)],
)
def test_what_it_cannot_write_is_refused(pixels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 RGB or RGBA"):
        encode_png(pixels)

"""Mattes travel between workers as 16-bit grayscale PNG: lossless to 1/65535, and any viewer can open it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def encode_matte(matte: np.ndarray) -> bytes:
    levels = np.clip(np.rint(matte.astype(np.float64) * 65535.0), 0, 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(levels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def decode_matte(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        levels = np.asarray(image)
    scale = 65535.0 if levels.dtype != np.uint8 else 255.0
    return (levels.astype(np.float32) / np.float32(scale)).astype(np.float32)

"""Pictures made for tests, and pictures read back from results."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def enlarged(jpeg: bytes, size: tuple[int, int]) -> bytes:
    """The photo resized to `size`, as JPEG: a bigger picture keeps a stage busy long enough to catch."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).resize(size).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def image_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

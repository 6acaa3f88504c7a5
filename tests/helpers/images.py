"""Pictures made for tests, and pictures read back from results."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

PHOTOS = Path(__file__).resolve().parents[2] / "eval" / "composite" / "photos"  # PD/CC0, SOURCES.md there


def enlarged(jpeg: bytes, size: tuple[int, int]) -> bytes:
    """The photo resized to `size`, as JPEG: a bigger picture keeps a stage busy long enough to catch."""
    buffer = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).resize(size).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def image_of(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def small(path: Path, width: int) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    return np.asarray(
        image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    )


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def group_photo() -> bytes:
    """Two public-domain portraits side by side on one light background, the second at 3/4 size (an adult
    and a child): a group photo whose people and size ratio are known."""
    adult, child = small(PHOTOS / "obama-portrait.jpg", 300), small(PHOTOS / "grace-hopper.jpg", 225)
    height = max(adult.shape[0], child.shape[0])
    canvas = np.full((height, adult.shape[1] + child.shape[1], 3), 235, dtype=np.uint8)
    canvas[height - adult.shape[0] :, : adult.shape[1]] = adult
    canvas[height - child.shape[0] :, adult.shape[1] :] = child
    return jpeg(canvas)

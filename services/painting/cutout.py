"""The paper's RGBA step: the stylized portrait with the soft matte as alpha, cropped to the person.

The alpha stays soft (hair, shoulders), and the matte may come at another resolution than the stylized
image (the stylizer caps its output size), so it is resized to match here, bilinearly. Both the compositor
and the segmenter's cut-out preview use it, so it lives with the cores they share.
"""

from __future__ import annotations

import cv2
import numpy as np

from shared.errors import InvalidImageError

PERSON_THRESHOLD = 0.05


def fit_matte(matte: np.ndarray, height: int, width: int) -> np.ndarray:
    """The matte as float32 in [0, 1] at height x width (bilinear when the size differs)."""
    if matte.ndim != 2:
        raise ValueError(f"a matte is a 2-D array, got shape {matte.shape}")
    fitted: np.ndarray = np.asarray(matte, dtype=np.float32)
    if fitted.shape != (height, width):
        fitted = cv2.resize(fitted, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(fitted, 0.0, 1.0)


def person_bbox(matte: np.ndarray, threshold: float = PERSON_THRESHOLD) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), end-exclusive, of the pixels whose alpha exceeds `threshold`."""
    rows = np.flatnonzero((matte > threshold).any(axis=1))
    cols = np.flatnonzero((matte > threshold).any(axis=0))
    if rows.size == 0:
        raise InvalidImageError("no person found in the portrait", field="portrait")
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_person(
    stylized_rgb: np.ndarray, matte: np.ndarray, threshold: float = PERSON_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """The person's box of the stylized image (float32, 0..255) and its soft alpha (float32, 0..1)."""
    if stylized_rgb.ndim != 3 or stylized_rgb.shape[2] != 3:
        raise ValueError(f"the stylized image must be HxWx3 RGB, got shape {stylized_rgb.shape}")
    height, width = stylized_rgb.shape[:2]
    alpha = fit_matte(matte, height, width)
    x0, y0, x1, y1 = person_bbox(alpha, threshold)
    return stylized_rgb[y0:y1, x0:x1].astype(np.float32), alpha[y0:y1, x0:x1]


def to_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight (not premultiplied) RGBA uint8, as PNG expects, from float colour 0..255 and alpha 0..1."""
    stacked = np.dstack([rgb, alpha * 255.0])
    return np.clip(np.rint(stacked), 0, 255).astype(np.uint8)


def cutout(stylized_rgb: np.ndarray, matte: np.ndarray, threshold: float = PERSON_THRESHOLD) -> np.ndarray:
    """The person alone as RGBA uint8 with soft alpha, cropped to the person's bounding box."""
    return to_rgba(*crop_person(stylized_rgb, matte, threshold))

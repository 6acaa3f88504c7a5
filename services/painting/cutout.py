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
    stylized_rgb: np.ndarray,
    matte: np.ndarray,
    threshold: float = PERSON_THRESHOLD,
    extent: tuple[int, int, int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The person's box of the stylized image (float32, 0..255) and its soft alpha (float32, 0..1).

    `extent`: the person's box in the matte's pixels (person_bbox of the full matte), scaled to the stylized
    image's size. The placement was planned on it: a box found again on the smaller stylized image loses the
    rows of soft hair that fall under the threshold there, and its person, resized to the planned box, comes
    out a few pixels lower and squeezed (a 26 px face 2.7 px low, in one dev pair)."""
    if stylized_rgb.ndim != 3 or stylized_rgb.shape[2] != 3:
        raise ValueError(f"the stylized image must be HxWx3 RGB, got shape {stylized_rgb.shape}")
    height, width = stylized_rgb.shape[:2]
    alpha = fit_matte(matte, height, width)
    if extent is None:
        x0, y0, x1, y1 = person_bbox(alpha, threshold)
    else:
        x0, y0, x1, y1 = _scaled(extent, width / matte.shape[1], height / matte.shape[0], width, height)
    return stylized_rgb[y0:y1, x0:x1].astype(np.float32), alpha[y0:y1, x0:x1]


def _scaled(
    box: tuple[int, int, int, int], sx: float, sy: float, width: int, height: int
) -> tuple[int, int, int, int]:
    """`box` in pixels of an image scaled by (sx, sy) to width x height, at least one pixel each way."""
    x0, y0 = min(width - 1, max(0, round(box[0] * sx))), min(height - 1, max(0, round(box[1] * sy)))
    x1, y1 = min(width, max(x0 + 1, round(box[2] * sx))), min(height, max(y0 + 1, round(box[3] * sy)))
    return x0, y0, x1, y1


def to_rgba(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Straight (not premultiplied) RGBA uint8, as PNG expects, from float colour 0..255 and alpha 0..1."""
    out = np.empty((*alpha.shape, 4), dtype=np.uint8)  # written in place: no float RGBA stack (~3x faster)
    out[..., :3] = np.clip(np.rint(rgb), 0, 255)
    out[..., 3] = np.clip(np.rint(alpha * 255.0), 0, 255)
    return out


def cutout(stylized_rgb: np.ndarray, matte: np.ndarray, threshold: float = PERSON_THRESHOLD) -> np.ndarray:
    """The person alone as RGBA uint8 with soft alpha, cropped to the person's bounding box."""
    return to_rgba(*crop_person(stylized_rgb, matte, threshold))

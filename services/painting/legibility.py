"""Is the person, and above all the face, still readable after painting? SSIM of luminance against the raw
paste (the photo's own pixels, cut out and resized into the same box).

The face gets its own score because the whole person's SSIM hides what a viewer looks at first: a body in
shadow is fine, a face gone dark and muddy is not. The face is compared at one size (FACE_SIDE px high)
whatever its painted size, so the score asks "does the face read" rather than "are the brush strokes the
photo's pixels": at the face's own resolution fine strokes would count as lost structure.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.placement import Box
from services.painting.scene import Rect

FACE_SIDE = 64  # the face box's height when compared: enough for eyes, nose and mouth to read
SOLID = 0.5  # alpha from which a pixel counts as the person's


def ssim(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    """Mean SSIM (Gaussian window, sigma 1.5) of two luminance images over the weighted region."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (0, 0), 1.5)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    score = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    w = weight.astype(np.float64)
    return float((score * w).sum() / max(float(w.sum()), 1e-9))


def face_in_box(face: Rect, extent: Rect, box: Box) -> Rect:
    """The photo's face box (photo pixels) where it lands in the painting: the person's extent in the photo
    is resized onto `box`, as the compositor does."""
    ex0, ey0, ex1, ey1 = extent
    sx, sy = box.w / max(1, ex1 - ex0), box.h / max(1, ey1 - ey0)
    x0, y0, x1, y1 = face
    return (
        round(box.x + (x0 - ex0) * sx),
        round(box.y + (y0 - ey0) * sy),
        round(box.x + (x1 - ex0) * sx),
        round(box.y + (y1 - ey0) * sy),
    )


def face_legibility(painted: np.ndarray, raw: np.ndarray, alpha: np.ndarray, face: Rect) -> float | None:
    """SSIM of the face's luminance (painted vs raw, both painting-sized HxWx3 uint8, `alpha` the person's
    matte there) at FACE_SIDE px high; None when the face does not show."""
    height, width = alpha.shape
    x0, y0, x1, y1 = max(0, face[0]), max(0, face[1]), min(width, face[2]), min(height, face[3])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    solid = (alpha[y0:y1, x0:x1] >= SOLID).astype(np.float32)
    if float(solid.sum()) < 4.0:
        return None
    return face_ssim(painted, raw, (x0, y0, x1, y1), solid)


def face_ssim(
    painted: np.ndarray, reference: np.ndarray, face: Rect, weight: np.ndarray | None = None
) -> float:
    """SSIM of the grey levels of `face` (inside both images, at least 2 px each way), `painted` against
    `reference`, at FACE_SIDE px high, weighted by `weight` (the face box's size; None: all of it)."""
    x0, y0, x1, y1 = face
    scale = FACE_SIDE / (y1 - y0)
    size = (max(8, round((x1 - x0) * scale)), FACE_SIDE)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC

    def gray(rgb: np.ndarray) -> np.ndarray:
        patch = np.clip(rgb[y0:y1, x0:x1], 0, 255).astype(np.uint8)
        return cv2.resize(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY), size, interpolation=interpolation)

    solid = np.ones((y1 - y0, x1 - x0), np.float32) if weight is None else weight
    return ssim(gray(painted), gray(reference), cv2.resize(solid, size, interpolation=cv2.INTER_AREA))

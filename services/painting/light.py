"""A painter's light on the face: the person takes the painting's light, the face stays readable.

Two steps darken a face placed in a dark neighbourhood (the black ground of a Vermeer, the lower corner of
Mona Lisa): the style network paints it as dark as the place, and the tone step pulls the whole person's Lab
mean down and squeezes its spread. The face becomes a dark, muddy mask. Painters light their subjects: the
face is the brightest, clearest part of a figure. So after each of the two steps (the stylizer against the
photo, the compositor against the tone step's input), on the skin in the portrait's face box only (a soft
ellipse, so no edge shows):

- the face is never darker relative to the body than before the step (L* difference of the means; only where
  a matte says what the body is);
- it darkens by at most half as much as the step darkened it, unless it stays above LIT_FACE_L (dark corners
  lower its light, they do not erase it);
- where the step darkens the body (a dark place), the face darkens by at most a share of the body's
  darkening: half after the tone step (the painter's light falls on the face; the tone step's squeeze of the
  person's contrast pulls the bright face down twice as far as the body), all of it in the stylizer, whose
  "body" is the plan's person box (no matte yet), and there no further than half the face's own loss.
  Together the two steps used to halve a face's light twice over on Vermeer's black ground (the woman
  portrait's face L* 51 in the photo, 28 placed; face legibility 0.44);
- its modelling (light and shadow at about a twelfth of its height: the spread of the blurred L* around its
  mean) is kept at FACE_CONTRAST of what it was, with the shapes of before; finer detail (the strokes) stays;
- its chroma grows with the light it gets back (lit skin is not grey).

A face that is lit and modelled enough after the step is left exactly as it is; everything outside the face's
skin is untouched, bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.scene import Rect

FACE_CONTRAST = 0.85  # the face keeps at least this share of its modelling through a step
DARKEN_KEPT = 0.5  # the face darkens by at most this share of a step's darkening of it
LIT_FACE_L = 35.0  # ... unless it stays above this L*: a face there reads, and is the painting's own light
FACE_GROW = 0.15  # the detector's box is eyes-to-chin: the ellipse reaches a little beyond each side
MAX_CHROMA_GAIN = 1.3  # a lifted face's a* b* grow with the square root of its L* gain, at most this much
MIN_L = 5.0  # L* below which the chroma gain is measured from this, not from near black
MIN_FACE_PX = 4  # a smaller face has no modelling to keep
MODELLING_SCALE = 12.0  # light and shadow on a face: shapes of a twelfth of its height; finer: strokes


def scale_rect(rect: Rect, sx: float, sy: float) -> Rect:
    """A box in pixels of an image resized by (sx, sy)."""
    return (round(rect[0] * sx), round(rect[1] * sy), round(rect[2] * sx), round(rect[3] * sy))


def face_weight(shape: tuple[int, int], face: Rect) -> np.ndarray:
    """A soft ellipse (0..1) over the face box, grown by FACE_GROW, fading out over its outer third."""
    height, width = shape
    x0, y0, x1, y1 = face
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rx, ry = (1 + FACE_GROW) * (x1 - x0) / 2, (1 + FACE_GROW) * (y1 - y0) / 2
    ys = (np.arange(height, dtype=np.float32) - cy) / max(ry, 1.0)
    xs = (np.arange(width, dtype=np.float32) - cx) / max(rx, 1.0)
    r = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    t = np.clip((1.0 - r) / 0.33, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _blur(values: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(cv2.GaussianBlur(values, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE))


def _mean(values: np.ndarray, weight: np.ndarray) -> float:
    return float((values * weight).sum() / max(float(weight.sum()), 1e-6))


def keep_face_light(
    before: np.ndarray,
    after: np.ndarray,
    alpha: np.ndarray,
    face: Rect,
    skin: np.ndarray | None = None,
    *,
    keep_lead: bool = True,
    follow_body: float | None = DARKEN_KEPT,
    within_half: bool = False,
) -> np.ndarray:
    """`after` (a step's output, float RGB 0..255) with the face's light and modelling kept from `before`
    (its input); `face` in these pixels. `skin` (0..1): only skin in the face box is lit, not the dark hair
    or background beside the cheek, which would glow as a halo. `keep_lead`: `alpha` is the person's matte,
    so the face's lead over the body means something and a face follows a lightened body up (without a
    matte the rest of the frame is mostly background, which the painting's palette may well lighten).
    `follow_body`: where the step darkens the body (`alpha` outside the face), the face darkens by at most
    this share of the body's darkening (None: no such bound); `alpha` may then be the person's box, and
    `within_half` makes that bound lift the face no further than half its own darkening (a box is no matte:
    its "body" holds some background, so it only lifts the LIT_FACE_L exception in a dark place). Returns
    float32 RGB 0..255."""
    x0, y0, x1, y1 = face
    result = after.astype(np.float32)
    if min(x1 - x0, y1 - y0) < MIN_FACE_PX or float(alpha.sum()) <= 0.0:
        return result
    sigma = max(1.0, (y1 - y0) / MODELLING_SCALE)
    rows, cols = _window(face, sigma, alpha.shape)  # only the face and what its blur reads: cheap
    local = (y0 - rows.start, x0 - cols.start, y1 - rows.start, x1 - cols.start)
    share = face_weight(
        (rows.stop - rows.start, cols.stop - cols.start), (local[1], local[0], local[3], local[2])
    )
    if skin is not None:
        share = share * skin[rows, cols]
    on_face = share * alpha[rows, cols]
    if float(on_face.sum()) < MIN_FACE_PX**2:
        return result
    lab = _lab(after[rows, cols])
    l_before, l_after = _lab(before[rows, cols])[..., 0], lab[..., 0].copy()
    face_before, face_after = _mean(l_before, on_face), _mean(l_after, on_face)
    target = max(face_after, min(face_before + DARKEN_KEPT * min(0.0, face_after - face_before), LIT_FACE_L))
    body_shift = (
        _body_shift(before, after, alpha, (rows, cols), on_face) if keep_lead or follow_body else None
    )
    if body_shift is not None and body_shift >= 0.0 and keep_lead:
        target = max(target, face_before + body_shift)  # never darker relative to the body than before
    elif body_shift is not None and body_shift < 0.0 and follow_body is not None:
        # dark corners lower the person's light, they do not erase the face
        lowest = face_before + follow_body * body_shift
        if within_half:
            lowest = min(lowest, face_before + DARKEN_KEPT * min(0.0, face_after - face_before))
        target = max(target, lowest)
    shape_before, shape_after = _blur(l_before, sigma), _blur(l_after, sigma)
    spread_before = np.sqrt(_mean((shape_before - face_before) ** 2, on_face))
    spread_after = np.sqrt(_mean((shape_after - face_after) ** 2, on_face))
    if target <= face_after and spread_after >= FACE_CONTRAST * spread_before:
        return result  # lit and modelled enough: the painting's own light stands
    # the face's shapes (light and shadow at a tenth of its size) from `before`, its strokes from `after`
    keep = max(FACE_CONTRAST, spread_after / max(spread_before, 1e-3))
    lit = target + keep * (shape_before - face_before) + (l_after - shape_after)
    lab[..., 0] = np.clip(l_after + share * (lit - l_after), 0.0, 100.0)
    # lit skin is not grey: chroma grows with the light it lost in the dark (a* b* shrink with L*)
    chroma = np.clip(np.sqrt(lab[..., 0] / np.maximum(l_after, MIN_L)), 1.0, MAX_CHROMA_GAIN)
    lab[..., 1:] *= chroma[..., None]
    out = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0, 0.0, 255.0)
    result[rows, cols] = np.where(share[..., None] > 0.0, out, result[rows, cols])  # elsewhere as it was
    return result


def _window(face: Rect, sigma: float, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The face's ellipse and the reach of the modelling blur around it, inside the image."""
    x0, y0, x1, y1 = face
    grow_x = round(FACE_GROW * (x1 - x0) / 2) + int(4 * sigma) + 2
    grow_y = round(FACE_GROW * (y1 - y0) / 2) + int(4 * sigma) + 2
    height, width = shape[:2]
    return (
        slice(max(0, y0 - grow_y), min(height, y1 + grow_y)),
        slice(max(0, x0 - grow_x), min(width, x1 + grow_x)),
    )


def _body_shift(
    before: np.ndarray, after: np.ndarray, alpha: np.ndarray, window: tuple[slice, slice], on_face: np.ndarray
) -> float | None:
    """How much the step moved the body's light (L* mean of the person outside the face, after minus
    before); None when there is no body."""
    body = alpha.astype(np.float32)
    body[window] = body[window] - on_face
    if float(body.sum()) < 1.0:
        return None
    return _mean(_lab(after)[..., 0], body) - _mean(_lab(before)[..., 0], body)

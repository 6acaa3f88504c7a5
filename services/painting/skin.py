"""The person's skin under a painting's style: where it is (a soft chroma box) and how much of the photo's own
colour it keeps. The stylizer gives the skin part of its chroma back; the compositor's tone step leaves that
share of the skin's colour alone. Both follow this module, so the two steps cannot disagree."""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.options import Harmonize

# A painter repaints a sitter's skin with their strokes and light, not in the colours of the grass behind:
# the style network carries the painting's palette into faces (yellow-green on Seurat's lawn), so skin
# keeps this much of the photo's own chroma. Chosen by looking at 4 photos x 3 paintings: 0.6 keeps flesh
# tones under the painting's strokes and light; 1.0 looked pasted, 0.3 still green.
SKIN_AMOUNT = 0.6
# skin in YCrCb (the classic chroma box, which holds across skin tones), in 0..255 units; the weight ramps
# up over SKIN_SOFT inside each bound, so greys (Cr = Cb = 128) get none
SKIN_CR, SKIN_CB, SKIN_Y = (130.0, 180.0), (75.0, 135.0), (30.0, 250.0)
SKIN_SOFT = 8.0


def skin_colour_kept(steps: Harmonize, *, builtin_style: bool) -> bool:
    """The skin rule, its one definition: whether the person's skin keeps part of the photo's own colour
    (the stylizer gives the chroma back, the compositor's tone step leaves that share of it alone). On with
    the skin step, but not under a built-in style: a filter's colours are the point, skin included."""
    return steps.skin and not builtin_style


def skin_weight(photo: np.ndarray) -> np.ndarray:
    """0..1 per pixel: how much it looks like skin (chroma in the skin box), smoothed over about 1 % of the
    image so strokes and pores make no blotches. Backgrounds of skin colour (wood, sand) are cut away later
    by the matte."""
    ycc = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.float32)

    def inside(values: np.ndarray, bounds: tuple[float, float], soft: float) -> np.ndarray:
        low, high = bounds
        return np.clip((values - low) / soft, 0, 1) * np.clip((high - values) / soft, 0, 1)

    weight = (
        inside(ycc[..., 1], SKIN_CR, SKIN_SOFT)
        * inside(ycc[..., 2], SKIN_CB, SKIN_SOFT)
        * inside(ycc[..., 0], SKIN_Y, 2 * SKIN_SOFT)
    )
    sigma = max(1.0, 0.01 * max(photo.shape[:2]))
    return np.asarray(cv2.GaussianBlur(weight, (0, 0), sigma), dtype=np.float32)


def keep_skin_colour(
    stylized: np.ndarray, photo: np.ndarray, amount: float = SKIN_AMOUNT, *, skin: np.ndarray | None = None
) -> np.ndarray:
    """The stylized image with its skin's chroma moved `amount` of the way back to the photo's; luminance
    (the painting's strokes and light) untouched. `photo` is resized to the stylized image's size; `skin`:
    its skin_weight when the caller already has it."""
    height, width = stylized.shape[:2]
    if photo.shape[:2] != (height, width):
        photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
        skin = None
    weight = (amount * (skin_weight(photo) if skin is None else skin))[..., None]
    out = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    own = cv2.cvtColor(photo, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    out[..., 1:] += weight * (own[..., 1:] - out[..., 1:])
    moved = cv2.cvtColor(np.clip(out + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    return np.where(weight > 1e-3, moved, stylized)  # elsewhere exactly as stylized (no round-trip error)

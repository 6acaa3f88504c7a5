"""Put the stylized person into the painting: crop, resize, optionally harmonise, feather, alpha-composite.

Colour is resized premultiplied by alpha, so the undefined colour under alpha 0 (whatever the stylizer
painted behind the person) cannot bleed into the soft edge as a dark or coloured fringe. Everything is
float until one final rounding, and only the visible part of the placement box is written: every pixel
outside the box is the painting's own, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from services.compositor.cutout import PERSON_THRESHOLD, crop_person, person_bbox, to_rgba
from services.compositor.foreground import estimate_foreground
from services.compositor.harmonize import (
    FRAME_FADE,
    LOCAL_AMOUNT,
    fade_frame_cuts,
    feather_alpha,
    harmonize_local,
)
from services.compositor.placement import Box, Placement, resolve_box
from services.painting.options import Harmonize
from services.painting.plan import Plan, final_box
from shared.errors import InvalidParameterError

DEFAULT_FEATHER = 0.004  # edge softening radius as a fraction of the placed height: 2 px on a 500 px person


@dataclass(frozen=True)
class Composite:
    """The blended painting, the (unclipped) box the person was placed in, and the RGBA cut-out as placed."""

    image: np.ndarray
    box: Box
    cutout: np.ndarray


def resize_premultiplied(
    rgb: np.ndarray, alpha: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """Resize straight colour + alpha to width x height: area filter to shrink, bicubic to grow.

    Returns straight colour (float32 0..255, 0 where alpha is 0) and alpha (float32 0..1).
    """
    src_h, src_w = alpha.shape
    if (src_w, src_h) == (width, height):
        return rgb, alpha
    shrinking = width * height < src_w * src_h
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    premultiplied = np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)
    resized = cv2.resize(premultiplied, (width, height), interpolation=interpolation)
    # unpremultiply by the filter's own alpha (bicubic may overshoot past 0 and 1) before clipping either
    raw_alpha = resized[..., 3:]
    covered = raw_alpha > 1e-6
    straight = np.where(covered, resized[..., :3] / np.where(covered, raw_alpha, 1.0), 0.0)
    return np.clip(straight, 0.0, 255.0).astype(np.float32), np.clip(raw_alpha[..., 0], 0.0, 1.0)


def _open_cuts(matte: np.ndarray, threshold: float, box: Box, painting_w: int, painting_h: int) -> set[str]:
    """Sides where the photo's frame cut the person and the box does not reach the painting's border."""
    x0, y0, x1, y1 = person_bbox(matte, threshold)
    height, width = matte.shape
    cuts = set()
    if x0 == 0 and box.x > 0:
        cuts.add("left")
    if x1 == width and box.x + box.w < painting_w:
        cuts.add("right")
    if y0 == 0 and box.y > 0:
        cuts.add("top")
    if y1 == height and box.y + box.h < painting_h:
        cuts.add("bottom")
    return cuts


def composite(
    painting_rgb: np.ndarray,
    stylized_rgb: np.ndarray,
    matte: np.ndarray,
    placement: Placement,
    *,
    plan: Plan | None = None,
    harmonize: bool | Harmonize = False,
    harmonize_amount: float = LOCAL_AMOUNT,
    feather: float = DEFAULT_FEATHER,
    threshold: float = PERSON_THRESHOLD,
) -> Composite:
    """Blend the person (stylized image + soft matte, any matte resolution) into the painting.

    Without a plan, or with an explicit one, the box follows `placement` and the person's aspect ratio
    (x, y: the person's top-left). An auto or spot plan fixes the scale and the anchor row; the matte
    (at the photo's resolution) gives the person's exact extent. Raises InvalidImageError when the matte
    holds no person, InvalidParameterError for a bad placement or a negative feather.
    """
    if painting_rgb.ndim != 3 or painting_rgb.shape[2] != 3 or painting_rgb.dtype != np.uint8:
        raise ValueError(f"the painting must be HxWx3 uint8, got {painting_rgb.shape} {painting_rgb.dtype}")
    if feather < 0:
        raise InvalidParameterError(f"feather must be 0 or more, got {feather}", field="feather")
    painting_h, painting_w = painting_rgb.shape[:2]
    steps = harmonize if isinstance(harmonize, Harmonize) else Harmonize.from_flag(harmonize)
    rgb, alpha = crop_person(stylized_rgb, matte, threshold)
    if plan is None or plan.kind == "explicit":
        box = resolve_box(placement, alpha.shape[1], alpha.shape[0], painting_w, painting_h)
    else:
        box = final_box(plan, person_bbox(matte, threshold), painting_w, painting_h)
    if steps.foreground:
        rgb = estimate_foreground(rgb, alpha)
    if steps.tone:  # before the resize: the same statistics, on fewer pixels when the person is enlarged
        rgb = harmonize_local(rgb, alpha, painting_rgb, (box.x, box.y, box.w, box.h), harmonize_amount)
    rgb, alpha = resize_premultiplied(rgb, alpha, box.w, box.h)
    if steps.edges:
        alpha = fade_frame_cuts(
            alpha, _open_cuts(matte, threshold, box, painting_w, painting_h), FRAME_FADE * box.h
        )
    alpha = feather_alpha(alpha, feather * box.h)

    visible = box.clip(painting_w, painting_h)
    dx, dy = visible.x - box.x, visible.y - box.y
    window = (slice(visible.y, visible.y + visible.h), slice(visible.x, visible.x + visible.w))
    person = (slice(dy, dy + visible.h), slice(dx, dx + visible.w))
    under = painting_rgb[window].astype(np.float32)
    weight = alpha[person][..., None]
    blended = under + weight * (rgb[person] - under)
    image = painting_rgb.copy()
    image[window] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return Composite(image=image, box=box, cutout=to_rgba(rgb, alpha))

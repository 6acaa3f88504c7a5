"""Put the stylized person into the painting: crop, resize, optionally harmonise, feather, alpha-composite.

Colour is resized premultiplied by alpha, so the undefined colour under alpha 0 (whatever the stylizer
painted behind the person) cannot bleed into the soft edge as a dark or coloured fringe. Everything is
float until one final rounding, and only the visible part of the placement box is written: every pixel
outside the box is the painting's own, bit for bit. A box that reaches past the canvas is resized only
where it shows (plus the margin the feather reads), so memory follows the painting, not the box: a box
4 paintings tall once took 3 GB to resize in full.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from services.compositor.foreground import estimate_foreground
from services.compositor.harmonize import (
    FRAME_FADE,
    LOCAL_AMOUNT,
    fade_frame_cuts,
    feather_alpha,
    harmonize_local,
)
from services.painting.cutout import PERSON_THRESHOLD, crop_person, person_bbox, to_rgba
from services.painting.features import TONED_FEATURES_FLOOR, keep_face_features
from services.painting.light import keep_face_light
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement, resolve_box
from services.painting.plan import Plan, final_box
from services.painting.skin import SKIN_AMOUNT, skin_colour_kept, skin_weight
from shared.errors import InvalidParameterError
from shared.limits import BAND_PIXELS, MIN_BAND_ROWS

DEFAULT_FEATHER = 0.004  # edge softening radius as a fraction of the placed height: 2 px on a 500 px person
MAX_FEATHER_PX = 48.0  # the erosion kernel and blur grow with the radius: bound them for giant boxes


@dataclass(frozen=True)
class Composite:
    """The blended painting, the (unclipped) box the person was placed in, and the RGBA cut-out as placed
    (the part of the box inside the painting)."""

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
    return _unpremultiply(cv2.resize(premultiplied, (width, height), interpolation=interpolation))


def _unpremultiply(resized: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straight colour and alpha from a resampled premultiplied RGBA: divided by the filter's own alpha
    (bicubic may overshoot past 0 and 1) before clipping either."""
    raw_alpha = resized[..., 3]
    inverse = np.zeros_like(raw_alpha)  # one reciprocal per pixel, not a division per channel: ~4x faster
    np.divide(1.0, raw_alpha, out=inverse, where=raw_alpha > 1e-6)
    straight = resized[..., :3] * inverse[..., None]
    np.clip(straight, 0.0, 255.0, out=straight)
    return straight.astype(np.float32, copy=False), np.clip(raw_alpha, 0.0, 1.0)


def resize_window(
    rgb: np.ndarray, alpha: np.ndarray, width: int, height: int, window: Box
) -> tuple[np.ndarray, np.ndarray]:
    """`window` (in the resized picture's pixels) of the person resized to width x height.

    The whole box when the window covers it (the exact resize); otherwise only the window is computed
    with the same bicubic sampling (an affine warp), so a giant box costs no more than its window.
    """
    src_h, src_w = alpha.shape
    if (window.x, window.y, window.w, window.h) == (0, 0, width, height) or width * height <= src_w * src_h:
        full_rgb, full_alpha = resize_premultiplied(rgb, alpha, width, height)
        rows, cols = slice(window.y, window.y + window.h), slice(window.x, window.x + window.w)
        return full_rgb[rows, cols], full_alpha[rows, cols]
    sx, sy = src_w / width, src_h / height
    # the resize's own mapping, src = (dst + 0.5) * scale - 0.5, shifted to the window's origin
    inverse = np.array(
        [[sx, 0.0, (window.x + 0.5) * sx - 0.5], [0.0, sy, (window.y + 0.5) * sy - 0.5]], dtype=np.float64
    )
    premultiplied = np.dstack([rgb * alpha[..., None], alpha]).astype(np.float32)
    warped = cv2.warpAffine(
        premultiplied,
        inverse,
        (window.w, window.h),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return _unpremultiply(warped)


def _feather_margin(radius: float) -> int:
    """How far past the visible part the feather reads: the erosion's reach, the blur's kernel, the
    bicubic taps. Pixels further than this from the window's edge come out as if the box were whole."""
    if radius < 0.5:
        return 2
    return max(round(radius / 2), 1) + math.ceil(2 * radius) + 4


def _face_in_crop(
    face: tuple[int, int, int, int], extent: tuple[int, int, int, int], shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    """The photo's face box (photo pixels) in the cropped person (`shape`), via the person's extent."""
    ex0, ey0, ex1, ey1 = extent
    sx, sy = shape[1] / max(1, ex1 - ex0), shape[0] / max(1, ey1 - ey0)
    return (
        round((face[0] - ex0) * sx),
        round((face[1] - ey0) * sy),
        round((face[2] - ex0) * sx),
        round((face[3] - ey0) * sy),
    )


def _open_cuts(
    extent: tuple[int, int, int, int], matte_size: tuple[int, int], box: Box, painting_w: int, painting_h: int
) -> set[str]:
    """Sides where the photo's frame cut the person and the box does not reach the painting's border."""
    x0, y0, x1, y1 = extent
    height, width = matte_size
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
    band_pixels: int | None = None,
    builtin_style: bool = False,
) -> Composite:
    """Blend the person (stylized image + soft matte, any matte resolution) into the painting.

    Without a plan, or with an explicit one, the box follows `placement` and the person's aspect ratio
    (x, y: the person's top-left). An auto or spot plan fixes the scale and the anchor row; the matte
    (at the photo's resolution) gives the person's exact extent. Raises InvalidImageError when the matte
    holds no person, InvalidParameterError for a bad placement or a negative feather. A large visible
    part is placed `band_pixels` (default BAND_PIXELS) at a time, alike in any band size.
    `builtin_style`: the person was painted in a built-in style, so the skin rule (services/painting/skin.py)
    leaves their skin's colour to the tone step like the rest of them.
    """
    if painting_rgb.ndim != 3 or painting_rgb.shape[2] != 3 or painting_rgb.dtype != np.uint8:
        raise ValueError(f"the painting must be HxWx3 uint8, got {painting_rgb.shape} {painting_rgb.dtype}")
    if feather < 0:
        raise InvalidParameterError(f"feather must be 0 or more, got {feather}", field="feather")
    painting_h, painting_w = painting_rgb.shape[:2]
    steps = harmonize if isinstance(harmonize, Harmonize) else Harmonize.from_flag(harmonize)
    extent = person_bbox(matte, threshold)  # the person's box in the matte: the plan's fit, the frame cuts
    rgb, alpha = crop_person(stylized_rgb, matte, threshold, extent)
    if plan is None or plan.kind == "explicit":
        box = resolve_box(placement, alpha.shape[1], alpha.shape[0], painting_w, painting_h)
    else:
        box = final_box(plan, extent, painting_w, painting_h)
    if steps.foreground:
        rgb = estimate_foreground(rgb, alpha)
    if steps.tone:  # before the resize: the same statistics, on fewer pixels when the person is enlarged
        kept = skin_colour_kept(steps, builtin_style=builtin_style)
        skin_share = skin_weight(np.clip(rgb, 0, 255).astype(np.uint8)) if kept or steps.light else None
        skin = SKIN_AMOUNT * skin_share if kept and skin_share is not None else None
        untoned, rgb = (
            rgb,
            harmonize_local(
                rgb, alpha, painting_rgb, (box.x, box.y, box.w, box.h), harmonize_amount, keep_hue=skin
            ),
        )
        face = None if plan is None or plan.face is None else _face_in_crop(plan.face, extent, alpha.shape)
        if steps.light and face is not None:
            rgb = keep_face_light(untoned, rgb, alpha, face, skin_share)
        if steps.features and face is not None:  # the tone step moves the face's light, not its features
            rgb = keep_face_features(untoned, rgb, face, TONED_FEATURES_FLOOR, relight=False, in_place=True)
        del untoned  # the person is held once from here: the work budget's formula counts on it
    radius = min(feather * box.h, MAX_FEATHER_PX)
    visible = box.clip(painting_w, painting_h)
    sides = _open_cuts(extent, matte.shape[:2], box, painting_w, painting_h) if steps.edges else set()
    edges = _Edges(radius, sides, FRAME_FADE * box.h)
    image = painting_rgb.copy()
    cut = np.empty((visible.h, visible.w, 4), dtype=np.uint8)
    step = _band_rows(alpha.size, box, visible, band_pixels or BAND_PIXELS)
    for top in range(0, visible.h, step):
        rows = min(step, visible.h - top)
        shown = Box(visible.x - box.x, visible.y - box.y + top, visible.w, rows)
        person_rgb, person_alpha = _placed_part(rgb, alpha, box, shown, edges)
        cut[top : top + rows] = to_rgba(person_rgb, person_alpha)
        canvas = (slice(visible.y + top, visible.y + top + rows), slice(visible.x, visible.x + visible.w))
        image[canvas] = _blend(image[canvas], person_rgb, person_alpha)
    return Composite(image=image, box=box, cutout=cut)


@dataclass(frozen=True)
class _Edges:
    """What softens the person's edge: the feather radius, the photo-frame cuts to fade and their length."""

    radius: float
    sides: set[str]
    length: float


def _band_rows(source_pixels: int, box: Box, visible: Box, band_pixels: int) -> int:
    """Rows per band: all of them for a small visible part, or a person shrunk from the stylized photo
    (resized whole, no larger than the photo); else about `band_pixels` a band, so the float work of a box
    that fills a 40 MP canvas costs a band's memory, not 6 GB."""
    if visible.w * visible.h <= band_pixels or box.w * box.h <= source_pixels:
        return max(visible.h, 1)
    return max(band_pixels // max(visible.w, 1), MIN_BAND_ROWS)


def _placed_part(
    rgb: np.ndarray, alpha: np.ndarray, box: Box, shown: Box, edges: _Edges
) -> tuple[np.ndarray, np.ndarray]:
    """The person's colour and alpha in `shown` (box pixels), resized, faded and feathered: computed on
    `shown` grown by what the feather reads, so a band matches the same rows of the whole box."""
    margin = _feather_margin(edges.radius)
    grown = Box(shown.x - margin, shown.y - margin, shown.w + 2 * margin, shown.h + 2 * margin)
    work = grown.clip(box.w, box.h)
    rgb, alpha = resize_window(rgb, alpha, box.w, box.h, work)
    alpha = fade_frame_cuts(alpha, edges.sides, edges.length, origin=(work.x, work.y), full=(box.w, box.h))
    alpha = feather_alpha(alpha, edges.radius)  # the margin keeps its edge effects out of `shown`
    dx, dy = shown.x - work.x, shown.y - work.y
    person = (slice(dy, dy + shown.h), slice(dx, dx + shown.w))
    return rgb[person], alpha[person]


def _blend(under_rgb: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    under = under_rgb.astype(np.float32)
    blended = under + alpha[..., None] * (rgb - under)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)

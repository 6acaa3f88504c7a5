"""Make the pasted person sit in the painting: colour statistics and a softened edge.

Style transfer gives the person the painting's brush, but not always its palette or light; matching the
mean and spread of each channel in CIE Lab (perceptual, so lightness and hue move separately) pulls the
person toward the painting's colours. A matte boundary that is too crisp at the placed size reads as a
sticker; a slight erosion and blur, measured in painting pixels, hides that.

Matching the spread may raise the person's contrast (up to MAX_STD_RATIO ** amount) as well as lower it.
Raised, a flat near-white region (a space suit, a white hood) has its faint folds and the network's strokes
on it blown up into fragmented patches the painting has nowhere. So the local step first tries both on a
small copy of the person at the surroundings' sampling scale and raises the contrast only where that
brings the person's texture (services/painting/texture.py) nearer the painting's around them.

The local step's reference is what shows beside the person, not what their box hides. The hidden part is
often something else (a painted figure's black cloak under a bust in a corner), and the canvas's edge cuts
away the far side of a box against it: what it hid then weighed a third of the reference, and a woman placed
over the cloak in a dim Dutch portrait was darkened and greyed below the brown ground around her, further from
the painting than the raw paste.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting import texture
from shared.errors import InvalidParameterError

DEFAULT_AMOUNT = 0.5
MAX_STD_RATIO = 2.0  # never stretch or squash a channel's contrast by more than this: faces stay faces
# a face in the darkest corner of Mona Lisa goes dim, not black: the person must stay legible (L is 0..100)
MAX_LIGHTNESS_SHIFT = 20.0
REFERENCE_STRIDE = 4  # the painting's statistics from every 4th pixel each way: same numbers, 16x cheaper
MIN_MEASURE_PX = 12  # a person smaller than this at the measuring scale: contrast matched as before


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _stats(lab: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel weighted mean and standard deviation."""
    flat, w = lab.reshape(-1, 3), weights.reshape(-1, 1)
    total = float(w.sum())
    mean = (flat * w).sum(axis=0) / total
    std = np.sqrt(((flat - mean) ** 2 * w).sum(axis=0) / total)
    return mean, std


def _person_stats(lab: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person's Lab mean and spread from ~65k samples (every `step`-th pixel each way): the same samples
    for the contrast check and the move."""
    step = max(1, round(np.sqrt(alpha.size / 65536)))
    return _stats(lab[::step, ::step], alpha[::step, ::step])


def harmonize_colors(
    rgb: np.ndarray, alpha: np.ndarray, reference_rgb: np.ndarray, amount: float = DEFAULT_AMOUNT
) -> np.ndarray:
    """Move the person's Lab mean and std toward the reference's by `amount` (0 = unchanged, 1 = matched).

    `rgb` is float 0..255 (straight colour), `alpha` weights each pixel, so the background the matte
    removed has no say. Returns float32 RGB 0..255.
    """
    sample = reference_rgb[::REFERENCE_STRIDE, ::REFERENCE_STRIDE]
    reference = _stats(_lab(sample), np.ones(sample.shape[:2], dtype=np.float32))
    return _move_towards(rgb, alpha, reference, amount)


LOCAL_AMOUNT = 0.75
MIN_SHOWN = 16  # samples beside a box; fewer (a box that covers the canvas): what it hides is used
LOCAL_CONTEXT = 0.6  # the reference reaches this fraction of the box's size beyond each side


def _context(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int, int]:
    """The surroundings' extent (x0, y0, x1, y1) in the painting and their sampling stride."""
    x, y, w, h = box
    margin_x, margin_y = round(LOCAL_CONTEXT * w), round(LOCAL_CONTEXT * h)
    x0, y0 = max(0, x - margin_x), max(0, y - margin_y)
    x1, y1 = min(width, x + w + margin_x), min(height, y + h + margin_y)
    stride = max(1, round(max(x1 - x0, y1 - y0) / 256))  # about 256 samples a side whatever the size
    return x0, y0, x1, y1, stride


def surroundings(painting_rgb: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The painting around a box (x, y, w, h), with Gaussian weights centred on the box: the light and
    palette where the person stands, not the whole canvas's average (a dim corner of a bright interior).
    Only what shows beside the box weighs; the box's own pixels, which the person hides, only where too
    little of the painting shows around it (MIN_SHOWN samples)."""
    height, width = painting_rgb.shape[:2]
    x, y, w, h = box
    x0, y0, x1, y1, stride = _context(box, width, height)
    region = painting_rgb[y0:y1:stride, x0:x1:stride]
    ys = (np.arange(y0, y1, stride) - (y + h / 2)) / max(h, 1)
    xs = (np.arange(x0, x1, stride) - (x + w / 2)) / max(w, 1)
    weights = np.exp(-2.0 * (ys[:, None] ** 2 + xs[None, :] ** 2)).astype(np.float32)
    inside = (np.abs(ys) <= 0.5)[:, None] & (np.abs(xs) <= 0.5)[None, :]
    if inside.size - int(inside.sum()) >= MIN_SHOWN:
        weights[inside] = 0.0  # the person is seen against what shows beside them, not what they hide
    return region, weights


def harmonize_local(
    rgb: np.ndarray,
    alpha: np.ndarray,
    painting_rgb: np.ndarray,
    box: tuple[int, int, int, int],
    amount: float = LOCAL_AMOUNT,
    keep_hue: np.ndarray | None = None,
) -> np.ndarray:
    """Like `harmonize_colors`, with the reference statistics taken from the painting around `box`.

    `keep_hue` (0..1 per pixel, e.g. skin): that share of the colour move (a*, b*) is undone there, so the
    light and contrast still match the surroundings but a face does not take the lawn's hue."""
    region, weights = surroundings(painting_rgb, box)
    if region.size == 0:
        return rgb.astype(np.float32)
    reference = _stats(_lab(region), weights)
    stride = _context(box, painting_rgb.shape[1], painting_rgb.shape[0])[4]
    scale = box[3] / max(1, rgb.shape[0]) / stride  # the person at the surroundings' sampling scale
    lab = _lab(rgb)  # the person's Lab once, for the check and the move
    stretch = _stretch_nearer(rgb, lab, alpha, (region, weights), reference, scale, amount, keep_hue)
    return _move_towards(rgb, alpha, reference, amount, keep_hue, MAX_STD_RATIO if stretch else 1.0, lab)


def _stretch_nearer(
    rgb: np.ndarray,
    lab: np.ndarray,
    alpha: np.ndarray,
    around: tuple[np.ndarray, np.ndarray],
    reference: tuple[np.ndarray, np.ndarray],
    scale: float,
    amount: float,
    keep_hue: np.ndarray | None,
) -> bool:
    """Whether raising the person's contrast to the painting's brings their texture nearer the
    surroundings' than keeping it does (tried on a copy of the person `scale` times as large, the scale of
    the surroundings' samples, both shrunk to MEASURE_SIDE: ~60 px).
    True when the step would not raise any channel's contrast, or the person is too small to measure.
    `lab`: `rgb` in Lab."""
    if amount == 0.0 or float(alpha.sum()) <= 0.0:
        return True
    _, src_std = _person_stats(lab, alpha)
    if not np.any(reference[1] > src_std * 1.001):
        return True
    region, weights = around
    shrink = min(1.0, texture.MEASURE_SIDE / max(region.shape[:2]))  # ~half the pixels of the ~256 px samples
    scale *= shrink
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    if min(size) < MIN_MEASURE_PX:
        return True
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    small = cv2.resize(np.ascontiguousarray(rgb, dtype=np.float32), size, interpolation=interpolation)
    small_alpha = cv2.resize(np.ascontiguousarray(alpha, dtype=np.float32), size, interpolation=interpolation)
    small_hue = (
        None
        if keep_hue is None
        else cv2.resize(keep_hue.astype(np.float32), size, interpolation=interpolation)
    )
    target = texture.log_energies(texture.shrunk(region, shrink), texture.shrunk(weights, shrink))
    stretched, kept = (
        texture.distance(
            texture.log_energies(
                _move_towards(small, small_alpha, reference, amount, small_hue, most), small_alpha
            ),
            target,
        )
        for most in (MAX_STD_RATIO, 1.0)
    )
    return stretched <= kept


def _move_towards(
    rgb: np.ndarray,
    alpha: np.ndarray,
    reference: tuple[np.ndarray, np.ndarray],
    amount: float,
    keep_hue: np.ndarray | None = None,
    max_stretch: float = MAX_STD_RATIO,
    lab: np.ndarray | None = None,
) -> np.ndarray:
    """`max_stretch`: the most a channel's spread may grow (before `amount`); 1.0: never raised. `lab`:
    `rgb` in Lab when the caller has it."""
    if not 0.0 <= amount <= 1.0:
        raise InvalidParameterError(
            f"harmonisation amount must be between 0 and 1, got {amount}", field="harmonize_amount"
        )
    if amount == 0.0 or float(alpha.sum()) <= 0.0:
        return rgb.astype(np.float32)
    lab = _lab(rgb) if lab is None else lab
    src_mean, src_std = _person_stats(lab, alpha)
    ref_mean, ref_std = reference
    ratio = np.where(src_std > 1e-6, ref_std / np.maximum(src_std, 1e-6), 1.0)
    scale = np.clip(ratio, 1.0 / MAX_STD_RATIO, max_stretch) ** amount
    shift = amount * (ref_mean - src_mean)
    shift[0] = np.clip(shift[0], -MAX_LIGHTNESS_SHIFT, MAX_LIGHTNESS_SHIFT)
    moved = (lab - src_mean) * scale + src_mean + shift
    if keep_hue is not None:
        moved[..., 1:] -= keep_hue[..., None] * (moved[..., 1:] - lab[..., 1:])
    out = cv2.cvtColor(moved.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(out * 255.0, 0.0, 255.0)


FRAME_FADE = 0.08  # fade length, as a fraction of the placed height, where the photo's frame cut the person


def fade_frame_cuts(
    alpha: np.ndarray,
    sides: set[str],
    length: float,
    origin: tuple[int, int] = (0, 0),
    full: tuple[int, int] | None = None,
) -> np.ndarray:
    """Ramp alpha down to 0 over `length` pixels toward each of `sides` ("left", "right", "top", "bottom").

    `alpha` may be a window at `origin` (x, y) of a `full` (width, height) box; the ramps follow the box.
    Never raises alpha, so nothing outside the matte appears; a smooth ramp (smoothstep) shows no band."""
    if not sides or length < 1:
        return alpha
    height, width = alpha.shape
    full_w, full_h = full or (width, height)
    x0, y0 = origin
    out = alpha.copy()

    def ramp(distance: np.ndarray) -> np.ndarray:
        t = np.clip((distance.astype(np.float32) + 0.5) / length, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    cols, rows = np.arange(x0, x0 + width), np.arange(y0, y0 + height)
    if "left" in sides:
        out *= ramp(cols)[None, :]
    if "right" in sides:
        out *= ramp(full_w - 1 - cols)[None, :]
    if "top" in sides:
        out *= ramp(rows)[:, None]
    if "bottom" in sides:
        out *= ramp(full_h - 1 - rows)[:, None]
    return out


def feather_alpha(alpha: np.ndarray, radius: float) -> np.ndarray:
    """Pull the matte edge in by radius/2 pixels and blur it by radius/2, never raising any alpha.

    Never raising alpha matters: where the matte was 0 the colour is undefined, so growing the support
    would paint a dark fringe. The canvas border is not eroded, so a person cut by the photo's edge
    keeps a solid edge there.
    """
    if radius < 0.5:
        return alpha
    half = max(round(radius / 2), 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * half + 1, 2 * half + 1))
    eroded = cv2.erode(alpha, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=1.0)
    blurred = cv2.GaussianBlur(eroded, (0, 0), sigmaX=radius / 2, borderType=cv2.BORDER_REPLICATE)
    return np.minimum(blurred, alpha)

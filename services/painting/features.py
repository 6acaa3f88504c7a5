"""The face keeps its features: eyes, brows, nose and mouth still read under the brush.

The light step (services/painting/light.py) keeps the face's light and its modelling (shapes of about a
twelfth of its height), but leaves the finer detail to the style network, and in a dark or busy painting the
network paints over the features with its own strokes: a face of bronze or of swirls, scoring 0.25-0.45 in
the composite eval's face legibility (SSIM of the face against the photo at 64 px high,
services/painting/legibility.py) where 0.5 is the floor under which it reads as a mask. A portrait painter
paints the features most carefully of all; the strokes go elsewhere.

So where the painted face falls below FEATURES_FLOOR, its lightness (L*) is mixed with the photo's, brought
to the painted face's own light and contrast (the painting's light stays), in a soft ellipse over the face
box, by the least share that lifts it to the floor. Only where all of the features are not enough (a face
painted near black) does its light move back toward the photo's, again by the least share. Its colour (a*,
b*) stays the painted one, and a face that reads already is left bit for bit as it was.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from services.painting.legibility import face_ssim
from services.painting.light import face_weight
from services.painting.scene import Rect

FEATURES_FLOOR = 0.65  # against the photo, in the stylizer; the eval's floor is 0.5
# against its input, after the compositor's tone and light steps: what they may take from the features
TONED_FEATURES_FLOOR = 0.9
MIN_CONTRAST = 0.85  # the photo's features keep at least this share of their own contrast when mixed in
SEARCH_STEPS = 7  # halvings of the mixing share: within 1/128 of the least that reaches the floor
MIN_FACE_PX = 8  # a smaller face has no features to keep


def face_reads(image: np.ndarray, photo: np.ndarray, face: Rect) -> float | None:
    """The eval's face legibility without a matte: SSIM of the face box's grey levels, `image` against
    `photo` (same size), at FACE_SIDE px high; None for a face too small or outside the image."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = max(0, face[0]), max(0, face[1]), min(width, face[2]), min(height, face[3])
    if min(x1 - x0, y1 - y0) < MIN_FACE_PX:
        return None
    return face_ssim(image, photo, (x0, y0, x1, y1))


def keep_face_features(
    reference: np.ndarray,
    painted: np.ndarray,
    face: Rect,
    floor: float = FEATURES_FLOOR,
    *,
    relight: bool = True,
    in_place: bool = False,
) -> np.ndarray:
    """`painted` (uint8, or float RGB 0..255) with the face's features mixed back from `reference` (the
    photo, or a step's input; RGB 0..255, same size) as much as its legibility against `reference` needs to
    reach `floor`; `face` in these pixels. Returns `painted` itself when the face reads, else a copy of the
    same dtype with only the face's window changed (`in_place`: `painted` itself, changed there, so a large
    person is not held twice). `relight` False: never move the face's light, only its features (after the
    compositor's tone step, whose darkening the light step already bounds)."""
    reads = face_reads(painted, reference, face)
    if reads is None or reads >= floor:
        return painted
    # all the work on the face's window: a copy of the whole picture per try would cost a compositor working
    # on a 16 MP person 200 MB each
    rows, cols = _window(face, painted.shape[:2])
    x0, y0, x1, y1 = face
    local = (x0 - cols.start, y0 - rows.start, x1 - cols.start, y1 - rows.start)
    share = face_weight((rows.stop - rows.start, cols.stop - cols.start), local)
    window = np.clip(painted[rows, cols], 0, 255)
    lab = _lab(window)
    lightness, own = lab[..., 0].copy(), _lab(np.clip(reference[rows, cols], 0, 255))[..., 0]
    given = np.ascontiguousarray(reference[rows, cols])

    def mixed(amount: float, lift: float) -> np.ndarray:
        mixed_lab = lab.copy()
        features = _features(own, lightness, share, lift)
        mixed_lab[..., 0] = lightness + amount * share * (features - lightness)
        rgb = np.clip(cv2.cvtColor(mixed_lab, cv2.COLOR_Lab2RGB) * 255.0, 0.0, 255.0)
        return np.rint(rgb) if painted.dtype == np.uint8 else rgb

    # first the features alone, in the painted light; only if all of them are not enough, the light too
    if not relight or _reads(mixed(1.0, 0.0), given, local) >= floor:
        best = _least(lambda share_: mixed(share_, 0.0), given, local, floor)
    else:
        best = _least(lambda lift: mixed(1.0, lift), given, local, floor)
    out = painted if in_place else painted.copy()
    out[rows, cols] = best
    return out


def _reads(image: np.ndarray, photo: np.ndarray, face: Rect) -> float:
    return face_reads(image, photo, face) or 0.0


def _least(make: Callable[[float], np.ndarray], photo: np.ndarray, face: Rect, floor: float) -> np.ndarray:
    """make(x) for the least x in [0, 1] (within 2**-SEARCH_STEPS) that reads at `floor`; make(1) if none."""
    low, high = 0.0, 1.0
    best = make(high)
    if _reads(best, photo, face) < floor:
        return best  # as legible as it gets here
    for _ in range(SEARCH_STEPS):
        middle = (low + high) / 2
        candidate = make(middle)
        if _reads(candidate, photo, face) >= floor:
            high, best = middle, candidate
        else:
            low = middle
    return best


def _features(own: np.ndarray, painted: np.ndarray, weight: np.ndarray, lift: float) -> np.ndarray:
    """The photo's lightness `own` moved to the painted face's mean and spread (weighted by `weight`), its
    spread no less than MIN_CONTRAST of its own: the features in the painting's light. `lift` (0..1) takes
    the mean and spread that share of the way back to the photo's, for a face the painted light leaves
    unreadable whatever its features."""
    total = max(float(weight.sum()), 1e-6)
    own_mean, painted_mean = float((own * weight).sum()) / total, float((painted * weight).sum()) / total
    own_std = np.sqrt(float(((own - own_mean) ** 2 * weight).sum()) / total)
    painted_std = np.sqrt(float(((painted - painted_mean) ** 2 * weight).sum()) / total)
    spread = max(painted_std, MIN_CONTRAST * own_std) / max(own_std, 1e-3)
    mean = painted_mean + lift * (own_mean - painted_mean)
    spread += lift * (1.0 - spread)
    return np.clip(mean + spread * (own - own_mean), 0.0, 100.0).astype(np.float32)


def _window(face: Rect, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The face box grown to hold face_weight's ellipse, clipped to the image."""
    height, width = shape
    x0, y0, x1, y1 = face
    grow_x, grow_y = round(0.2 * (x1 - x0)) + 1, round(0.2 * (y1 - y0)) + 1
    return (
        slice(max(0, y0 - grow_y), min(height, y1 + grow_y)),
        slice(max(0, x0 - grow_x), min(width, x1 + grow_x)),
    )


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)

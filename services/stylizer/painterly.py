"""The stylization follows the painting's abstraction (issue 23, part 2).

An expressive painting (abstraction >= FULL_AT) keeps the style network's full strokes. On a smooth,
realistic one the network draws dark contours and hatching that the painting has nowhere, so the person is
painted with a mix: the network's image, and a gentler transfer of the painting's surface onto the photo:

- glaze: the photo's own fine texture (pores, fabric, sensor noise) smoothed away by an edge-preserving
  filter, so forms keep their edges where they are strong and lose them where they are soft (lost and found
  edges), at the detail level of a glazed surface;
- palette: the photo's Lab mean and spread moved toward the painting around the place (Reinhard et al.'s
  statistics transfer, partly), so the flesh and clothes take the painting's light and earth colours;
- grain: the painting's own finest texture (its lightness minus a blur at 1 px: canvas, craquelure, the
  last touches), cut from around the place at the same pixel scale, laid over the person.

The network's share falls linearly from 1 at FULL_AT to NETWORK_MIN at GENTLE_AT and below. An explicit
user strength bypasses all of this (services/stylizer/planned.py).

The network does not always paint in the painting's manner: on a flat, near-white region (a space suit, a
white hood) it invents fragmented patches of strokes that the painting around the place has nowhere (Udnie's
broad shapes, Matisse's open brushwork), and the person ends up further from the painting than the photo
itself was. So the mix is checked, cheaply: the texture (a small Gabor filter bank's energies, the composite
eval's second measure, at one small working scale) of the person's part of the painted image against the
painting around the place, and the photo's own against the same. When the mix is further than the photo by
more than FURTHER_BY, the network's share falls to whichever of SHARES below it is closest to the painting
(the gentle transfer alone at the least). The palette's statistics are the person's (the plan's box mapped
into the photo), not the whole frame's: a black lunar sky around a white suit would otherwise lift the suit
to a glare.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting import texture
from services.painting.abstraction import Abstraction

FULL_AT = 0.5  # at and above: today's full strokes
GENTLE_AT = 0.2  # at and below: the gentlest mix
NETWORK_MIN = 0.5  # the network's share at GENTLE_AT and below
PALETTE_AMOUNT = 1.0  # the photo's Lab mean and spread become the painting's (0.8: style ratio ~0.03 worse)
GLAZE_DIAMETER = 7  # the edge-preserving filter's window (a wider one cost 4x for no visible change)
GRAIN_SIGMA = 1.0  # the painting's grain: lightness minus its blur at this sigma
SOFTEN_SIGMAS = (0.0, 0.7, 1.0, 1.4, 2.0)  # the photo's glaze: blurs tried, smallest first (_soften_to)
SHARES = (0.75, 0.5, 0.25, 0.0)  # the network's shares tried when the chosen mix is further than the photo
FURTHER_BY = 0.05  # texture distance (mean |log energy ratio|) by which the mix may exceed the photo's
MIN_MEASURE_PX = 16  # a person smaller than this at the working scale is not measured

Rect = tuple[int, int, int, int]


def realism(abstraction: Abstraction | float) -> float:
    """0 for a painting that keeps full strokes, 1 for the smoothest (0..1 in between)."""
    score = abstraction.score if isinstance(abstraction, Abstraction) else float(abstraction)
    return float(np.clip((FULL_AT - score) / (FULL_AT - GENTLE_AT), 0.0, 1.0))


def network_share(abstraction: Abstraction | float) -> float:
    return 1.0 - realism(abstraction) * (1.0 - NETWORK_MIN)


def gentle_transfer(photo: np.ndarray, surroundings: np.ndarray, person: Rect | None = None) -> np.ndarray:
    """The photo (uint8 RGB, at the size it is painted) with the painting's glaze, palette and grain taken
    from `surroundings` (uint8 RGB, the painting around the place, at the same pixel scale). `person` (x0, y0,
    x1, y1 in these pixels): the palette moves the person's statistics, not the background's."""
    height, width = photo.shape[:2]
    sigma_space = max(2.0, 0.006 * max(height, width))
    smooth = cv2.bilateralFilter(photo, d=GLAZE_DIAMETER, sigmaColor=24.0, sigmaSpace=sigma_space)
    lab = cv2.cvtColor(smooth.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    ref = cv2.cvtColor(surroundings.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    lab[..., 0] = _soften_to(lab[..., 0], _sharpness(ref[..., 0]))
    own = lab if person is None else lab[person[1] : person[3], person[0] : person[2]]
    own_mean, own_std = _mean_std(np.ascontiguousarray(own))
    ref_mean, ref_std = _mean_std(ref)
    target_mean = own_mean + PALETTE_AMOUNT * (ref_mean - own_mean)
    target_std = own_std * (ref_std / own_std) ** PALETTE_AMOUNT
    lab = (lab - own_mean) * (target_std / own_std) + target_mean
    lab[..., 0] += _grain(ref[..., 0], height, width)
    lab[..., 0] = np.clip(lab[..., 0], 0.0, 100.0)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _mean_std(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = cv2.meanStdDev(lab)  # per channel; ~10x numpy's strided reductions
    return mean.reshape(3).astype(np.float32), std.reshape(3).astype(np.float32) + 1e-3


def _sharpness(lightness: np.ndarray) -> float:
    """Variance of the Laplacian (the composite eval's detail measure, sitter/sharpness.py)."""
    return float(cv2.Laplacian(lightness, cv2.CV_32F).var())


def _soften_to(lightness: np.ndarray, target: float) -> np.ndarray:
    """`lightness` blurred by the smallest of SOFTEN_SIGMAS that brings its own detail to at most the
    painting's (`target`), never more than 2 px: a glaze, not a blur; the grain adds the painting's own."""
    for sigma in SOFTEN_SIGMAS:
        soft = cv2.GaussianBlur(lightness, (0, 0), sigma) if sigma else lightness
        if _sharpness(soft) <= target:
            return soft
    return soft


def _grain(lightness: np.ndarray, height: int, width: int) -> np.ndarray:
    """The painting's finest lightness texture, tiled (mirrored) to height x width."""
    residual = lightness - cv2.GaussianBlur(lightness, (0, 0), GRAIN_SIGMA)
    reps = (-(-height // residual.shape[0]), -(-width // residual.shape[1]))
    if reps != (1, 1):
        flipped = [
            [residual[:, :: 1 - 2 * (j % 2)][:: 1 - 2 * (i % 2)] for j in range(reps[1])]
            for i in range(reps[0])
        ]
        residual = np.block(flipped)
    return np.asarray(residual[:height, :width], dtype=np.float32)


def painterly(
    photo: np.ndarray,
    stylized: np.ndarray,
    surroundings: np.ndarray,
    abstraction: Abstraction | float,
    person: Rect | None = None,
) -> np.ndarray:
    """The network's `stylized` image mixed with the gentle transfer by the painting's abstraction, with
    less of the network where its strokes take the person (`person`: x0, y0, x1, y1 in the stylized image's
    pixels; None: the whole frame) further from the painting's texture than the photo was. `photo` is
    resized to the stylized size. Returns `stylized` itself when the network's full strokes stay."""
    height, width = stylized.shape[:2]
    if photo.shape[:2] != (height, width):
        photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    person = _inside(person, height, width)
    share = network_share(abstraction)
    measure = _TextureMeasure.of(surroundings, person)
    further = measure is not None and measure(stylized) > measure(photo) + FURTHER_BY
    if share >= 1.0 and not further:
        return stylized
    gentle = gentle_transfer(photo, surroundings, person).astype(np.float32)
    painted = stylized.astype(np.float32)
    if further and measure is not None:
        small_gentle, small_painted = measure.crop(gentle), measure.crop(painted)
        tried = [share, *(s for s in SHARES if s < share)]
        share = min(tried, key=lambda s: measure.small(small_gentle + s * (small_painted - small_gentle)))
    out = gentle + share * (painted - gentle)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _inside(person: Rect | None, height: int, width: int) -> Rect | None:
    """`person` clipped to the image; None when nothing of it is left."""
    if person is None:
        return None
    x0, y0 = max(0, int(person[0])), max(0, int(person[1]))
    x1, y1 = min(width, int(person[2])), min(height, int(person[3]))
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


class _TextureMeasure:
    """Texture distance of the person's part of an image (at the painted size) to the surroundings, both
    at one working scale (the surroundings' long side MEASURE_SIDE, never enlarged): a few ms."""

    def __init__(self, reference: np.ndarray, person: Rect, scale: float) -> None:
        self.reference, self.person, self.scale = reference, person, scale

    @classmethod
    def of(cls, surroundings: np.ndarray, person: Rect | None) -> _TextureMeasure | None:
        if person is None or min(surroundings.shape[:2]) < 2:
            return None
        scale = min(1.0, texture.MEASURE_SIDE / max(surroundings.shape[:2]))
        x0, y0, x1, y1 = person
        if min(x1 - x0, y1 - y0) * scale < MIN_MEASURE_PX:
            return None
        return cls(texture.log_energies(texture.shrunk(surroundings, scale)), person, scale)

    def crop(self, image: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.person
        return texture.shrunk(np.ascontiguousarray(image[y0:y1, x0:x1], dtype=np.float32), self.scale)

    def small(self, cropped: np.ndarray) -> float:
        return texture.distance(texture.log_energies(cropped), self.reference)

    def __call__(self, image: np.ndarray) -> float:
        return self.small(self.crop(image))

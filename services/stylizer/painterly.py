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
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.abstraction import Abstraction

FULL_AT = 0.5  # at and above: today's full strokes
GENTLE_AT = 0.2  # at and below: the gentlest mix
NETWORK_MIN = 0.5  # the network's share at GENTLE_AT and below
PALETTE_AMOUNT = 1.0  # the photo's Lab mean and spread become the painting's (0.8: style ratio ~0.03 worse)
GLAZE_DIAMETER = 7  # the edge-preserving filter's window (a wider one cost 4x for no visible change)
GRAIN_SIGMA = 1.0  # the painting's grain: lightness minus its blur at this sigma
SOFTEN_SIGMAS = (0.0, 0.7, 1.0, 1.4, 2.0)  # the photo's glaze: blurs tried, smallest first (_soften_to)


def realism(abstraction: Abstraction | float) -> float:
    """0 for a painting that keeps full strokes, 1 for the smoothest (0..1 in between)."""
    score = abstraction.score if isinstance(abstraction, Abstraction) else float(abstraction)
    return float(np.clip((FULL_AT - score) / (FULL_AT - GENTLE_AT), 0.0, 1.0))


def network_share(abstraction: Abstraction | float) -> float:
    return 1.0 - realism(abstraction) * (1.0 - NETWORK_MIN)


def gentle_transfer(photo: np.ndarray, surroundings: np.ndarray) -> np.ndarray:
    """The photo (uint8 RGB, at the size it is painted) with the painting's glaze, palette and grain taken
    from `surroundings` (uint8 RGB, the painting around the place, at the same pixel scale)."""
    height, width = photo.shape[:2]
    sigma_space = max(2.0, 0.006 * max(height, width))
    smooth = cv2.bilateralFilter(photo, d=GLAZE_DIAMETER, sigmaColor=24.0, sigmaSpace=sigma_space)
    lab = cv2.cvtColor(smooth.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    ref = cv2.cvtColor(surroundings.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    lab[..., 0] = _soften_to(lab[..., 0], _sharpness(ref[..., 0]))
    own_mean, own_std = _mean_std(lab)
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
    photo: np.ndarray, stylized: np.ndarray, surroundings: np.ndarray, abstraction: Abstraction | float
) -> np.ndarray:
    """The network's `stylized` image mixed with the gentle transfer by the painting's abstraction; an
    expressive painting's is returned as it is. `photo` is resized to the stylized size."""
    share = network_share(abstraction)
    if share >= 1.0:
        return stylized
    height, width = stylized.shape[:2]
    if photo.shape[:2] != (height, width):
        photo = cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA)
    gentle = gentle_transfer(photo, surroundings).astype(np.float32)
    out = gentle + share * (stylized.astype(np.float32) - gentle)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)

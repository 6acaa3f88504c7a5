"""A second style measure, independent of VGG and of any training loss: colour distribution and texture.

The composite eval's style distance compares VGG16 Gram matrices, the statistic the networks are trained
on, so a network can learn to please it. These two compare the person with the painting around them with
plain image statistics instead:

- colour: the 1-D Wasserstein (earth mover's) distance between the weighted CIE Lab distributions of L*, a*
  and b* (from 32 quantiles each), summed: how far the person's palette is from the surroundings';
- texture: the energies of a Gabor filter bank (3 wavelengths x 4 orientations, zero-mean kernels on the
  luminance; the bank the product's own texture checks use, services/painting/texture.py), each the weighted
  mean magnitude; the distance is the mean absolute difference of their logs: stroke strength, size and
  direction. Since the painterly mix and the tone step choose by this texture, it is no longer independent of
  the product where they act; the Gram ratio and the colour distance still are.

Both take an RGB image with a weight map (alpha for the person, 1 outside the box for the surroundings),
already at the common scale.
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.texture import gabor_bank

QUANTILES = np.linspace(0.02, 0.98, 32)
EPS = 1e-4


def _weighted_quantiles(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    order = np.argsort(values)
    v, w = values[order], weight[order]
    cumulative = np.cumsum(w)
    total = cumulative[-1]
    if total <= 0:
        return np.full(len(QUANTILES), np.nan)
    return np.interp(QUANTILES * total, cumulative - 0.5 * w, v)


def lab_quantiles(rgb: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """3 x len(QUANTILES): the weighted quantiles of L*, a*, b*."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    w = weight.reshape(-1).astype(np.float64)
    return np.stack([_weighted_quantiles(lab[:, c].astype(np.float64), w) for c in range(3)])


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Sum over L*, a*, b* of the mean absolute difference of quantiles (1-D Wasserstein), Lab units."""
    return float(np.abs(a - b).mean(axis=1).sum())


def gabor_energies(rgb: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The weighted mean |response| of each filter of the bank on the luminance (0..1)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    w = weight.astype(np.float64)
    total = max(float(w.sum()), 1e-9)
    return np.array(
        [
            float((np.abs(cv2.filter2D(gray, -1, kernel, borderType=cv2.BORDER_REFLECT)) * w).sum() / total)
            for kernel in gabor_bank()
        ]
    )


def texture_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.log(a + EPS) - np.log(b + EPS)).mean())

"""A cheap texture signature: how far a person's brushwork is from the painting's around them.

The energies of a small Gabor filter bank (3 wavelengths x 4 orientations, zero-mean kernels on the
luminance: stroke strength, size and direction), as the composite eval's second style measure computes them
(sitter/style_stats.py), here for the product's own choices: the stylizer's mix of network and gentle
transfer (services/stylizer/painterly.py) and the compositor's tone step (services/compositor/harmonize.py)
each keep the variant whose texture is nearest the painting's. Both images must be at one pixel scale;
at ~200 px a side a signature costs a few ms.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

WAVELENGTHS = (4.0, 8.0, 16.0)  # pixels at the working scale
MEASURE_SIDE = 192  # the surroundings' long side when the product compares textures (the eval's: 256)
ORIENTATIONS = 4
EPS = 1e-4


@cache
def gabor_bank() -> tuple[np.ndarray, ...]:
    """Zero-mean Gabor kernels (no response to flat colour: texture only), each of unit L1 norm."""
    kernels = []
    for wavelength in WAVELENGTHS:
        size = int(2 * round(wavelength) + 1)
        for k in range(ORIENTATIONS):
            raw = cv2.getGaborKernel(
                (size, size),
                0.56 * wavelength,
                np.pi * k / ORIENTATIONS,
                wavelength,
                0.5,
                0.0,
                ktype=cv2.CV_32F,
            )
            kernel = np.asarray(raw, dtype=np.float32) - float(np.mean(raw))
            kernels.append(kernel / float(np.abs(kernel).sum()))
    return tuple(kernels)


def log_energies(rgb: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Log of the (weighted) mean |response| of each filter on the luminance (0..1) of RGB 0..255."""
    gray = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2GRAY)
    total = None if weight is None else max(float(weight.sum()), 1e-6)
    energies = []
    for kernel in gabor_bank():
        response = np.abs(cv2.filter2D(gray, -1, kernel, borderType=cv2.BORDER_REFLECT))
        energies.append(float(response.mean()) if total is None else float((response * weight).sum()) / total)
    return np.log(np.array(energies) + EPS)


def shrunk(image: np.ndarray, scale: float) -> np.ndarray:
    """`image` at `scale` (INTER_AREA, at least 2 px a side), or itself when `scale` would not shrink it."""
    if scale >= 1.0:
        return image
    size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two log_energies signatures."""
    return float(np.abs(a - b).mean())

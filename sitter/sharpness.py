"""A sharpness score (bench and tests only): full-resolution stylization beats 384-and-upscale."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in 0..255 as float32 (what the eye judges sharpness on)."""
    return np.asarray(rgb, dtype=np.float32) @ LUMA


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of the luminance: high when there is fine detail (crisp edges,
    strokes), low when an image was upscaled from fewer pixels. Compare images of the same content."""
    y = luminance(rgb)
    if min(y.shape) < 3:
        raise ValueError("sharpness needs an image of at least 3x3 pixels")
    lap = 4 * y[1:-1, 1:-1] - y[:-2, 1:-1] - y[2:, 1:-1] - y[1:-1, :-2] - y[1:-1, 2:]
    return float(lap.var())

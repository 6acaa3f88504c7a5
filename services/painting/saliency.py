"""Where a painting's content is: a classical saliency map, since no learned one ships in a wheel here.

Three cues, each normalised to 0..1 and averaged: the spectral residual (Hou & Zhang 2007: what the log
spectrum does not predict is what stands out), centre-surround colour contrast at three scales (Itti et
al. 1998: a shape whose Lab colour differs from what surrounds it, such as a dark cypress against the sky
or a dark dress against a landscape, even when it has little detail), and detail (smoothed gradient
magnitude: faces, hands and text are busy, sky and walls are calm). Computed on a small grid: placement
only needs its coarse shape.
"""

from __future__ import annotations

import cv2
import numpy as np

GRID = 96  # long side of the saliency grid, in cells


def grid_size(width: int, height: int) -> tuple[int, int]:
    """(grid_w, grid_h) of the saliency map for a width x height painting."""
    scale = GRID / max(width, height)
    return max(4, round(width * scale)), max(4, round(height * scale))


def _normalise(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def spectral_residual(gray: np.ndarray) -> np.ndarray:
    spectrum = np.fft.fft2(gray)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude.astype(np.float32), (3, 3))
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    return cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), sigmaX=2.5)


def saliency_map(rgb: np.ndarray) -> np.ndarray:
    """float32 (grid_h, grid_w) in 0..1: how much each part of the painting holds the eye."""
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, grid_size(width, height), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    gray = np.ascontiguousarray(lab[..., 0] / 100.0, dtype=np.float32)
    contrast = np.zeros(gray.shape, dtype=np.float32)
    for centre, surround in ((1.5, 6.0), (3.0, 12.0), (6.0, 24.0)):
        near = cv2.GaussianBlur(lab, (0, 0), sigmaX=centre, borderType=cv2.BORDER_REFLECT)
        far = cv2.GaussianBlur(lab, (0, 0), sigmaX=surround, borderType=cv2.BORDER_REFLECT)
        contrast += np.linalg.norm(near - far, axis=2)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    detail = cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), sigmaX=3.0)
    cues = [_normalise(spectral_residual(gray)), _normalise(contrast), _normalise(detail)]
    return _normalise(np.mean(cues, axis=0))

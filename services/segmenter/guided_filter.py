"""Fast colour guided filter (He, Sun & Tang 2013; He & Sun 2015): edge-aware upsampling of a coarse matte.

The segmentation network sees the photo at 256 px, so its matte has a blocky outline. The guided filter
models the matte locally as a linear function of the photo's colours, alpha = a·I + b, fitted in small
windows: where the coarse matte changes across a colour edge (hair against sky), the fit follows the edge,
and where colours blend (fine hair) alpha blends too. The fit is done at a reduced resolution and only the
smooth coefficients a, b are upsampled and applied to the full-resolution photo, which keeps the cost
almost independent of the photo's size while the detail still comes from the full-resolution guide.
"""

from __future__ import annotations

import cv2
import numpy as np


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window; border windows are normalised by their real size (reflected border)."""
    return cv2.blur(x, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def _solve_3x3(cov: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Per-pixel solve of a symmetric 3x3 system (HxWx6 upper triangle, HxWx3 right side) by cofactors."""
    xx, xy, xz, yy, yz, zz = (cov[..., i] for i in range(6))
    c00 = yy * zz - yz * yz
    c01 = xz * yz - xy * zz
    c02 = xy * yz - xz * yy
    c11 = xx * zz - xz * xz
    c12 = xy * xz - xx * yz
    c22 = xx * yy - xy * xy
    det = xx * c00 + xy * c01 + xz * c02
    r0, r1, r2 = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    out = np.stack(
        (c00 * r0 + c01 * r1 + c02 * r2, c01 * r0 + c11 * r1 + c12 * r2, c02 * r0 + c12 * r1 + c22 * r2),
        axis=-1,
    )
    return out / det[..., None]


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Window-averaged linear coefficients (HxWx4: a_r, a_g, a_b, b) of `source` ≈ a·guide + b.

    guide: float32 HxWx3 in [0,1]; source: float32 HxW. `eps` is the regulariser: larger means smoother
    alpha that follows colour edges less.
    """
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    r, g, b = guide[..., 0], guide[..., 1], guide[..., 2]
    products = np.stack((r * r, r * g, r * b, g * g, g * b, b * b), axis=-1)
    mr, mg, mb = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    cov = _box(products, radius) - np.stack((mr * mr, mr * mg, mr * mb, mg * mg, mg * mb, mb * mb), axis=-1)
    cov[..., (0, 3, 5)] += eps
    cov_ip = _box(guide * source[..., None], radius) - mean_i * mean_p[..., None]
    a = _solve_3x3(cov, cov_ip)
    offset = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(np.concatenate((a, offset[..., None]), axis=-1), radius)


def fast_guided_filter(
    guide: np.ndarray, small_guide: np.ndarray, source: np.ndarray, radius: int, eps: float
) -> np.ndarray:
    """Edge-aware version of `source` at the guide's full resolution.

    guide: uint8 HxWx3 RGB photo (full resolution); small_guide: the same photo reduced to the working
    grid, where the coefficients are fitted; source: float32 coarse matte on that grid. radius is in
    working-grid pixels.
    """
    height, width = guide.shape[:2]
    coefficients = guided_coefficients(small_guide.astype(np.float32) / 255.0, source, radius, eps)
    coefficients[..., :3] /= 255.0  # so they apply to the uint8 photo directly, no full-size float copy
    a = cv2.resize(coefficients, (width, height), interpolation=cv2.INTER_LINEAR)
    result = a[..., 3]
    for channel in range(3):  # a·I + b, channel by channel: several times faster than einsum here
        result += a[..., channel] * guide[..., channel]
    return result

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


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Window-averaged linear coefficients (HxWx4: a_r, a_g, a_b, b) of `source` ≈ a·guide + b.

    guide: float32 HxWx3 in [0,1]; source: float32 HxW. `eps` is the regulariser: larger means smoother
    alpha that follows colour edges less. Works on contiguous planes (not strided channel views) and
    solves each pixel's 3x3 system by cofactors: this is most of the matte's refinement time.
    """
    r, g, b = cv2.split(guide)
    mr, mg, mb = cv2.split(_box(guide, radius))
    mp = _box(source, radius)
    rr, rg, rb = cv2.split(_box(cv2.merge((r * r, r * g, r * b)), radius))
    gg, gb, bb = cv2.split(_box(cv2.merge((g * g, g * b, b * b)), radius))
    pr, pg, pb = cv2.split(_box(cv2.merge((r * source, g * source, b * source)), radius))
    xx, xy, xz = rr - mr * mr + eps, rg - mr * mg, rb - mr * mb  # colour covariance + eps on the diagonal
    yy, yz, zz = gg - mg * mg + eps, gb - mg * mb, bb - mb * mb + eps
    r0, r1, r2 = pr - mr * mp, pg - mg * mp, pb - mb * mp  # covariance of colour and source
    c00, c01, c02 = yy * zz - yz * yz, xz * yz - xy * zz, xy * yz - xz * yy  # cofactors (symmetric)
    c11, c12, c22 = xx * zz - xz * xz, xy * xz - xx * yz, xx * yy - xy * xy
    inv_det = 1.0 / (xx * c00 + xy * c01 + xz * c02)
    ar = (c00 * r0 + c01 * r1 + c02 * r2) * inv_det
    ag = (c01 * r0 + c11 * r1 + c12 * r2) * inv_det
    ab = (c02 * r0 + c12 * r1 + c22 * r2) * inv_det
    offset = mp - ar * mr - ag * mg - ab * mb
    return _box(cv2.merge((ar, ag, ab, offset)), radius)


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
    planes = cv2.split(coefficients)  # each upsampled alone: 4 bytes a pixel at a time, not 16

    def upsampled(channel: int) -> np.ndarray:
        return cv2.resize(planes[channel], (width, height), interpolation=cv2.INTER_LINEAR)

    result = upsampled(3)
    for channel in range(3):  # a·I + b, channel by channel: several times faster than einsum here
        plane = upsampled(channel)
        plane *= guide[..., channel]
        result += plane
    return result

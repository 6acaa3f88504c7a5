"""The stylization the arbitrary-style transformer was exported for: 384x384 in, then upscaled.

Kept only so the bench and a test can show, on the same input, how much sharper the product's
full-resolution stylization is; the product never uses it.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.stylizer.colour import keep_colors as apply_keep_colors
from services.stylizer.colour import mix
from services.stylizer.onnx_models import FIXED_SIDE
from services.stylizer.styles import ImageStyle
from services.stylizer.stylizer import Stylizer, check_rgb, check_strength, fit


def stylize_at_384(
    stylizer: Stylizer,
    rgb: np.ndarray,
    style: ImageStyle,
    *,
    strength: float = 1.0,
    keep_colors: bool = False,
    max_size: int = 1024,
) -> np.ndarray:
    """The photo shrunk to 384 px long side, reflect-padded to 384x384, stylized, then Lanczos-upscaled to
    the working resolution: the same size as `Stylizer.stylize`'s output."""
    photo = fit(check_rgb(rgb, "portrait"), max_size)
    strength = check_strength(strength)
    height, width = photo.shape[:2]
    scale = FIXED_SIDE / max(height, width)
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = np.asarray(Image.fromarray(photo).resize((small_w, small_h), Image.Resampling.LANCZOS))
    padded = np.pad(small, ((0, FIXED_SIDE - small_h), (0, FIXED_SIDE - small_w), (0, 0)), mode="reflect")
    stylized = stylizer.run_transformer(padded, stylizer.blended_vector(photo, style, strength))
    upscaled = Image.fromarray(stylized[:small_h, :small_w])
    result = np.asarray(upscaled.resize((width, height), Image.Resampling.LANCZOS))
    if keep_colors:
        result = apply_keep_colors(result, photo)
    return mix(photo, result, strength)

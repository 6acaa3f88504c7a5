"""Pixel-level finishing of a stylized image: keep the photo's colours, and dial the style's strength. (The
skin's own colour is services/painting/skin.py: the compositor follows the same rule.)"""

from __future__ import annotations

import numpy as np
from PIL import Image


def keep_colors(stylized: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """The stylized luminance with the photo's chroma (YCbCr): the painting's strokes and tones, the sitter's
    own skin and clothes colours. Both images are uint8 RGB of the same size."""
    luma = Image.fromarray(stylized).convert("YCbCr").getchannel(0)
    _, cb, cr = Image.fromarray(photo).convert("YCbCr").split()
    return np.asarray(Image.merge("YCbCr", (luma, cb, cr)).convert("RGB"))


def mix(photo: np.ndarray, stylized: np.ndarray, strength: float) -> np.ndarray:
    """Linear pixel blend: strength 0 is the photo, 1 the stylized image."""
    if strength >= 1.0:
        return stylized
    if strength <= 0.0:
        return photo
    out = photo.astype(np.float32)
    out += strength * (stylized.astype(np.float32) - out)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)

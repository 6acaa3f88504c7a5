"""`python -m services.stylizer.make_thumbnails`: (re)make shared/data/styles/builtin-N.jpg.

Each thumbnail is one built-in style applied to the same head-and-shoulders crop of the bundled Obama
portrait at 320 px, then reduced to 160 px: stylizing at twice the size shows the style's strokes at the
scale a real portrait gets, instead of smearing a tiny face.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from services.stylizer.styles import BuiltinStyle
from services.stylizer.stylizer import Stylizer
from shared.builtin_styles import THUMBNAIL_DIR, builtin_styles
from shared.gallery import SAMPLES_DIR
from shared.imageio import decode_image
from shared.settings import model_store

SOURCE = SAMPLES_DIR / "obama-portrait.jpg"
WORK_SIDE = 320
THUMB_SIDE = 160


def portrait_crop() -> np.ndarray:
    """The square from the top of the portrait (slightly down, to frame head and shoulders)."""
    photo = decode_image(SOURCE)
    side = min(photo.shape[:2])
    top = min(photo.shape[0] - side, side // 24)
    square = Image.fromarray(photo[top : top + side, :side])
    return np.asarray(square.resize((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS))


def main() -> None:
    stylizer = Stylizer(model_store())
    crop = portrait_crop()
    THUMBNAIL_DIR.mkdir(parents=True, exist_ok=True)
    for info in builtin_styles():
        stylized = Image.fromarray(stylizer.stylize(crop, BuiltinStyle.single(info.index)))
        thumb = stylized.resize((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        thumb.save(info.thumbnail, "JPEG", quality=85, optimize=True)
        print(f"{info.id:<11} {info.label:<32} -> {info.thumbnail}")


if __name__ == "__main__":
    main()

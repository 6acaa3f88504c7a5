"""Turn the user's `style` string into a style spec, the same way for the CLI pipeline and the Celery task."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from services.stylizer.styles import BuiltinStyle, ImageStyle, is_builtin_spec, parse_builtin
from services.stylizer.stylizer import Stylizer
from services.stylizer.trained import TrainedStyle, parse_trained
from shared import gallery
from shared.errors import InvalidParameterError, UnknownStyleError
from shared.imageio import decode_image
from shared.queues import PAINTING_STYLE
from shared.trained import is_trained_spec


def resolve_style(
    spec: str, stylizer: Stylizer, painting_rgb: np.ndarray | None = None
) -> BuiltinStyle | ImageStyle | TrainedStyle:
    """`painting` (the target painting, given as `painting_rgb`), a gallery painting id, a built-in spec
    (`builtin-7`, `builtin:7`, `builtin-3@0.6,builtin-12@0.4`) or the path of an image file."""
    text = spec.strip()
    if text == PAINTING_STYLE:
        if painting_rgb is None:
            raise InvalidParameterError(
                "style `painting` needs the target painting; name a gallery painting or a built-in style",
                field="style",
            )
        return ImageStyle(stylizer.style_vector(painting_rgb))
    if is_builtin_spec(text):
        return parse_builtin(text)
    if is_trained_spec(text):
        return parse_trained(text, stylizer.models)  # the trained styles of the models it loads
    if text in gallery.paintings():
        return ImageStyle(_gallery_vector(stylizer, text))
    path = Path(text).expanduser()
    if text and path.is_file():
        return ImageStyle(stylizer.style_vector(decode_image(path, what="style image")))
    raise UnknownStyleError(
        f"unknown style {spec!r}; use `painting` (the target painting, the default), a gallery painting id "
        f"({', '.join(gallery.paintings())}), builtin-0..builtin-25 (or builtin:N), a blend such as "
        "builtin-3@0.6,builtin-12@0.4, or the path of an image file",
        field="style",
    )


@lru_cache(maxsize=64)
def _gallery_vector(stylizer: Stylizer, painting_id: str) -> np.ndarray:
    """A gallery painting's style vector, computed once per process and stylizer: a worker serves the
    same painting style for many jobs, and decoding plus predicting it costs ~100 ms each time."""
    vector = stylizer.style_vector(gallery.load_painting(painting_id))
    vector.setflags(write=False)  # shared between callers
    return vector

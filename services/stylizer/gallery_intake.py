"""An added painting's analysis: what the placement and style code read of a gallery painting, computed
once when the operator adds it (the bundled gallery ships the same in analysis.json).

Thin over the cores: the painting analyser (faces, figures, ground, saliency, spots), the stylizer's
style vector, a thumbnail for pickers. Used by the `paintings` queue's task and by `sitter gallery add`.
"""

from __future__ import annotations

from typing import Any

from services.painting.analysis import PaintingAnalyser
from services.painting.gallery_analysis import analysis_document
from services.stylizer.stylizer import Stylizer
from shared.added_paintings import STYLE_VECTOR
from shared.imageio import decode_image, encode_thumbnail

THUMBNAIL_SIDE = 256  # as the bundled paintings' thumbnails (gateway/gallery_api.py)


def analyse_added(
    analyser: PaintingAnalyser, stylizer: Stylizer, image: bytes, max_pixels: int
) -> tuple[dict[str, Any], bytes]:
    """(analysis document with spots and style vector, thumbnail JPEG) of an uploaded painting."""
    painting = decode_image(image, max_pixels=max_pixels, what="painting")
    document = analysis_document(analyser, painting)
    document[STYLE_VECTOR] = [float(value) for value in stylizer.style_vector(painting)]
    return document, encode_thumbnail(painting, THUMBNAIL_SIDE)

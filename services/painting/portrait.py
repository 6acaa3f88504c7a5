"""The portrait's face box: the one thing about the photo that placement needs before the matte exists."""

from __future__ import annotations

import numpy as np

from services.painting.detectors import Detection, Detector
from services.painting.plan import PortraitInfo
from services.painting.scene import Rect


def portrait_info(rgb: np.ndarray, faces: Detector, found: list[Detection] | None = None) -> PortraitInfo:
    """Size and the most confident face (the full-range detector, as for paintings, so both face boxes are
    measured alike and their ratio is the scale). Rounded to whole pixels: every stage gets the same plan.
    `found`: that detector's detections on `rgb` when the caller already has them (the person check's)."""
    height, width = rgb.shape[:2]
    found = faces.detect(rgb) if found is None else found
    if not found:
        return PortraitInfo(width, height, None)
    return PortraitInfo(width, height, face_rect(found[0], width, height))


def face_rect(detection: Detection, width: int, height: int) -> Rect:
    """A detected face as whole photo pixels, inside the photo and at least one pixel wide and high."""
    x0, y0, x1, y1 = detection.box
    return (
        int(np.clip(round(x0), 0, width - 1)),
        int(np.clip(round(y0), 0, height - 1)),
        int(np.clip(round(x1), 1, width)),
        int(np.clip(round(y1), 1, height)),
    )

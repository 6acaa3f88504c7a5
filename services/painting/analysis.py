"""What a painting holds, for placing a person in it: faces, figures, their head size, a ground line, and a
saliency map. Computed once per painting (the gallery's are shipped precomputed in analysis.json).

Detectors trained on photos find realistic painted faces (Mona Lisa, Vermeer) and miss stylised ones, and
they also fire on abstract shapes. So each cue is used for what it is good at: a face, even a doubtful
one, is a place the person must not cover; only confident faces set the person's scale; figures come
from the pose detector's body circle; saliency covers what every detector missed. Where neither detector
found anyone to set the scale, small painted people (a crowd scene's reapers) are looked for with the
person segmenter (services/painting/small_people.py): their heads are avoided like faces.
"""

from __future__ import annotations

from statistics import median

import cv2
import numpy as np

from services.painting.abstraction import estimate_abstraction
from services.painting.detectors import FULL_RANGE_FACE, POSE, Detection, Detector
from services.painting.saliency import saliency_map
from services.painting.scene import Face, Figure, PaintingAnalysis, Rect
from services.painting.small_people import SmallPeople
from shared.models import ModelStore

SCALE_FACE_SCORE = 0.6  # a face this sure may set the person's scale; weaker ones are only avoided
# a tiny face in a big painting shrinks the person most and is the likeliest false alarm (abstract shapes
# fire the detector at about 0.7): below this fraction of the painting's height it must be surer still
ANALYSIS_SIDE = 1536
HAIR, CHIN = 0.35, 0.3  # a painted face's margins above and below the detector's box, in box heights
SMALL_FACE, SMALL_FACE_SCORE = 0.06, 0.8
FIGURE_SCORE = 0.6
FACE_TILES = 3  # the painting is also searched in 3 x 3 overlapping tiles, for small heads
FACE_PER_BODY_RADIUS = 0.22  # BlazeFace box height / BlazePose body-circle radius, for a figure's head


class PaintingAnalyser:
    """Holds the two detectors and the person segmenter (open once per process); `analyse` is pure given
    them."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.faces = Detector(FULL_RANGE_FACE, models, threads)
        self.poses = Detector(POSE, models, threads)
        self.people = SmallPeople(models, threads)

    def analyse(self, rgb: np.ndarray) -> PaintingAnalysis:
        height, width = rgb.shape[:2]
        small, scale = _working_copy(rgb)
        faces = [
            _face(d.scaled(1 / scale), width, height) for d in self.faces.detect(small, tiles=FACE_TILES)
        ]
        figures = [
            _figure(d.scaled(1 / scale), width, height)
            for d in self.poses.detect(small, tiles=2)
            if d.score >= FIGURE_SCORE
        ]
        head, source = _head_height(faces, figures, height)
        feet = [f.feet_y for f in figures if f.feet_y is not None]
        if source == "none":  # nobody found to set the scale: small people the detectors cannot see?
            small_figures, heads = self.people.find(small)
            figures += [_scaled_figure(f, 1 / scale, width, height) for f in small_figures]
            faces += [Face(_scaled_rect(f.box, 1 / scale, width, height), f.score) for f in heads]
        saliency = _with_faces(saliency_map(small), faces, width, height)
        return PaintingAnalysis(
            width=width,
            height=height,
            faces=faces,
            figures=figures,
            head_height=head,
            head_source=source,
            ground_y=round(median(feet)) if feet else None,
            saliency=saliency,
            abstraction=estimate_abstraction(small),
        )


def _working_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The painting at most ANALYSIS_SIDE on its long side (and the scale): a 3x3 tile of it is still twice
    the detectors' input, and a museum scan of 4000x4500 is not resized fifteen times at full size."""
    height, width = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(height, width))
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def _scaled_rect(rect: Rect, factor: float, width: int, height: int) -> Rect:
    """A working-copy rectangle in the painting's own pixels."""
    x0, y0, x1, y1 = rect
    return _clip_rect(x0 * factor, y0 * factor, x1 * factor, y1 * factor, width, height)


def _scaled_figure(figure: Figure, factor: float, width: int, height: int) -> Figure:
    """A segmented figure in the painting's pixels: it neither stands on a ground line nor sets a scale."""
    return Figure(_scaled_rect(figure.box, factor, width, height), figure.score, None, figure.face_height)


def _clip_rect(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Rect:
    return (
        int(np.clip(np.floor(x0), 0, width)),
        int(np.clip(np.floor(y0), 0, height)),
        int(np.clip(np.ceil(x1), 0, width)),
        int(np.clip(np.ceil(y1), 0, height)),
    )


def _face(det: Detection, width: int, height: int) -> Face:
    """The detector's box is brow to mouth; the head the person must not cover reaches the hair above and
    the chin (and a beard) below."""
    x0, y0, x1, y1 = det.box
    h = y1 - y0
    box = _clip_rect(x0 - 0.1 * h, y0 - HAIR * h, x1 + 0.1 * h, y1 + CHIN * h, width, height)
    return Face(box, det.score)


def _figure(det: Detection, width: int, height: int) -> Figure:
    (hip_x, hip_y), (top_x, top_y) = det.keypoints[0], det.keypoints[1]
    radius = float(np.hypot(top_x - hip_x, top_y - hip_y))
    feet = hip_y + 0.95 * radius
    box = _clip_rect(hip_x - 0.4 * radius, hip_y - radius, hip_x + 0.4 * radius, feet, width, height)
    return Figure(
        box, det.score, round(feet) if feet <= height * 1.02 else None, FACE_PER_BODY_RADIUS * radius
    )


def _head_height(faces: list[Face], figures: list[Figure], height: int) -> tuple[float | None, str]:
    """Median painted face height from confident faces, else from the figures' body size."""
    sizes = [((f.box[3] - f.box[1]) / (1 + HAIR + CHIN), f.score) for f in faces]  # undo _face's margins
    sure = [
        size
        for size, score in sizes
        if score >= (SMALL_FACE_SCORE if size < SMALL_FACE * height else SCALE_FACE_SCORE)
    ]
    if sure:
        return float(median(sure)), "faces"
    if figures:
        return float(median(f.face_height for f in figures)), "figures"
    return None, "none"


def _with_faces(saliency: np.ndarray, faces: list[Face], width: int, height: int) -> np.ndarray:
    """Faces are the most salient thing in a painting, whatever the classical cues say."""
    out = saliency.copy()
    grid_h, grid_w = out.shape
    for face in faces:
        x0, y0, x1, y1 = face.box
        out[
            int(y0 * grid_h / height) : int(np.ceil(y1 * grid_h / height)),
            int(x0 * grid_w / width) : int(np.ceil(x1 * grid_w / width)),
        ] = 1.0
    return out

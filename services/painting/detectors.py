"""Faces and figures in any image: MediaPipe's BlazeFace and BlazePose detectors, decoded here (LiteRT).

Both are single-shot detectors over a grid of anchors: each anchor predicts a score and a box (plus key
points) relative to its own centre. The anchor layouts below are MediaPipe's published calculator options
for these exact files. The image is letterboxed to the square input, as MediaPipe does, so a tall painting
is not squashed (a squashed face is a missed face).

Paintings are harder than photos: small heads in a crowd fall under the detector's smallest anchor, so the
painting is also searched in overlapping tiles, and the boxes merged by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from shared.models import ModelStore, model_path


@dataclass(frozen=True)
class AnchorLayout:
    """SSD anchors (MediaPipe's SsdAnchorsCalculator with fixed-size anchors)."""

    side: int  # square input size
    strides: tuple[int, ...]
    per_cell: tuple[int, ...]  # anchors per grid cell of each stride group


@dataclass(frozen=True)
class DetectorSpec:
    model: str
    layout: AnchorLayout
    min_score: float
    keypoints: int


# Face (short range): 4 layers, strides 8,16,16,16, two anchors per cell per layer.
SHORT_RANGE_FACE = DetectorSpec(
    "face-detector", AnchorLayout(128, (8, 16), (2, 6)), min_score=0.5, keypoints=6
)
# Face (full range): one layer of stride 4, one anchor per cell: 48 x 48 = 2304 anchors.
FULL_RANGE_FACE = DetectorSpec(
    "face-detector-full-range", AnchorLayout(192, (4,), (1,)), min_score=0.5, keypoints=6
)
# Person (BlazePose detector): 5 layers, strides 8,16,32,32,32: 28x28x2 + 14x14x2 + 7x7x6 = 2254.
# Its box is the person's face; key point 0 is the hip centre and key point 1 the top of the circle
# around the whole body, so the figure spans hip centre +- their distance.
POSE = DetectorSpec("pose-detector", AnchorLayout(224, (8, 16, 32), (2, 2, 6)), min_score=0.5, keypoints=4)


@dataclass(frozen=True)
class Detection:
    """A detection in image pixels: box (x0, y0, x1, y1), score, and key points [(x, y), ...]."""

    box: tuple[float, float, float, float]
    score: float
    keypoints: tuple[tuple[float, float], ...]

    def scaled(self, factor: float) -> Detection:
        """The same detection in an image `factor` times larger."""
        x0, y0, x1, y1 = self.box
        points = tuple((x * factor, y * factor) for x, y in self.keypoints)
        return Detection((x0 * factor, y0 * factor, x1 * factor, y1 * factor), self.score, points)

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


def anchors(layout: AnchorLayout) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in the network's output order."""
    centres = []
    for stride, count in zip(layout.strides, layout.per_cell, strict=True):
        cells = layout.side // stride
        ys, xs = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(xs + 0.5) / cells, (ys + 0.5) / cells], axis=-1).reshape(-1, 2)
        centres.append(np.repeat(grid, count, axis=0))
    return np.concatenate(centres).astype(np.float32)


class Detector:
    """One BlazeFace/BlazePose network; `detect` returns detections in the given image's pixels."""

    def __init__(
        self, spec: DetectorSpec, models: ModelStore | None = None, threads: int | None = None
    ) -> None:
        self.spec = spec
        self.interpreter = Interpreter(
            model_path=str(model_path(spec.model, models)), num_threads=threads or 1
        )
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: int(d["shape"][-1]))
        self.score_index, self.box_index = outputs[0]["index"], outputs[1]["index"]
        self.anchors = anchors(spec.layout)

    def _run(self, rgb: np.ndarray) -> list[Detection]:
        """Detections on one image, letterboxed (padded bottom/right) to the square input."""
        side = self.spec.layout.side
        height, width = rgb.shape[:2]
        scale = side / max(height, width)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        resized = cv2.resize(
            rgb, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        square = np.zeros((side, side, 3), dtype=np.float32)
        square[:new_h, :new_w] = resized.astype(np.float32) / 127.5 - 1.0
        self.interpreter.set_tensor(self.input_index, square[None])
        self.interpreter.invoke()
        raw_scores = self.interpreter.get_tensor(self.score_index)[0, :, 0]
        raw = self.interpreter.get_tensor(self.box_index)[0]
        scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores, -80.0, 80.0)))
        keep = np.flatnonzero(scores >= self.spec.min_score)
        found = []
        to_pixels = 1.0 / scale  # input pixels -> image pixels (the padding is bottom/right)
        for index in keep:
            ax, ay = self.anchors[index] * side
            cx, cy, w, h = raw[index, 0] + ax, raw[index, 1] + ay, raw[index, 2], raw[index, 3]
            box = (
                (cx - w / 2) * to_pixels,
                (cy - h / 2) * to_pixels,
                (cx + w / 2) * to_pixels,
                (cy + h / 2) * to_pixels,
            )
            points = tuple(
                (
                    float((raw[index, 4 + 2 * k] + ax) * to_pixels),
                    float((raw[index, 5 + 2 * k] + ay) * to_pixels),
                )
                for k in range(self.spec.keypoints)
            )
            found.append(Detection(tuple(float(v) for v in box), float(scores[index]), points))  # type: ignore[arg-type]
        return found

    def detect(self, rgb: np.ndarray, *, tiles: int = 1, iou: float = 0.3) -> list[Detection]:
        """Detections on the whole image and, with tiles > 1, on a tiles x tiles grid of overlapping
        square-ish crops (small figures), merged by non-maximum suppression, best first."""
        found = self._run(rgb)
        height, width = rgb.shape[:2]
        if tiles > 1:
            tile_h, tile_w = 2 * height // (tiles + 1), 2 * width // (tiles + 1)
            for row in range(tiles):
                for col in range(tiles):
                    y0, x0 = row * tile_h // 2, col * tile_w // 2
                    for det in self._run(rgb[y0 : y0 + tile_h, x0 : x0 + tile_w]):
                        found.append(_shift(det, x0, y0))
        return non_max_suppression(found, iou)


def _shift(det: Detection, dx: float, dy: float) -> Detection:
    x0, y0, x1, y1 = det.box
    points = tuple((x + dx, y + dy) for x, y in det.keypoints)
    return Detection((x0 + dx, y0 + dy, x1 + dx, y1 + dy), det.score, points)


def box_iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def non_max_suppression(detections: list[Detection], iou: float) -> list[Detection]:
    """Keep the best-scoring detection of each overlapping group (also when one box contains another)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: -d.score):
        if all(box_iou(det.box, other.box) < iou and not _contains(other.box, det.box) for other in kept):
            kept.append(det)
    return kept


def _contains(outer: tuple[float, float, float, float], inner: tuple[float, float, float, float]) -> bool:
    """`inner` lies (almost) entirely inside `outer`: a face found twice, whole and from a tile."""
    ix = max(0.0, min(outer[2], inner[2]) - max(outer[0], inner[0]))
    iy = max(0.0, min(outer[3], inner[3]) - max(outer[1], inner[1]))
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return area > 0 and ix * iy / area > 0.7

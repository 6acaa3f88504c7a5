"""Segmentation quality on a folder of photos with binary person masks (the `sitter eval segmentation` core).

Three complementary measures: IoU says how much of the person is right, the boundary F-measure says whether
the outline sits where it should (IoU hardly notices a ragged edge on a large body), and the mean absolute
alpha error checks the soft matte itself, so a matte that is right only after thresholding still pays for
its grey halo.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from services.segmenter.matting import binary_mask
from shared.errors import InvalidImageError, InvalidParameterError
from shared.imageio import decode_image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff")


class Matter(Protocol):
    def matte(self, rgb: np.ndarray) -> np.ndarray: ...


def iou(pred: np.ndarray, gt: np.ndarray) -> float:
    """Intersection over union of two boolean masks; two empty masks agree perfectly (1.0)."""
    union = np.count_nonzero(pred | gt)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt) / union


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of the mask with a 4-neighbour outside it (the image border counts as outside)."""
    padded = np.pad(mask, 1, constant_values=False).astype(np.uint8)
    eroded = cv2.erode(padded, np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8))[1:-1, 1:-1]
    return mask & ~eroded.astype(bool)


def _distance_to(points: np.ndarray) -> np.ndarray:
    """Euclidean distance of every pixel to the nearest True pixel of `points`."""
    return cv2.distanceTransform((~points).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def boundary_f(pred: np.ndarray, gt: np.ndarray, tolerance_px: float = 3) -> float:
    """F-measure of boundary pixels: a predicted edge pixel is right if a true edge lies within the tolerance.

    Two masks without any boundary (both empty) agree (1.0); if only one has a boundary the score is 0.
    """
    pred_edge, gt_edge = _boundary(pred.astype(bool)), _boundary(gt.astype(bool))
    n_pred, n_gt = np.count_nonzero(pred_edge), np.count_nonzero(gt_edge)
    if n_pred == 0 or n_gt == 0:
        return 1.0 if n_pred == n_gt else 0.0
    precision = np.count_nonzero(_distance_to(gt_edge)[pred_edge] <= tolerance_px) / n_pred
    recall = np.count_nonzero(_distance_to(pred_edge)[gt_edge] <= tolerance_px) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def alpha_mae(alpha: np.ndarray, gt: np.ndarray) -> float:
    """Mean absolute difference between a soft matte in [0,1] and a binary ground truth."""
    return float(np.mean(np.abs(alpha.astype(np.float32) - gt.astype(np.float32))))


@dataclass(frozen=True)
class EvalRow:
    image: str
    iou: float
    boundary_f: float
    alpha_mae: float
    ms: float


@dataclass(frozen=True)
class EvalReport:
    rows: list[EvalRow]
    threshold: float
    tolerance_px: float

    def mean(self, field: str) -> float:
        return float(np.mean([getattr(row, field) for row in self.rows]))

    @property
    def means(self) -> dict[str, float]:
        return {name: self.mean(name) for name in ("iou", "boundary_f", "alpha_mae", "ms")}

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": len(self.rows),
            "threshold": self.threshold,
            "tolerance_px": self.tolerance_px,
            "mean": self.means,
            "rows": [asdict(row) for row in self.rows],
        }

    def format_table(self) -> str:
        head = f"{'image':<24} {'IoU':>7} {'bnd F':>7} {'α MAE':>7} {'ms':>7}"
        lines = [head, "-" * len(head)]
        for row in self.rows:
            lines.append(
                f"{row.image:<24} {row.iou:7.4f} {row.boundary_f:7.4f} {row.alpha_mae:7.4f} {row.ms:7.1f}"
            )
        m = self.means
        lines += [
            "-" * len(head),
            f"{'mean of ' + str(len(self.rows)):<24} {m['iou']:7.4f} "
            f"{m['boundary_f']:7.4f} {m['alpha_mae']:7.4f} {m['ms']:7.1f}",
        ]
        lines.append(
            f"(binary mask = alpha >= {self.threshold}; boundary tolerance {self.tolerance_px:g} px)"
        )
        return "\n".join(lines)


def load_mask(path: Path) -> np.ndarray:
    """An 8-bit mask file as bool (person where > 127)."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise InvalidImageError(f"mask {path} cannot be read as an image", field="masks")
    return mask > 127


def pairs(images_dir: Path, masks_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(image, mask) paths matched by file stem; every image needs a mask, so no photo is silently skipped."""
    for folder, what in ((images_dir, "images"), (masks_dir, "masks")):
        if not folder.is_dir():
            raise InvalidParameterError(f"{what} directory {folder} does not exist", field=what)
    images = sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise InvalidParameterError(f"no images in {images_dir}", field="images")
    masks = {p.stem: p for p in sorted(masks_dir.iterdir()) if p.suffix.lower() in MASK_SUFFIXES}
    missing = [p.name for p in images if p.stem not in masks]
    if missing:
        raise InvalidParameterError(
            f"{len(missing)} image(s) have no mask of the same stem in {masks_dir}: {', '.join(missing[:5])}",
            field="masks",
        )
    for image in images:
        yield image, masks[image.stem]


def evaluate(
    matter: Matter, images_dir: Path, masks_dir: Path, threshold: float = 0.5, tolerance_px: float = 3
) -> EvalReport:
    """Matte every image, compare with its mask and time the matting alone (warm: one untimed run first)."""
    matched = list(pairs(images_dir, masks_dir))
    rows: list[EvalRow] = []
    for index, (image_path, mask_path) in enumerate(matched):
        rgb = decode_image(image_path, what=image_path.name)
        gt = load_mask(mask_path)
        if gt.shape != rgb.shape[:2]:
            raise InvalidParameterError(
                f"mask {mask_path.name} is {gt.shape[1]}x{gt.shape[0]} but image {image_path.name} is "
                f"{rgb.shape[1]}x{rgb.shape[0]}",
                field="masks",
            )
        if index == 0:
            matter.matte(rgb)
        start = time.perf_counter()
        alpha = matter.matte(rgb)
        ms = (time.perf_counter() - start) * 1000
        pred = binary_mask(alpha, threshold)
        rows.append(
            EvalRow(
                image_path.name, iou(pred, gt), boundary_f(pred, gt, tolerance_px), alpha_mae(alpha, gt), ms
            )
        )
    return EvalReport(rows, threshold, tolerance_px)

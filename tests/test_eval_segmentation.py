"""Segmentation metrics on hand-made masks with known answers, and the dataset runner on a generated set."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from services.segmenter.evaluate import alpha_mae, boundary_f, evaluate, iou
from shared.errors import InvalidParameterError


def _square(x: int, y: int, size: int = 40, shape: tuple[int, int] = (100, 100)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y : y + size, x : x + size] = True
    return mask


def test_iou_of_known_overlap() -> None:
    a, b = _square(10, 10), _square(30, 10)  # 20x40 overlap, union 1600 + 1600 - 800
    assert iou(a, b) == pytest.approx(800 / 2400)
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0
    assert iou(np.zeros((5, 5), bool), np.zeros((5, 5), bool)) == 1.0


def test_boundary_f_identical_shifted_and_empty() -> None:
    a = _square(20, 20)
    assert boundary_f(a, a) == 1.0
    assert boundary_f(a, _square(22, 20)) == 1.0  # within 3 px everywhere
    shifted = boundary_f(a, _square(30, 20), tolerance_px=3)
    assert 0.0 < shifted < 0.6  # only the top and bottom edges still match, partly
    assert boundary_f(a, _square(30, 20), tolerance_px=10) == 1.0
    empty = np.zeros_like(a)
    assert boundary_f(empty, empty) == 1.0 and boundary_f(a, empty) == 0.0


def test_alpha_mae() -> None:
    gt = _square(0, 0, 50)
    assert alpha_mae(gt.astype(np.float32), gt) == 0.0
    assert alpha_mae(np.full(gt.shape, 0.5, np.float32), gt) == pytest.approx(0.5)
    assert alpha_mae(np.zeros(gt.shape, np.float32), gt) == pytest.approx(0.25)


class ThresholdMatter:
    """A stand-in matter whose answer is known: bright pixels are the person."""

    def matte(self, rgb: np.ndarray) -> np.ndarray:
        return (rgb.mean(axis=2) / 255.0).astype(np.float32)


def _dataset(root: Path, names: list[str], mask_names: list[str]) -> tuple[Path, Path]:
    images, masks = root / "images", root / "masks"
    images.mkdir()
    masks.mkdir()
    for name in names:
        rgb = np.zeros((60, 40, 3), np.uint8)
        rgb[10:50, 10:30] = 255
        cv2.imwrite(str(images / name), rgb)
    for name in mask_names:
        mask = np.zeros((60, 40), np.uint8)
        mask[10:50, 10:25] = 255  # the truth is narrower than the bright box
        cv2.imwrite(str(masks / name), mask)
    return images, masks


def test_evaluate_matches_by_stem_and_reports_means(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path, ["a.png", "b.jpg"], ["a.png", "b.png"])
    report = evaluate(ThresholdMatter(), images, masks)
    assert [row.image for row in report.rows] == ["a.png", "b.jpg"]
    assert report.rows[0].iou == pytest.approx(15 / 20)
    assert report.means["iou"] == pytest.approx(0.75, abs=0.02)
    assert all(row.ms >= 0 for row in report.rows)
    data = json.loads(json.dumps(report.as_dict()))
    assert data["images"] == 2 and set(data["mean"]) == {"iou", "boundary_f", "alpha_mae", "ms"}
    table = report.format_table()
    assert "a.png" in table and "mean of 2" in table


def test_evaluate_names_images_without_a_mask(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path, ["a.png", "lonely.png"], ["a.png"])
    with pytest.raises(InvalidParameterError, match=r"lonely\.png"):
        evaluate(ThresholdMatter(), images, masks)


def test_evaluate_refuses_empty_or_missing_dirs(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path, [], [])
    with pytest.raises(InvalidParameterError, match="no images"):
        evaluate(ThresholdMatter(), images, masks)
    with pytest.raises(InvalidParameterError, match="does not exist"):
        evaluate(ThresholdMatter(), tmp_path / "nope", masks)


def test_evaluate_refuses_a_mask_of_another_size(tmp_path: Path) -> None:
    images, masks = _dataset(tmp_path, ["a.png"], [])
    cv2.imwrite(str(masks / "a.png"), np.zeros((30, 20), np.uint8))
    with pytest.raises(InvalidParameterError, match="20x30"):
        evaluate(ThresholdMatter(), images, masks)

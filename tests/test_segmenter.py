"""The portrait matter with the real selfie networks: shape, range, softness, the person where expected."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.segmenter.guided_filter import fast_guided_filter
from services.segmenter.mask_cleanup import keep_main_person
from services.segmenter.matting import PortraitMatter, binary_mask
from shared.imageio import decode_image

SAMPLE = Path(__file__).resolve().parents[1] / "shared" / "data" / "samples" / "obama-portrait.jpg"


@pytest.fixture(scope="module")
def matter() -> PortraitMatter:
    return PortraitMatter()


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    rgb = decode_image(SAMPLE)
    return cv2.resize(rgb, (rgb.shape[1] * 300 // rgb.shape[0], 300), interpolation=cv2.INTER_AREA)


def test_matte_is_full_resolution_float_alpha(matter: PortraitMatter, portrait: np.ndarray) -> None:
    alpha = matter.matte(portrait)
    assert alpha.shape == portrait.shape[:2]
    assert alpha.dtype == np.float32
    assert float(alpha.min()) >= 0.0 and float(alpha.max()) <= 1.0


def test_person_in_the_middle_background_in_the_corners(matter: PortraitMatter, portrait: np.ndarray) -> None:
    alpha = matter.matte(portrait)
    h, w = alpha.shape
    assert alpha[h // 2 - 10 : h // 2 + 10, w // 2 - 10 : w // 2 + 10].min() > 0.9  # face / chest
    for corner in (alpha[:15, :15], alpha[:15, -15:]):
        assert corner.max() < 0.1
    assert 0.2 < float(binary_mask(alpha).mean()) < 0.8


def test_edges_are_soft_not_a_hard_cutout(matter: PortraitMatter, portrait: np.ndarray) -> None:
    alpha = matter.matte(portrait)
    edge = binary_mask(alpha) ^ cv2.erode(binary_mask(alpha).astype(np.uint8), np.ones((5, 5))).astype(bool)
    soft = (alpha > 0.05) & (alpha < 0.95)
    assert soft.sum() > 0.5 * edge.sum()  # the outline is a blend, not a step
    assert soft.mean() < 0.15  # yet the matte is mostly decided


def test_binary_mask_threshold() -> None:
    matte = np.array([[0.0, 0.49, 0.5, 1.0]], dtype=np.float32)
    assert binary_mask(matte).tolist() == [[False, False, True, True]]
    assert binary_mask(matte, 0.9).tolist() == [[False, False, False, True]]


def test_landscape_photo_keeps_the_person(matter: PortraitMatter, portrait: np.ndarray) -> None:
    h, w = portrait.shape[:2]
    wide = np.full((h, 3 * w, 3), 235, np.uint8)
    wide[:, w : 2 * w] = portrait
    alpha = matter.matte(wide)
    assert alpha.shape == (h, 3 * w)
    person = binary_mask(alpha)
    assert person[:, w : 2 * w].mean() > 0.2
    assert person[:, : w // 2].mean() < 0.02 and person[:, -w // 2 :].mean() < 0.02


@pytest.mark.parametrize("size", [(1, 1), (17, 5), (3, 640), (101, 77)])
def test_tiny_and_odd_sizes(matter: PortraitMatter, size: tuple[int, int]) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (*size, 3), dtype=np.uint8)
    alpha = matter.matte(rgb)
    assert alpha.shape == size and alpha.dtype == np.float32
    assert np.isfinite(alpha).all() and alpha.min() >= 0.0 and alpha.max() <= 1.0


def test_rejects_non_rgb(matter: PortraitMatter) -> None:
    with pytest.raises(ValueError, match="RGB"):
        matter.matte(np.zeros((10, 10), np.uint8))


def test_main_person_kept_islands_dropped_small_holes_filled() -> None:
    prob = np.zeros((100, 100), np.float32)
    prob[20:90, 30:70] = 0.95  # the person
    prob[50:52, 50:52] = 0.1  # a pinhole
    prob[2:8, 90:96] = 0.9  # a far island
    cleaned = keep_main_person(prob)
    assert cleaned[2:8, 90:96].max() == 0.0
    assert cleaned[50:52, 50:52].min() == 1.0
    assert np.array_equal(cleaned[20:90, 30:50], prob[20:90, 30:50])


def test_guided_filter_snaps_a_coarse_edge_to_the_photo_edge() -> None:
    photo = np.zeros((200, 200, 3), np.uint8)
    photo[:, 100:] = 255  # true edge at x=100
    coarse = np.zeros((200, 200), np.float32)
    coarse[:, 94:] = 1.0  # the network's edge is 6 px off
    small = cv2.resize(photo, (100, 100), interpolation=cv2.INTER_AREA)
    refined = fast_guided_filter(photo, small, cv2.resize(coarse, (100, 100)), radius=8, eps=1e-4)
    assert refined[:, 100:].min() > 0.95 and refined[:, :90].max() < 0.35
    assert refined[:, 94:100].max() < 0.5  # the step moved to the photo's edge

"""Face legibility: the photo's face box lands where the compositor puts it, and a darkened, flattened face
scores lower than a lit one."""

from __future__ import annotations

import numpy as np

from services.painting.legibility import face_in_box, face_legibility
from services.painting.placement import Box


def test_face_box_follows_the_persons_extent_onto_the_box() -> None:
    # the person spans photo x 100..300, y 50..450; placed at (10, 20), half size
    assert face_in_box((150, 100, 250, 220), (100, 50, 300, 450), Box(10, 20, 100, 200)) == (35, 45, 85, 105)


def _face(size: int = 96) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    shading = 90 + 100 * np.exp(-((xx - size / 2) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 4) ** 2))
    features = 40 * ((xx // 8 + yy // 8) % 2)
    gray = np.clip(shading + features + rng.normal(0, 4, (size, size)), 0, 255)
    return np.repeat(gray[..., None], 3, axis=2).astype(np.uint8)


def test_a_dark_muddy_face_reads_worse_than_a_lit_one() -> None:
    raw = _face()
    alpha = np.ones(raw.shape[:2], np.float32)
    box = (16, 16, 80, 80)
    mean = raw.astype(np.float32).mean()
    muddy = np.clip(0.25 * (raw.astype(np.float32) - mean) + 0.3 * mean, 0, 255).astype(np.uint8)
    dimmed = np.clip(0.7 * raw.astype(np.float32), 0, 255).astype(np.uint8)
    same = face_legibility(raw, raw, alpha, box)
    assert same is not None and abs(same - 1.0) < 1e-9
    lit, dark = face_legibility(dimmed, raw, alpha, box), face_legibility(muddy, raw, alpha, box)
    assert lit is not None and dark is not None
    assert dark < 0.5 < lit, (dark, lit)


def test_a_face_outside_the_painting_or_the_matte_has_no_score() -> None:
    raw = _face()
    alpha = np.ones(raw.shape[:2], np.float32)
    assert face_legibility(raw, raw, alpha, (200, 10, 260, 70)) is None
    assert face_legibility(raw, raw, np.zeros_like(alpha), (16, 16, 80, 80)) is None

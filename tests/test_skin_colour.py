"""Skin keeps part of the photo's own colour under a painting's style: found by chroma, luminance (the
painting's strokes and light) untouched, nothing else recoloured; on by default, off without harmonising."""

import cv2
import numpy as np

from services.painting.options import Harmonize
from services.painting.skin import SKIN_AMOUNT, keep_skin_colour, skin_weight

SKIN = [(224, 172, 140), (141, 85, 36), (255, 219, 172), (90, 56, 37)]  # light to dark skin tones
NOT_SKIN = [(60, 140, 60), (40, 80, 200), (128, 128, 128), (250, 250, 250), (10, 10, 10)]


def _patches(colours: list[tuple[int, int, int]]) -> np.ndarray:
    return np.concatenate([np.full((64, 64, 3), c, np.uint8) for c in colours], axis=1)


def test_skin_is_found_by_chroma_across_skin_tones_and_nothing_else() -> None:
    skin = skin_weight(_patches(SKIN))
    other = skin_weight(_patches(NOT_SKIN))
    for k in range(len(SKIN)):
        assert skin[32, 64 * k + 32] > 0.9, SKIN[k]
    for k in range(len(NOT_SKIN)):
        assert other[32, 64 * k + 32] < 0.05, NOT_SKIN[k]


def test_skin_gets_part_of_its_own_chroma_back_and_keeps_the_stylized_light() -> None:
    photo = _patches([SKIN[0], NOT_SKIN[0]])
    stylized = _patches([(150, 170, 60), (150, 170, 60)])  # a yellow-green style over both
    out = keep_skin_colour(stylized, photo)

    def ycc(image: np.ndarray, x: int) -> np.ndarray:
        return cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)[32, x].astype(float)

    face, lawn = 32, 96
    moved = ycc(out, face)[1:] - ycc(stylized, face)[1:]
    wanted = ycc(photo, face)[1:] - ycc(stylized, face)[1:]
    assert np.allclose(moved, SKIN_AMOUNT * wanted, atol=3)  # the skin's chroma, SKIN_AMOUNT of the way
    assert abs(ycc(out, face)[0] - ycc(stylized, face)[0]) <= 2  # the painting's light stays
    assert np.array_equal(out[:, 70:], stylized[:, 70:])  # not skin: untouched
    assert ycc(out, lawn)[0] == ycc(stylized, lawn)[0]


def test_the_step_is_on_by_default_and_off_without_harmonisation() -> None:
    assert Harmonize().skin and not Harmonize.off().skin

"""Harmonisation steps on tiny arrays: foreground colour at soft edges, tone from the surroundings, the
stylizer's placed size, and the raw paste still being only cut out and resized."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.compositor.blend import composite
from services.compositor.foreground import estimate_foreground
from services.compositor.harmonize import harmonize_local
from services.painting.options import Harmonize
from services.painting.placement import Placement


def test_foreground_estimation_removes_the_background_from_soft_pixels() -> None:
    red, blue = np.array([220.0, 30.0, 30.0]), np.array([20.0, 40.0, 230.0])
    alpha = np.zeros((60, 60), np.float32)
    alpha[:, :25] = 1.0
    alpha[:, 25:35] = 0.5  # hair: half person, half wall
    image = alpha[..., None] * red + (1 - alpha[..., None]) * blue
    estimated = estimate_foreground(image.astype(np.float32), alpha)
    error = np.abs(estimated[:, 25:35] - red).max()
    naive_error = np.abs(image[:, 25:35] - red).max()  # 100: half the wall's blue
    assert error < 0.45 * naive_error, "the wall's blue is still in the soft edge"
    np.testing.assert_array_equal(estimated[:, :25], image[:, :25])  # solid pixels are untouched


def test_local_tone_follows_the_surroundings_not_the_whole_painting() -> None:
    painting = np.full((200, 400, 3), 230, np.uint8)
    painting[:, :200] = 25  # a dark left half, a bright right half: the whole's mean is mid-grey
    person = np.full((40, 30, 3), 128.0, np.float32)
    alpha = np.ones((40, 30), np.float32)
    dark = harmonize_local(person, alpha, painting, (60, 120, 30, 40), amount=1.0)
    bright = harmonize_local(person, alpha, painting, (300, 120, 30, 40), amount=1.0)
    assert dark.mean() < 100 < 160 < bright.mean()
    # but never so far that the face is lost: lightness moves at most MAX_LIGHTNESS_SHIFT
    black = np.zeros((200, 400, 3), np.uint8)
    dimmed = harmonize_local(person, alpha, black, (60, 120, 30, 40), amount=1.0)
    assert dimmed.mean() > 60


def _lightness(rgb: np.ndarray, alpha: np.ndarray) -> float:
    lab = cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return float((lab[..., 0] * alpha).sum() / alpha.sum())


@pytest.mark.parametrize("box", [(0, 200, 60, 100), (120, 100, 60, 100)], ids=["corner", "middle"])
def test_local_tone_follows_what_shows_beside_the_person_not_what_they_hide(
    box: tuple[int, int, int, int],
) -> None:
    """A bust over a painted figure's black cloak on a mid-grey ground: the person already has the ground's
    light, so the tone step leaves it. The cloak the box hides is not seen beside them; it weighed a fifth of
    the reference, a third in a corner (the canvas's edges cut away the far side), and darkened the person
    below the ground around them."""
    painting = np.full((300, 300, 3), 120, np.uint8)
    x, y, w, h = box
    painting[y : y + h, x : x + w] = 8  # the cloak, all under the box
    rng = np.random.default_rng(5)
    person = np.clip(120.0 + rng.normal(0.0, 20.0, (h, w, 3)), 0, 255).astype(np.float32)
    alpha = np.ones((h, w), np.float32)
    toned = harmonize_local(person, alpha, painting, box)
    assert abs(_lightness(toned, alpha) - _lightness(person, alpha)) < 1.5


def test_local_tone_of_a_box_covering_the_canvas_follows_what_it_hides() -> None:
    """Nothing shows beside a box that covers the whole painting: the painting under it is the reference."""
    painting = np.full((100, 80, 3), 30, np.uint8)
    person = np.full((100, 80, 3), 160.0, np.float32)
    alpha = np.ones((100, 80), np.float32)
    toned = harmonize_local(person, alpha, painting, (0, 0, 80, 100), amount=1.0)
    assert np.isfinite(toned).all()
    assert _lightness(toned, alpha) < _lightness(person, alpha) - 10


def test_skin_keeps_its_hue_while_its_light_follows_the_surroundings() -> None:
    """On a green lawn the tone step darkens or lightens a face like the rest of the person, but the face
    does not turn green where `keep_hue` says it is skin."""
    lawn = np.zeros((200, 400, 3), np.uint8)
    lawn[:] = (40, 150, 40)
    person = np.zeros((40, 30, 3), np.float32)
    person[:] = (220, 170, 140)  # skin-coloured everywhere
    alpha = np.ones((40, 30), np.float32)
    keep = np.zeros((40, 30), np.float32)
    keep[:, 15:] = 1.0  # the right half is skin to keep

    moved = harmonize_local(person, alpha, lawn, (60, 120, 30, 40), amount=1.0, keep_hue=keep)

    def lab(rgb: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(np.ascontiguousarray(rgb, dtype=np.float32) / 255.0, cv2.COLOR_RGB2Lab)[20]

    before, after = lab(person), lab(moved)
    assert after[5, 1] < before[5, 1] - 20  # not kept: a* falls toward the lawn's green
    assert abs(after[25, 1] - before[25, 1]) < 1 and abs(after[25, 2] - before[25, 2]) < 1  # kept: same hue
    assert abs(after[25, 0] - after[5, 0]) < 1  # the light moved alike on both halves


def test_harmonised_composite_changes_nothing_outside_the_box() -> None:
    rng = np.random.default_rng(3)
    painting = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    stylized = rng.integers(0, 255, (80, 60, 3), dtype=np.uint8)
    matte = np.zeros((80, 60), np.float32)
    matte[10:70, 15:45] = 1.0
    matte[10:70, 12:15] = 0.4
    result = composite(painting, stylized, matte, Placement(x=40, y=30, height=70), harmonize=Harmonize())
    box = result.box
    outside = np.ones(painting.shape[:2], bool)
    outside[box.y : box.y + box.h, box.x : box.x + box.w] = False
    np.testing.assert_array_equal(result.image[outside], painting[outside])


def test_raw_paste_is_the_persons_own_pixels_resized() -> None:
    painting = np.zeros((100, 100, 3), np.uint8)
    photo = np.zeros((50, 40, 3), np.uint8)
    photo[...] = (200, 100, 50)
    matte = np.zeros((50, 40), np.float32)
    matte[:, 10:30] = 1.0
    result = composite(
        painting, photo, matte, Placement(x=10, y=0, height=100), harmonize=Harmonize.off(), feather=0
    )
    inside = result.image[10:90, 20:50]
    assert (inside == (200, 100, 50)).all(axis=2).mean() > 0.95


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_the_stylizer_paints_at_the_placed_size(scale: float) -> None:
    from services.stylizer.styles import BuiltinStyle
    from services.stylizer.stylizer import Stylizer

    photo = np.random.default_rng(1).integers(0, 255, (120, 80, 3), dtype=np.uint8)
    out = Stylizer().stylize(photo, BuiltinStyle.single(3), scale=scale, max_size=4096)
    assert out.shape == (round(120 * scale), round(80 * scale), 3)
    capped = Stylizer().stylize(photo, BuiltinStyle.single(3), scale=scale, max_size=64)
    assert max(capped.shape[:2]) == min(64, round(120 * scale))

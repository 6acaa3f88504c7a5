"""Skin keeps part of the photo's own colour under a painting's style: found by chroma, luminance (the
painting's strokes and light) untouched, nothing else recoloured; on by default, off without harmonising."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from services.compositor.blend import composite
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement
from services.painting.plan import Plan
from services.painting.skin import SKIN_AMOUNT, keep_skin_colour, skin_colour_kept, skin_weight
from services.stylizer.planned import stylize_for_plan
from services.stylizer.styles import BuiltinStyle, ImageStyle
from shared.queues import is_builtin_style

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


@pytest.mark.parametrize(
    ("skin", "builtin", "kept"),
    [(True, False, True), (True, True, False), (False, False, False), (False, True, False)],
)
def test_the_skin_rule_keeps_the_skin_colour_with_the_step_under_a_paintings_style(
    skin: bool, builtin: bool, kept: bool
) -> None:
    assert skin_colour_kept(Harmonize(skin=skin), builtin_style=builtin) is kept


def test_built_in_style_ids_are_the_26_filters_only() -> None:
    assert is_builtin_style("builtin-0") and is_builtin_style("builtin-25")
    assert not any(
        is_builtin_style(s) for s in ("builtin-26", "painting", "custom", "starry-night", "builtin")
    )


def _lawn_and_face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lawn = np.zeros((160, 200, 3), np.uint8)
    lawn[:] = (40, 150, 40)
    face = np.zeros((60, 40, 3), np.uint8)
    face[:] = SKIN[0]
    matte = np.zeros((60, 40), np.float32)
    matte[5:55, 5:35] = 1.0
    return lawn, face, matte


def test_the_compositor_follows_the_skin_rule() -> None:
    """Under a painting's style the tone step leaves part of the skin's colour alone; under a built-in
    style the skin is toned like the rest of the person, exactly as with the skin step off."""
    lawn, face, matte = _lawn_and_face()
    where = Placement(x=80, y=60, height=80)
    painted = composite(lawn, face, matte, where, harmonize=Harmonize()).image
    builtin = composite(lawn, face, matte, where, harmonize=Harmonize(), builtin_style=True).image
    no_skin = composite(lawn, face, matte, where, harmonize=replace(Harmonize(), skin=False)).image
    np.testing.assert_array_equal(builtin, no_skin)
    assert not np.array_equal(painted, no_skin)


class _Fixed:
    """A stand-in stylizer that paints everything one yellow-green."""

    def stylize(self, portrait: np.ndarray, style: object, **_: object) -> np.ndarray:
        return np.full_like(portrait, (150, 170, 60))


@pytest.mark.parametrize("builtin", [False, True])
def test_the_stylizer_follows_the_skin_rule(builtin: bool) -> None:
    _, face, _ = _lawn_and_face()
    style = (
        BuiltinStyle(np.full(26, 1 / 26, np.float32)) if builtin else ImageStyle(np.zeros(100, np.float32))
    )
    plan = Plan("explicit", 1.0, (0.0, 0.0), Box(0, 0, 40, 60), None, [], (0, 0, 40, 60), None, "test")
    out = stylize_for_plan(
        _Fixed(),  # type: ignore[arg-type]
        face,
        face,
        style,
        plan,
        replace(Harmonize.off(), skin=True),
        own_painting=False,
        strength=1.0,
        keep_colors=False,
        max_size=512,
    )
    assert np.array_equal(out, _Fixed().stylize(face, style)) is builtin

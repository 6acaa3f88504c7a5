"""Issue 23's last gaps: a face on a dark ground keeps the painter's light through both steps (the
stylizer's: its lead over the body, the plan's person box standing for the body; the compositor's: at most
half the body's darkening); the network's strokes give way to the gentle transfer where they take a flat,
near-white person further from the painting's texture than the photo was (services/stylizer/painterly.py);
the tone step raises a person's contrast only where that brings them nearer the painting's texture
(services/compositor/harmonize.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from services.compositor.harmonize import harmonize_local
from services.painting.light import DARKEN_KEPT, LIT_FACE_L, keep_face_light
from services.painting.options import Harmonize
from services.painting.placement import Box
from services.painting.plan import Plan
from services.stylizer.painterly import _TextureMeasure, gentle_transfer, painterly
from services.stylizer.planned import person_in, stylize_for_plan
from services.stylizer.styles import ImageStyle

FACE = (30, 20, 70, 70)
SKIN = np.array([1.0, 0.78, 0.65], np.float32)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _portrait() -> np.ndarray:
    """Dark clothes and hair (L* ~ 25) with a skin-coloured face (L* ~ 60): a portrait on a dark ground."""
    rgb = np.full((120, 100, 3), 60.0, np.float32)
    x0, y0, x1, y1 = FACE
    rgb[y0:y1, x0:x1] = 190.0 * SKIN
    return rgb


def _face(values: np.ndarray) -> float:
    return float(values[30:60, 38:62].mean())


def test_the_face_darkens_by_at_most_half_the_bodys_darkening() -> None:
    before = _portrait()
    after = before * 0.35  # the tone step in a black corner: the bright face loses most (in L*)
    alpha = np.ones(before.shape[:2], np.float32)
    out = keep_face_light(before, after, alpha, FACE, np.ones(before.shape[:2], np.float32))
    l_before, l_after, l_out = _lightness(before), _lightness(after), _lightness(out)
    body_drop = l_before[100:].mean() - l_after[100:].mean()
    # dark corners lower the person's light, they do not erase the face
    assert _face(l_out) >= _face(l_before) - DARKEN_KEPT * body_drop - 2.0
    np.testing.assert_allclose(out[100:], after[100:], atol=0.5)  # the body keeps the step's light


def test_a_face_lit_as_the_body_brightens_is_left_alone() -> None:
    before = _portrait()
    after = np.clip(before * 1.2, 0, 255)
    alpha = np.ones(before.shape[:2], np.float32)
    out = keep_face_light(before, after, alpha, FACE, np.ones(before.shape[:2], np.float32))
    np.testing.assert_array_equal(out, after.astype(np.float32))


class DarkNetwork:
    """A 'network' that paints everything as dark as a black ground: the face most (it is the brightest)."""

    def __init__(self, painted: np.ndarray | None = None) -> None:
        self.painted = painted

    def stylize(self, rgb: np.ndarray, style: Any, **_: Any) -> np.ndarray:
        if self.painted is not None:
            return self.painted
        return np.clip(rgb.astype(np.float32) * 0.3, 0, 255).astype(np.uint8)

    def local_style(self, painting: np.ndarray, region: Any, whole: np.ndarray) -> ImageStyle:
        return ImageStyle(whole)


def _plan(face: tuple[int, int, int, int] | None = FACE) -> Plan:
    return Plan("explicit", 1.0, (0.0, 0.0), Box(10, 0, 80, 120), None, [], (0, 0, 120, 120), None, "", face)


def test_the_stylizer_keeps_the_faces_lead_over_the_body_in_the_person_box() -> None:
    portrait = _portrait().astype(np.uint8)
    painting = np.full((120, 120, 3), 10, np.uint8)
    out = stylize_for_plan(
        DarkNetwork(),  # type: ignore[arg-type]
        portrait,
        painting,
        ImageStyle(np.zeros(100, np.float32)),
        _plan(),
        replace(Harmonize(), skin=False, features=False, abstraction=False),
        own_painting=True,
        strength=None,
        keep_colors=False,
        max_size=1024,
    )
    l_photo, l_out = _lightness(portrait), _lightness(out)
    body_drop = l_photo[100:].mean() - l_out[100:].mean()
    assert body_drop > 10.0  # the place is dark: the person's light is lowered
    # never darker relative to the body than in the photo, up to half the face's own loss (the box is no
    # matte); the LIT_FACE_L exception (a face may fall to L* 35 whatever it was) does not hold here
    painted = _lightness(np.clip(portrait.astype(np.float32) * 0.3, 0, 255).astype(np.uint8))
    half_loss = _face(l_photo) - DARKEN_KEPT * (_face(l_photo) - _face(painted))
    assert _face(l_out) >= min(_face(l_photo) - body_drop, half_loss) - 3.0
    assert _face(l_out) > LIT_FACE_L + 5.0


def test_the_person_box_maps_into_the_stylized_pixels() -> None:
    plan = Plan("auto", 0.5, (100.0, 50.0), Box(110, 60, 40, 80), None, [], (0, 0, 9, 9), None, "")
    # painted at twice the placed size (an output scale of 2): the box doubles with it
    photo, stylized = np.zeros((400, 300, 3), np.uint8), np.zeros((400, 300, 3), np.uint8)
    assert person_in(plan, photo, stylized) == (20, 20, 100, 180)


def _suit_scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat white suit on a black sky; the painting around: broad flat shapes; the network's output:
    small fragmented patches of strong colour where the suit was."""
    rng = np.random.default_rng(3)
    photo = np.full((160, 120, 3), 15, np.uint8)
    photo[20:150, 35:85] = 235
    around = np.full((160, 160, 3), 120, np.uint8)
    around[:, 80:] = 200
    around[60:110, 20:70] = (60, 80, 140)
    around = cv2.GaussianBlur(around, (0, 0), 2.0)
    patches = rng.integers(0, 256, (20, 15, 3), dtype=np.uint8)
    painted = cv2.resize(patches, (120, 160), interpolation=cv2.INTER_NEAREST)
    return photo, painted, around


def test_strokes_further_from_the_painting_than_the_photo_give_way_to_the_gentle_transfer() -> None:
    photo, painted, around = _suit_scene()
    person = (30, 15, 90, 155)
    out = painterly(photo, painted, around, 0.9, person)  # expressive: today the full strokes
    measure = _TextureMeasure.of(around, person)
    assert measure is not None and measure(painted) > measure(photo)
    assert not np.array_equal(out, painted)
    assert measure(out) < measure(painted)


def test_strokes_as_close_as_the_photo_stay() -> None:
    rng = np.random.default_rng(4)
    photo = rng.integers(0, 256, (160, 120, 3), dtype=np.uint8)
    around = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)
    painted = rng.integers(0, 256, (160, 120, 3), dtype=np.uint8)
    assert painterly(photo, painted, around, 0.9, (30, 15, 90, 155)) is painted


def test_the_gentle_palette_is_the_persons_not_the_black_skys() -> None:
    photo, _, around = _suit_scene()
    suit = (35, 20, 85, 150)
    l_around = float(_lightness(around).mean())
    by_person = _lightness(gentle_transfer(photo, around, suit))[20:150, 35:85].mean()
    by_frame = _lightness(gentle_transfer(photo, around))[20:150, 35:85].mean()
    assert abs(by_person - l_around) < 5.0  # the suit takes the painting's light
    assert by_frame > l_around + 15.0  # the sky's black would push the suit to a glare


def _calm_painting() -> np.ndarray:
    """Broad flat shapes with soft edges (Udnie's greys): contrast between shapes, little texture."""
    painting = np.full((300, 300, 3), 70, np.uint8)
    painting[:, 150:] = 200
    painting[40:260, 60:110] = (120, 110, 100)
    return cv2.GaussianBlur(painting, (0, 0), 3.0)


def _striped_painting() -> np.ndarray:
    """Strong strokes everywhere: stripes of 8 px."""
    xs = np.arange(300)
    stripes = np.where((xs // 4) % 2 == 0, 40, 210).astype(np.uint8)
    return np.repeat(np.repeat(stripes[None, :, None], 300, axis=0), 3, axis=2)


def _l_std(rgb: np.ndarray) -> float:
    return float(_lightness(rgb).std())


def test_the_tone_step_does_not_blow_a_flat_white_suit_into_patches() -> None:
    rng = np.random.default_rng(5)
    patches = cv2.resize(rng.normal(0.0, 3.0, (30, 20)), (80, 120), interpolation=cv2.INTER_NEAREST)
    suit = np.clip(230.0 + patches[..., None], 0, 255) * np.ones(3, np.float32)  # faint 4 px strokes
    alpha = np.ones(suit.shape[:2], np.float32)
    toned = harmonize_local(suit.astype(np.float32), alpha, _calm_painting(), (100, 100, 80, 120))
    assert _l_std(toned) <= 1.05 * _l_std(suit)  # the faint folds stay faint


def test_the_tone_step_still_raises_contrast_where_the_paintings_strokes_call_for_it() -> None:
    xs = np.arange(80)
    faint = np.where((xs // 4) % 2 == 0, 120.0, 140.0).astype(np.float32)
    person = np.repeat(np.repeat(faint[None, :, None], 120, axis=0), 3, axis=2)
    alpha = np.ones(person.shape[:2], np.float32)
    toned = harmonize_local(person, alpha, _striped_painting(), (100, 100, 80, 120))
    assert _l_std(toned) > 1.3 * _l_std(person)

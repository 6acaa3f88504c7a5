"""The face keeps a painter's light through the steps that darken the person: never darker relative to the
body than before, at most half the darkening, its modelling kept; a face lit enough is left alone."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from services.compositor.blend import composite
from services.painting.light import DARKEN_KEPT, FACE_CONTRAST, LIT_FACE_L, keep_face_light
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement
from services.painting.plan import Plan

FACE = (30, 20, 70, 70)


def _lightness(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def _person() -> np.ndarray:
    """A grey 'body' (L* ~ 40) with a brighter, modelled 'face' (L* ~ 70, lit from the left)."""
    rgb = np.full((120, 100, 3), 95.0, np.float32)
    xs = np.arange(FACE[0], FACE[2], dtype=np.float32)
    shading = 200.0 - 2.0 * (xs - FACE[0])  # 200 on the lit side down to 122
    rgb[FACE[1] : FACE[3], FACE[0] : FACE[2]] = shading[None, :, None]
    return rgb


def _inner(values: np.ndarray) -> np.ndarray:
    return values[30:60, 38:62]


def test_a_darkened_muddy_face_gets_its_light_and_modelling_back() -> None:
    before = _person()
    after = 0.35 * (before - before.mean()) + 0.3 * before.mean()  # darker and flattened, as in a dark corner
    alpha = np.ones(before.shape[:2], np.float32)
    out = keep_face_light(before, after, alpha, FACE)
    l_before, l_after, l_out = _lightness(before), _lightness(after), _lightness(out)
    face_drop = _inner(l_before).mean() - _inner(l_after).mean()
    floor = min(_inner(l_before).mean() - DARKEN_KEPT * face_drop, LIT_FACE_L)  # a dark place lowers it
    assert _inner(l_out).mean() >= floor - 2.0
    lead_before = _inner(l_before).mean() - l_before[100:, :].mean()
    assert _inner(l_out).mean() - l_out[100:, :].mean() >= lead_before - 2.0  # still ahead of the body
    left_right = _inner(l_out)[:, :4].mean() - _inner(l_out)[:, -4:].mean()
    left_right_before = _inner(l_before)[:, :4].mean() - _inner(l_before)[:, -4:].mean()
    assert left_right >= 0.8 * FACE_CONTRAST * left_right_before  # lit from the left, as in the photo
    np.testing.assert_allclose(out[100:], after[100:], atol=0.5)  # the body keeps the tone step's light


def test_a_face_lit_and_modelled_enough_is_left_exactly_as_it_is() -> None:
    before = _person()
    after = before * 1.1  # brighter, more contrast
    alpha = np.ones(before.shape[:2], np.float32)
    assert np.array_equal(keep_face_light(before, after, alpha, FACE), after.astype(np.float32))


def test_the_plan_carries_the_portraits_face_through_its_json() -> None:
    plan = Plan("auto", 0.5, (1.0, 2.0), _box(), 50, [], (0, 0, 10, 10), None, "why", (3, 4, 13, 14))
    assert Plan.from_json(plan.to_json()).face == (3, 4, 13, 14)
    data = plan.to_json()
    del data["face"]  # a plan written before the face was carried
    assert Plan.from_json(data).face is None


def _box() -> Box:
    return Box(1, 2, 10, 20)


def test_the_compositor_keeps_the_face_lit_in_a_dark_corner() -> None:
    painting = np.full((200, 200, 3), 12, np.uint8)  # a black ground, as behind Vermeer's girl
    person = _person()
    face_pixels = person[FACE[1] : FACE[3], FACE[0] : FACE[2]]
    face_pixels *= np.array([1.0, 0.78, 0.65], np.float32)  # skin: only skin in the face box is relit
    person = person.astype(np.uint8)
    matte = np.zeros(person.shape[:2], np.float32)
    matte[10:, 20:80] = 1.0
    face = (30, 20, 70, 70)
    placement = Placement(x=20, y=60, height=110)
    plan = Plan("explicit", 1.0, (0.0, 0.0), Box(20, 60, 60, 110), None, [], (0, 0, 200, 200), None, "", face)
    lit = composite(painting, person, matte, placement, plan=plan, harmonize=Harmonize())
    dark = composite(
        painting, person, matte, placement, plan=plan, harmonize=replace(Harmonize(), light=False)
    )
    face_rows, face_cols = slice(60 + 15, 60 + 50), slice(20 + 12, 20 + 48)
    body_rows = slice(60 + 80, 60 + 105)
    lit_l, dark_l = _lightness(lit.image), _lightness(dark.image)
    assert lit_l[face_rows, face_cols].mean() > dark_l[face_rows, face_cols].mean() + 3.0
    assert lit_l[face_rows, face_cols].mean() >= LIT_FACE_L - 1.0
    np.testing.assert_array_equal(lit.image[body_rows], dark.image[body_rows])  # only the face is relit

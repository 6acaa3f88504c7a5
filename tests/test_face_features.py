"""A face the strokes made illegible gets the photo's features back in its lightness, in the painting's
light and colour, by the least share that lifts it to the floor; a face that reads is left as it is."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from services.compositor.blend import composite
from services.painting.features import FEATURES_FLOOR, TONED_FEATURES_FLOOR, face_reads, keep_face_features
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement
from services.painting.plan import Plan
from services.stylizer.planned import stylize_for_plan
from services.stylizer.styles import ImageStyle
from services.stylizer.stylizer import Stylizer

FACE = (40, 30, 120, 130)  # x0, y0, x1, y1 in a 160x200 image


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _photo() -> np.ndarray:
    """A lit skin-toned face: dark eyes, brows and mouth on a face shaded from the left."""
    rgb = np.zeros((200, 160, 3), np.uint8)
    rgb[:] = (70, 60, 55)
    cv2.ellipse(rgb, (80, 80), (40, 50), 0, 0, 360, (215, 170, 140), -1)
    rgb[:, 80:] = (rgb[:, 80:] * 0.8).astype(np.uint8)  # the right side in half shadow
    for x in (63, 97):
        cv2.ellipse(rgb, (x, 68), (9, 5), 0, 0, 360, (40, 30, 30), -1)  # eyes
        cv2.line(rgb, (x - 11, 55), (x + 11, 55), (60, 40, 30), 3)  # brows
    cv2.line(rgb, (80, 72), (80, 95), (150, 110, 90), 3)  # nose
    cv2.ellipse(rgb, (80, 110), (16, 5), 0, 0, 360, (120, 50, 50), -1)  # mouth
    return rgb


def _painted_over(photo: np.ndarray, darker: float = 0.6) -> np.ndarray:
    """What a network does in a dark, busy painting: darker, bronze, and swirls across the features."""
    rng = np.random.default_rng(7)
    strokes = cv2.GaussianBlur(rng.normal(0, 60, photo.shape[:2]).astype(np.float32), (0, 0), 2.5)
    bronze = darker * cv2.GaussianBlur(photo.astype(np.float32), (0, 0), 4) * np.array([1.0, 0.8, 0.5])
    return np.clip(bronze + 1.5 * strokes[..., None], 0, 255).astype(np.uint8)


def test_an_illegible_face_reads_at_the_floor_in_the_paintings_light_and_colour() -> None:
    photo = _photo()
    painted = _painted_over(photo, darker=0.8)
    before = face_reads(painted, photo, FACE)
    assert before is not None and before < 0.45
    out = keep_face_features(photo, painted, FACE)
    after = face_reads(out, photo, FACE)
    assert after is not None and FEATURES_FLOOR <= after < FEATURES_FLOOR + 0.05  # the least that reads
    inner = (slice(50, 110), slice(55, 105))
    lab_painted, lab_out = _lab(painted)[inner], _lab(out)[inner]
    assert abs(lab_out[..., 0].mean() - lab_painted[..., 0].mean()) < 3.0  # the painting's light stays
    assert np.abs(lab_out[..., 1:] - lab_painted[..., 1:]).mean() < 3.0  # and its colour
    assert np.array_equal(out[:, :20], painted[:, :20]) and np.array_equal(out[185:], painted[185:])


def test_a_face_painted_near_black_gets_back_only_the_light_it_needs_to_read() -> None:
    photo = _photo()
    painted = _painted_over(photo, darker=0.3)
    out = keep_face_features(photo, painted, FACE)
    after = face_reads(out, photo, FACE)
    assert after is not None and FEATURES_FLOOR <= after < FEATURES_FLOOR + 0.05
    inner = (slice(50, 110), slice(55, 105))
    l_photo, l_painted, l_out = (_lab(image)[inner][..., 0].mean() for image in (photo, painted, out))
    assert l_painted + 3.0 < l_out < l_photo - 3.0  # lighter than painted, still darker than the photo


def test_a_face_that_reads_is_left_bit_for_bit() -> None:
    photo = _photo()
    lightly = np.clip(photo.astype(np.int16) - 25, 0, 255).astype(np.uint8)  # darker, features intact
    reads = face_reads(lightly, photo, FACE)
    assert reads is not None and reads >= FEATURES_FLOOR
    assert np.array_equal(keep_face_features(photo, lightly, FACE), lightly)


def test_a_face_too_small_or_outside_the_picture_is_left_alone() -> None:
    photo = _photo()
    painted = _painted_over(photo)
    assert np.array_equal(keep_face_features(photo, painted, (10, 10, 14, 14)), painted)
    assert np.array_equal(keep_face_features(photo, painted, (300, 300, 400, 400)), painted)


def test_the_stylize_step_keeps_the_features_and_can_be_switched_off() -> None:
    """Through the stylizer's own rule (services/stylizer/planned.py): on with the default steps, off with
    `features` off, and with it the face reads at least as well as without."""
    photo = cv2.resize(_photo(), (320, 400), interpolation=cv2.INTER_CUBIC)
    painting = cv2.resize(_painted_over(_photo()), (320, 400))
    stylizer = Stylizer(threads=1)
    style = ImageStyle(stylizer.style_vector(painting))
    face = (80, 60, 240, 260)
    plan = Plan("explicit", 1.0, (0.0, 0.0), Box(0, 0, 320, 400), None, [], (0, 0, 320, 400), None, "", face)

    def run(steps: Harmonize) -> np.ndarray:
        return stylize_for_plan(
            stylizer,
            photo,
            painting,
            style,
            plan,
            steps,
            own_painting=False,
            strength=1.0,
            keep_colors=False,
            max_size=1024,
        )

    on, off = run(Harmonize()), run(replace(Harmonize(), features=False))
    read_on, read_off = face_reads(on, photo, face), face_reads(off, photo, face)
    assert read_on is not None and read_off is not None
    if read_off >= FEATURES_FLOOR:
        assert np.array_equal(on, off)
    else:
        assert read_on >= FEATURES_FLOOR


def test_the_compositors_tone_step_moves_the_faces_light_but_keeps_its_features() -> None:
    """A flat, dark ground squashes the person's contrast in the tone step; with the step on, the placed face
    gets its features back against what the stylizer handed over (placed 1:1, no resize), in the light the
    tone and light steps gave it."""
    person = _photo()
    matte = np.zeros(person.shape[:2], np.float32)
    matte[20:, 30:130] = 1.0
    painting = np.full((300, 300, 3), (20, 24, 22), np.uint8)
    painting[::3, ::3] = (34, 30, 26)  # a little grain: the tone step matches a small spread
    placement = Placement(x=60, y=80, height=180)
    plan = Plan(
        "explicit", 1.0, (0.0, 0.0), Box(60, 80, 100, 180), None, [], (0, 0, 300, 300), None, "", FACE
    )

    def placed(steps: Harmonize) -> np.ndarray:
        image = composite(painting, person, matte, placement, plan=plan, harmonize=steps).image
        return image[80:260, 60:160]

    on, off = placed(Harmonize()), placed(replace(Harmonize(), features=False))
    face = (FACE[0] - 30, FACE[1] - 20, FACE[2] - 30, FACE[3] - 20)  # in the person's box
    given = person[20:, 30:130]
    read_on, read_off = face_reads(on, given, face), face_reads(off, given, face)
    assert read_on is not None and read_off is not None
    assert read_off < TONED_FEATURES_FLOOR - 0.05  # the tone step alone costs the features
    assert read_on > read_off + 0.05  # its features back, as far as they go in that light
    inner = (slice(40, 100), slice(25, 75))
    l_on, l_off = _lab(on)[inner][..., 0].mean(), _lab(off)[inner][..., 0].mean()
    assert abs(l_on - l_off) < 3.0  # in the light the tone and light steps gave it: features only

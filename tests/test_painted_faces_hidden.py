"""Small painted people the face and pose detectors miss (Bruegel's reapers) are never covered by a bust."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.painting.analysis import PaintingAnalyser
from services.painting.plan import plan_placement
from services.painting.portrait import portrait_info
from services.painting.scene import Rect
from services.painting.small_people import HEAD_SCORE, people_in
from shared import gallery
from shared.imageio import decode_image

HARVESTERS = Path(__file__).resolve().parents[1] / "eval/composite/paintings/bruegel-harvesters.jpg"
# the heads of the three standing figures on the left of The Harvesters (1165x859), boxed by looking at the
# painting: the reaper with the hat, the reaper seen from behind, the man with the jug
REAPER_HEADS: list[Rect] = [(183, 636, 220, 670), (246, 587, 274, 614), (393, 550, 414, 575)]


@pytest.fixture(scope="module")
def analyser() -> PaintingAnalyser:
    return PaintingAnalyser()


def _touches(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_bust_in_the_harvesters_keeps_clear_of_the_reapers_heads(analyser: PaintingAnalyser) -> None:
    painting = decode_image(HARVESTERS.read_bytes(), what="painting")
    analysis = analyser.analyse(painting)
    photo = decode_image(gallery.sample_portraits()[1], what="portrait")  # obama-portrait.jpg
    plan = plan_placement(analysis, portrait_info(photo, analyser.faces))
    box = (plan.box.x, plan.box.y, plan.box.x + plan.box.w, plan.box.y + plan.box.h)
    assert not [head for head in REAPER_HEADS if _touches(box, head)]
    assert plan.box.h >= 0.15 * analysis.height  # kept clear by moving and shrinking, not by vanishing


def test_a_portrait_painting_gets_no_segmented_people(analyser: PaintingAnalyser) -> None:
    """The segmenter marks a sitter's hands and sleeves too: it only runs where nobody sets the scale."""
    analysis = analyser.analyse(gallery.load_painting("mona-lisa"))
    assert analysis.head_source == "faces"
    assert all(figure.feet_y is not None or figure.face_height > 0 for figure in analysis.figures)


@pytest.mark.parametrize("painting", ["starry-night", "udnie", "van-gogh-wheatfield-cypresses"])
def test_paintings_without_people_get_no_segmented_people(analyser: PaintingAnalyser, painting: str) -> None:
    """Starry Night's cypress and village and Udnie's shapes are people to the segmenter on a tile grid,
    never in close-ups centred on them: no head to avoid shrinks the person next to the cypress."""
    analysis = analyser.analyse(gallery.load_painting(painting))
    assert analysis.head_source == "none"  # the search did run
    assert [face.box for face in analysis.faces if face.score == HEAD_SCORE] == []
    assert [figure.box for figure in analysis.figures if figure.feet_y is None] == []


def test_a_blob_the_close_ups_do_not_confirm_is_dropped() -> None:
    person_map = np.zeros((400, 600), np.float32)
    _blob(person_map, 100, 200, 130, 290)  # kept
    _blob(person_map, 300, 150, 330, 240)  # a swirl: a person only on the tile grid

    def confirm(box: Rect, mask: np.ndarray) -> bool:
        assert mask[box[1] + 5, box[0] + 15]  # the blob's own mask comes with its box
        return box[0] < 200

    figures, heads = people_in(person_map, confirm)
    assert [f.box for f in figures] == [(100, 200, 131, 291)]
    assert len(heads) == 1


def _blob(person_map: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    """An ellipse filling the box x0..x1, y0..y1 (end-inclusive), as the segmenter marks a figure."""
    centre = ((x0 + x1) // 2, (y0 + y1) // 2)
    cv2.ellipse(person_map, centre, ((x1 - x0) // 2, (y1 - y0) // 2), 0, 0, 360, 0.9, -1)


def test_an_upright_blob_is_a_figure_with_its_head_on_top() -> None:
    person_map = np.zeros((400, 600), np.float32)
    _blob(person_map, 100, 200, 130, 290)  # 30 x 90: a standing figure
    _blob(person_map, 300, 300, 400, 340)  # 100 x 40: lying, or a wave
    figures, heads = people_in(person_map)
    assert [f.box for f in figures] == [(100, 200, 131, 291), (300, 300, 401, 341)]
    assert len(heads) == 1
    x0, y0, x1, y1 = heads[0].box
    assert x0 <= 100 and x1 >= 130 and y0 <= 200 and 210 < y1 < 240  # the top of the figure
    assert heads[0].score == 0.0  # never sets the person's scale


def test_wide_blobs_alone_and_frame_seams_are_not_people() -> None:
    person_map = np.zeros((400, 600), np.float32)
    _blob(person_map, 300, 300, 400, 340)  # wide only
    _blob(person_map, 0, 50, 8, 300)  # a thin strip at the frame
    assert people_in(person_map) == ([], [])

"""The detectors, decoded by us, on real images; and the shipped gallery analysis is current."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from services.painting.analysis import PaintingAnalyser
from services.painting.detectors import FULL_RANGE_FACE, POSE, SHORT_RANGE_FACE, Detector, anchors
from services.painting.gallery_analysis import compute, gallery_analysis, gallery_spots
from services.painting.portrait import portrait_info
from shared import gallery
from shared.imageio import decode_image


@pytest.fixture(scope="module")
def analyser() -> PaintingAnalyser:
    return PaintingAnalyser()


@pytest.mark.parametrize(("spec", "count"), [(SHORT_RANGE_FACE, 896), (FULL_RANGE_FACE, 2304), (POSE, 2254)])
def test_anchor_layouts_match_the_networks(spec: object, count: int) -> None:
    detector = Detector(spec)  # type: ignore[arg-type]
    assert len(anchors(spec.layout)) == count  # type: ignore[attr-defined]
    assert len(detector.anchors) == count


def test_the_face_of_the_sample_portrait_is_found_where_it_is(analyser: PaintingAnalyser) -> None:
    photo = decode_image(gallery.sample_portraits()[1], what="portrait")  # obama-portrait.jpg, 910x1137
    info = portrait_info(photo, analyser.faces)
    assert info.face is not None
    x0, y0, x1, y1 = info.face
    assert 300 < (x0 + x1) / 2 < 600 and 150 < (y0 + y1) / 2 < 400  # the face is in the upper middle
    assert 200 < y1 - y0 < 380


def test_a_blank_or_tiny_image_has_no_face(analyser: PaintingAnalyser) -> None:
    assert portrait_info(np.full((300, 200, 3), 128, np.uint8), analyser.faces).face is None
    assert analyser.analyse(np.full((20, 30, 3), 200, np.uint8)).faces == []


def test_a_realistic_painted_face_is_found_and_sets_the_scale(analyser: PaintingAnalyser) -> None:
    result = analyser.analyse(gallery.load_painting("mona-lisa"))
    assert result.head_source == "faces"
    x0, y0, x1, y1 = result.faces[0].box
    assert x0 < 320 < x1 and y0 < 250 < y1  # Mona Lisa's face is around (320, 250) of 686x960


def test_the_shipped_gallery_analysis_is_current(analyser: PaintingAnalyser) -> None:
    shipped = json.loads(gallery.ANALYSIS_PATH.read_text())
    fresh = compute(analyser)
    assert shipped.keys() == fresh.keys() == gallery.paintings().keys()
    for painting_id, now in fresh.items():
        then = shipped[painting_id]
        assert len(then["faces"]) == len(now["faces"]), painting_id
        for a, b in zip(then["faces"], now["faces"], strict=True):
            assert np.allclose(a["box"], b["box"], atol=3), painting_id
        assert [s["x"] for s in then["spots"]] == pytest.approx([s["x"] for s in now["spots"]], abs=4)
    # regenerate with: python -m services.painting.gallery_analysis


def test_gallery_spots_are_on_canvas_and_off_every_face() -> None:
    for painting_id in gallery.paintings():
        scene = gallery_analysis(painting_id)
        spots = gallery_spots(painting_id)
        assert spots, painting_id
        for spot in spots:
            assert spot.x >= 0 and spot.x + spot.width <= scene.width, painting_id
            assert spot.y >= 0 and spot.y + spot.height <= scene.height, painting_id
            for face in scene.faces:
                fx0, fy0, fx1, fy1 = face.box
                overlap = (
                    spot.x < fx1 and fx0 < spot.x + spot.width and spot.y < fy1 and fy0 < spot.y + spot.height
                )
                assert not overlap, (painting_id, spot, face)


def test_gallery_analysis_file_is_package_data() -> None:
    assert Path(gallery.ANALYSIS_PATH).is_file()

"""The composite eval: VGG16 (HED weights on onnxruntime) style statistics behave, and the command reports
every score for a pair, before and after."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from services.painting.options import Harmonize
from shared import gallery
from sitter.cli import main
from sitter.eval_composite import without_steps
from sitter.perceptual import Features, gram, style_distance


@pytest.fixture(scope="module")
def features() -> Features:
    return Features()


def _grams(features: Features, image: np.ndarray) -> list[np.ndarray]:
    weight = np.ones(image.shape[:2], np.float32)
    return [gram(f, weight) for f in features(image)]


def test_gram_distance_tells_a_paintings_style_from_a_photos(features: Features) -> None:
    starry = gallery.load_painting("starry-night")
    left, right = starry[:256, :256], starry[:256, 512:768]
    photo = gallery.load_painting("mona-lisa")[300:556, 200:456]
    same = style_distance(_grams(features, left), _grams(features, right))
    other = style_distance(_grams(features, photo), _grams(features, right))
    assert style_distance(_grams(features, left), _grams(features, left)) == pytest.approx(0.0, abs=1e-9)
    assert same < 0.6 * other, (same, other)


def test_masked_gram_ignores_pixels_outside_the_mask(features: Features) -> None:
    image = gallery.load_painting("great-wave")[:128, :128].copy()
    weight = np.zeros((128, 128), np.float32)
    weight[:, :64] = 1.0
    before = [gram(f, weight) for f in features(image)]
    image[:, 96:] = 0  # change only what the mask (and the receptive fields near it) hardly see
    after = [gram(f, weight) for f in features(image)]
    assert style_distance(after, before) < 0.05


def test_eval_composite_reports_before_and_after(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "obama.jpg").write_bytes((gallery.SAMPLES_DIR / "obama-portrait.jpg").read_bytes())
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    (paintings / "girl-with-a-pearl-earring.jpg").write_bytes(
        gallery.painting("girl-with-a-pearl-earring").path.read_bytes()
    )
    notes = tmp_path / "notes.json"
    notes.write_text(
        json.dumps(
            {"paintings": {"girl-with-a-pearl-earring": {"faces": [[85, 50, 205, 222]], "figures": []}}}
        )
    )
    args = ["eval", "composite", "--photos", str(photos), "--paintings", str(paintings)]
    assert main([*args, "--annotations", str(notes), "--json", "--save", str(tmp_path / "out")]) == 0
    report = json.loads(capsys.readouterr().out)
    pair = report["pairs"][0]
    for side in ("before", "after"):
        scores = pair[side]
        assert set(scores) >= {
            "style",
            "style_raw",
            "style_ratio",
            "tone",
            "legibility",
            "detail",
            "faces_covered",
            "skin_shift",
            "face_legibility",
        }
        assert all(np.isfinite(value) for value in scores.values())
        assert 0.0 < scores["face_legibility"] <= 1.0  # the photo's face shows in both composites
    assert pair["after"]["faces_covered"] == 0.0  # the default placement never covers the painted face
    assert pair["before"]["faces_covered"] > 0.0  # the old centred placement stood in front of her
    assert pair["after"]["style_ratio"] < 1.0  # more painted than the raw photo
    x, _, w, _ = pair["box"]
    side = "left" if x + w / 2 < 0.4 * 300 else "right" if x + w / 2 > 0.6 * 300 else "centre"
    assert pair["placement"] == f"bust, {side}" and report["placements"] == {pair["placement"]: 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "obama--girl-with-a-pearl-earring--after.jpg",
        "obama--girl-with-a-pearl-earring--before.jpg",
    ]
    assert pair["after"]["skin_shift"] > 0.0  # the face is repainted, not pasted
    assert report["summary"]["after"]["face_legibility_min"] == pair["after"]["face_legibility"]
    assert report["worst_style_pair"]["after"].startswith("obama.jpg x girl-with-a-pearl-earring (")
    assert report["least_legible_face"]["after"].startswith("obama.jpg x girl-with-a-pearl-earring (")
    assert without_steps(("abstraction",)) == replace(Harmonize(), abstraction=False)  # --before-without
    assert main([*args, "--annotations", str(tmp_path / "missing.json")]) == 2
    assert "no annotations file" in capsys.readouterr().err
    assert main([*args, "--annotations", str(notes), "--without", "skin,colour"]) == 2
    assert "unknown harmonisation step 'colour'; the steps are local_style" in capsys.readouterr().err
    assert main([*args, "--annotations", str(notes), "--before-without", "glow"]) == 2
    assert "unknown harmonisation step 'glow'" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["{}", '{"paintings": []}', "[1, 2]", "not json"])
def test_annotations_of_another_shape_are_a_clear_error(tmp_path: Path, text: str) -> None:
    from shared.errors import SitterError
    from sitter.eval_composite import load_annotations

    path = tmp_path / "notes.json"
    path.write_text(text)
    with pytest.raises(SitterError, match="annotations"):
        load_annotations(path)

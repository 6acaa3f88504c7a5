"""The CLI with the real models: a blend writes an image and reports each stage; bad input exits 2."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shared import gallery
from shared.imageio import decode_image
from sitter.cli import main


@pytest.fixture(scope="module")
def small_portrait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "portrait.jpg"
    Image.open(gallery.SAMPLES_DIR / "obama-portrait.jpg").resize((240, 300)).save(path)
    return path


def test_blend_places_person_and_keeps_painting_outside(
    small_portrait: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.png"
    cutout = tmp_path / "cut.png"
    code = main(
        [
            "blend",
            str(small_portrait),
            "--painting",
            "great-wave",
            "--style",
            "builtin-3",
            "--x",
            "100",
            "--y",
            "50",
            "--height",
            "300",
            "--max-size",
            "256",
            "--cutout",
            str(cutout),
            "-o",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    for stage in ("segment", "stylize", "composite"):
        assert stage in text
    result = decode_image(out)
    painting = gallery.load_painting("great-wave")
    assert result.shape == painting.shape
    changed = np.any(result != painting, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 5000  # a person was placed
    assert xs.min() >= 100 and ys.min() >= 50 and ys.max() < 350
    assert Image.open(cutout).mode == "RGBA"


def test_bad_portrait_exits_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    assert main(["blend", str(bad), "--painting", "udnie", "-o", str(tmp_path / "o.png")]) == 2
    assert "error: the portrait is not an image" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--painting", "nope"], "unknown painting"),
        (["--painting", "udnie", "--height", "0"], "height"),
        (["--painting", "udnie", "--auto", "--x", "3"], "auto placement cannot be combined"),
        (["--painting", "udnie", "--style", "builtin-99"], "builtin"),
        (["--painting", "udnie", "--strength", "3"], "strength"),
    ],
)
def test_bad_parameters_exit_2(
    small_portrait: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["blend", str(small_portrait), *args, "-o", str(tmp_path / "o.png")]) == 2
    assert message in capsys.readouterr().err


def test_listings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["paintings"]) == 0
    assert "starry-night" in capsys.readouterr().out
    assert main(["styles"]) == 0
    listing = capsys.readouterr().out
    assert "builtin-25" in listing and "painting" in listing
    assert main(["models", "list"]) == 0
    assert "verified" in capsys.readouterr().out

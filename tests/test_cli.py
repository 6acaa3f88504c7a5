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


def test_default_blend_says_which_box_and_why(
    small_portrait: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "auto.png"
    assert main(["blend", str(small_portrait), "--painting", "mona-lisa", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "placed    x=" in text and "because   auto: face matched to the painted faces" in text
    assert main(["blend", str(small_portrait), "--painting", "mona-lisa", "--spot", "1", "-o", str(out)]) == 0
    assert "because   spot: suggested spot 1" in capsys.readouterr().out


def test_strength_0_without_harmonisation_is_the_raw_paste(small_portrait: Path, tmp_path: Path) -> None:
    """Scripts and evals rely on it: the person's own pixels, only cut out and resized into the box."""
    from services.compositor.blend import resize_premultiplied
    from services.painting.cutout import crop_person
    from services.painting.options import Harmonize
    from services.painting.placement import Placement
    from sitter.pipeline import BlendOptions, Pipeline

    photo = decode_image(small_portrait)
    painting = gallery.load_painting("udnie")
    options = BlendOptions(strength=0.0, harmonize=Harmonize.off())
    result = Pipeline().blend(photo, painting, Placement(x=200, y=100, height=600), options)
    rgb, alpha = crop_person(photo, result.matte)
    expected, _ = resize_premultiplied(rgb, alpha, result.box.w, result.box.h)
    solid = result.cutout[..., 3] == 255
    assert solid.mean() > 0.3 and result.box.h == 600
    assert np.abs(result.cutout[..., :3][solid].astype(float) - expected[solid]).max() <= 1.0
    args = ["blend", str(small_portrait), "--painting", "udnie", "--strength", "0", "--no-harmonize"]
    box = ["--x", "200", "--y", "100", "--height", "600", "--cutout", str(tmp_path / "c.png")]
    assert main([*args, *box, "-o", str(tmp_path / "r.png")]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "c.png")), result.cutout)


def test_bad_portrait_exits_2_with_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    assert main(["blend", str(bad), "--painting", "udnie", "-o", str(tmp_path / "o.png")]) == 2
    assert "error: the portrait is not an image" in capsys.readouterr().err
    assert (
        main(["blend", str(tmp_path / "nope.jpg"), "--painting", "udnie", "-o", str(tmp_path / "o.png")]) == 2
    )
    assert "error: cannot read the portrait" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--painting", "nope"], "unknown painting"),
        (["--painting", "udnie", "--height", "0"], "height"),
        (["--painting", "udnie", "--auto", "--x", "3"], "auto placement cannot be combined"),
        (["--painting", "udnie", "--style", "builtin-99"], "builtin"),
        (["--painting", "udnie", "--strength", "3"], "strength"),
        (["--painting", "udnie", "--spot", "7"], "spot must be"),
        (["--painting", "udnie", "--spot", "0", "--height", "40"], "--spot cannot be combined"),
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

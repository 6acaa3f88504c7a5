"""A result up to twice the painting's size: the checks, the mapping of plan and box, and the real pipeline
painting the person at that size rather than enlarging a 1x person."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.compositor.output_scale import enlarge_painting, scale_placement, scale_plan
from services.painting.placement import Box, Placement
from services.painting.plan import Plan
from shared import gallery
from shared.errors import InvalidParameterError
from shared.imageio import decode_image
from shared.limits import check_output_pixels, check_output_scale, output_size
from sitter.cli import main


@pytest.mark.parametrize("value", ["1", "1.5", 2, "2.0"])
def test_scales_from_1_to_2_are_accepted(value: object) -> None:
    assert check_output_scale(value) == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0.5", "2.01", "3", "nan", "inf", "-1", "big", "", True, None])
def test_other_scales_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidParameterError, match="output_scale must be a number from 1 to 2") as caught:
        check_output_scale(value)
    assert caught.value.field == "output_scale"


def test_a_result_over_the_pixel_limit_is_refused_with_the_largest_scale_that_fits() -> None:
    assert output_size(1024, 640, 1.5) == (1536, 960)
    check_output_pixels(1024, 640, 2.0, 2048 * 1280)
    with pytest.raises(InvalidParameterError, match=r"2048x1280 picture.*up to 1\.41") as caught:
        check_output_pixels(1024, 640, 2.0, 1_310_720)
    assert caught.value.field == "output_scale"


def test_plan_and_box_map_to_the_enlarged_painting() -> None:
    plan = Plan(
        kind="auto",
        scale=0.5,
        origin=(10.0, -4.0),
        box=Box(10, 20, 30, 41),
        anchor_y=61,
        avoid=[(1, 2, 3, 4)],
        style_region=(0, 5, 50, 60),
        spot=None,
        reason="why",
    )
    assert scale_plan(plan, 1.0) is plan
    big = scale_plan(plan, 2.0)
    assert big.scale == 1.0 and big.origin == (20.0, -8.0) and big.box == Box(20, 40, 60, 82)
    assert big.anchor_y == 122 and big.avoid == [(2, 4, 6, 8)] and big.style_region == (0, 10, 100, 120)
    assert (big.kind, big.spot, big.reason) == ("auto", None, "why")
    assert scale_placement(Placement(-3, 7, 100), 1.5) == Placement(-4, 10, 150)
    assert scale_placement(Placement(height=1), 1.2) == Placement(height=1)
    assert scale_placement(Placement(), 2.0) == Placement()
    painting = np.zeros((64, 48, 3), np.uint8)
    assert enlarge_painting(painting, 1.0) is painting
    assert enlarge_painting(painting, 1.5).shape == (96, 72, 3)


def _box_of_change(result: np.ndarray, painting: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(np.any(result != painting, axis=2))
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_a_2x_result_paints_the_person_at_2x(tmp_path: Path) -> None:
    """Same job at 1x and 2x: the 2x picture is the enlarged painting untouched outside the person's box,
    the box is the 1x box doubled, and the person holds more detail than the 1x person enlarged."""
    portrait = gallery.SAMPLES_DIR / "obama-portrait.jpg"
    outs = {}
    for scale in ("1", "2"):
        out = tmp_path / f"out{scale}.png"
        args = ["blend", str(portrait), "--painting", "udnie", "--x", "80", "--y", "60", "--height", "300"]
        assert main([*args, "--output-scale", scale, "-o", str(out)]) == 0
        outs[scale] = decode_image(out)
    painting = gallery.load_painting("udnie")
    small, big = outs["1"], outs["2"]
    assert big.shape[:2] == (2 * painting.shape[0], 2 * painting.shape[1])
    enlarged = enlarge_painting(painting, 2.0)
    x0, y0, x1, y1 = _box_of_change(big, enlarged)
    sx0, sy0, sx1, sy1 = _box_of_change(small, painting)
    assert x0 >= 160 and y0 >= 120 and y1 <= 120 + 600  # within the box asked for, in result pixels
    assert abs((x1 - x0) - 2 * (sx1 - sx0)) <= 12 and abs((y1 - y0) - 2 * (sy1 - sy0)) <= 12
    # detail: mean gradient inside the person, 2x result vs the 1x result enlarged the same way
    upscaled = np.asarray(Image.fromarray(small).resize((big.shape[1], big.shape[0]), Image.LANCZOS))

    def detail(image: np.ndarray) -> float:
        grey = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
        return float(np.abs(np.diff(grey, axis=0)).mean() + np.abs(np.diff(grey, axis=1)).mean())

    assert detail(big) > 1.3 * detail(upscaled)


def test_the_cli_refuses_a_bad_output_scale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    portrait = gallery.SAMPLES_DIR / "obama-portrait.jpg"
    out = tmp_path / "o.png"
    assert main(["blend", str(portrait), "--painting", "udnie", "--output-scale", "3", "-o", str(out)]) == 2
    assert "output_scale must be a number from 1 to 2" in capsys.readouterr().err
    assert not out.exists()

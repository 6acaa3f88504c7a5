"""Cut-out and blending: hand-computed pixels on tiny arrays, plus the painting-untouched guarantee."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.compositor.blend import composite, resize_premultiplied
from services.compositor.harmonize import feather_alpha, harmonize_colors
from services.painting.cutout import cutout, person_bbox
from services.painting.placement import Box, Placement
from shared.errors import InvalidImageError, InvalidParameterError


def _random_scene(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A noisy 40x50 painting, a noisy 24x16 stylized portrait and a soft elliptical matte."""
    rng = np.random.default_rng(seed)
    painting = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    stylized = rng.integers(0, 256, (24, 16, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:24, 0:16]
    distance = np.hypot((xx - 7.5) / 6.0, (yy - 11.5) / 10.0)
    matte = np.clip((1.2 - distance) / 0.4, 0.0, 1.0).astype(np.float32)
    return painting, stylized, matte


def _outside(image: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """A mask of the pixels outside the box (x, y, w, h), clipped to the image."""
    mask = np.ones(image.shape[:2], dtype=bool)
    mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = False
    return mask


def test_person_bbox_is_end_exclusive_and_uses_the_threshold() -> None:
    matte = np.zeros((6, 8), dtype=np.float32)
    matte[2, 3] = 0.06
    matte[4, 5] = 1.0
    matte[0, 0] = 0.05  # not above the threshold: not part of the person
    assert person_bbox(matte) == (3, 2, 6, 5)
    assert person_bbox(matte, threshold=0.5) == (5, 4, 6, 5)


def test_empty_matte_means_no_person() -> None:
    matte = np.full((6, 8), 0.01, dtype=np.float32)
    with pytest.raises(InvalidImageError, match="no person found in the portrait"):
        person_bbox(matte)
    with pytest.raises(InvalidImageError, match="no person found in the portrait"):
        composite(np.zeros((10, 10, 3), np.uint8), np.zeros((6, 8, 3), np.uint8), matte, Placement())


def test_cutout_is_rgba_cropped_with_soft_alpha() -> None:
    stylized = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    matte = np.zeros((5, 6), dtype=np.float32)
    matte[1:4, 2:4] = 1.0
    matte[1, 2] = 0.5
    rgba = cutout(stylized, matte)
    assert rgba.shape == (3, 2, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[..., :3], stylized[1:4, 2:4])
    np.testing.assert_array_equal(rgba[..., 3], [[128, 255], [255, 255], [255, 255]])


def test_cutout_resizes_a_smaller_matte_to_the_stylized_image() -> None:
    stylized = np.full((20, 30, 3), 7, dtype=np.uint8)
    matte = np.zeros((10, 15), dtype=np.float32)
    matte[2:8, 5:10] = 1.0
    rgba = cutout(stylized, matte)
    # bilinear x2 of a 6x5 block: a 10x8 solid core and a 2 px soft rim above the threshold
    assert rgba.shape == (14, 12, 4)
    assert rgba[3:11, 2:10, 3].min() == 255
    assert 0 < rgba[0, 6, 3] < 255


def test_hand_computed_pixels_without_resize() -> None:
    painting = np.full((6, 6, 3), (10, 20, 30), dtype=np.uint8)
    stylized = np.full((4, 4, 3), (200, 100, 50), dtype=np.uint8)
    matte = np.zeros((4, 4), dtype=np.float32)
    matte[1:3, 1:3] = 1.0
    matte[1, 1] = 0.5
    matte[2, 2] = 0.25
    result = composite(painting, stylized, matte, Placement(x=3, y=1, height=2), feather=0.0)
    assert (result.box.x, result.box.y, result.box.w, result.box.h) == (3, 1, 2, 2)
    expected = painting.copy()
    expected[1, 3] = (105, 60, 40)  # 10 + 0.5 * 190, 20 + 0.5 * 80, 30 + 0.5 * 20
    expected[1, 4] = expected[2, 3] = (200, 100, 50)
    expected[2, 4] = (58, 40, 35)  # 10 + 0.25 * 190 = 57.5, rounded once to 58
    np.testing.assert_array_equal(result.image, expected)
    assert result.cutout.shape == (2, 2, 4)
    np.testing.assert_array_equal(result.cutout[..., 3], [[128, 255], [255, 64]])


def test_alpha_one_region_takes_the_cutout_colour_after_resizing() -> None:
    painting = np.full((60, 60, 3), 30, dtype=np.uint8)
    stylized = np.zeros((20, 10, 3), dtype=np.uint8)
    stylized[:] = (250, 120, 5)
    matte = np.ones((20, 10), dtype=np.float32)
    for height in (9, 50):  # shrinking (area) and growing (bicubic)
        result = composite(painting, stylized, matte, Placement(x=4, y=3, height=height), feather=0.0)
        box = result.box
        inside = result.image[box.y : box.y + box.h, box.x : box.x + box.w]
        assert (inside == (250, 120, 5)).all()


def test_alpha_zero_pixels_keep_the_painting_exactly() -> None:
    painting, stylized, _ = _random_scene()
    matte = np.zeros((24, 16), dtype=np.float32)
    matte[0, 0] = matte[23, 15] = 1.0  # the box spans the whole portrait, almost all of it alpha 0
    result = composite(painting, stylized, matte, Placement(x=5, y=5, height=24), feather=0.0)
    changed = np.argwhere((result.image != painting).any(axis=2))
    assert {tuple(p) for p in changed} <= {(5, 5), (28, 20)}
    # resized and feathered: pixels far from the two dots are still the painting, bit for bit
    result = composite(
        painting, stylized, matte, Placement(x=5, y=5, height=34), harmonize=True, feather=0.05
    )
    np.testing.assert_array_equal(result.image[10:30, 10:18], painting[10:30, 10:18])


@pytest.mark.parametrize(
    ("x", "y", "height"),
    [
        (-10, 5, 30),
        (40, 5, 30),
        (10, -20, 30),
        (10, 25, 30),
        (-15, -15, 60),
        (30, 20, 90),
        (None, None, None),
    ],
    ids=["left", "right", "top", "bottom", "top-left", "bottom-right", "auto"],
)
def test_pixels_outside_the_box_equal_the_painting(x: int | None, y: int | None, height: int | None) -> None:
    painting, stylized, matte = _random_scene()
    result = composite(painting, stylized, matte, Placement(x, y, height), harmonize=True)
    box = result.box
    outside = _outside(painting, box.x, box.y, box.w, box.h)
    np.testing.assert_array_equal(result.image[outside], painting[outside])
    assert (result.image[~outside] != painting[~outside]).any()  # and the person is really there
    assert result.image.shape == painting.shape and result.image.dtype == np.uint8
    visible = box.clip(painting.shape[1], painting.shape[0])
    assert result.cutout.shape == (visible.h, visible.w, 4)  # the person as placed, as far as it shows


@settings(max_examples=60, deadline=None)
@given(x=st.integers(-60, 60), y=st.integers(-60, 50), height=st.integers(1, 120), harmonize=st.booleans())
def test_outside_the_box_is_bit_exact_for_any_placement(x: int, y: int, height: int, harmonize: bool) -> None:
    painting, stylized, matte = _random_scene(seed=1)
    try:
        result = composite(painting, stylized, matte, Placement(x, y, height), harmonize=harmonize)
    except InvalidParameterError as exc:
        assert "entirely outside" in exc.message
        return
    box = result.box
    assert (box.x, box.y, box.h) == (x, y, height)
    outside = _outside(painting, box.x, box.y, box.w, box.h)
    np.testing.assert_array_equal(result.image[outside], painting[outside])


@pytest.mark.parametrize("height", [7, 90])
def test_no_dark_fringe_when_resizing_soft_alpha(height: int) -> None:
    # white person with a soft edge; the stylizer's colour under alpha 0 is black
    _, _, matte = _random_scene()
    stylized = np.where(matte > 0, 255, 0).astype(np.uint8)[..., None].repeat(3, axis=2)
    painting = np.full((100, 100, 3), 255, dtype=np.uint8)
    result = composite(painting, stylized, matte, Placement(x=20, y=5, height=height))
    assert result.image.min() >= 254


def test_resize_premultiplied_keeps_a_uniform_colour_uniform() -> None:
    _, _, matte = _random_scene()
    rgb = np.where(matte[..., None] > 0, np.float32(180), np.float32(0)) * np.ones(3, np.float32)
    for size in ((5, 8), (40, 60)):
        colour, alpha = resize_premultiplied(rgb, matte, *size)
        assert alpha.shape == size[::-1]
        assert np.abs(colour[alpha > 1e-3] - 180).max() < 0.5


def test_harmonize_moves_the_lab_mean_toward_the_painting() -> None:
    painting = np.zeros((30, 30, 3), dtype=np.uint8)
    painting[..., 2] = np.linspace(120, 220, 30, dtype=np.uint8)  # blues
    rgb = np.zeros((20, 20, 3), dtype=np.float32)
    rgb[..., 0] = np.linspace(150, 250, 20)  # reds
    rgb[..., 1] = 60
    alpha = np.ones((20, 20), dtype=np.float32)
    alpha[:, :10] = 0.0  # the left half must not count

    def lab_mean(pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(pixels.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
        return (lab * weights.reshape(-1, 1)).sum(axis=0) / weights.sum()

    target = lab_mean(painting, np.ones((30, 30)))
    before = np.linalg.norm(lab_mean(rgb, alpha) - target)
    half = np.linalg.norm(lab_mean(harmonize_colors(rgb, alpha, painting, 0.5), alpha) - target)
    full = np.linalg.norm(lab_mean(harmonize_colors(rgb, alpha, painting, 1.0), alpha) - target)
    assert full < half < before
    assert full < 0.25 * before
    np.testing.assert_array_equal(harmonize_colors(rgb, alpha, painting, 0.0), rgb)


def test_harmonize_changes_the_composite_only_inside_the_box() -> None:
    painting, stylized, matte = _random_scene()
    plain = composite(painting, stylized, matte, Placement(x=3, y=4, height=30))
    harmonized = composite(painting, stylized, matte, Placement(x=3, y=4, height=30), harmonize=True)
    assert (plain.image != harmonized.image).any()
    outside = _outside(painting, 3, 4, plain.box.w, 30)
    np.testing.assert_array_equal(harmonized.image[outside], painting[outside])


def test_feather_softens_the_edge_without_growing_the_matte() -> None:
    alpha = np.zeros((60, 60), dtype=np.float32)
    alpha[10:50, 10:50] = 1.0
    feathered = feather_alpha(alpha, 4.0)
    assert (feathered <= alpha).all()
    assert feathered[10, 30] < 0.5  # the edge is softened
    assert feathered[20:40, 20:40].min() == pytest.approx(1.0)  # the middle is not
    np.testing.assert_array_equal(feather_alpha(alpha, 0.0), alpha)
    # a person cut by the canvas edge keeps a solid edge there
    touching = np.zeros((40, 40), dtype=np.float32)
    touching[5:, 5:35] = 1.0
    assert feather_alpha(touching, 4.0)[39, 20] == pytest.approx(1.0)


def test_negative_feather_is_rejected() -> None:
    painting, stylized, matte = _random_scene()
    with pytest.raises(InvalidParameterError, match="feather") as caught:
        composite(painting, stylized, matte, Placement(), feather=-0.1)
    assert caught.value.field == "feather"


@pytest.mark.parametrize("amount", [-0.1, 1.5])
def test_harmonize_amount_out_of_range_is_rejected(amount: float) -> None:
    painting, stylized, matte = _random_scene()
    with pytest.raises(InvalidParameterError, match="between 0 and 1") as caught:
        composite(painting, stylized, matte, Placement(), harmonize=True, harmonize_amount=amount)
    assert caught.value.field == "harmonize_amount"


@pytest.mark.parametrize(("x", "y", "height"), [(-300, -40, 700), (30, 20, 700), (-350, -500, 800)])
def test_a_box_past_the_canvas_shows_what_the_whole_box_would(x: int, y: int, height: int) -> None:
    """Only the visible window of a giant box is resized: the pixels that show match placing the same box
    on a canvas big enough to hold it whole (within the warp's 1/32-pixel sampling)."""
    _, stylized, matte = _random_scene()
    painting = np.random.default_rng(3).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    pad = 1000
    big = np.zeros((painting.shape[0] + 2 * pad, painting.shape[1] + 2 * pad, 3), np.uint8)
    big[pad:-pad, pad:-pad] = painting
    clipped = composite(painting, stylized, matte, Placement(x, y, height))
    whole = composite(big, stylized, matte, Placement(x + pad, y + pad, height))
    assert whole.box.clip(big.shape[1], big.shape[0]) == whole.box  # the reference really is whole
    shown = whole.image[pad:-pad, pad:-pad].astype(int)
    assert np.abs(clipped.image.astype(int) - shown).max() <= 2


@pytest.mark.parametrize("harmonize", [False, True])
def test_a_canvas_filling_box_placed_in_bands_is_the_box_placed_at_once(harmonize: bool) -> None:
    """The compositor places a large visible part a band of rows at a time (its memory is a band's); each
    band reads the feather's margin around it, so the bands join without a seam: the same picture, but for
    the warp's 1/32-pixel sampling, which starts from each band's own origin (a level here and there)."""
    _, stylized, matte = _random_scene()
    painting = np.random.default_rng(5).integers(0, 256, (700, 600, 3), dtype=np.uint8)
    wish = Placement(-300, -400, 2400)
    at_once = composite(painting, stylized, matte, wish, harmonize=harmonize, band_pixels=10**9)
    banded = composite(painting, stylized, matte, wish, harmonize=harmonize, band_pixels=50_000)
    assert at_once.box.clip(600, 700) == Box(0, 0, 600, 700)  # the box fills the canvas
    for ours, theirs in ((banded.image, at_once.image), (banded.cutout, at_once.cutout)):
        differ = np.abs(ours.astype(int) - theirs.astype(int))
        assert differ.max() <= 1 and np.count_nonzero(differ) < 0.001 * differ.size


def test_the_person_lands_where_the_matte_extent_says_even_when_soft_hair_fades_at_the_painted_size() -> None:
    """The box is planned on the full matte's extent, hair wisps included; at the stylized size those wisps
    average below the threshold. The person is still mapped extent -> box: an eye lands where the plan put
    it, not a few pixels low (the cost was a 26 px face 2.7 px low, illegible against the photo)."""
    matte = np.zeros((1000, 800), np.float32)
    matte[100:, 200:600] = 1.0
    for row in range(40, 100, 10):  # thin wisps: above the threshold here, gone from the 10x smaller matte
        matte[row : row + 2, 200:600] = 0.3
    stylized = np.full((100, 80, 3), 200, np.uint8)
    stylized[29:31, 39:41] = 0  # an eye at photo row 300
    painting = np.full((300, 300, 3), 255, np.uint8)
    result = composite(painting, stylized, matte, Placement(x=50, y=20, height=96), feather=0.0)
    assert (result.box.x, result.box.y, result.box.h) == (50, 20, 96)
    rows = np.flatnonzero((result.image[..., 0] < 120).any(axis=1))
    assert rows.size and abs(rows.mean() - (20 + (300 - 40) * 96 / 960)) <= 1.0

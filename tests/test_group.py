"""Several people in one painting (issue #14, in-process): group placement, the group pipeline and the CLI.

Real models on small photos: two portraits, a group photo pasted from two portraits, refusals.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from services.painting.gallery_analysis import gallery_analysis
from services.painting.group import Person, plan_group, split_group
from services.painting.placement import Box, Placement
from services.painting.plan import PortraitInfo, plan_placement
from services.painting.scene import Rect
from shared import gallery
from shared.errors import InvalidParameterError, NoPersonError
from shared.imageio import decode_image
from sitter.cli import main
from sitter.pipeline import BlendOptions, Pipeline

PHOTOS = Path(__file__).resolve().parents[1] / "eval" / "composite" / "photos"
NOT_A_PERSON = Path(__file__).resolve().parent / "data" / "person_check" / "no-person-cat.jpg"
OPTIONS = BlendOptions(max_size=256)


def _small(name: str, width: int = 240) -> np.ndarray:
    image = Image.open(PHOTOS / name).convert("RGB")
    height = round(image.height * width / image.width)
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS))


def _rect(box: Box) -> Rect:
    return (box.x, box.y, box.x + box.w, box.y + box.h)


def _touches(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _outside(shape: tuple[int, ...], boxes: list[Box]) -> np.ndarray:
    mask = np.ones(shape[:2], dtype=bool)
    for box in boxes:
        v = box.clip(shape[1], shape[0])
        mask[v.y : v.y + v.h, v.x : v.x + v.w] = False
    return mask


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="module")
def portraits(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("group")
    paths = []
    for name in ("obama-portrait.jpg", "grace-hopper.jpg"):
        path = folder / name
        Image.fromarray(_small(name)).save(path)
        paths.append(path)
    return paths


def _check_group(result_image: np.ndarray, painting: np.ndarray, boxes: list[Box], faces: list[Rect]) -> None:
    height, width = painting.shape[:2]
    for i, box in enumerate(boxes):
        assert box.x >= 0 and box.y >= 0 and box.x + box.w <= width and box.y + box.h <= height
        for j, face in enumerate(faces):
            if i != j:
                assert not _touches(_rect(box), face), f"person {i + 1} covers person {j + 1}'s face"
    outside = _outside(painting.shape, boxes)
    assert np.array_equal(result_image[outside], painting[outside])
    for box in boxes:
        v = box.clip(width, height)
        inside = result_image[v.y : v.y + v.h, v.x : v.x + v.w] != painting[v.y : v.y + v.h, v.x : v.x + v.w]
        assert inside.any(axis=2).mean() > 0.1  # someone was painted in each box


@pytest.mark.parametrize("painting_id", ["great-wave", "seurat-sunday-afternoon"])
def test_two_portraits_side_by_side(pipeline: Pipeline, portraits: list[Path], painting_id: str) -> None:
    painting = gallery.load_painting(painting_id)
    photos = [decode_image(p) for p in portraits]
    group = pipeline.blend_group(photos, painting, None, OPTIONS, painting_id=painting_id)
    assert len(group.boxes) == 2 and group.order == [0, 1]
    _check_group(group.image, painting, group.boxes, group.faces)
    heights = [f[3] - f[1] for f in group.faces]
    assert min(heights) / max(heights) > 0.85  # separate portraits: normalised by head size


def test_one_portrait_is_todays_blend(pipeline: Pipeline, portraits: list[Path], tmp_path: Path) -> None:
    painting = gallery.load_painting("great-wave")
    photo = decode_image(portraits[0])
    today = pipeline.blend(photo, painting, Placement(), OPTIONS, painting_id="great-wave")
    group = pipeline.blend_group([photo], painting, None, OPTIONS, painting_id="great-wave")
    assert np.array_equal(group.image, today.image) and group.boxes == [today.box]
    out = tmp_path / "one.png"
    args = ["blend", str(portraits[0]), "--painting", "great-wave", "--max-size", "256", "-o", str(out)]
    assert main(args) == 0
    assert np.array_equal(decode_image(out), today.image)


def test_cli_two_portraits_print_one_line_each(
    portraits: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "two.png"
    paths = [str(p) for p in portraits]
    assert main(["blend", *paths, "--painting", "great-wave", "--max-size", "256", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.count("placed    person") == 2 and text.count("because   person") == 2
    assert decode_image(out).shape == gallery.load_painting("great-wave").shape


def test_cli_explicit_boxes_may_overlap_and_order_sets_the_front(
    portraits: list[Path], tmp_path: Path
) -> None:
    paths = [str(p) for p in portraits]
    boxes = ["--box", "100,150,300", "--box", "220,150,300"]
    outs = []
    for order in ("1,2", "2,1"):
        out = tmp_path / f"boxes-{order}.png"
        args = ["blend", *paths, "--painting", "great-wave", *boxes, "--order", order, "-o", str(out)]
        assert main([*args, "--max-size", "256"]) == 0
        outs.append(decode_image(out))
    painting = gallery.load_painting("great-wave")
    assert np.array_equal(outs[0][:, :100], painting[:, :100])  # nobody left of the first box
    overlap = (slice(150, 450), slice(230, 300))
    assert not np.array_equal(outs[0][overlap], outs[1][overlap])  # who is in front changes the overlap


def test_seven_portraits_are_refused(
    portraits: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(portraits[0])] * 7
    assert main(["blend", *paths, "--painting", "great-wave", "-o", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: at most 6 portraits") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--x", "10"], "--x is for one person"),
        (["--spot", "0"], "--spot is for one person"),
        (["--box", "1,2"], "--box is X,Y,HEIGHT"),
        (["--box", "0,0,200"], "1 boxes for 2 people"),
        (["--order", "1,1"], "order must list each person once"),
        (["--cutout", "c.png"], "--cutout is for one person"),
    ],
)
def test_cli_several_people_bad_flags(
    portraits: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    paths = [str(p) for p in portraits]
    assert main(["blend", *paths, "--painting", "great-wave", *args, "-o", str(tmp_path / "o.png")]) == 2
    assert message in capsys.readouterr().err


def test_a_photo_without_person_is_named(
    portraits: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cat = tmp_path / "cat.jpg"
    Image.open(NOT_A_PERSON).convert("RGB").resize((240, 300)).save(cat)
    args = ["blend", str(portraits[0]), str(cat), "--painting", "great-wave", "-o", str(tmp_path / "o.png")]
    assert main(args) == 2
    assert "error: photo 2: no person found" in capsys.readouterr().err


def test_group_photo_keeps_every_person_and_their_size_ratio(pipeline: Pipeline) -> None:
    adult, child = _small("obama-portrait.jpg", 300), _small("grace-hopper.jpg", 225)  # child: 3/4 size
    height = max(adult.shape[0], child.shape[0])
    canvas = np.full((height, adult.shape[1] + child.shape[1], 3), 235, dtype=np.uint8)
    canvas[height - adult.shape[0] :, : adult.shape[1]] = adult
    canvas[height - child.shape[0] :, adult.shape[1] :] = child
    painting = gallery.load_painting("great-wave")
    group = pipeline.blend_group(
        [canvas], painting, None, OPTIONS, painting_id="great-wave", group_photo=True
    )
    assert len(group.boxes) == 2
    _check_group(group.image, painting, group.boxes, group.faces)
    found = pipeline.analyser.faces.detect(canvas)
    photo_ratio = sorted([found[0].height, found[1].height])
    painted = sorted(f[3] - f[1] for f in group.faces)
    assert painted[0] / painted[1] == pytest.approx(photo_ratio[0] / photo_ratio[1], rel=0.15)
    assert group.order[-1] == int(np.argmax([f[3] - f[1] for f in group.faces]))  # the larger in front


def test_group_photo_with_nobody_is_refused(pipeline: Pipeline) -> None:
    cat = np.asarray(Image.open(NOT_A_PERSON).convert("RGB").resize((240, 300)))
    painting = gallery.load_painting("great-wave")
    with pytest.raises(NoPersonError, match="group photo"):
        pipeline.blend_group([cat], painting, None, OPTIONS, painting_id="great-wave", group_photo=True)


# the pure planner, no models


BUST = PortraitInfo(400, 500, (150, 100, 250, 220))


def test_plan_group_one_person_is_the_single_plan() -> None:
    analysis = gallery_analysis("seurat-sunday-afternoon")
    assert plan_group(analysis, [Person(BUST)]).plans == [plan_placement(analysis, BUST)]


@pytest.mark.parametrize(
    "painting_id", ["great-wave", "starry-night", "mona-lisa", "seurat-sunday-afternoon"]
)
def test_plan_group_faces_stay_free(painting_id: str) -> None:
    analysis = gallery_analysis(painting_id)
    people = [Person(BUST)] * 3
    group = plan_group(analysis, people)
    for i, plan in enumerate(group.plans):
        for j, face in enumerate(group.faces):
            if i != j:
                assert not _touches(_rect(plan.box), face)
        for painted in analysis.faces:
            assert not _touches(_rect(plan.box), painted.box)


def test_explicit_boxes_win_and_may_overlap() -> None:
    analysis = gallery_analysis("great-wave")
    people = [Person(BUST, Placement(100, 100, 300)), Person(BUST, Placement(150, 100, 300)), Person(BUST)]
    group = plan_group(analysis, people, order=[2, 1, 0])
    assert [p.kind for p in group.plans] == ["explicit", "explicit", "auto"]
    assert group.plans[0].box.x == 100 and group.plans[1].box.x == 150 and group.order == [2, 1, 0]
    assert not any(_touches(_rect(group.plans[2].box), face) for face in group.faces[:2])


@pytest.mark.parametrize("order", [[0, 0], [1], [0, 2]])
def test_bad_order_is_refused(order: list[int]) -> None:
    with pytest.raises(InvalidParameterError, match="order"):
        plan_group(gallery_analysis("great-wave"), [Person(BUST)] * 2, order=order)


def test_split_group_halfway_between_faces() -> None:
    split = split_group(600, 400, [(400, 50, 500, 150), (100, 60, 180, 140)])
    assert [crop for crop, _ in split] == [(0, 0, 295, 400), (295, 0, 600, 400)]
    assert [face for _, face in split] == [(100, 60, 180, 140), (105, 50, 205, 150)]

"""Placement: parsing and validation of the user's x/y/height, and the box each choice resolves to."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.painting.placement import AUTO_HEIGHT, Box, Placement, resolve_box
from shared.errors import InvalidParameterError


@pytest.mark.parametrize("height", [0, -1, -500])
def test_non_positive_height_is_rejected(height: int) -> None:
    with pytest.raises(InvalidParameterError, match="height must be a positive number of pixels") as caught:
        Placement(height=height)
    assert caught.value.field == "height"
    with pytest.raises(InvalidParameterError) as parsed:
        Placement.parse(None, None, str(height))
    assert parsed.value.field == "height"


def test_parse_accepts_ints_integer_strings_and_blanks() -> None:
    assert Placement.parse("10", " -20 ", 300) == Placement(10, -20, 300)
    assert Placement.parse("", None, "") == Placement()
    assert Placement.parse(5.0, np.int64(6), None) == Placement(x=5, y=6)
    assert Placement().is_auto and not Placement(height=3).is_auto


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"x": "ten"}, "x"), ({"y": 1.5}, "y"), ({"height": True}, "height")]
)
def test_parse_rejects_non_integers_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParameterError, match="must be a whole number of pixels") as caught:
        Placement.parse(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_auto_cannot_be_combined_with_explicit_values() -> None:
    assert Placement.parse(auto=True) == Placement()
    with pytest.raises(InvalidParameterError, match="cannot be combined") as caught:
        Placement.parse(x=3, auto=True)
    assert caught.value.field == "auto"


def test_resolve_box_math() -> None:
    # person 100x200 (aspect 0.5) on a 1000x500 painting
    assert resolve_box(Placement(), 100, 200, 1000, 500) == Box(425, 200, 150, 300)  # 0.6 * 500 high
    assert resolve_box(Placement(height=100), 100, 200, 1000, 500) == Box(
        475, 400, 50, 100
    )  # centred, bottom
    assert resolve_box(Placement(x=7, y=9), 100, 200, 1000, 500) == Box(7, 9, 150, 300)  # default height
    assert resolve_box(Placement(x=7), 100, 200, 1000, 500) == Box(7, 200, 150, 300)  # stands on the bottom
    assert resolve_box(Placement(10, 20, 51), 100, 200, 1000, 500) == Box(10, 20, 26, 51)  # 25.5 rounds up
    # a wide person on a narrow painting: shrunk until exactly as wide as the painting
    assert resolve_box(Placement(), 400, 100, 200, 300) == Box(0, 250, 200, 50)


def test_partly_off_canvas_boxes_are_kept_unclipped() -> None:
    box = resolve_box(Placement(x=-40, y=-10, height=100), 50, 100, 60, 60)
    assert box == Box(-40, -10, 50, 100)
    assert box.clip(60, 60) == Box(0, 0, 10, 60)
    # one visible column at the right edge is still a valid placement
    assert resolve_box(Placement(x=59, y=0, height=10), 5, 10, 60, 60).clip(60, 60) == Box(59, 0, 1, 10)


@pytest.mark.parametrize(
    ("placement", "field"),
    [
        (Placement(x=-50, y=0, height=100), "x"),  # just left of the canvas: x + w == 0
        (Placement(x=60, y=0, height=100), "x"),  # right
        (Placement(x=0, y=-100, height=100), "y"),  # above
        (Placement(x=0, y=60, height=100), "y"),  # below
    ],
)
def test_entirely_off_canvas_box_is_an_error(placement: Placement, field: str) -> None:
    with pytest.raises(InvalidParameterError, match="lies entirely outside the 60x60 painting") as caught:
        resolve_box(placement, 50, 100, 60, 60)
    assert caught.value.field == field


def test_absurd_height_is_rejected() -> None:
    assert resolve_box(Placement(height=240), 1, 2, 60, 60).h == 240
    with pytest.raises(InvalidParameterError, match="more than 4 times") as caught:
        resolve_box(Placement(height=241), 1, 2, 60, 60)
    assert caught.value.field == "height"


sizes = st.integers(min_value=1, max_value=5000)


@settings(max_examples=400, deadline=None)
@given(person_w=sizes, person_h=sizes, painting_w=sizes, painting_h=sizes)
def test_auto_placement_is_always_on_canvas(
    person_w: int, person_h: int, painting_w: int, painting_h: int
) -> None:
    box = resolve_box(Placement(), person_w, person_h, painting_w, painting_h)
    assert box.w >= 1 and box.h >= 1
    assert box.clip(painting_w, painting_h) == box
    assert box.y + box.h == painting_h  # standing on the bottom edge
    assert abs(box.x - (painting_w - box.x - box.w)) <= 1  # centred
    assert box.h <= max(round(AUTO_HEIGHT * painting_h), 1)
    if min(box.w, box.h) > 1:  # the aspect ratio holds to rounding (sides are at least 1 px)
        assert abs(box.w - box.h * person_w / person_h) <= 0.5 + 1e-9

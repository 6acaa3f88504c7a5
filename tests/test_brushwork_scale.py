"""The person is painted at the size they would have in the painting seen at BRUSHWORK_SIDE
(services/stylizer/planned.py): placed size up to that side, smaller in proportion above it."""

from __future__ import annotations

import numpy as np
import pytest

from services.painting.options import Harmonize
from services.painting.placement import Box
from services.painting.plan import Plan
from services.stylizer.planned import BRUSHWORK_SIDE, brushwork_scale, stylize_for_plan
from services.stylizer.styles import ImageStyle
from services.stylizer.stylizer import Stylizer


@pytest.fixture(scope="module")
def stylizer() -> Stylizer:
    return Stylizer(threads=1)


def _stylized_height(stylizer: Stylizer, painting_side: int, scale: float, output_scale: float = 1.0) -> int:
    rng = np.random.default_rng(1)
    photo = rng.integers(60, 200, (200, 150, 3), dtype=np.uint8)
    painting = np.full((painting_side, painting_side * 3 // 4, 3), 120, dtype=np.uint8)
    painting[::7] = 30  # some strokes for the style vector
    region = (0, 0, 200, 200)
    plan = Plan(
        "explicit",
        scale,
        (0.0, 0.0),
        Box(0, 0, round(150 * scale), round(200 * scale)),
        None,
        [],
        region,
        None,
        "",
    )
    style = ImageStyle(stylizer.style_vector(painting[:400, :400]))
    out = stylize_for_plan(
        stylizer,
        photo,
        painting,
        style,
        plan,
        Harmonize(),
        own_painting=False,
        strength=1.0,
        keep_colors=False,
        max_size=1600,
        output_scale=output_scale,
    )
    return out.shape[0]


def test_up_to_the_brushwork_side_the_person_is_painted_at_the_placed_size(stylizer: Stylizer) -> None:
    assert brushwork_scale(np.zeros((BRUSHWORK_SIDE, 900, 3), np.uint8)) == 1.0
    assert _stylized_height(stylizer, BRUSHWORK_SIDE, 2.0) == 400


def test_in_a_larger_painting_the_person_is_painted_smaller_in_proportion(stylizer: Stylizer) -> None:
    """A painting three times the brushwork side: strokes three times as wide in pixels, so the person is
    painted at a third of the placed size and enlarged with the painting (the network costs a ninth)."""
    side = 3 * BRUSHWORK_SIDE
    assert brushwork_scale(np.zeros((side, 100, 3), np.uint8)) == pytest.approx(1 / 3)
    assert _stylized_height(stylizer, side, 6.0) == 400  # placed 1200 px high, painted at 400
    # a 2x result paints the person twice as large, in any painting
    assert _stylized_height(stylizer, side, 3.0, output_scale=2.0) == 400

"""The painting's abstraction estimate (services/painting/abstraction.py) and the automatic strength that
follows it (services/stylizer/painterly.py, planned.py, the stylize task)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import cv2
import numpy as np
import pytest

from services.painting.abstraction import Abstraction, estimate_abstraction
from services.painting.gallery_analysis import gallery_analysis
from services.painting.options import Harmonize
from services.painting.placement import Box
from services.painting.plan import Plan
from services.painting.scene import PaintingAnalysis
from services.stylizer import tasks
from services.stylizer.painterly import NETWORK_MIN, gentle_transfer, network_share, painterly
from services.stylizer.planned import stylize_for_plan
from services.stylizer.styles import ImageStyle
from shared import gallery

EXPRESSIVE = ("starry-night", "composition-vii", "kandinsky-murnau-street", "van-gogh-wheatfield-cypresses")
REALISTIC = ("raphael-self-portrait", "mona-lisa", "girl-with-a-pearl-earring")


@pytest.fixture(scope="module")
def scores() -> dict[str, float]:
    return {pid: estimate_abstraction(gallery.load_painting(pid)).score for pid in EXPRESSIVE + REALISTIC}


def test_expressive_paintings_score_above_realistic_ones(scores: dict[str, float]) -> None:
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert min(scores[p] for p in EXPRESSIVE) > max(scores[p] for p in REALISTIC) + 0.2
    assert scores["starry-night"] > 0.8 and scores["raphael-self-portrait"] < 0.2


def test_the_estimate_does_not_depend_on_the_scan_size() -> None:
    painting = gallery.load_painting("van-gogh-wheatfield-cypresses")
    big = cv2.resize(painting, (painting.shape[1] * 3, painting.shape[0] * 3), interpolation=cv2.INTER_CUBIC)
    assert abs(estimate_abstraction(big).score - estimate_abstraction(painting).score) < 0.1


def test_the_shipped_analysis_carries_the_estimate_and_old_analyses_read_without_it() -> None:
    mona = gallery_analysis("mona-lisa").abstraction
    starry = gallery_analysis("starry-night").abstraction
    assert mona is not None and starry is not None and mona.score < 0.3 < 0.8 < starry.score
    data = gallery_analysis("mona-lisa").to_json()
    assert Abstraction.from_json(data["abstraction"]) == mona
    del data["abstraction"]  # an added painting analysed before the estimate existed
    assert PaintingAnalysis.from_json(data).abstraction is None


def test_expressive_paintings_keep_the_full_strokes() -> None:
    rng = np.random.default_rng(1)
    photo, stylized, around = (rng.integers(0, 256, (40, 30, 3), dtype=np.uint8) for _ in range(3))
    assert network_share(0.9) == 1.0 and network_share(0.05) == NETWORK_MIN
    assert painterly(photo, stylized, around, 0.9) is stylized
    assert not np.array_equal(painterly(photo, stylized, around, 0.1), stylized)


def test_the_gentle_transfer_takes_the_paintings_palette() -> None:
    photo = np.full((60, 40, 3), (200, 200, 210), np.uint8)
    around = np.full((50, 50, 3), (90, 60, 30), np.uint8)  # an earth-brown glaze
    out = gentle_transfer(photo, around).reshape(-1, 3).mean(0)
    assert out[0] > out[2] + 40  # warm, as the painting, not the photo's cool grey


class FakeStylizer:
    """The network's output is a fixed image: what the automatic strength does is all that changes."""

    def __init__(self) -> None:
        self.painted = np.random.default_rng(2).integers(0, 256, (80, 60, 3), dtype=np.uint8)
        self.strengths: list[float] = []

    def stylize(self, rgb: np.ndarray, style: Any, *, strength: float, **_: Any) -> np.ndarray:
        self.strengths.append(strength)
        return self.painted

    def local_style(self, painting: np.ndarray, region: Any, whole: np.ndarray) -> ImageStyle:
        return ImageStyle(whole)


def _stylize(painting_id: str, strength: float | None) -> tuple[np.ndarray, FakeStylizer]:
    painting = gallery.load_painting(painting_id)
    fake = FakeStylizer()
    plan = Plan("explicit", 1.0, (0.0, 0.0), Box(0, 0, 60, 80), None, [], (0, 0, 200, 200), None, "")
    out = stylize_for_plan(
        fake,  # type: ignore[arg-type]
        np.full((80, 60, 3), 128, np.uint8),
        painting,
        ImageStyle(np.zeros(100, np.float32)),
        plan,
        replace(Harmonize(), skin=False, light=False),
        own_painting=True,
        strength=strength,
        keep_colors=False,
        max_size=1024,
        abstraction=gallery_analysis(painting_id).abstraction,
    )
    return out, fake


def test_automatic_strength_is_gentler_on_a_realistic_painting_only() -> None:
    mona, fake = _stylize("mona-lisa", None)
    assert fake.strengths == [1.0] and not np.array_equal(mona, fake.painted)
    starry, fake = _stylize("starry-night", None)
    np.testing.assert_array_equal(starry, fake.painted)


def test_an_explicit_strength_is_used_as_given() -> None:
    mona, fake = _stylize("mona-lisa", 1.0)
    np.testing.assert_array_equal(mona, fake.painted)
    _, fake = _stylize("mona-lisa", 0.4)
    assert fake.strengths == [0.4]


def test_the_stylize_task_reads_the_estimate_or_computes_it() -> None:
    """A gallery painting's estimate is its analysis's; an uploaded painting's is the one its plan's analysis
    made (passed in), estimated here only when there is none."""
    rt: Any = object()  # a bundled painting's analysis needs no runtime
    painting = gallery.load_painting("mona-lisa")
    bundled = {"painting": "mona-lisa", "harmonize": True}
    shipped = tasks._known_abstraction(rt, bundled)
    assert shipped is not None and shipped == gallery_analysis("mona-lisa").abstraction
    assert tasks._abstraction(bundled, shipped, painting, None) == shipped
    uploaded = {"painting": None, "harmonize": True}
    assert tasks._known_abstraction(rt, uploaded) is None
    assert tasks._abstraction(uploaded, None, painting, None) == estimate_abstraction(painting)
    assert tasks._abstraction(bundled, shipped, painting, 1.0) is None  # the user's strength: not used
    assert tasks._abstraction({**bundled, "harmonize": False}, shipped, painting, None) is None

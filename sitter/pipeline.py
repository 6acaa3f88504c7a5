"""The whole job in one process: segment, stylize and blend, with per-stage timings.

The CLI and the benchmark use this; the distributed system runs the same cores as separate Celery tasks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from services.compositor.blend import composite
from services.compositor.placement import Box, Placement
from services.painting.analysis import PaintingAnalyser
from services.painting.options import Harmonize
from services.painting.plan import Plan
from services.painting.planning import plan_for
from services.segmenter.matting import PersonMatter
from services.stylizer.planned import stylize_for_plan
from services.stylizer.resolve import resolve_style
from services.stylizer.stylizer import Stylizer
from shared.queues import PAINTING_STYLE


@dataclass(frozen=True)
class BlendOptions:
    """What the user chose besides the images and the placement."""

    style: str = PAINTING_STYLE
    strength: float = 1.0
    keep_colors: bool = False
    harmonize: Harmonize = field(default_factory=Harmonize)
    max_size: int = 1600  # cap on the stylized portrait's long side (the placed size, or the photo's)


@dataclass
class BlendResult:
    image: np.ndarray
    matte: np.ndarray
    stylized: np.ndarray
    cutout: np.ndarray
    box: Box
    plan: Plan
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


class Pipeline:
    """Holds the warm models; build once and call `blend` many times."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None) -> None:
        self.matter = PersonMatter(model_dir, threads=threads)
        self.stylizer = Stylizer(model_dir, threads=threads)
        self.analyser = PaintingAnalyser(model_dir, threads=threads)

    def blend(
        self,
        portrait: np.ndarray,
        painting: np.ndarray,
        placement: Placement | None = None,
        options: BlendOptions | None = None,
        *,
        painting_id: str | None = None,
        spot: int | None = None,
    ) -> BlendResult:
        """`painting_id` names a gallery painting (its shipped analysis is used); otherwise the painting is
        analysed here."""
        options = options or BlendOptions()
        steps = options.harmonize
        timings: dict[str, float] = {}
        with _timed(timings, "plan"):
            plan = plan_for(self.analyser, portrait, painting, painting_id, placement, spot)
        with _timed(timings, "segment"):
            matte = self.matter.matte(portrait)
        with _timed(timings, "stylize"):
            stylized = stylize_for_plan(
                self.stylizer,
                portrait,
                painting,
                resolve_style(options.style, self.stylizer, painting),
                plan,
                steps,
                own_painting=options.style.strip() in (PAINTING_STYLE, painting_id),
                strength=options.strength,
                keep_colors=options.keep_colors,
                max_size=options.max_size,
            )
        with _timed(timings, "composite"):
            result = composite(
                painting, stylized, matte, placement or Placement(), plan=plan, harmonize=steps
            )
        return BlendResult(result.image, matte, stylized, result.cutout, result.box, plan, timings)

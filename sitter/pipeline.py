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
from services.segmenter.matting import PortraitMatter
from services.stylizer.resolve import resolve_style
from services.stylizer.stylizer import Stylizer


@dataclass(frozen=True)
class BlendOptions:
    """What the user chose besides the images and the placement."""

    style: str = "painting"
    strength: float = 1.0
    keep_colors: bool = False
    harmonize: bool = False
    max_size: int = 1024


@dataclass
class BlendResult:
    image: np.ndarray
    matte: np.ndarray
    stylized: np.ndarray
    cutout: np.ndarray
    box: Box
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


class Pipeline:
    """Holds the warm models; build once and call `blend` many times."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None) -> None:
        self.matter = PortraitMatter(model_dir, threads=threads)
        self.stylizer = Stylizer(model_dir, threads=threads)

    def blend(
        self,
        portrait: np.ndarray,
        painting: np.ndarray,
        placement: Placement | None = None,
        options: BlendOptions | None = None,
    ) -> BlendResult:
        options = options or BlendOptions()
        timings: dict[str, float] = {}
        with _timed(timings, "segment"):
            matte = self.matter.matte(portrait)
        with _timed(timings, "stylize"):
            style = resolve_style(options.style, self.stylizer, painting)
            stylized = self.stylizer.stylize(
                portrait,
                style,
                strength=options.strength,
                keep_colors=options.keep_colors,
                max_size=options.max_size,
            )
        with _timed(timings, "composite"):
            result = composite(
                painting, stylized, matte, placement or Placement(), harmonize=options.harmonize
            )
        return BlendResult(result.image, matte, stylized, result.cutout, result.box, timings)

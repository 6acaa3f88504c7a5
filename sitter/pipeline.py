"""The whole job in one process: segment, stylize and blend, with per-stage timings.

The CLI and the benchmark use this; the distributed system runs the same cores as separate Celery tasks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from services.compositor.blend import composite
from services.compositor.output_scale import at_output_scale
from services.compositor.people import Layer, composite_people
from services.painting.abstraction import Abstraction, known_or_estimated
from services.painting.analysis import PaintingAnalyser
from services.painting.group import MAX_PEOPLE, Person, plan_group
from services.painting.known import KnownPainting, bundled_known
from services.painting.options import Harmonize
from services.painting.people import find_people
from services.painting.placement import Box, Placement
from services.painting.plan import Plan, PortraitInfo
from services.painting.planning import analysis_for, plan_for
from services.painting.portrait import portrait_info
from services.painting.scene import PaintingAnalysis
from services.segmenter.matting import PersonMatter
from services.segmenter.person_check import PersonFinder
from services.stylizer.planned import own_style, stylize_for_plan
from services.stylizer.resolve import resolve_style
from services.stylizer.styles import BuiltinStyle, ImageStyle
from services.stylizer.stylizer import Stylizer
from services.stylizer.trained import TrainedStyle
from shared import gallery
from shared.errors import InvalidParameterError, NoPersonError
from shared.models import ModelStore
from shared.queues import PAINTING_STYLE


@dataclass(frozen=True)
class BlendOptions:
    """What the user chose besides the images and the placement."""

    style: str = PAINTING_STYLE
    strength: float | None = None  # None: automatic, by the painting's abstraction; else the user's
    keep_colors: bool = False
    harmonize: Harmonize = field(default_factory=Harmonize)
    max_size: int = 1600  # cap on the stylized portrait's long side (the placed size, or the photo's)
    output_scale: float = 1.0  # the result is this many times the painting's size (1..2)


@dataclass
class BlendResult:
    image: np.ndarray
    matte: np.ndarray
    stylized: np.ndarray
    cutout: np.ndarray
    box: Box
    plan: Plan
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class GroupResult:
    """The painting with everyone in it; per person (in the people's order) their box, plan and face."""

    image: np.ndarray
    boxes: list[Box]
    plans: list[Plan]
    faces: list[tuple[int, int, int, int]]
    order: list[int]
    timings: dict[str, float] = field(default_factory=dict)


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = time.perf_counter() - start


class Pipeline:
    """Holds the warm models; build once and call `blend` many times."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.analyser = PaintingAnalyser(models, threads=threads)
        # the person check shares the analyser's full-range face and body detectors: loaded once
        finder = PersonFinder(models, threads, full_range=self.analyser.faces, bodies=self.analyser.poses)
        self.matter = PersonMatter(models, threads=threads, finder=finder)
        self.stylizer = Stylizer(models, threads=threads)

    def blend(
        self,
        portrait: np.ndarray,
        painting: np.ndarray,
        placement: Placement | None = None,
        options: BlendOptions | None = None,
        *,
        painting_id: str | None = None,
        spot: int | None = None,
        known: KnownPainting | None = None,
    ) -> BlendResult:
        """`painting_id` names a gallery painting: its analysis is `known` (an added painting's) or the
        bundled one's shipped analysis; without an id the painting is analysed here."""
        options = options or BlendOptions()
        steps = options.harmonize
        timings: dict[str, float] = {}
        ahead = _known(painting_id, known)
        with _timed(timings, "plan"):
            faces = self.analyser.faces.detect(portrait)  # for the plan and the person check: run once
            analysis = analysis_for(self.analyser, painting, ahead)
            plan = plan_for(self.analyser, portrait, painting, ahead, placement, spot, faces, analysis)
        with _timed(timings, "segment"):
            matte = self.matter.matte(portrait, faces)
        with _timed(timings, "stylize"):
            style = resolve_style(_style_spec(options.style, painting_id, known), self.stylizer, painting)
            abstraction = _abstraction(analysis, painting, options)
            stylized = self._stylize(portrait, painting, style, plan, options, painting_id, abstraction)
        with _timed(timings, "composite"):
            canvas, wish, placed_plan = at_output_scale(
                painting, placement or Placement(), plan, options.output_scale
            )
            builtin = isinstance(style, BuiltinStyle)
            result = composite(
                canvas, stylized, matte, wish, plan=placed_plan, harmonize=steps, builtin_style=builtin
            )
        return BlendResult(result.image, matte, stylized, result.cutout, result.box, plan, timings)

    def blend_group(
        self,
        portraits: list[np.ndarray],
        painting: np.ndarray,
        placements: list[Placement] | None = None,
        options: BlendOptions | None = None,
        *,
        painting_id: str | None = None,
        order: list[int] | None = None,
        group_photo: bool = False,
        known: KnownPainting | None = None,
    ) -> GroupResult:
        """Several people in one painting: separate portraits (1..MAX_PEOPLE), or every person of one group
        photo (`group_photo`). Each person is matted (with the person check), planned together
        (services/painting/group.py), stylized for their plan and composited back to front.

        `placements`: one per person (Placement() for automatic). The tone step of each person samples the
        original painting around their box, not the people already composited."""
        options = options or BlendOptions()
        steps = options.harmonize
        timings: dict[str, float] = {}
        with _timed(timings, "analyse"):
            ahead = _known(painting_id, known)
            analysis = analysis_for(self.analyser, painting, ahead)
            if group_photo:
                if len(portraits) != 1:
                    raise InvalidParameterError("a group photo is one photo", field="portrait")
                photos, infos, sizes = self._split(portraits[0])
            else:
                if not 1 <= len(portraits) <= MAX_PEOPLE:
                    raise InvalidParameterError(
                        f"1 to {MAX_PEOPLE} portraits per painting, got {len(portraits)}", field="portrait"
                    )
                photos = portraits
                infos = [portrait_info(p, self.analyser.faces) for p in photos]
                sizes = [1.0] * len(photos)
        placements = placements or [Placement()] * len(photos)
        if len(placements) != len(photos):
            raise InvalidParameterError(
                f"{len(placements)} boxes for {len(photos)} people: give one per person", field="box"
            )
        with _timed(timings, "segment"):
            mattes = []
            for k, photo in enumerate(photos):
                try:
                    mattes.append(self.matter.matte(photo))
                except NoPersonError as exc:
                    which = f"person {k + 1} of the group photo" if group_photo else f"photo {k + 1}"
                    raise NoPersonError(f"{which}: {exc.message}", field="portrait") from exc
        with _timed(timings, "plan"):
            people = [Person(i, p, s) for i, p, s in zip(infos, placements, sizes, strict=True)]
            if group_photo and order is None:  # the smaller (further) faces behind the larger ones
                order = sorted(range(len(people)), key=lambda k: sizes[k])
            group = plan_group(analysis, people, order=order)
        style = resolve_style(_style_spec(options.style, painting_id, known), self.stylizer, painting)
        with _timed(timings, "stylize"):
            abstraction = _abstraction(analysis, painting, options)
            stylized = [
                self._stylize(photo, painting, style, plan, options, painting_id, abstraction)
                for photo, plan in zip(photos, group.plans, strict=True)
            ]
        with _timed(timings, "composite"):
            layers = [
                Layer(stylized[i], mattes[i], placements[i], group.plans[i], isinstance(style, BuiltinStyle))
                for i in range(len(photos))
            ]
            image, boxes = composite_people(painting, layers, group.order, steps, options.output_scale)
        return GroupResult(image, boxes, group.plans, group.faces, group.order, timings)

    def _stylize(
        self,
        photo: np.ndarray,
        painting: np.ndarray,
        style: BuiltinStyle | ImageStyle | TrainedStyle,
        plan: Plan,
        options: BlendOptions,
        painting_id: str | None,
        abstraction: Abstraction | None = None,
    ) -> np.ndarray:
        """One person stylized for their plan with the user's options (one person or a group alike)."""
        return stylize_for_plan(
            self.stylizer,
            photo,
            painting,
            style,
            plan,
            options.harmonize,
            own_painting=own_style(options.style, painting_id, style),
            strength=options.strength,
            keep_colors=options.keep_colors,
            max_size=options.max_size,
            output_scale=options.output_scale,
            abstraction=abstraction,
        )

    def _split(self, photo: np.ndarray) -> tuple[list[np.ndarray], list[PortraitInfo], list[float]]:
        """Every person of a group photo: one crop per detected face (columns split halfway between the
        faces), with the face boxes the planner needs and each face's size relative to the largest."""
        sources = find_people(photo, self.analyser.faces)
        return [s.cut(photo) for s in sources], [s.info for s in sources], [s.size for s in sources]


def _abstraction(
    analysis: PaintingAnalysis, painting: np.ndarray, options: BlendOptions
) -> Abstraction | None:
    """The painting's abstraction, only where the automatic strength will use it: its analysis's (shipped,
    stored or just made), else (an added painting analysed before the estimate existed) estimated now."""
    if options.strength is not None or not options.harmonize.abstraction:
        return None
    return known_or_estimated(analysis.abstraction, painting)


def _style_spec(style: str, painting_id: str | None, known: KnownPainting | None) -> str:
    """`painting` in a bundled gallery painting is that painting's id: its style vector is computed once per
    process (services/stylizer/resolve.py), as the service's stylizer holds it, not again for every blend."""
    bundled = painting_id is not None and known is None and painting_id in gallery.paintings()
    return painting_id if bundled and painting_id is not None and style.strip() == PAINTING_STYLE else style


def _known(painting_id: str | None, known: KnownPainting | None) -> KnownPainting | None:
    if known is not None or not painting_id:
        return known
    return bundled_known(painting_id)

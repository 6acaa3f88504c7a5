"""Several people in one painting: plan each with the single-person planner, one after another.

Pure placement (no models, no Celery): the pipeline and, later, the service's chord share it.

- Planning order: people with an explicit box first (they win, and may overlap anyone when asked), then
  the automatic ones in input order. After each person their estimated face (the photo's face box mapped
  by the plan's scale and origin) joins the painting's faces, so no later person covers it (the planner
  never touches a painted face), and their box joins the painted figures, so later people avoid covering
  them where they can. When a later person's face would still fall inside an earlier person's box, the
  earlier boxes are made hard (as faces) for that person and the plan is redone.
- Relative scale: separate portraits are normalised by head size (every face is matched to the same
  painted head height, or the same default when the painting has no figures). People of one group photo
  keep their face-size ratio: `Person.size` scales the painted head height they are matched to.
- Front and back: `order` lists the people back to front (default: input order, later people in front).
- Every automatic plan finally avoids the painted faces and all the other people's faces, so the
  compositor's final box (from the matte's exact extent) is shrunk if it would touch one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from services.painting.placement import Box, Placement
from services.painting.plan import (
    DEFAULT_FACE_HEIGHT,
    Plan,
    PortraitInfo,
    Spot,
    _reason,
    _search,
    plan_in_box,
    plan_placement,
)
from services.painting.scene import Face, Figure, PaintingAnalysis, Rect
from shared.errors import InvalidParameterError
from shared.limits import MAX_PEOPLE as MAX_PEOPLE  # re-exported: the pipeline and the CLI import it here


@dataclass(frozen=True)
class Person:
    """One person to place: the photo's size and face, an optional explicit box, and their head size
    relative to the group's largest face (1.0 for separate portraits)."""

    info: PortraitInfo
    placement: Placement = field(default_factory=Placement)
    size: float = 1.0


@dataclass(frozen=True)
class GroupPlan:
    plans: list[Plan]  # in the people's order
    faces: list[Rect]  # each person's estimated face box in the painting, in the people's order
    order: list[int]  # back to front: composite in this order


def _rect(box: Box) -> Rect:
    return (box.x, box.y, box.x + box.w, box.y + box.h)


def _intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def placed_face(plan: Plan, info: PortraitInfo) -> Rect:
    """Where the photo's face box lands in the painting under this plan."""
    _, face, _ = info.person()
    (ox, oy), s = plan.origin, plan.scale
    return (
        round(ox + face[0] * s),
        round(oy + face[1] * s),
        round(ox + face[2] * s),
        round(oy + face[3] * s),
    )


def check_order(order: list[int] | None, count: int) -> list[int]:
    if order is None:
        return list(range(count))
    if sorted(order) != list(range(count)):
        raise InvalidParameterError(
            f"order must list each person once (0..{count - 1}, back to front), got {order}", field="order"
        )
    return list(order)


def _sized(analysis: PaintingAnalysis, size: float) -> PaintingAnalysis:
    """The analysis a person of relative head size `size` is planned against."""
    if size == 1.0:
        return analysis
    head = analysis.head_height if analysis.head_height is not None else DEFAULT_FACE_HEIGHT * analysis.height
    source = analysis.head_source if analysis.head_height is not None else "default"
    return replace(
        analysis, head_height=head * size, head_source=f"{source}, x{size:.2f} for the group photo"
    )


def plan_group(
    analysis: PaintingAnalysis,
    people: list[Person],
    *,
    order: list[int] | None = None,
    spots: list[Spot] | None = None,
) -> GroupPlan:
    """Plans for 1..MAX_PEOPLE people in one painting. One automatic person gets exactly the single
    planner's plan."""
    if not 1 <= len(people) <= MAX_PEOPLE:
        raise InvalidParameterError(
            f"1 to {MAX_PEOPLE} people per painting, got {len(people)}", field="portrait"
        )
    back_to_front = check_order(order, len(people))
    sequence = [i for i, p in enumerate(people) if not p.placement.is_auto]
    sequence += [i for i, p in enumerate(people) if p.placement.is_auto]
    plans: dict[int, Plan] = {}
    faces: dict[int, Rect] = {}
    current = analysis
    unit: tuple[float, int] | None = None  # painted face height per unit of `size`, and whose it is
    for i in sequence:
        person = people[i]

        def plan_one(
            against: PaintingAnalysis, person: Person = person, unit: tuple[float, int] | None = unit
        ) -> Plan:
            if unit is None or not person.placement.is_auto:
                return plan_placement(
                    _sized(against, person.size), person.info, person.placement, None, spots
                )
            return _plan_at_size(against, person, unit[0] * person.size, unit[1])

        plan = plan_one(current)
        face = placed_face(plan, person.info)
        earlier = [_rect(plans[j].box) for j in plans]
        if plan.kind == "auto" and any(_intersects(face, box) for box in earlier):
            plan = plan_one(replace(current, faces=[*current.faces, *(Face(box, 1.0) for box in earlier)]))
            face = placed_face(plan, person.info)
        if unit is None and plan.kind == "auto":
            unit = ((face[3] - face[1]) / person.size, i)
        plans[i], faces[i] = plan, face
        box = plan.box
        current = replace(
            current,
            faces=[*current.faces, Face(face, 1.0)],
            figures=[*current.figures, Figure(_rect(box), 1.0, box.y + box.h, float(face[3] - face[1]))],
        )
    painted = [f.box for f in analysis.faces]
    result = []
    for i in range(len(people)):
        plan = plans[i]
        if plan.kind != "explicit":
            others = [faces[j] for j in range(len(people)) if j != i]
            plan = replace(plan, avoid=painted + others)
        result.append(plan)
    return GroupPlan(result, [faces[i] for i in range(len(people))], back_to_front)


def _plan_at_size(analysis: PaintingAnalysis, person: Person, face_height: float, reference: int) -> Plan:
    """An automatic plan whose face is `face_height` painting pixels high (the first placed person's face,
    times the relative size), shrunk only when no place at that size avoids every face: the group keeps
    one scale rather than each person being matched and shrunk on their own."""
    box_person, face, full_body = person.info.person()
    person_h = box_person[3] - box_person[1]
    base = face_height / max(1, face[3] - face[1]) * person_h
    found = _search(analysis, box_person, face, full_body, base)
    if not found:  # faces everywhere: the single planner's fallback
        return plan_placement(analysis, person.info)
    largest = max(c.factor for c in found)
    best = min((c for c in found if c.factor == largest), key=lambda c: c.cost)
    why = f"face matched to person {reference + 1}'s ({face_height:.0f} px)"
    on_ground = full_body and analysis.ground_y is not None
    box = best.box
    return plan_in_box(
        "auto",
        box,
        box_person,
        (analysis.width, analysis.height),
        anchor_y=box.y + box.h,
        avoid=[f.box for f in analysis.faces],
        spot=None,
        reason=_reason(best, why, full_body, on_ground),
        face=person.info.face,
        figures=[f.box for f in analysis.figures],
    )


def split_group(width: int, height: int, faces: list[Rect]) -> list[tuple[Rect, Rect]]:
    """One group photo into one column per person: the boundaries lie halfway between neighbouring face
    centres (a Voronoi split by face columns). Returns (crop in the photo, face in the crop) for each face,
    left to right."""
    ordered = sorted(faces, key=lambda f: (f[0] + f[2]) / 2)
    centres = [(f[0] + f[2]) / 2 for f in ordered]
    cuts = [0] + [round((a + b) / 2) for a, b in itertools.pairwise(centres)] + [width]
    out = []
    for k, face in enumerate(ordered):
        x0, x1 = cuts[k], cuts[k + 1]
        crop = (x0, 0, x1, height)
        out.append((crop, (max(face[0], x0) - x0, face[1], min(face[2], x1) - x0, face[3])))
    return out


def group_sizes(faces: list[Rect]) -> list[float]:
    """Each face's height relative to the largest: people of one photo keep their size ratio."""
    tallest = max(f[3] - f[1] for f in faces)
    return [(f[3] - f[1]) / max(1, tallest) for f in faces]

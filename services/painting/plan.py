"""Where and how large the person goes, decided from cheap inputs both the stylizer and the compositor have.

The chord runs segmentation and stylization in parallel, so the stylizer cannot wait for the matte; yet it
must know the person's placed size (to paint strokes at the painting's scale) and where they stand (to take
the style from the painting around them). Both follow one `Plan`, computed by the stylizer from the
painting's analysis, the portrait's face box and the user's request, and stored with the stylized image;
the compositor reads it back and only refines the box with the matte's exact extent.

Rules, in order: never cover a painted face (a hard rule, also re-checked on the final box); match the
person's face to the painted faces (or a default size when the painting has no figures); stand a bust on
the bottom edge and a full figure on the painted figures' ground line; among the places left, cover as
little salient content and as few painted figures as possible.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from services.painting.placement import Box, Placement, resolve_box
from services.painting.scene import PaintingAnalysis, Rect

# when no painted figure sets the scale: a face of 1/8 of the painting's height (a bust about half of it;
# a close-up's face stays the same size instead of filling the painting), or a full figure of 65 %
DEFAULT_FACE_HEIGHT = 0.125
DEFAULT_FIGURE_HEIGHT = 0.65
MIN_HEIGHT, MAX_HEIGHT = 0.22, 0.85  # the person's box height, as a fraction of the painting's height
SHRINK_STEPS = (1.0, 0.85, 0.7, 0.55, 0.4, 0.3)
SHRINK_COST = 0.45  # drawing the person at 55 % of the matched size costs 0.2: as much as half-salient cover
FIGURE_COST = 0.5
# a place is good enough to stop looking at smaller sizes below this cost, and only if it covers at most
# this share of a painted figure: a full figure at the matched size over a third of a portrait's sitter
# (Aldrin over the Girl with a Pearl Earring's shoulder, 27 %) is cheap by cost alone, yet a smaller one
# in the dark beside her covers none of her
GOOD_COST = 0.35
GOOD_FIGURES = 0.15
EDGE_COST = 0.04
FULL_BODY_BELOW_CHIN = 4.0  # face heights of body below the chin: more means the photo shows the legs
SPOT_COUNT = 3
STYLE_CONTEXT = 1.6  # the style crop around the person, as a multiple of their box's long side
# a standard bust (face 300 px high in a 1000 x 1200 person box) for the portrait-independent spots
STANDARD_PERSON: Rect = (0, 0, 1000, 1200)
STANDARD_FACE: Rect = (330, 150, 670, 450)
# a standard standing figure (a face of 1/9 of the box: about 7.5 heads from the hair to the feet)
STANDARD_FIGURE: Rect = (0, 0, 420, 1200)
STANDARD_FIGURE_FACE: Rect = (155, 30, 265, 163)
# a standing spot only where the painting's scale holds for a whole figure: its face at least this share of
# the face the painted figures ask for (not squeezed into a portrait painting by the height limit)
STANDING_SCALE_KEPT = 0.75
SIDE_MARGIN = 0.4  # the head's centre left of 40 % of the width is "left", right of 60 % "right"


@dataclass(frozen=True)
class PortraitInfo:
    """What the plan needs of the photo: its size and the face detector's box (None: no face found)."""

    width: int
    height: int
    face: Rect | None

    def person(self) -> tuple[Rect, Rect, bool]:
        """(person box, face box, full body?) in photo pixels, estimated from the face alone: from the top
        of the hair to the photo's bottom edge, shoulders about 1.4 face widths either side."""
        if self.face is None:  # a photo of a person with no detectable face: assume a centred bust
            face_h = 0.25 * self.height
            face = (
                round(0.35 * self.width),
                round(0.12 * self.height),
                round(0.65 * self.width),
                round(0.12 * self.height + face_h),
            )
            return (0, 0, self.width, self.height), face, False
        x0, y0, x1, y1 = self.face
        face_h, face_w = y1 - y0, x1 - x0
        full_body = self.height - y1 > FULL_BODY_BELOW_CHIN * face_h
        reach = (1.3 if full_body else 1.5) * face_w
        centre = (x0 + x1) / 2
        person = (
            max(0, round(centre - reach)),
            max(0, round(y0 - 0.35 * face_h)),
            min(self.width, round(centre + reach)),
            self.height,
        )
        return person, self.face, full_body


@dataclass(frozen=True)
class Spot:
    """A suggested place: its box (of a standard bust, or of a standard standing figure), the face height
    and head position it implies, and why. `kind` is "bust" (on the bottom edge) or "standing" (a whole
    figure on the ground, at the painted figures' scale); `side` where the head is: left, centre or right
    (older stored analyses have neither: a bust, side unknown)."""

    x: int
    y: int
    width: int
    height: int
    face_height: float
    head_centre_x: int
    bottom: int
    reason: str
    kind: str = "bust"
    side: str = ""


@dataclass(frozen=True)
class Plan:
    """The placement every stage follows. `scale` maps photo pixels to painting pixels; `origin` is where
    the photo's top-left lands (auto and spot plans); `box` is the expected person box."""

    kind: str  # "auto", "spot" or "explicit"
    scale: float
    origin: tuple[float, float]
    box: Box
    anchor_y: int | None  # painting row the person's lowest pixel stands on (auto and spot)
    avoid: list[Rect]  # painted faces: the final box must not touch them
    style_region: Rect
    spot: int | None
    reason: str
    face: Rect | None = None  # the portrait's detected face (photo pixels): the compositor keeps it lit
    # painted figures' bodies: the compositor keeps the person's real outline (raised hands, arms wider
    # than the face-based estimate) off them as far as the plan's own box was
    figures: list[Rect] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            kind=data["kind"],
            scale=float(data["scale"]),
            origin=(float(data["origin"][0]), float(data["origin"][1])),
            box=Box(**data["box"]),
            anchor_y=data["anchor_y"],
            avoid=[tuple(r) for r in data["avoid"]],
            style_region=tuple(data["style_region"]),
            spot=data["spot"],
            reason=data["reason"],
            face=None if data.get("face") is None else tuple(data["face"]),
            figures=[tuple(r) for r in data.get("figures", [])],
        )


@dataclass(frozen=True)
class _Candidate:
    box: Box
    cost: float
    factor: float
    saliency: float
    figures: float


def _intersects(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _box_rect(box: Box) -> Rect:
    return (box.x, box.y, box.x + box.w, box.y + box.h)


class _Scorer:
    """Mean saliency under the person's head and body, through a summed-area table of the saliency grid."""

    def __init__(self, analysis: PaintingAnalysis) -> None:
        self.analysis = analysis
        grid = analysis.saliency.astype(np.float64)
        self.grid_h, self.grid_w = grid.shape
        self.table = np.pad(grid.cumsum(0).cumsum(1), ((1, 0), (1, 0)))

    def mean(self, rect: Rect) -> float:
        a = self.analysis  # plain min/max on ints: np.clip on scalars cost most of the plan's search
        gx0 = _within(rect[0] * self.grid_w // a.width, 0, self.grid_w - 1)
        gy0 = _within(rect[1] * self.grid_h // a.height, 0, self.grid_h - 1)
        gx1 = _within(-(-rect[2] * self.grid_w // a.width), gx0 + 1, self.grid_w)
        gy1 = _within(-(-rect[3] * self.grid_h // a.height), gy0 + 1, self.grid_h)
        t = self.table
        total = t[gy1, gx1] - t[gy0, gx1] - t[gy1, gx0] + t[gy0, gx0]
        return float(total) / ((gx1 - gx0) * (gy1 - gy0))

    def figures_covered(self, rect: Rect) -> float:
        return _figure_cover(rect, [figure.box for figure in self.analysis.figures])


def _within(value: float, low: int, high: int) -> int:
    """int(np.clip(value, low, high)) for low <= high, without numpy's cost on a scalar."""
    return int(max(low, min(value, high)))


def _person_parts(box: Box, person: Rect, face: Rect) -> tuple[Rect, Rect]:
    """The head and body rectangles of a person placed in `box` (person/face in photo pixels)."""
    scale = box.h / max(1, person[3] - person[1])
    fx0 = box.x + (face[0] - person[0]) * scale
    fx1 = box.x + (face[2] - person[0]) * scale
    fy1 = box.y + (face[3] - person[1]) * scale
    head = (round(fx0), box.y, round(fx1), round(fy1))
    body = (box.x, round(fy1), box.x + box.w, box.y + box.h)
    return head, body


def _search(
    analysis: PaintingAnalysis, person: Rect, face: Rect, full_body: bool, base_height: float
) -> list[_Candidate]:
    """Every allowed position along the anchor line at each shrink step, cheapest first."""
    scorer = _Scorer(analysis)
    width, height = analysis.width, analysis.height
    aspect = (person[2] - person[0]) / max(1, person[3] - person[1])
    ground = analysis.ground_y if full_body and analysis.ground_y is not None else height
    candidates = []
    for factor in SHRINK_STEPS:
        h = max(round(base_height * factor), round(MIN_HEIGHT * height * 0.5))
        h = min(h, ground)
        w = max(1, round(h * aspect))
        if w > width:
            w, h = width, max(1, round(width / aspect))
        y = ground - h
        step = max(1, w // 10)
        for x in range(0, width - w + 1, step):
            box = Box(x, y, w, h)
            rect = _box_rect(box)
            if any(_intersects(rect, f.box) for f in analysis.faces):
                continue
            head, body = _person_parts(box, person, face)
            salient = 0.6 * scorer.mean(head) + 0.4 * scorer.mean(body)
            figures = scorer.figures_covered(rect)
            edge = EDGE_COST if x == 0 or x + w == width else 0.0
            cost = salient + FIGURE_COST * figures + SHRINK_COST * (1.0 - factor) + edge
            candidates.append(_Candidate(box, cost, factor, salient, figures))
        best = min(candidates, key=lambda c: c.cost) if candidates else None
        if best is not None and factor >= 0.7 and best.cost < GOOD_COST and best.figures <= GOOD_FIGURES:
            break  # a good place at (nearly) the matched size: no need to look at smaller people
    return sorted(candidates, key=lambda c: c.cost)


def _wanted_height(analysis: PaintingAnalysis, person: Rect, face: Rect, full_body: bool) -> float:
    """The person's box height that matches the painted faces (or the default size), before any limit."""
    person_h = person[3] - person[1]
    if analysis.head_height is not None:
        return analysis.head_height / max(1, face[3] - face[1]) * person_h
    if full_body:
        return DEFAULT_FIGURE_HEIGHT * analysis.height
    return DEFAULT_FACE_HEIGHT * analysis.height / max(1, face[3] - face[1]) * person_h


def _base_height(analysis: PaintingAnalysis, person: Rect, face: Rect, full_body: bool) -> tuple[float, str]:
    """The person's box height before any shrinking, and why."""
    height = analysis.height
    wanted = _wanted_height(analysis, person, face, full_body)
    if analysis.head_height is not None:
        why = f"face matched to the painted {analysis.head_source} ({analysis.head_height:.0f} px)"
    else:
        why = "no painted figures: default size"
    clamped = float(np.clip(wanted, MIN_HEIGHT * height, MAX_HEIGHT * height))
    if clamped != wanted:
        why += f", limited to {clamped / height:.0%} of the painting's height"
    return clamped, why


def _reason(candidate: _Candidate, base_why: str, full_body: bool, on_ground: bool) -> str:
    stand = (
        "feet on the painted figures' ground line"
        if on_ground
        else ("standing on the bottom edge" if full_body else "bust on the bottom edge")
    )
    parts = [base_why, stand, f"covers saliency {candidate.saliency:.2f}"]
    if candidate.figures > 0:
        parts.append(f"{candidate.figures:.0%} of a painted figure")
    if candidate.factor < 1.0:
        parts.append(f"shrunk to {candidate.factor:.0%} to avoid faces and content")
    return "; ".join(parts)


def _style_region(box: Box, width: int, height: int) -> Rect:
    """A square around the person's box, STYLE_CONTEXT times its long side, kept on the canvas."""
    side = min(round(STYLE_CONTEXT * max(box.w, box.h)), width, height)
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    x0 = int(np.clip(round(cx - side / 2), 0, width - side))
    y0 = int(np.clip(round(cy - side / 2), 0, height - side))
    return (x0, y0, x0 + side, y0 + side)


def plan_in_box(
    kind: str,
    box: Box,
    person: Rect,
    size: tuple[int, int],
    *,
    anchor_y: int | None,
    avoid: list[Rect],
    spot: int | None,
    reason: str,
    face: Rect | None,
    figures: list[Rect] | None = None,
) -> Plan:
    """The plan that puts the photo's `person` rectangle exactly on `box` in a painting of `size`: every
    kind of plan (explicit, spot, automatic, a group's) ends here, so scale and origin are made one way."""
    scale = box.h / (person[3] - person[1])
    origin = (box.x - person[0] * scale, box.y - person[1] * scale)
    region = _style_region(box, *size)
    return Plan(kind, scale, origin, box, anchor_y, avoid, region, spot, reason, face, figures or [])


def _side(centre_x: float, width: int) -> str:
    return (
        "left"
        if centre_x < SIDE_MARGIN * width
        else "right"
        if centre_x > (1 - SIDE_MARGIN) * width
        else "centre"
    )


def _spot(candidate: _Candidate, person: Rect, face: Rect, width: int, kind: str, reason: str) -> Spot:
    box = candidate.box
    scale = box.h / (person[3] - person[1])
    head_x = round(box.x + (face[0] + face[2]) / 2 * scale)
    return Spot(
        x=box.x,
        y=box.y,
        width=box.w,
        height=box.h,
        face_height=round((face[3] - face[1]) * scale, 1),
        head_centre_x=head_x,
        bottom=box.y + box.h,
        reason=reason,
        kind=kind,
        side=_side(head_x, width),
    )


def _standing_spot(analysis: PaintingAnalysis, avoid: list[Box]) -> Spot | None:
    """The best place for a standard whole figure on the ground (the painted figures' ground line, else the
    bottom edge), when the painting's scale leaves room for one; None where it does not."""
    person, face = STANDARD_FIGURE, STANDARD_FIGURE_FACE
    base, why = _base_height(analysis, person, face, True)
    wanted = _wanted_height(analysis, person, face, True)
    if base < STANDING_SCALE_KEPT * wanted:
        return None  # a whole figure would need a smaller face than the painted ones: no standing place
    on_ground = analysis.ground_y is not None
    for candidate in _search(analysis, person, face, True, base):
        if candidate.factor < 1.0 or any(_overlap_fraction(candidate.box, other) > 0.35 for other in avoid):
            continue
        return _spot(
            candidate, person, face, analysis.width, "standing", _reason(candidate, why, True, on_ground)
        )
    return None


def suggest_spots(analysis: PaintingAnalysis, count: int = SPOT_COUNT) -> list[Spot]:
    """Up to `count` well-separated places of different kinds, best first: the best bust, the best bust on
    the other side of the painting, a standing place in the scene (where a whole figure fits at the painted
    figures' scale), then the next best busts. Different kinds, not three versions of one corner."""
    person, face = STANDARD_PERSON, STANDARD_FACE
    base, why = _base_height(analysis, person, face, False)
    busts = _search(analysis, person, face, False, base)
    spots: list[Spot] = []
    chosen: list[Box] = []

    def take(candidate: _Candidate) -> None:
        chosen.append(candidate.box)
        spots.append(
            _spot(candidate, person, face, analysis.width, "bust", _reason(candidate, why, False, False))
        )

    def free(candidate: _Candidate) -> bool:
        return not any(_overlap_fraction(candidate.box, other) > 0.35 for other in chosen)

    if busts:
        take(busts[0])
        first_side = spots[0].side
        for candidate in busts[1:]:
            head_x = _spot(candidate, person, face, analysis.width, "bust", "").head_centre_x
            if free(candidate) and _side(head_x, analysis.width) not in (first_side, "centre"):
                take(candidate)
                break
    if len(spots) < count:
        standing = _standing_spot(analysis, chosen)
        if standing is not None:
            spots.append(standing)
            chosen.append(Box(standing.x, standing.y, standing.width, standing.height))
    for candidate in busts:
        if len(spots) >= count:
            break
        if free(candidate):
            take(candidate)
    return spots[:count]


def _overlap_fraction(a: Box, b: Box) -> float:
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy / max(1, min(a.w * a.h, b.w * b.h))


def plan_placement(
    analysis: PaintingAnalysis,
    portrait: PortraitInfo,
    placement: Placement | None = None,
    spot: int | None = None,
    spots: list[Spot] | None = None,
) -> Plan:
    """The plan for this portrait in this painting: explicit x/y/height win, then a chosen spot, else the
    best automatic place."""
    placement = placement or Placement()
    width, height = analysis.width, analysis.height
    person, face, full_body = portrait.person()
    person_w, person_h = person[2] - person[0], person[3] - person[1]
    avoid = [f.box for f in analysis.faces]
    if not placement.is_auto:
        box = resolve_box(placement, person_w, person_h, width, height)
        return plan_in_box(
            "explicit",
            box,
            person,
            (width, height),
            anchor_y=None,
            avoid=[],
            spot=None,
            reason="as asked",
            face=portrait.face,
        )
    if spot is not None:
        options = spots if spots is not None else suggest_spots(analysis)
        if not 0 <= spot < len(options):
            from shared.errors import InvalidParameterError

            raise InvalidParameterError(
                f"spot must be 0..{len(options) - 1} (GET /v1/paintings/{{id}} lists them), got {spot}",
                field="spot",
            )
        chosen = options[spot]
        scale = chosen.face_height / max(1, face[3] - face[1])
        h = min(round(person_h * scale), chosen.bottom)
        scale = h / person_h
        w = max(1, round(person_w * scale))
        x = round(chosen.head_centre_x - ((face[0] + face[2]) / 2 - person[0]) * scale)
        x = int(np.clip(x, 0, max(0, width - w)))
        bottom = chosen.bottom  # a bust photo in a standing place stands there too: grounded, never afloat
        box = Box(x, bottom - h, w, h)
        return plan_in_box(
            "spot",
            box,
            person,
            (width, height),
            anchor_y=bottom,
            avoid=avoid,
            spot=spot,
            reason=f"suggested spot {spot}: {chosen.reason}",
            face=portrait.face,
            figures=[f.box for f in analysis.figures],
        )
    base, why = _base_height(analysis, person, face, full_body)
    found = _search(analysis, person, face, full_body, base)
    on_ground = full_body and analysis.ground_y is not None
    if found:
        best = found[0]
        reason = _reason(best, why, full_body, on_ground)
    else:  # faces everywhere along the anchor line: the smallest person in the least salient place
        best = _fallback(analysis, person, face, full_body)
        reason = "no place avoids every painted face: the smallest person in the calmest place"
    box = best.box
    return plan_in_box(
        "auto",
        box,
        person,
        (width, height),
        anchor_y=box.y + box.h,
        avoid=avoid,
        spot=None,
        reason=reason,
        face=portrait.face,
        figures=[f.box for f in analysis.figures],
    )


def _fallback(analysis: PaintingAnalysis, person: Rect, face: Rect, full_body: bool) -> _Candidate:
    stripped = PaintingAnalysis(
        analysis.width,
        analysis.height,
        [],
        analysis.figures,
        None,
        "none",
        analysis.ground_y,
        analysis.saliency,
    )
    return _search(stripped, person, face, full_body, MIN_HEIGHT * analysis.height)[0]


def final_box(plan: Plan, person: Rect, painting_w: int, painting_h: int) -> Box:
    """The box of an auto or spot plan for the person's exact extent in photo pixels (from the matte):
    same scale, standing on the plan's anchor row, shrunk about its feet if it would touch a face, and
    moved sideways (at most half its width) if its real outline covers painted figures more than the
    plan's estimate did (a raised hand, arms wider than the face-based guess)."""
    scale = plan.scale
    x = round(plan.origin[0] + person[0] * scale)
    w = max(1, round((person[2] - person[0]) * scale))
    h = max(1, round((person[3] - person[1]) * scale))
    bottom = plan.anchor_y if plan.anchor_y is not None else round(plan.origin[1] + person[3] * scale)
    box = Box(x, bottom - h, w, h)
    while any(_intersects(_box_rect(box), rect) for rect in plan.avoid) and box.h > 8:
        w, h = max(1, round(box.w * 0.95)), max(1, round(box.h * 0.95))
        box = Box(box.x + (box.w - w) // 2, bottom - h, w, h)
    return _clear_of_figures(_inside_the_frame(box, plan, painting_w), plan, painting_w)


def _inside_the_frame(box: Box, plan: Plan, painting_w: int) -> Box:
    """A person wider than the plan guessed (a full figure's arms, a backpack) who would now be cut by the
    frame's side is moved back inside it, where that touches no painted face; a plan that chose to stand
    at the edge (its own box cut) is left as it is."""
    planned = plan.box
    if box.w > painting_w or (planned.x < 0 or planned.x + planned.w > painting_w):
        return box
    x = min(max(box.x, 0), painting_w - box.w)
    if x == box.x:
        return box
    moved = Box(x, box.y, box.w, box.h)
    return box if any(_intersects(_box_rect(moved), r) for r in plan.avoid) else moved


FIGURE_SLACK = 0.02  # covering this much more of a figure than planned is not worth moving for


def _figure_cover(rect: Rect, figures: list[Rect]) -> float:
    """The largest share of any one figure's box that `rect` covers."""
    worst = 0.0
    for f in figures:
        ix = max(0, min(rect[2], f[2]) - max(rect[0], f[0]))
        iy = max(0, min(rect[3], f[3]) - max(rect[1], f[1]))
        worst = max(worst, ix * iy / max(1, (f[2] - f[0]) * (f[3] - f[1])))
    return worst


def _clear_of_figures(box: Box, plan: Plan, painting_w: int) -> Box:
    """The nearest sideways shift of `box` (on the canvas, off every face) that covers painted figures no
    more than the plan's box did; `box` itself when it already does or no shift within half its width
    does."""
    allowed = _figure_cover(_box_rect(plan.box), plan.figures) + FIGURE_SLACK
    if not plan.figures or _figure_cover(_box_rect(box), plan.figures) <= allowed:
        return box
    step = max(1, box.w // 20)
    for dx in sorted(range(-(box.w // 2), box.w // 2 + 1, step), key=abs):
        x = box.x + dx
        if x < 0 or x + box.w > painting_w:
            continue
        moved = Box(x, box.y, box.w, box.h)
        rect = _box_rect(moved)
        if not any(_intersects(rect, r) for r in plan.avoid) and _figure_cover(rect, plan.figures) <= allowed:
            return moved
    return box

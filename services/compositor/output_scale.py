"""A result larger than the painting (up to 2x): the painting is enlarged, the person is painted at that size.

The painting is a fixed bitmap, so a bigger picture can only enlarge it; the person, though, is stylized at
the size they have in the bigger picture (the plan's scale times the output scale), so they come out as
sharp as their photo allows, with strokes at the enlarged painting's scale, instead of an enlarged 1x
cut-out. What the user gives (x, y, height, a spot) stays in the painting's own pixels, the unit the gallery
and the editor show; the plan is made at 1x and mapped to the output here, once, for the compositor.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from services.painting.placement import Box, Placement
from services.painting.plan import Plan
from services.painting.scene import Rect
from shared.limits import output_size


def enlarge_painting(painting: np.ndarray, scale: float) -> np.ndarray:
    """The painting at the output size (Lanczos); itself when the scale is 1."""
    height, width = painting.shape[:2]
    size = output_size(width, height, scale)
    if size == (width, height):
        return painting
    return cv2.resize(painting, size, interpolation=cv2.INTER_LANCZOS4)


def scale_placement(placement: Placement, scale: float) -> Placement:
    """The user's box (painting pixels) in output pixels."""

    def mapped(value: int | None) -> int | None:
        return None if value is None else round(value * scale)

    height = mapped(placement.height)
    return Placement(mapped(placement.x), mapped(placement.y), None if height is None else max(1, height))


def scale_plan(plan: Plan, scale: float) -> Plan:
    """The plan in output pixels: the same place and size, relative to the enlarged painting."""
    if scale == 1.0:
        return plan

    def rect(r: Rect) -> Rect:
        return (round(r[0] * scale), round(r[1] * scale), round(r[2] * scale), round(r[3] * scale))

    box = plan.box
    return replace(
        plan,
        scale=plan.scale * scale,
        origin=(plan.origin[0] * scale, plan.origin[1] * scale),
        box=Box(
            round(box.x * scale),
            round(box.y * scale),
            max(1, round(box.w * scale)),
            max(1, round(box.h * scale)),
        ),
        anchor_y=None if plan.anchor_y is None else round(plan.anchor_y * scale),
        avoid=[rect(r) for r in plan.avoid],
        style_region=rect(plan.style_region),
        figures=[rect(r) for r in plan.figures],
    )


def at_output_scale(
    painting: np.ndarray, placement: Placement, plan: Plan, scale: float
) -> tuple[np.ndarray, Placement, Plan]:
    """One person's painting, wish and plan, all in the output's pixels."""
    return enlarge_painting(painting, scale), scale_placement(placement, scale), scale_plan(plan, scale)

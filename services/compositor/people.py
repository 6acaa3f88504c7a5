"""Several people into one painting: each composited onto the original painting, then laid back to front.

Each person's tone step samples the original painting around their box, not the people already placed, so
a person looks the same whatever the order; the pixels outside every person's box stay the painting's, bit
for bit (each layer changes only its own box). The in-process pipeline and the composite task share this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.compositor.blend import Composite, composite
from services.compositor.output_scale import enlarge_painting, scale_placement, scale_plan
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement
from services.painting.plan import Plan


@dataclass(frozen=True)
class Layer:
    """One person, ready to composite: their stylized photo, its matte, the user's wish and their plan."""

    stylized: np.ndarray
    matte: np.ndarray
    placement: Placement
    plan: Plan
    builtin_style: bool = False  # painted in a built-in style (the skin rule, services/painting/skin.py)


def composite_people(
    painting: np.ndarray,
    layers: Sequence[Layer],
    order: Sequence[int],
    harmonize: Harmonize,
    output_scale: float = 1.0,
) -> tuple[np.ndarray, list[Box]]:
    """The painting with everyone in it, and each person's final box (in the people's order, not the
    compositing order; in the result's pixels). `order`: back to front, each person once. `output_scale`:
    the result is that many times the painting's size (services/compositor/output_scale.py)."""
    boxes: dict[int, Box] = {}
    painting = enlarge_painting(painting, output_scale)
    image = painting
    for i in order:
        layer = layers[i]
        placed = composite(
            painting,
            layer.stylized,
            layer.matte,
            scale_placement(layer.placement, output_scale),
            plan=scale_plan(layer.plan, output_scale),
            harmonize=harmonize,
            builtin_style=layer.builtin_style,
        )
        boxes[i] = placed.box
        image = placed.image if image is painting else over(image, placed)  # image: our own copy
    return image, [boxes[i] for i in range(len(layers))]


OVER_ROWS = 256  # the layer is laid a band of rows at a time: its float copy is a band's, not the box's


def over(image: np.ndarray, layer: Composite) -> np.ndarray:
    """`layer` (composited onto the original painting) laid over `image`, in place (the caller's own
    copy): its cut-out, by its alpha."""
    visible = layer.box.clip(image.shape[1], image.shape[0])
    cols = slice(visible.x, visible.x + visible.w)
    for top in range(0, visible.h, OVER_ROWS):
        rows = slice(visible.y + top, visible.y + min(top + OVER_ROWS, visible.h))
        rgba = layer.cutout[top : top + OVER_ROWS].astype(np.float32)
        alpha = rgba[..., 3:] / 255.0
        under = image[rows, cols].astype(np.float32)
        image[rows, cols] = np.clip(np.rint(under + alpha * (rgba[..., :3] - under)), 0, 255).astype(np.uint8)
    return image

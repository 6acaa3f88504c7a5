"""Where the person goes on the painting: user placement in, a concrete box in painting pixels out.

Every field of a `Placement` is optional and each missing one takes its automatic value, so a user can
pin just what they care about:

- height missing: AUTO_HEIGHT of the painting height, shrunk so the person is never wider than the painting;
- x missing: centred horizontally;
- y missing: standing on the bottom edge.

All three missing is the full automatic placement, which therefore always lies on the canvas. Explicit
boxes may hang partly off the canvas (the compositor clips them), but a box that misses the canvas
entirely, or is absurdly larger than it, is refused: it can only be a mistake and would show no person.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from shared.errors import InvalidParameterError
from shared.limits import check_box_bounds

AUTO_HEIGHT = 0.6


@dataclass(frozen=True)
class Box:
    """A rectangle in painting pixels: top-left (x, y), width w, height h; may extend past the canvas."""

    x: int
    y: int
    w: int
    h: int

    def clip(self, width: int, height: int) -> Box:
        """The part of this box inside a width x height canvas (w or h is 0 when they do not overlap)."""
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + self.w, width), min(self.y + self.h, height)
        return Box(x0, y0, max(x1 - x0, 0), max(y1 - y0, 0))


@dataclass(frozen=True)
class Placement:
    """The user's wish: top-left x, y and height of the person in painting pixels; None means automatic."""

    x: int | None = None
    y: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        if self.height is not None and self.height <= 0:
            raise InvalidParameterError(
                f"height must be a positive number of pixels, got {self.height}", field="height"
            )

    @property
    def is_auto(self) -> bool:
        return self.x is None and self.y is None and self.height is None

    @classmethod
    def parse(
        cls,
        x: object = None,
        y: object = None,
        height: object = None,
        auto: bool = False,
    ) -> Placement:
        """Build from loose input (CLI, form fields): ints or integer strings; None or "" means automatic."""
        values = {"x": _as_int(x, "x"), "y": _as_int(y, "y"), "height": _as_int(height, "height")}
        if auto and any(value is not None for value in values.values()):
            raise InvalidParameterError("auto placement cannot be combined with x, y or height", field="auto")
        return cls(**values)


def _as_int(value: object, name: str) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a whole number of pixels, got {value!r}", field=name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, numbers.Integral):  # int, and numpy's integers
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InvalidParameterError(f"{name} must be a whole number of pixels, got {value!r}", field=name)


def resolve_box(placement: Placement, person_w: int, person_h: int, painting_w: int, painting_h: int) -> Box:
    """Turn a placement into a box; the width follows the person's aspect ratio (at least 1 pixel)."""
    if min(person_w, person_h, painting_w, painting_h) <= 0:
        raise ValueError("person and painting sizes must be positive")
    aspect = person_w / person_h
    if placement.height is None:
        h = min(round(AUTO_HEIGHT * painting_h), int(painting_w / aspect))
    else:
        h = placement.height
        check_box_bounds(None, None, h, painting_w, painting_h)
    h = max(h, 1)
    w = max(round(h * aspect), 1)
    if placement.height is None:
        w = min(w, painting_w)  # only a person wider than painting_w:1 needs this, at 1 pixel high
    x = (painting_w - w) // 2 if placement.x is None else placement.x
    y = painting_h - h if placement.y is None else placement.y
    box = Box(x, y, w, h)
    visible = box.clip(painting_w, painting_h)
    if visible.w == 0 or visible.h == 0:
        field = "x" if visible.w == 0 else "y"
        raise InvalidParameterError(
            f"the person's box (x={x}, y={y}, {w}x{h}) lies entirely outside the "
            f"{painting_w}x{painting_h} painting",
            field=field,
        )
    return box

"""Bounds on the person's box, checked by the gateway before anything is queued and by the compositor."""

from __future__ import annotations

from shared.errors import InvalidParameterError

MAX_HEIGHT_FACTOR = 4  # a person taller than 4 paintings is a typo, and would cost memory for nothing


def check_box_bounds(
    x: int | None, y: int | None, height: int | None, painting_w: int, painting_h: int
) -> None:
    """Refuse what can only be a mistake: a height over MAX_HEIGHT_FACTOR paintings, or a top-left corner
    right of or below the canvas, or further left or above it than the tallest allowed person is wide."""
    if height is not None and height > MAX_HEIGHT_FACTOR * painting_h:
        raise InvalidParameterError(
            f"height {_short(height)} is more than {MAX_HEIGHT_FACTOR} times the painting's height "
            f"({painting_h})",
            field="height",
        )
    reach = MAX_HEIGHT_FACTOR * max(painting_w, painting_h) * 4  # the widest person of the tallest height
    for name, value, span in (("x", x, painting_w), ("y", y, painting_h)):
        if value is not None and not -reach < value < span:
            raise InvalidParameterError(
                f"{name}={_short(value)} puts the person's box outside the "
                f"{painting_w}x{painting_h} painting",
                field=name,
            )


def _short(value: int) -> str:
    """The number, or its length when quoting it would flood the error message."""
    text = str(value)
    return text if len(text) <= 12 else f"<a {len(text)}-digit number>"

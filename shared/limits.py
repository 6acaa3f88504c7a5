"""Bounds on the person's box and on the people per painting, checked by the gateway before anything is
queued and by the workers."""

from __future__ import annotations

from shared.errors import InvalidParameterError

MAX_HEIGHT_FACTOR = 4  # a person taller than 4 paintings is a typo, and would cost memory for nothing
MAX_PEOPLE = 6  # people in one painting (separate portraits, or found in group photos)


def check_box_bounds(
    x: int | None,
    y: int | None,
    height: int | None,
    painting_w: int,
    painting_h: int,
    *,
    suffix: str = "",
) -> None:
    """Refuse what can only be a mistake: a height over MAX_HEIGHT_FACTOR paintings, or a top-left corner
    right of or below the canvas, or further left or above it than the tallest allowed person is wide.
    `suffix` names one person's fields (`.2`: x.2, y.2, height.2)."""
    if height is not None and height > MAX_HEIGHT_FACTOR * painting_h:
        raise InvalidParameterError(
            f"height{suffix} {_short(height)} is more than {MAX_HEIGHT_FACTOR} times the painting's height "
            f"({painting_h})",
            field=f"height{suffix}",
        )
    reach = MAX_HEIGHT_FACTOR * max(painting_w, painting_h) * 4  # the widest person of the tallest height
    for name, value, span in ((f"x{suffix}", x, painting_w), (f"y{suffix}", y, painting_h)):
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

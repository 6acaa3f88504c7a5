"""Bounds on the person's box, the people per painting and the result's size, checked by the gateway before
anything is queued and by the workers."""

from __future__ import annotations

import math

from shared.errors import InvalidParameterError

MAX_HEIGHT_FACTOR = 4  # a person taller than 4 paintings is a typo, and would cost memory for nothing
MIN_OUTPUT_SCALE = 1.0
MAX_OUTPUT_SCALE = 2.0  # the result up to twice the painting's size (services/compositor/output_scale.py)
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


def check_output_scale(value: object) -> float:
    """The scale as a float in MIN..MAX_OUTPUT_SCALE, or InvalidParameterError naming `output_scale`."""
    try:
        scale = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        scale = math.nan
    if isinstance(value, bool) or not MIN_OUTPUT_SCALE <= scale <= MAX_OUTPUT_SCALE:
        raise InvalidParameterError(
            f"output_scale must be a number from {MIN_OUTPUT_SCALE:g} to {MAX_OUTPUT_SCALE:g} "
            f"(times the painting's size), got {value!r}",
            field="output_scale",
        )
    return scale


def output_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The result's width and height for a painting of width x height."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def check_output_pixels(width: int, height: int, scale: float, max_pixels: int) -> None:
    """Refuse a scale whose result would be larger than the pixel limit every image obeys."""
    out_w, out_h = output_size(width, height, scale)
    if out_w * out_h > max_pixels:
        largest = math.floor(100 * math.sqrt(max_pixels / (width * height))) / 100
        raise InvalidParameterError(
            f"output_scale {scale:g} would make a {out_w}x{out_h} picture, more than the {max_pixels}-pixel "
            f"limit; choose a smaller output_scale (up to {largest:g})",
            field="output_scale",
        )


BAND_PIXELS = 2_000_000  # the compositor places a larger visible part a band of rows at a time (~100 B/px)
MIN_BAND_ROWS = 256  # each band also reads the feather's margin above and below it: keep that a small share
PHOTO_SIDE = 4096  # the long side a person's photo is decoded at by every worker: the stylizer's largest
# output (services/stylizer/stylizer.py MAX_MAX_SIZE), so a larger photo only costs memory


def working_size(width: int, height: int, long_side: int = PHOTO_SIDE) -> tuple[int, int]:
    """The (width, height) a width x height picture is worked at: itself, or shrunk to `long_side`. One
    rule, so the gateway's budget and every worker that decodes the photo agree on its pixels."""
    if max(width, height) <= long_side:
        return width, height
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))

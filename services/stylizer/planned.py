"""Stylize the portrait for its placement plan: the one rule the CLI pipeline and the stylize task share.

When the style is the target painting's own, it is taken from the painting around the place the person
will stand (mixed with the whole painting), and the person is painted at the size they will be placed, so
strokes come out at the painting's scale and nothing is enlarged afterwards (in a painting larger than
BRUSHWORK_SIDE, at the size they would have in it at that side, enlarged with it).
"""

from __future__ import annotations

import cv2
import numpy as np

from services.painting.abstraction import Abstraction
from services.painting.features import keep_face_features
from services.painting.light import keep_face_light, scale_rect
from services.painting.options import Harmonize
from services.painting.plan import Plan
from services.painting.skin import keep_skin_colour, skin_colour_kept, skin_weight
from services.stylizer.painterly import painterly
from services.stylizer.styles import BuiltinStyle, ImageStyle
from services.stylizer.stylizer import MAX_MAX_SIZE, Stylizer, check_max_size
from services.stylizer.trained import TrainedStyle
from shared.queues import CUSTOM_STYLE, PAINTING_STYLE

# The painting's long side (at 1x) up to which the person is painted at exactly the size they are placed.
# The look was judged on paintings up to ~1500 px (the gallery's largest is 1478); in a larger picture of a
# painting its brushstrokes are as many times wider in pixels, so the person is painted at the size they
# would have in the painting seen at this side and enlarged with it: their strokes keep their size next to
# the painting's, and a 4500 px painting costs the network no more than a 1600 px one.
BRUSHWORK_SIDE = 1600


def stylize_for_plan(
    stylizer: Stylizer,
    portrait: np.ndarray,
    painting: np.ndarray,
    style: BuiltinStyle | ImageStyle | TrainedStyle,
    plan: Plan,
    steps: Harmonize,
    *,
    own_painting: bool,
    strength: float | None,
    keep_colors: bool,
    max_size: int,
    output_scale: float = 1.0,
    abstraction: Abstraction | None = None,
) -> np.ndarray:
    """`own_painting`: the style is the target painting itself (its id, `painting` or `custom`);
    `output_scale`: the result is that many times the painting's size (services/compositor/output_scale.py),
    so the person is painted that much larger, and the cap `max_size` (given for 1x) grows with it: a 2x
    result is not a 1x person enlarged. `plan` is in the painting's own pixels. `strength` None: automatic,
    the full style mixed by the painting's `abstraction` (services/stylizer/painterly.py) when the style is
    the painting's own; a number is the user's and is used as it is."""
    auto = strength is None
    strength = 1.0 if strength is None else strength
    cap = min(MAX_MAX_SIZE, round(check_max_size(max_size) * output_scale))
    brushwork = brushwork_scale(painting)
    if steps.local_style and own_painting and isinstance(style, ImageStyle):
        style = stylizer.local_style(painting, plan.style_region, style.vector)
    elif steps.local_style and own_painting and isinstance(style, TrainedStyle):
        style = local_trained(stylizer, painting, plan.style_region, style)
    stylized = stylizer.stylize(
        portrait,
        style,
        strength=strength,
        keep_colors=keep_colors,
        max_size=cap,
        scale=plan.scale * output_scale * brushwork if steps.placed_size else None,
    )
    builtin = isinstance(style, BuiltinStyle)
    photo = _AtPaintedSize(portrait, stylized.shape[:2])
    person = person_in(plan, portrait, stylized)
    painted_by_abstraction = auto and steps.abstraction and own_painting and abstraction is not None
    if painted_by_abstraction and abstraction is not None and not builtin:
        around = surroundings(painting, plan, output_scale * brushwork)
        stylized = painterly(photo.rgb, stylized, around, abstraction, person)
    # the skin rule (services/painting/skin.py); with keep_colors or at strength 0 the skin already has the
    # photo's own chroma, so there is nothing to give back
    if skin_colour_kept(steps, builtin_style=builtin) and not keep_colors and strength > 0:
        stylized = keep_skin_colour(stylized, photo.rgb, skin=photo.skin)
    if steps.light and plan.face is not None and strength > 0 and not builtin:
        stylized = _keep_face_light(photo, stylized, photo.face(plan.face), person)
    if steps.features and plan.face is not None and strength > 0 and not builtin:
        stylized = _keep_face_features(photo, stylized, photo.face(plan.face))
    return stylized


def brushwork_scale(painting: np.ndarray) -> float:
    """How much smaller than placed the person is painted: 1 up to BRUSHWORK_SIDE, then the painting's
    own excess (a 4800 px painting: a third)."""
    return min(1.0, BRUSHWORK_SIDE / max(painting.shape[:2]))


def surroundings(painting: np.ndarray, plan: Plan, scale: float = 1.0) -> np.ndarray:
    """The painting around the place (the plan's style region) at the pixel scale the person is painted
    (`scale`: the output's scale times brushwork_scale)."""
    x0, y0, x1, y1 = plan.style_region
    region = np.ascontiguousarray(painting[y0:y1, x0:x1])
    if scale == 1.0 or min(region.shape[:2]) < 2:
        return region
    size = (max(2, round(region.shape[1] * scale)), max(2, round(region.shape[0] * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LANCZOS4
    return cv2.resize(region, size, interpolation=interpolation)


def person_in(plan: Plan, portrait: np.ndarray, stylized: np.ndarray) -> tuple[int, int, int, int]:
    """The plan's person box (painting pixels) in the stylized image's pixels: the plan maps the photo's
    person rectangle onto it, so the inverse of that map, rescaled to the stylized size."""
    sx = stylized.shape[1] / (portrait.shape[1] * plan.scale)
    sy = stylized.shape[0] / (portrait.shape[0] * plan.scale)
    box, (ox, oy) = plan.box, plan.origin
    return (
        round((box.x - ox) * sx),
        round((box.y - oy) * sy),
        round((box.x + box.w - ox) * sx),
        round((box.y + box.h - oy) * sy),
    )


def own_style(style_id: str, painting_id: str | None, style: object) -> bool:
    """Whether `style_id` is the target painting's own style: `painting` or `custom` (the target itself),
    the painting's gallery id, or a style trained on that painting."""
    if style_id.strip() in (PAINTING_STYLE, CUSTOM_STYLE) or (painting_id and style_id == painting_id):
        return True
    return isinstance(style, TrainedStyle) and painting_id is not None and style.painting == painting_id


def local_trained(
    stylizer: Stylizer, painting: np.ndarray, region: tuple[int, int, int, int], style: TrainedStyle
) -> ImageStyle | TrainedStyle:
    """A trained style vector at a place: the local style the arbitrary network would use there (from the
    predictor's vector of the whole painting) plus the correction training found (trained - predicted);
    a style without a predicted vector (or a network of its own) stays as it is."""
    if style.vector is None or style.predicted is None:
        return style
    local = stylizer.local_style(painting, region, style.predicted)
    return ImageStyle((local.vector + (style.vector - style.predicted)).astype(np.float32))


class _AtPaintedSize:
    """The photo at the stylized image's size, and its skin weight, each computed once when a step first
    asks: the painterly mix, the skin, the face light and the face features all compare at that size."""

    def __init__(self, portrait: np.ndarray, size: tuple[int, int]) -> None:
        self.portrait, self.size = portrait, size
        self._rgb: np.ndarray | None = None
        self._skin: np.ndarray | None = None

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            height, width = self.size
            same = self.portrait.shape[:2] == self.size
            self._rgb = (
                self.portrait
                if same
                else cv2.resize(self.portrait, (width, height), interpolation=cv2.INTER_AREA)
            )
        return self._rgb

    @property
    def skin(self) -> np.ndarray:
        if self._skin is None:
            self._skin = skin_weight(self.rgb)
        return self._skin

    def face(self, face: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A face box in the photo's pixels, in the stylized image's."""
        height, width = self.size
        return scale_rect(face, width / self.portrait.shape[1], height / self.portrait.shape[0])


def _keep_face_light(
    photo: _AtPaintedSize,
    stylized: np.ndarray,
    face: tuple[int, int, int, int],
    person: tuple[int, int, int, int],
) -> np.ndarray:
    """The network paints a face in a dark place as dark as the place: it keeps the photo's light and
    modelling (services/painting/light.py). No matte yet: the plan's person box (`person`, stylized pixels)
    stands for the body. Where the network darkened it too (a dark place, not a light palette), the face
    keeps its lead over it as in the photo, up to half its own darkening: on a black ground the network
    darkens the face more than the clothes, and the compositor's step, which sees only the network's
    output, could not give that back. `face` is in the stylized image's pixels."""
    height, width = stylized.shape[:2]
    body = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = person
    body[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = 1.0
    if float(body.sum()) <= 0.0:
        body[:] = 1.0
    lit = keep_face_light(
        photo.rgb, stylized, body, face, photo.skin, keep_lead=False, follow_body=1.0, within_half=True
    )
    return np.clip(lit + 0.5, 0, 255).astype(np.uint8)


def _keep_face_features(
    photo: _AtPaintedSize, stylized: np.ndarray, face: tuple[int, int, int, int]
) -> np.ndarray:
    """The face's features read at least FEATURES_FLOOR against the photo (services/painting/features.py),
    compared at the painted size, as the composite eval compares them at the placed size. `face` is in the
    stylized image's pixels."""
    kept = keep_face_features(photo.rgb, stylized, face, in_place=True)
    return kept if kept.dtype == np.uint8 else np.clip(kept + 0.5, 0, 255).astype(np.uint8)

"""Which harmonisation steps run: all by default, each switchable (CLI flags; the API's `harmonize`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Harmonize:
    """local_style: style from the painting around the person, mixed with the whole painting's;
    placed_size: stylize at the size the person is placed (strokes at the painting's scale, no enlarging
    after); tone: match Lab tone and colour to the painting around the person; foreground: estimate the
    person's own colour at the soft matte edge (no background between hairs); edges: fade out where the
    photo's frame cut the person (a close-up's hair cut by the photo's side would show as a straight line
    in the painting), unless that side stands on the painting's own border; skin: keep part of the photo's
    own skin colour under a painting's style (services/painting/skin.py), not the palette of the grass, and
    keep it through the tone step (which then moves only the skin's light); light: after the tone step the
    face keeps its lead over the body, most of its light and its modelling (services/painting/light.py),
    so a dark corner does not turn it into a dark mask; abstraction: with the automatic strength, a smooth
    realistic painting's style network is mixed with a gentler transfer of its glaze, palette and grain
    (services/stylizer/painterly.py), not drawn in full strokes; features: a face the strokes made
    illegible gets the photo's features back in its lightness, in the painting's light, as much as it needs
    (services/painting/features.py)."""

    local_style: bool = True
    placed_size: bool = True
    tone: bool = True
    foreground: bool = True
    edges: bool = True
    skin: bool = True
    light: bool = True
    abstraction: bool = True
    features: bool = True

    @classmethod
    def off(cls) -> Harmonize:
        """The raw paste's settings: the stylized person only cut out, resized and feathered."""
        return cls(
            local_style=False,
            placed_size=False,
            tone=False,
            foreground=False,
            edges=False,
            skin=False,
            light=False,
            abstraction=False,
            features=False,
        )

    @classmethod
    def from_flag(cls, on: bool) -> Harmonize:
        return cls() if on else cls.off()

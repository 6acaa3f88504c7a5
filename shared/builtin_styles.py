"""The 26 built-in styles as users see them: id, a short label written after looking at each style's output
on a sample portrait (what it looks like, not a painting name we cannot vouch for), and a thumbnail made by
`python -m services.stylizer.make_thumbnails`. In shared/, so the gateway can list them without ML code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.gallery import DATA_DIR
from shared.queues import BUILTIN_STYLE_PREFIX

THUMBNAIL_DIR = DATA_DIR / "styles"

LABELS: tuple[str, ...] = (
    "soft yellow pastel",  # 0
    "bold black outlines on yellow",  # 1
    "muted grey pastel",  # 2
    "vivid red and blue shards",  # 3
    "red and gold brushwork",  # 4
    "dark amber strokes",  # 5
    "dark blue cells",  # 6
    "flat primary-colour poster",  # 7
    "pale sketch, pink and teal",  # 8
    "teal and red woven pattern",  # 9
    "warm brown oil",  # 10
    "yellow ink hatching",  # 11
    "soft lilac blur",  # 12
    "acid green and teal strokes",  # 13
    "pale blue-grey wash",  # 14
    "pastel stained glass",  # 15
    "blue and ochre swirls",  # 16
    "red and blue bricks",  # 17
    "sepia engraving",  # 18
    "blue and yellow swirls",  # 19
    "red and black woodcut",  # 20
    "flat paper cut-outs",  # 21
    "blue and cream with red blots",  # 22
    "misty green-grey",  # 23
    "cream and blue mosaic",  # 24
    "navy and gold strokes",  # 25
)


@dataclass(frozen=True)
class BuiltinStyleInfo:
    id: str  # builtin-N: the style id of the API, the CLI and the stylize.<id> queue
    index: int
    label: str
    thumbnail: Path


def thumbnail_path(index: int) -> Path:
    return THUMBNAIL_DIR / f"{BUILTIN_STYLE_PREFIX}{index}.jpg"


def builtin_styles() -> list[BuiltinStyleInfo]:
    return [
        BuiltinStyleInfo(f"{BUILTIN_STYLE_PREFIX}{index}", index, label, thumbnail_path(index))
        for index, label in enumerate(LABELS)
    ]

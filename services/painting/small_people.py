"""Painted people too small for the face and pose detectors: a crowd scene's reapers, a boat's crew.

BlazeFace and BlazePose need a face of some 20 input pixels turned towards the viewer; in a landscape
full of small figures (Bruegel's Harvesters: ~20 figures, heads 15-40 px high, several seen from behind)
they find none, and a bust is then placed over the reapers. The selfie person segmenter, run on tiles
about a fifth of the painting's long side (so a figure of 10-35 % of the painting's height fills a good
part of a tile), marks those figures well: each person-shaped blob is a figure, and the top of it, a
square about its width, a head the person must not cover (a head seen from behind has no face to find).

It also paints "people" into the swirls of expressive paintings and over a portrait's sitter, so it runs
only where the detectors found nobody to set the scale (services/painting/analysis.py), and blobs that
cannot be a small figure are dropped: too big, too thin, a whole tile, or cut by the frame.

That still left Starry Night's cypress top and village, and half of Udnie's shapes, as "people": on a tile
grid a swirl becomes a person only by chance of where the tile's edges fall. A painted person stays one
however it is framed, so each blob is looked at again close up, in crops centred on it at a few zooms (two
mirrored), and kept only if the segmenter marks it in every one. The blob's mean probability in its worst
view: Bruegel's reapers, eaters and sleeper 0.64-0.89, Hopper's diners 0.81-0.88; the shapes of Starry
Night, Udnie, the Wheatfield, the Great Wave, Composition VII, Turner's waves and Kandinsky's houses
0.00-0.37.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from services.painting.scene import Face, Figure, Rect
from services.painting.selfie_segmenter import SelfieSegmenter
from shared.models import ModelStore, model_path

TILES_PER_SIDE = 4.5  # tile side = the painting's long side / this
TILE_OVERLAP = 0.25
PERSON = 0.5  # the segmenter's probability for "person"
MIN_AREA = 0.0005  # of the painting's area: smaller blobs are specks, not figures
MAX_HEIGHT = 0.35  # of the painting's height: bigger people are the face and pose detectors' job
MIN_ASPECT = 0.2  # width / height: thinner blobs are tile seams and frame edges
# height / width: a standing or sitting figure is taller than wide, its head on top; a wide blob (a lying
# figure, or the swirls, waves and foliage the segmenter takes for people in expressive paintings) is only
# a figure to cover as little as possible, since where its head is cannot be told
UPRIGHT = 1.2
MAX_FILL = 0.9  # blob area / its box: a solid rectangle is a whole tile gone "person", not a figure
HEAD_DEPTH = 0.6  # the head reaches this many blob widths below the blob's top (hat and chin included)
HEAD_MARGIN = 0.1  # and this many blob widths beyond its top and sides
HEAD_SCORE = 0.0  # a head inferred from a blob: always avoided, never sets the person's scale
# close-up views that confirm a blob: crop side in blob long sides, mirrored; the tight views first, since
# they reject most shapes and the rest are then not run. A shape seen as a person often stops being one in
# the mirror (the Great Wave's curl: 0.91, mirrored 0.11); a painted person does not
CLOSE_UPS: tuple[tuple[float, bool], ...] = ((1.0, False), (1.0, True), (1.25, False), (1.5, True))
CONFIRM = 0.5  # the blob's mean person probability each close-up must give

# whether a blob (its box, and its mask over the whole map) is a person seen again: see SmallPeople.confirms
Confirm = Callable[[Rect, np.ndarray], bool]


class SmallPeople:
    """The person segmenter (opened once per process); `find` is pure given it."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.net = SelfieSegmenter(model_path("selfie-segmenter", models), threads or 1)

    def person_map(self, rgb: np.ndarray) -> np.ndarray:
        """float32 (H, W): the highest person probability any tile gave each pixel."""
        height, width = rgb.shape[:2]
        side = max(32, round(max(height, width) / TILES_PER_SIDE))
        step = max(1, round(side * (1 - TILE_OVERLAP)))
        out = np.zeros((height, width), dtype=np.float32)
        for y0 in _starts(height, side, step):
            for x0 in _starts(width, side, step):
                tile = rgb[y0 : y0 + side, x0 : x0 + side]
                th, tw = tile.shape[:2]
                probability = self.net.probability_at(tile)
                np.maximum(out[y0 : y0 + th, x0 : x0 + tw], probability, out=out[y0 : y0 + th, x0 : x0 + tw])
        return out

    def find(self, rgb: np.ndarray) -> tuple[list[Figure], list[Face]]:
        """The small painted people of `rgb`: their figures and their heads, in its pixels."""
        return people_in(self.person_map(rgb), lambda box, mask: self.confirms(rgb, box, mask))

    def confirms(self, rgb: np.ndarray, box: Rect, mask: np.ndarray) -> bool:
        """Whether the segmenter marks the blob (`mask`, boolean over `rgb`) as a person in every close-up
        centred on its `box`: a figure is one at any framing, a swirl only at the tile grid's."""
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = box
        for zoom, mirrored in CLOSE_UPS:
            side = min(height, width, round(zoom * max(x1 - x0, y1 - y0)))
            left = int(np.clip(round((x0 + x1 - side) / 2), 0, width - side))
            top = int(np.clip(round((y0 + y1 - side) / 2), 0, height - side))
            crop = rgb[top : top + side, left : left + side]
            if mirrored:
                crop = np.ascontiguousarray(crop[:, ::-1])
            probability = self.net.probability_at(crop)
            if mirrored:
                probability = probability[:, ::-1]
            inside = mask[top : top + side, left : left + side]
            if not inside.any() or float(probability[inside].mean()) < CONFIRM:
                return False
        return True


def _starts(length: int, side: int, step: int) -> list[int]:
    """Tile origins along one axis: every `step`, the last tile flush with the far edge."""
    if length <= side:
        return [0]
    starts = list(range(0, length - side + 1, step))
    if starts[-1] + side < length:
        starts.append(length - side)
    return starts


def people_in(person_map: np.ndarray, confirm: Confirm | None = None) -> tuple[list[Figure], list[Face]]:
    """Figures and heads from a person-probability map: one per blob that can be a small figure and that
    `confirm` (if given) accepts."""
    height, width = person_map.shape
    mask = (person_map >= PERSON).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    figures: list[Figure] = []
    heads: list[Face] = []
    for index in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[index])
        if (
            area < MIN_AREA * height * width
            or h > MAX_HEIGHT * height
            or min(w, h) < MIN_ASPECT * max(w, h)
            or area > MAX_FILL * w * h
            or x == 0
            or y == 0
            or x + w == width
        ):
            continue
        blob = labels == index
        if confirm is not None and not confirm((x, y, x + w, y + h), blob):
            continue
        score = float(person_map[blob].mean())
        figures.append(Figure((x, y, x + w, y + h), score, None, 0.0))
        if h >= UPRIGHT * w:
            heads.append(Face(_head(x, y, w, width, height), HEAD_SCORE))
    if not heads:  # wide blobs alone are waves and foliage far more often than a scene of lying people
        return [], []
    return figures, heads


def _head(x: int, y: int, w: int, width: int, height: int) -> Rect:
    """The head region at the top of a blob `w` wide, clipped to the painting."""
    return (
        max(0, int(np.floor(x - HEAD_MARGIN * w))),
        max(0, int(np.floor(y - HEAD_MARGIN * w))),
        min(width, int(np.ceil(x + (1 + HEAD_MARGIN) * w))),
        min(height, int(np.ceil(y + HEAD_DEPTH * w))),
    )

"""What one job costs each worker, predicted from the images' headers before it is queued (issue 22).

Each formula is an upper bound of how much a job raises the peak resident memory (VmHWM) of the worker's
pool process above its idle size; its coefficients are bytes per pixel read from the code and checked
against measured peaks (tests/test_work_budget.py). With
    D   bytes of a photo as Pillow stores it at full size (width x height x 1, 2 or 4: its mode),
    p   the photo's pixels at working size (limits.working_size: long side at most PHOTO_SIDE),
    s   the stylized person's pixels (long side at the cap, min(PHOTO_SIDE, max_size x output_scale),
        the photo's aspect; people=all: a photo's people together, cap² x width/height),
    P   the painting's pixels when it is uploaded (a gallery painting is held by the worker already),
    O   the result's pixels (the painting x output_scale²),
    V   the largest visible part of a person's box (result width x the rows their box can cover),
the three formulas are
    segmenter  = FIXED + max over photos (D + 14 p)                    one person per task
    stylizer   = STYLIZER_FIXED + 12 P + max over photos max(D + 8 p, 4 p + 200 s)   decode, then network
    compositor = FIXED + 14 O + 7 P + sum over photos (6 p + 40 s) + 80 min(V, band) + 4 V
where `band` is what the compositor places at once (limits.BAND_PIXELS, at least MIN_BAND_ROWS rows).
Pure: the gateway passes the sizes and the budgets (settings) in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from shared.limits import BAND_PIXELS, MAX_PEOPLE, MIN_BAND_ROWS, PHOTO_SIDE, output_size, working_size

MIB = 1024 * 1024
FIXED = 64 * MIB  # per-task overheads that do not follow pixels (buffers, the detectors' tiles, PNG code)
SEGMENTER_PER_PIXEL = 14  # the working photo, its matte and the guided filter's planes, float32
STYLIZER_PER_PIXEL = 8  # decoding: the photo as stored (D) and at working size, with the plan's copies
STYLIZER_HELD_PER_PIXEL = 4  # the working photo kept while the network runs
STYLIZER_FIXED = 256 * MIB  # the style networks' own buffers and the style vectors, whatever the size
STYLIZER_PER_STYLIZED_PIXEL = 200  # the style network's activations at the stylized size (measured ~170)
STYLIZER_PER_PAINTING_PIXEL = 12  # an uploaded painting decoded, analysed and its style computed
COMPOSITOR_PER_OUTPUT_PIXEL = 14  # the (enlarged) painting, the result and its PNG and thumbnail
COMPOSITOR_PER_PAINTING_PIXEL = 7  # an uploaded painting as decoded
COMPOSITOR_PER_MATTE_PIXEL = 6  # each person's matte (uint16 read, float32 kept)
COMPOSITOR_PER_STYLIZED_PIXEL = 40  # each person's stylized photo, its float crop, foreground and tone
COMPOSITOR_PER_BAND_PIXEL = 80  # resize, feather and blend of the part placed at once, float32
COMPOSITOR_PER_VISIBLE_PIXEL = 4  # the RGBA cut-out of the visible part
WORKERS = ("segmenter", "stylizer", "compositor")


@dataclass(frozen=True)
class Photo:
    """A person's photo as its header describes it: upright width and height, bytes as stored."""

    width: int
    height: int
    stored_bytes: int

    @property
    def working_pixels(self) -> int:
        width, height = working_size(self.width, self.height)
        return width * height


@dataclass(frozen=True)
class Work:
    """What a job asks the workers to do, in the sizes the formulas need."""

    photos: tuple[Photo, ...]
    painting: tuple[int, int]  # width, height
    painting_uploaded: bool
    output_scale: float
    max_size: int  # the stylizer's cap at 1x (Settings.max_working_size)
    every_person: bool  # people=all: each photo may hold several people
    visible_rows: tuple[int, ...]  # per person, the result rows their box can cover (upper bound)

    @property
    def output(self) -> tuple[int, int]:
        return output_size(*self.painting, self.output_scale)

    @property
    def cap(self) -> int:
        return min(PHOTO_SIDE, round(self.max_size * self.output_scale))

    def stylized_pixels(self, photo: Photo) -> int:
        """The largest stylized person of this photo (all of its people together with people=all)."""
        aspect = photo.width / photo.height if self.every_person else 1.0
        share = min(photo.width, photo.height) / max(photo.width, photo.height)
        together = min(aspect, MAX_PEOPLE) if self.every_person else share
        return math.ceil(self.cap * self.cap * together)

    @property
    def painting_pixels(self) -> int:
        return self.painting[0] * self.painting[1] if self.painting_uploaded else 0


def segmenter_peak(work: Work) -> int:
    return FIXED + max(
        photo.stored_bytes + SEGMENTER_PER_PIXEL * photo.working_pixels for photo in work.photos
    )


def stylizer_peak(work: Work) -> int:
    """The photo's decode and the style network do not overlap: the larger of the two, for the worst photo."""
    each = max(
        max(
            photo.stored_bytes + STYLIZER_PER_PIXEL * photo.working_pixels,
            STYLIZER_HELD_PER_PIXEL * photo.working_pixels
            + STYLIZER_PER_STYLIZED_PIXEL * _largest_stylized(work, photo),
        )
        for photo in work.photos
    )
    return STYLIZER_FIXED + STYLIZER_PER_PAINTING_PIXEL * work.painting_pixels + each


def compositor_peak(work: Work) -> int:
    out_w, out_h = work.output
    people = sum(
        COMPOSITOR_PER_MATTE_PIXEL * photo.working_pixels
        + COMPOSITOR_PER_STYLIZED_PIXEL * work.stylized_pixels(photo)
        for photo in work.photos
    )
    visible = out_w * min(max(work.visible_rows, default=out_h), out_h)
    band = max(BAND_PIXELS, MIN_BAND_ROWS * out_w)
    return (
        FIXED
        + COMPOSITOR_PER_OUTPUT_PIXEL * out_w * out_h
        + COMPOSITOR_PER_PAINTING_PIXEL * work.painting_pixels
        + people
        + COMPOSITOR_PER_BAND_PIXEL * min(visible, band)
        + COMPOSITOR_PER_VISIBLE_PIXEL * visible
    )


PEAKS: dict[str, Callable[[Work], int]] = {
    "segmenter": segmenter_peak,
    "stylizer": stylizer_peak,
    "compositor": compositor_peak,
}


def _largest_stylized(work: Work, photo: Photo) -> int:
    """One stylize task paints one person: with people=all, at most one cap-sized person of the photo."""
    if not work.every_person:
        return work.stylized_pixels(photo)
    return min(work.stylized_pixels(photo), work.cap * work.cap)


@dataclass(frozen=True)
class OverBudget:
    """The first worker a job would take past its budget, by how much, and the largest value that fits."""

    worker: str
    predicted: int
    budget: int
    field: str
    largest: float | None  # None: nothing of `field` fits (the other sizes alone are over)


def over_budget(work: Work, budgets: dict[str, int]) -> OverBudget | None:
    """None when every worker's predicted peak is within its budget."""
    for worker in WORKERS:
        predicted = PEAKS[worker](work)
        if predicted > budgets[worker]:
            field, largest = _largest_fitting(work, worker, budgets[worker])
            return OverBudget(worker, predicted, budgets[worker], field, largest)
    return None


def _largest_fitting(work: Work, worker: str, budget: int) -> tuple[str, float | None]:
    """The knob a caller can turn: output_scale above 1 first, then the photos' megapixels, then the
    uploaded painting's; its largest value whose prediction fits (by bisection, the formulas being
    monotonic in each)."""

    def fits(candidate: Work) -> bool:
        return PEAKS[worker](candidate) <= budget

    if work.output_scale > 1.0:
        best = _bisect(lambda s: fits(replace(work, output_scale=s)), 1.0, work.output_scale, 0.01)
        if best is not None:
            return "output_scale", math.floor(best * 100) / 100
    if worker != "compositor" or not work.painting_uploaded:
        largest = max(photo.width * photo.height for photo in work.photos)
        best = _bisect(lambda m: fits(replace(work, photos=_shrunk(work.photos, m))), 0.0, largest, 1e5)
        return "portrait", None if best is None else math.floor(best / 1e5) / 10
    width, height = work.painting
    best = _bisect(
        lambda k: fits(replace(work, painting=(max(1, round(width * k)), max(1, round(height * k))))),
        0.0,
        1.0,
        1e-3,
    )
    return "painting_file", None if best is None else math.floor(best * best * width * height / 1e5) / 10


def _shrunk(photos: tuple[Photo, ...], pixels: float) -> tuple[Photo, ...]:
    """The photos, each scaled to at most `pixels` (same aspect and bytes per pixel)."""
    out = []
    for photo in photos:
        k = min(1.0, math.sqrt(pixels / (photo.width * photo.height)))
        width, height = max(1, round(photo.width * k)), max(1, round(photo.height * k))
        per_pixel = photo.stored_bytes / (photo.width * photo.height)
        out.append(Photo(width, height, round(width * height * per_pixel)))
    return tuple(out)


def _bisect(fits: Callable[[float], bool], low: float, high: float, step: float) -> float | None:
    """The largest x in [low, high] (to `step`) with fits(x), fits being true below some point; None if
    not even `low` fits."""
    if fits(high):
        return high
    if not fits(low):
        return None
    while high - low > step:
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low

"""`sitter eval composite`: does the person look painted in? Each photo x painting pair, three ways.

- before: today's product before painting-aware placement (centred on the bottom edge at 60 % of the
  height, stylized from the whole painting at up to 1024 px, then resized; no harmonisation);
- after: the default blend;
- raw: the person's own pixels, only cut out and resized, in the same box as each of the above.

Per composite: the style distance between the person and the painting around them (VGG16 Gram matrices,
relu1_1..relu4_1, relative Frobenius distance; reported as a ratio to the raw paste in the same box, so 1.0
is "no more painted than the photo"), a second style measure that is not a network's training loss (colour:
Lab distribution distance; texture: Gabor energy distance, sitter/style_stats.py; each also as a ratio to
the raw paste), the tone difference (CIE76 delta E between the person's mean Lab and the surroundings'),
legibility (SSIM of the person's luminance against the raw paste) and face legibility (the same on the
photo's face box at one size, services/painting/legibility.py: a face gone dark and muddy scores low even
when the body reads), detail (Laplacian sharpness of the person relative to the painting around them: below
~0.3 reads as blur next to crisp brushwork), skin shift (CIE a*b* distance between the mean colour of the
person's skin and the raw paste's: a face repainted in the lawn's green scores high), and how much of the
annotated painted faces and figures the person covers (alpha >= 0.5). `without` turns harmonisation steps
off in the `after` blend, to measure what each one does; `before_without` makes *before* the default blend
with those steps off instead of the old product, so a new step is measured before/after in one run.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from statistics import mean, median
from typing import Any

import cv2
import numpy as np

from services.painting.cutout import person_bbox
from services.painting.legibility import face_in_box, face_legibility, ssim
from services.painting.options import Harmonize
from services.painting.placement import Box, Placement, resolve_box
from services.painting.portrait import portrait_info
from services.painting.scene import Rect
from services.painting.skin import skin_weight
from shared.errors import SitterError
from shared.imageio import decode_image, encode_image
from shared.queues import PAINTING_STYLE
from sitter.perceptual import Features, gram, style_distance
from sitter.pipeline import BlendOptions, BlendResult, Pipeline
from sitter.style_stats import colour_distance, gabor_energies, lab_quantiles, texture_distance

FEATURE_SIDE = 256  # person and surroundings are compared at this long side
CONTEXT = 0.6  # the surroundings reach this fraction of the box beyond each side
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
LEGACY_MAX_SIZE = 1024
FACE_LEGIBLE = 0.5  # issue 23's floor: below it the face reads as a dark, muddy mask


@dataclass(frozen=True)
class Scores:
    style: float  # Gram distance person vs surroundings
    style_raw: float  # the same for the raw paste in the same box
    tone: float  # delta E, person vs surroundings
    tone_raw: float
    legibility: float  # SSIM of luminance vs the raw paste
    detail: float  # person sharpness / surroundings sharpness
    faces_covered: float  # fraction of annotated face area under the person
    figures_covered: float
    skin_shift: float = 0.0  # a*b* distance, the person's skin vs the raw paste's
    face_legibility: float | None = None  # SSIM of the face's luminance vs the raw paste; None: no face shows
    colour: float = 0.0  # Lab distribution distance, person vs surroundings (sitter/style_stats.py)
    colour_raw: float = 0.0
    texture: float = 0.0  # Gabor energy distance, person vs surroundings
    texture_raw: float = 0.0

    @property
    def style_ratio(self) -> float:
        return self.style / max(self.style_raw, 1e-9)

    @property
    def colour_ratio(self) -> float:
        return self.colour / max(self.colour_raw, 1e-9)

    @property
    def texture_ratio(self) -> float:
        return self.texture / max(self.texture_raw, 1e-9)


@dataclass(frozen=True)
class PairReport:
    photo: str
    painting: str
    before: Scores
    after: Scores
    box: tuple[int, int, int, int]
    reason: str
    placement: str = ""  # the after blend's kind of place and side, e.g. "bust, left"


def _surroundings_weight(box: Box, width: int, height: int) -> tuple[tuple[int, int, int, int], np.ndarray]:
    """The window around the box and a weight that is 1 outside the box, 0 inside."""
    mx, my = round(CONTEXT * box.w), round(CONTEXT * box.h)
    x0, y0 = max(0, box.x - mx), max(0, box.y - my)
    x1, y1 = min(width, box.x + box.w + mx), min(height, box.y + box.h + my)
    weight = np.ones((y1 - y0, x1 - x0), dtype=np.float32)
    inner = box.clip(width, height)
    weight[inner.y - y0 : inner.y - y0 + inner.h, inner.x - x0 : inner.x - x0 + inner.w] = 0.0
    return (x0, y0, x1, y1), weight


def _fit(image: np.ndarray, weight: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Both at the same scale: Gram statistics depend on the size of the strokes in pixels."""
    if scale >= 1:
        return image, weight
    size = (max(8, round(image.shape[1] * scale)), max(8, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), cv2.resize(
        weight, size, interpolation=cv2.INTER_AREA
    )


def _second_measure(
    person: np.ndarray,
    raw_person: np.ndarray,
    alpha: np.ndarray,
    around: np.ndarray,
    around_w: np.ndarray,
    scale: float,
) -> tuple[float, float, float, float]:
    """Colour and texture distances to the surroundings (sitter/style_stats.py), for the person and the raw
    paste, all at the Gram measure's scale."""
    around_s, around_ws = _fit(around, around_w, scale)
    colour_around = lab_quantiles(around_s, around_ws)
    texture_around = gabor_energies(around_s, around_ws)
    out = []
    for image in (person, raw_person):
        small, w = _fit(image, alpha, scale)
        out.append(
            (
                colour_distance(lab_quantiles(small, w), colour_around),
                texture_distance(gabor_energies(small, w), texture_around),
            )
        )
    (colour, texture), (colour_raw, texture_raw) = out
    return colour, colour_raw, texture, texture_raw


def _lab_mean(rgb: np.ndarray, weight: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    w = weight.reshape(-1, 1).astype(np.float64)
    return np.asarray((lab * w).sum(axis=0) / max(float(w.sum()), 1e-9))


def _sharpness(gray: np.ndarray, weight: np.ndarray) -> float:
    lap = cv2.Laplacian(gray.astype(np.float32), cv2.CV_32F)
    w = weight.astype(np.float64)
    total = max(float(w.sum()), 1e-9)
    m = float((lap * w).sum() / total)
    return float(((lap - m) ** 2 * w).sum() / total)


def _covered(alpha_canvas: np.ndarray, boxes: list[list[int]]) -> float:
    """Fraction of the annotated boxes' total area under the person (alpha >= 0.5)."""
    total = sum(max(0, x1 - x0) * max(0, y1 - y0) for x0, y0, x1, y1 in boxes)
    if total == 0:
        return 0.0
    under = sum(int((alpha_canvas[y0:y1, x0:x1] >= 0.5).sum()) for x0, y0, x1, y1 in boxes)
    return under / total


LEGACY_OPTIONS = BlendOptions(harmonize=Harmonize.off(), max_size=LEGACY_MAX_SIZE)


def legacy_placement(matte: np.ndarray, painting: np.ndarray) -> Placement:
    """The box the product chose before painting analysis: centred on the bottom edge, 60 % high."""
    x0, y0, x1, y1 = person_bbox(matte)
    box = resolve_box(Placement(), x1 - x0, y1 - y0, painting.shape[1], painting.shape[0])
    return Placement(x=box.x, y=box.y, height=box.h)


class CompositeEvaluator:
    def __init__(
        self,
        pipeline: Pipeline,
        features: Features,
        style: str = PAINTING_STYLE,
        without: tuple[str, ...] = (),
        before_without: tuple[str, ...] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.features = features
        self.style = style  # the "after" blend's style, to compare networks on the same pairs
        self.steps = without_steps(without)  # the "after" blend's harmonisation
        # None: "before" is the old product; else the default blend with these steps off
        self.before_steps = None if before_without is None else without_steps(before_without)

    def _scores(
        self,
        result: BlendResult,
        raw: BlendResult,
        painting: np.ndarray,
        notes: dict[str, list[list[int]]],
        face: Rect | None,
    ) -> Scores:
        height, width = painting.shape[:2]
        box = result.box
        visible = box.clip(width, height)
        dx, dy = visible.x - box.x, visible.y - box.y
        alpha = result.cutout[dy : dy + visible.h, dx : dx + visible.w, 3].astype(np.float32) / 255.0
        window = (slice(visible.y, visible.y + visible.h), slice(visible.x, visible.x + visible.w))
        person = result.image[window]
        raw_person = raw.image[window]
        (sx0, sy0, sx1, sy1), around_w = _surroundings_weight(box, width, height)
        around = painting[sy0:sy1, sx0:sx1]

        scale = FEATURE_SIDE / max(around.shape[:2])  # one scale for the person and the painting around
        grams_around = self._grams(around, around_w, scale)
        style = style_distance(self._grams(person, alpha, scale), grams_around)
        style_raw = style_distance(self._grams(raw_person, alpha, scale), grams_around)
        colour, colour_raw, texture, texture_raw = _second_measure(
            person, raw_person, alpha, around, around_w, scale
        )
        lab_around = _lab_mean(around, around_w)
        tone = float(np.linalg.norm(_lab_mean(person, alpha) - lab_around))
        tone_raw = float(np.linalg.norm(_lab_mean(raw_person, alpha) - lab_around))
        gray = cv2.cvtColor(person, cv2.COLOR_RGB2GRAY)
        raw_gray = cv2.cvtColor(raw_person, cv2.COLOR_RGB2GRAY)
        solid = (alpha >= 0.5).astype(np.float32)
        legibility = ssim(gray, raw_gray, solid)
        detail = _sharpness(gray, solid) / max(
            _sharpness(cv2.cvtColor(around, cv2.COLOR_RGB2GRAY), around_w), 1e-9
        )
        canvas = np.zeros((height, width), dtype=np.float32)
        canvas[window] = alpha
        skin = skin_weight(raw_person) * solid
        painted_face = None if face is None else face_in_box(face, person_bbox(result.matte), box)
        skin_shift = float(np.linalg.norm((_lab_mean(person, skin) - _lab_mean(raw_person, skin))[1:]))
        return Scores(
            style=style,
            style_raw=style_raw,
            tone=tone,
            tone_raw=tone_raw,
            legibility=legibility,
            detail=detail,
            faces_covered=_covered(canvas, notes.get("faces", [])),
            figures_covered=_covered(canvas, notes.get("figures", [])),
            skin_shift=skin_shift if float(skin.sum()) > 1.0 else 0.0,
            face_legibility=None
            if painted_face is None
            else face_legibility(result.image, raw.image, canvas, painted_face),
            colour=colour,
            colour_raw=colour_raw,
            texture=texture,
            texture_raw=texture_raw,
        )

    def _grams(self, image: np.ndarray, weight: np.ndarray, scale: float) -> list[np.ndarray]:
        small, w = _fit(image, weight, scale)
        return [gram(f, w) for f in self.features(small)]

    def _raw(self, photo: np.ndarray, painting: np.ndarray, box: Box) -> BlendResult:
        placement = Placement(x=box.x, y=box.y, height=box.h)
        return self.pipeline.blend(
            photo, painting, placement, BlendOptions(strength=0.0, harmonize=Harmonize.off())
        )

    def pair(
        self,
        photo: np.ndarray,
        painting: np.ndarray,
        painting_id: str | None,
        notes: dict[str, list[list[int]]],
    ) -> tuple[Scores, Scores, BlendResult, BlendResult]:
        after_scores, after = self.after(photo, painting, painting_id, notes)
        if self.before_steps is None:
            legacy = legacy_placement(after.matte, painting)
            before = self.pipeline.blend(photo, painting, legacy, LEGACY_OPTIONS)
        else:
            baseline = BlendOptions(style=self.style, harmonize=self.before_steps)
            before = self.pipeline.blend(photo, painting, None, baseline, painting_id=painting_id)
        face = portrait_info(photo, self.pipeline.analyser.faces).face
        before_scores = self._scores(before, self._raw(photo, painting, before.box), painting, notes, face)
        return before_scores, after_scores, before, after

    def after(
        self,
        photo: np.ndarray,
        painting: np.ndarray,
        painting_id: str | None,
        notes: dict[str, list[list[int]]],
    ) -> tuple[Scores, BlendResult]:
        """The `after` blend alone (the default blend in this evaluator's style) and its scores: what
        `sitter train-style` compares for two styles on the same pair."""
        options = BlendOptions(style=self.style, harmonize=self.steps)
        result = self.pipeline.blend(photo, painting, None, options, painting_id=painting_id)
        face = portrait_info(photo, self.pipeline.analyser.faces).face
        return self._scores(result, self._raw(photo, painting, result.box), painting, notes, face), result


def without_steps(names: tuple[str, ...]) -> Harmonize:
    """The default harmonisation with the named steps off; an unknown name is an error naming the known."""
    known = [spec.name for spec in fields(Harmonize)]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SitterError(f"unknown harmonisation step {unknown[0]!r}; the steps are {', '.join(known)}")
    return replace(Harmonize(), **dict.fromkeys(names, False))


def _images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SitterError(f"{folder} is not a folder")
    found = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise SitterError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return found


def evaluate(
    pipeline: Pipeline,
    features: Features,
    photos: Path,
    paintings: Path,
    annotations: dict[str, dict[str, list[list[int]]]],
    gallery_ids: dict[str, str],
    limit: int | None = None,
    save: Path | None = None,
    style: str = PAINTING_STYLE,
    without: tuple[str, ...] = (),
    before_without: tuple[str, ...] | None = None,
) -> list[PairReport]:
    """Every photo x painting pair (at most `limit`). `gallery_ids` maps painting file stems to gallery ids
    so their shipped analysis is used, as the product does."""
    evaluator = CompositeEvaluator(pipeline, features, style, without, before_without)
    reports = []
    for photo_path in _images(photos):
        photo = decode_image(photo_path, what="photo")
        for painting_path in _images(paintings):
            painting = decode_image(painting_path, what="painting")
            notes = annotations.get(painting_path.stem, {})
            painting_id = gallery_ids.get(painting_path.stem)
            before, after, old, result = evaluator.pair(photo, painting, painting_id, notes)
            if save is not None:  # to look at: the numbers have missed ugly results before
                save.mkdir(parents=True, exist_ok=True)
                for tag, blended in (("before", old), ("after", result)):
                    name = f"{photo_path.stem}--{painting_path.stem}--{tag}.jpg"
                    (save / name).write_bytes(encode_image(blended.image, "jpeg"))
            box = result.box
            reports.append(
                PairReport(
                    photo_path.name,
                    painting_path.stem,
                    before,
                    after,
                    (box.x, box.y, box.w, box.h),
                    result.plan.reason,
                    placement_kind(result.plan.reason, box, painting.shape[1]),
                )
            )
            if limit is not None and len(reports) >= limit:
                return reports
    return reports


def placement_kind(reason: str, box: Box, width: int) -> str:
    """ "bust, left", "standing, right": what kind of place the person got and on which side (their box's
    centre in the left or right 40 % of the painting), so a run shows whether placements vary."""
    kind = "standing" if "standing" in reason or "ground line" in reason else "bust"
    if reason == "as asked":
        kind = "explicit"
    centre = (box.x + box.w / 2) / max(1, width)
    return f"{kind}, {'left' if centre < 0.4 else 'right' if centre > 0.6 else 'centre'}"


def placement_mix(reports: list[PairReport]) -> dict[str, int]:
    """How many pairs got each kind of place and side."""
    return dict(sorted(Counter(r.placement for r in reports if r.placement).items()))


def summary(reports: list[PairReport]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in ("before", "after"):
        scores = [getattr(r, name) for r in reports]
        faces = [s.face_legibility for s in scores if s.face_legibility is not None]
        out[name] = {
            "style_ratio_median": median(s.style_ratio for s in scores),
            "style_ratio_worst": max(s.style_ratio for s in scores),
            "pairs_no_better_than_raw": sum(s.style_ratio >= 1.0 for s in scores),
            "tone_delta_e_median": median(s.tone for s in scores),
            "tone_raw_delta_e_median": median(s.tone_raw for s in scores),
            "legibility_ssim_median": median(s.legibility for s in scores),
            "legibility_ssim_min": min(s.legibility for s in scores),
            "detail_median": median(s.detail for s in scores),
            "detail_min": min(s.detail for s in scores),
            "pairs_covering_a_face": sum(s.faces_covered > 0 for s in scores),
            "face_area_covered_max": max(s.faces_covered for s in scores),
            "figure_area_covered_mean": mean(s.figures_covered for s in scores),
            "skin_shift_median": median(s.skin_shift for s in scores),
            "skin_shift_max": max(s.skin_shift for s in scores),
            "colour_ratio_median": median(s.colour_ratio for s in scores),
            "texture_ratio_median": median(s.texture_ratio for s in scores),
        }
        if faces:  # pairs whose face shows in the composite
            out[name]["face_legibility_median"] = median(faces)
            out[name]["face_legibility_min"] = min(faces)
            out[name]["pairs_face_legibility_below_0.5"] = sum(f < FACE_LEGIBLE for f in faces)
    return out


def as_json(reports: list[PairReport]) -> dict[str, Any]:
    rows = []
    for r in reports:
        row = asdict(r)
        row["before"]["style_ratio"] = r.before.style_ratio
        row["after"]["style_ratio"] = r.after.style_ratio
        for name in ("before", "after"):
            row[name]["colour_ratio"] = getattr(r, name).colour_ratio
            row[name]["texture_ratio"] = getattr(r, name).texture_ratio
        rows.append(row)
    return {
        "summary": summary(reports),
        "worst_style_pair": worst_style_pairs(reports),
        "least_legible_face": least_legible_faces(reports),
        "placements": placement_mix(reports),
        "pairs": rows,
    }


def worst_style_pairs(reports: list[PairReport]) -> dict[str, str]:
    """Before and after, the pair least painted relative to its raw paste: the one to look at first."""
    out = {}
    for name in ("before", "after"):
        worst = max(reports, key=lambda r: getattr(r, name).style_ratio)
        out[name] = f"{worst.photo} x {worst.painting} ({getattr(worst, name).style_ratio:.2f})"
    return out


def least_legible_faces(reports: list[PairReport]) -> dict[str, str]:
    """Before and after, the pair whose face reads least (issue 23's floor is FACE_LEGIBLE)."""
    out = {}
    for name in ("before", "after"):
        shown = [r for r in reports if getattr(r, name).face_legibility is not None]
        if shown:
            worst = min(shown, key=lambda r: getattr(r, name).face_legibility)
            out[name] = f"{worst.photo} x {worst.painting} ({getattr(worst, name).face_legibility:.2f})"
    return out


def _face(scores: Scores) -> str:
    return "   -" if scores.face_legibility is None else f"{scores.face_legibility:4.2f}"


def format_table(reports: list[PairReport]) -> str:
    lines = [
        f"{'photo':<28}{'painting':<32}{'style b/a':>12}{'tone b/a':>12}{'legib.':>8}{'face legib b/a':>15}"
        f"{'detail b/a':>12}{'faces b/a':>11}{'skin b/a':>12}",
    ]
    for r in reports:
        b, a = r.before, r.after
        lines.append(
            f"{r.photo[:27]:<28}{r.painting[:31]:<32}{b.style_ratio:>6.2f}{a.style_ratio:>6.2f}"
            f"{b.tone:>6.1f}{a.tone:>6.1f}{a.legibility:>8.2f}{_face(b):>10} {_face(a):>4}"
            f"{b.detail:>6.2f}{a.detail:>6.2f}"
            f"{b.faces_covered:>6.2f}{a.faces_covered:>5.2f}{b.skin_shift:>6.1f}{a.skin_shift:>6.1f}"
        )
    lines.append("")
    for name, values in summary(reports).items():
        lines.append(f"{name}: " + ", ".join(f"{k} {v:.3g}" for k, v in values.items()))
    for name, pair in worst_style_pairs(reports).items():
        lines.append(f"worst style ratio, {name}: {pair}")
    for name, pair in least_legible_faces(reports).items():
        lines.append(f"least legible face, {name}: {pair}")
    mix = placement_mix(reports)
    lines.append("placements (after): " + ", ".join(f"{kind} {count}" for kind, count in mix.items()))
    return "\n".join(lines)


def load_annotations(path: Path) -> dict[str, dict[str, list[list[int]]]]:
    """The painted faces and figures per painting: {"paintings": {stem: {"faces": [[x0, y0, x1, y1], ...],
    "figures": [...]}}}; a file of another shape is an error that says which, not a KeyError."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SitterError(f"cannot read the annotations {path}: {error}") from error
    paintings = data.get("paintings") if isinstance(data, dict) else None
    if not isinstance(paintings, dict):
        raise SitterError(
            f'annotations {path} must be a JSON object with "paintings": {{painting: {{"faces": [boxes], '
            f'"figures": [boxes]}}}}, as eval/composite/annotations.json'
        )
    return paintings

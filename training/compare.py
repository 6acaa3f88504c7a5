"""A trained style against the arbitrary network, on photos it never trained on: does it paint the person in
better? What `sitter train-style` ends with, and a command of its own for registered styles:

    python -m training.compare --photos DIR [--styles trained-a,trained-b] [--limit N] [--save DIR] [--json]

Each held-out photo is blended into the style's painting twice with the product's default blend (same
placement, same harmonisation): once in the arbitrary network's style of that painting (the default style
`painting`), once in the trained style. Scored as `sitter eval composite` scores its `after` blend
(sitter/eval_composite.py), medians over the photos:

- style ratio: VGG16 Gram distance of the person to the painting around them, over the raw paste's (lower is
  more painted in);
- legibility: SSIM of the person's luminance against the raw paste (and of the face alone);
- the second measure, not any training loss (sitter/style_stats.py): colour (Lab distribution) and texture
  (Gabor energies) distances, each over the raw paste's; their mean per pair.

Issue 24's bar for a trained style (`wins`): style ratio <= 0.85x the arbitrary network's, legibility not
below it, and the second measure lower too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from shared import gallery
from shared.errors import SitterError
from shared.imageio import decode_image, encode_image
from shared.models import ModelStore
from shared.queues import PAINTING_STYLE
from shared.settings import model_store
from sitter.eval_composite import CompositeEvaluator, Scores, load_annotations
from sitter.perceptual import Features
from sitter.pipeline import BlendResult, Pipeline
from training.data import IMAGE_SUFFIXES

STYLE_MARGIN = 0.85  # the trained style's median style ratio must be at most this times the arbitrary's
ANNOTATIONS = Path(__file__).resolve().parent.parent / "eval" / "composite" / "annotations.json"
DEFAULT_EVAL_PHOTOS = ANNOTATIONS.parent / "photos"  # the composite dev set (held-out ones only are used)
DEFAULT_LIMIT = 8
SAME_PHOTO = 0.97  # correlation of 24x24 grey thumbnails above which two files are the same photo


@dataclass(frozen=True)
class MethodScores:
    style_ratio: float
    legibility: float
    face_legibility: float | None
    colour_ratio: float
    texture_ratio: float
    second: float  # median over pairs of (colour ratio + texture ratio) / 2

    @classmethod
    def of(cls, scores: list[Scores]) -> MethodScores:
        faces = [s.face_legibility for s in scores if s.face_legibility is not None]
        return cls(
            style_ratio=round(statistics.median(s.style_ratio for s in scores), 4),
            legibility=round(statistics.median(s.legibility for s in scores), 4),
            face_legibility=round(statistics.median(faces), 4) if faces else None,
            colour_ratio=round(statistics.median(s.colour_ratio for s in scores), 4),
            texture_ratio=round(statistics.median(s.texture_ratio for s in scores), 4),
            second=round(statistics.median((s.colour_ratio + s.texture_ratio) / 2 for s in scores), 4),
        )


@dataclass(frozen=True)
class Comparison:
    style: str
    painting: str
    photos: list[str]
    arbitrary: MethodScores
    trained: MethodScores

    def verdict(self, margin: float = STYLE_MARGIN) -> tuple[bool, list[str]]:
        """Whether the trained style wins by issue 24's bar, and why not when it does not."""
        a, t = self.arbitrary, self.trained
        failures = []
        if t.style_ratio > margin * a.style_ratio:
            failures.append(
                f"style ratio {t.style_ratio:.3f} is not <= {margin} x the arbitrary's {a.style_ratio:.3f}"
            )
        if t.legibility < a.legibility:
            failures.append(f"legibility {t.legibility:.3f} is below the arbitrary's {a.legibility:.3f}")
        if t.second >= a.second:
            failures.append(
                f"the colour + texture measure {t.second:.3f} is not below the arbitrary's {a.second:.3f}"
            )
        return not failures, failures

    def as_dict(self) -> dict[str, object]:
        wins, failures = self.verdict()
        return {**asdict(self), "wins": wins, "why_not": failures}

    def table(self) -> str:
        rows = [
            f"{'':<10}{'style ratio':>12}{'legibility':>12}{'face legib.':>12}{'colour':>9}{'texture':>9}"
            f"{'2nd':>7}",
        ]
        for name, s in (("arbitrary", self.arbitrary), ("trained", self.trained)):
            face = "-" if s.face_legibility is None else f"{s.face_legibility:.3f}"
            rows.append(
                f"{name:<10}{s.style_ratio:>12.3f}{s.legibility:>12.3f}{face:>12}{s.colour_ratio:>9.3f}"
                f"{s.texture_ratio:>9.3f}{s.second:>7.3f}"
            )
        ratio = self.trained.style_ratio / max(self.arbitrary.style_ratio, 1e-9)
        rows.append(
            f"{self.style} on {len(self.photos)} held-out photos in {self.painting}: style ratio "
            f"{ratio:.3f}x the arbitrary network's (medians; lower is more painted in)"
        )
        return "\n".join(rows)


def images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise SitterError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _thumbnail(path: Path) -> np.ndarray:
    image = Image.fromarray(decode_image(path, what="photo")).convert("L").resize((24, 24))
    values = np.asarray(image, dtype=np.float64).reshape(-1)
    return (values - values.mean()) / (values.std() + 1e-9)


def _stem(path: Path) -> str:
    return path.stem.lower().replace("-", "_")


def held_out(candidates: list[Path], trained_on: list[Path]) -> tuple[list[Path], list[Path]]:
    """(kept, dropped): a candidate is dropped when a training photo has its name (ignoring case, - and _)
    or looks the same (24x24 grey thumbnails correlate above SAME_PHOTO): the eval photos and the bundled
    content photos are partly the same pictures in other sizes."""
    names = {_stem(p) for p in trained_on}
    thumbs = [_thumbnail(p) for p in trained_on]
    kept: list[Path] = []
    dropped: list[Path] = []
    for path in candidates:
        thumb = _thumbnail(path)
        same = _stem(path) in names or any(float(thumb @ t) / thumb.size > SAME_PHOTO for t in thumbs)
        (dropped if same else kept).append(path)
    return kept, dropped


def compare(
    store: ModelStore,
    style_id: str,
    painting_id: str,
    photos: list[Path],
    *,
    save: Path | None = None,
    threads: int | None = 1,
    log: Callable[[str], object] = print,
) -> Comparison:
    """Blend each photo into `painting_id` (a gallery painting) in the arbitrary network's style and in
    `style_id` (served from `store`), score both; `save` writes arbitrary | trained composites, whole and
    the person's surroundings close up, to look at."""
    if not photos:
        raise SitterError("no held-out photos to compare on")
    pipeline = Pipeline(store, threads=threads)
    features = Features(store)
    painting = gallery.load_painting(painting_id)
    notes = load_annotations(ANNOTATIONS).get(gallery.painting(painting_id).path.stem, {})
    methods = {"arbitrary": PAINTING_STYLE, "trained": style_id}
    evaluators = {m: CompositeEvaluator(pipeline, features, style) for m, style in methods.items()}
    scores: dict[str, list[Scores]] = {m: [] for m in methods}
    for index, path in enumerate(photos, 1):
        photo = decode_image(path, what="photo")
        results = {}
        for method, evaluator in evaluators.items():
            score, result = evaluator.after(photo, painting, painting_id, notes)
            scores[method].append(score)
            results[method] = result
        a, t = scores["arbitrary"][-1], scores["trained"][-1]
        log(
            f"  {index}/{len(photos)} {path.name}: style ratio {a.style_ratio:.3f} -> {t.style_ratio:.3f}, "
            f"legibility {a.legibility:.3f} -> {t.legibility:.3f}"
        )
        if save is not None:
            _save_pair(save, f"{style_id}--{path.stem}", results["arbitrary"], results["trained"])
    return Comparison(
        style=style_id,
        painting=painting_id,
        photos=[p.name for p in photos],
        arbitrary=MethodScores.of(scores["arbitrary"]),
        trained=MethodScores.of(scores["trained"]),
    )


def _save_pair(folder: Path, name: str, arbitrary: BlendResult, trained: BlendResult) -> None:
    """arbitrary | trained, the whole composite and a close-up of the person's box with a margin."""
    folder.mkdir(parents=True, exist_ok=True)
    images_ = [arbitrary.image, trained.image]
    box = trained.box
    height, width = images_[0].shape[:2]
    mx, my = box.w // 4, box.h // 8
    x0, y0 = max(0, box.x - mx), max(0, box.y - my)
    x1, y1 = min(width, box.x + box.w + mx), min(height, box.y + box.h + my)
    gap = np.full((height, 8, 3), 255, np.uint8)
    whole = np.concatenate([images_[0], gap, images_[1]], axis=1)
    close = [image[y0:y1, x0:x1] for image in images_]
    close_gap = np.full((y1 - y0, 8, 3), 255, np.uint8)
    (folder / f"{name}--whole.png").write_bytes(encode_image(whole, "png"))
    pair = np.concatenate([close[0], close_gap, close[1]], axis=1)
    (folder / f"{name}--close.png").write_bytes(encode_image(pair, "png"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__)
    parser.add_argument("--photos", required=True, type=Path, help="held-out portraits (never trained on)")
    parser.add_argument("--styles", help="trained style ids (default: every trained style)")
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="photos used (sorted by name)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--save", type=Path, help="write arbitrary | trained composites here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    store = model_store()
    known = store.trained_styles()
    chosen = args.styles.split(",") if args.styles else list(known)
    photos = images(args.photos)[: args.limit]
    report = []
    for style_id in chosen:
        comparison = compare(
            store,
            style_id,
            known[style_id].painting,
            photos,
            save=args.save,
            threads=args.threads,
            log=(lambda line: None) if args.json else print,
        )
        report.append(comparison.as_dict())
        if not args.json:
            print(comparison.table())
            wins, failures = comparison.verdict()
            print("wins" if wins else "does not win: " + "; ".join(failures))
    if args.json:
        print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

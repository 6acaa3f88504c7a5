"""The `sitter` command: blend in-process, browse the gallery and styles, manage models, evaluate, benchmark.

Every expected failure is a SitterError: it is printed as one line and the command exits 2, no traceback.
That includes a missing extra: this module imports only the base install's packages (`pip install .`, as
in the image's models stage); each command that needs more imports it in its handler, after checking
(sitter.extras) that its extras are there.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from services.painting.placement import Placement
from shared import gallery, models
from shared.errors import InvalidParameterError, SitterError
from shared.imageio import decode_image, decode_photo, encode_image, format_for_path
from shared.limits import check_output_scale
from shared.queues import PAINTING_STYLE
from shared.settings import Settings, model_store
from shared.trained import VECTOR
from shared.worker_models import SERVICE_MODELS, export
from sitter import gallery_cli
from sitter.client import add_submit_parser
from sitter.extras import needs_extras
from sitter.stack_arguments import add_arguments as add_stack_arguments

if TYPE_CHECKING:
    from services.painting.known import KnownPainting
    from services.painting.options import Harmonize

Handler = Callable[[argparse.Namespace], int]


def _load_painting(ref: str) -> tuple[str, np.ndarray, str | None, KnownPainting | None]:
    """A gallery id (bundled, or added to the local gallery: `sitter gallery add`) or a path to any image:
    a display name, the RGB array, the gallery id and an added painting's stored analysis."""
    from sitter.gallery_cli import local_catalog

    path = Path(ref)
    if ref in gallery.paintings():
        return ref, gallery.load_painting(ref), ref, None
    catalog = local_catalog()
    if catalog.is_added(ref):
        from services.painting.known import added_known
        from shared.added_paintings import added_image

        item = catalog.ready(ref)
        assert catalog.store is not None
        image = added_image(catalog.store, ref, item.version, Settings.from_env().max_pixels)
        return ref, image, ref, added_known(catalog.store, ref, item.version)
    if path.is_file():
        return path.name, decode_image(path, what="painting"), None, None
    return ref, gallery.load_painting(ref), ref, None  # an unknown id: the gallery's own error


def _harmonize_steps(args: argparse.Namespace) -> Harmonize:
    from services.painting.options import Harmonize

    steps = Harmonize.off() if args.no_harmonize else Harmonize()
    return replace(
        steps,
        local_style=steps.local_style and not args.no_local_style,
        placed_size=steps.placed_size and not args.no_placed_size,
        tone=steps.tone and not args.no_tone,
        foreground=steps.foreground and not args.no_foreground,
        edges=steps.edges and not args.no_edge_fade,
        skin=steps.skin and not args.no_skin_colour,
        light=steps.light and not args.no_face_light,
        abstraction=steps.abstraction and not args.no_abstraction,
        features=steps.features and not args.no_face_features,
    )


def _box(text: str) -> Placement:
    parts = text.split(",")
    if len(parts) != 3:
        raise InvalidParameterError(f"--box is X,Y,HEIGHT in painting pixels, got {text!r}", field="box")
    return Placement.parse(parts[0], parts[1], parts[2])


def _order(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) - 1 for part in text.split(",")]
    except ValueError:
        raise InvalidParameterError(
            f"--order lists the people back to front by number (1,2,...), got {text!r}", field="order"
        ) from None


@needs_extras("sitter blend", "segmenter", "stylizer", "compositor")
def cmd_blend(args: argparse.Namespace) -> int:
    from services.painting.group import MAX_PEOPLE
    from sitter.pipeline import BlendOptions, Pipeline

    started = time.perf_counter()
    many = len(args.portrait) > 1 or args.people == "all"
    if len(args.portrait) > MAX_PEOPLE:
        raise InvalidParameterError(
            f"at most {MAX_PEOPLE} portraits per painting, got {len(args.portrait)}", field="portrait"
        )
    if args.people == "all" and len(args.portrait) != 1:
        raise InvalidParameterError("--people all takes one group photo", field="people")
    if many:
        for flag, value in (
            ("--x", args.x),
            ("--y", args.y),
            ("--height", args.height),
            ("--spot", args.spot),
        ):
            if value is not None:
                raise InvalidParameterError(
                    f"{flag} is for one person; with several give --box X,Y,HEIGHT once per person",
                    field=flag.lstrip("-"),
                )
        if args.cutout:
            raise InvalidParameterError("--cutout is for one person", field="cutout")
    elif args.box or args.order:
        raise InvalidParameterError("--box and --order are for several people", field="box")
    portraits = [decode_photo(Path(p), what="portrait") for p in args.portrait]  # as the workers do
    name, painting, gallery_id, known = _load_painting(args.painting)
    placement = Placement.parse(args.x, args.y, args.height, auto=args.auto)
    if args.spot is not None and not placement.is_auto:
        raise InvalidParameterError("--spot cannot be combined with --x, --y or --height", field="spot")
    boxes = [_box(text) for text in args.box] if args.box else None
    order = _order(args.order)
    options = BlendOptions(
        style=args.style,
        strength=args.strength,
        keep_colors=args.keep_colors,
        harmonize=_harmonize_steps(args),
        max_size=args.max_size,
        output_scale=check_output_scale(args.output_scale),
    )
    decoded = time.perf_counter()
    pipeline = Pipeline(model_store(args.model_dir))
    loaded = time.perf_counter()
    out = Path(args.output)
    if many:
        group = pipeline.blend_group(
            portraits,
            painting,
            boxes,
            options,
            painting_id=gallery_id,
            order=order,
            group_photo=args.people == "all",
            known=known,
        )
        image, timings = group.image, group.timings
        placed = list(zip(group.boxes, group.plans, strict=True))
    else:
        result = pipeline.blend(
            portraits[0], painting, placement, options, painting_id=gallery_id, spot=args.spot, known=known
        )
        image, timings = result.image, result.timings
        placed = [(result.box, result.plan)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(encode_image(image, format_for_path(out)))
    if args.cutout and not many:
        Path(args.cutout).write_bytes(encode_image(result.cutout, "png"))
    for path, portrait in zip(args.portrait, portraits, strict=True):
        print(f"portrait  {path} {portrait.shape[1]}x{portrait.shape[0]}")
    print(f"painting  {name} {painting.shape[1]}x{painting.shape[0]}")
    print(f"{'decode':<10}{(decoded - started) * 1000:8.0f} ms")
    print(f"{'load':<10}{(loaded - decoded) * 1000:8.0f} ms")
    for stage, seconds in timings.items():
        print(f"{stage:<10}{seconds * 1000:8.0f} ms")
    for k, (box, plan) in enumerate(placed):
        who = f" person {k + 1}" if many else ""
        print(f"placed   {who} x={box.x} y={box.y} width={box.w} height={box.h}")
        print(f"because  {who} {plan.kind}: {plan.reason}")
    wrote = args.cutout if args.cutout and not many else None
    print(f"wrote     {out}" + (f" and {wrote}" if wrote else ""))
    return 0


def cmd_paintings(args: argparse.Namespace) -> int:
    rows = list(gallery.paintings().values())
    if args.json:
        print(json.dumps([{**vars(p), "path": str(p.path)} for p in rows], indent=2))
        return 0
    for p in rows:
        print(f"{p.id:<32} {p.title} — {p.artist}, {p.year}")
    return 0


def cmd_styles(args: argparse.Namespace) -> int:
    from shared.builtin_styles import builtin_styles

    print(f"{'painting':<32} the target painting itself (default)")
    for p in gallery.paintings().values():
        print(f"{p.id:<32} {p.title} — {p.artist}")
    for style in builtin_styles():
        print(f"{style.id:<32} built-in: {style.label}")
    for trained_style in model_store(args.model_dir).trained_styles().values():
        kind = "trained style vector" if trained_style.kind == VECTOR else "trained network"
        print(
            f"{trained_style.style_id:<32} {kind}: {trained_style.title}{_margin(trained_style.comparison)}"
        )
    print("builtin-3@0.6,builtin-12@0.4     a blend of built-in styles; or a path to any image")
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    store = model_store(args.model_dir)
    fetched = models.fetch(store)
    print(f"{len(fetched)} model(s) fetched; all verified in {store.directory}")
    return 0


def cmd_models_export(args: argparse.Namespace) -> int:
    copied = export(args.service, model_store(args.model_dir), Path(args.into))
    print(f"{len(copied)} model(s) of the {args.service} image copied to {args.into}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    missing = 0
    for item in models.status(model_store(args.model_dir)):
        missing += item.state != "verified"
        print(f"{item.spec.name:<28} {item.size / 1024:8.0f} KiB  {item.state:<9} {item.path}")
    if missing:
        print(f"{missing} model(s) not verified: run `{models.FETCH_COMMAND}`")
    return 1 if missing else 0


@needs_extras("sitter eval segmentation", "segmenter")
def cmd_eval_segmentation(args: argparse.Namespace) -> int:
    from services.segmenter.evaluate import evaluate
    from services.segmenter.matting import PortraitMatter

    report = evaluate(PortraitMatter(model_store(args.model_dir)), Path(args.images), Path(args.masks))
    print(json.dumps(report.as_dict(), indent=2) if args.json else report.format_table())
    return 0


@needs_extras("sitter eval composite", "segmenter", "stylizer", "compositor", "eval")
def cmd_eval_composite(args: argparse.Namespace) -> int:
    from sitter.eval_composite import as_json, evaluate, format_table, load_annotations
    from sitter.perceptual import Features
    from sitter.pipeline import Pipeline

    notes = Path(args.annotations)
    if not notes.is_file():
        raise SitterError(
            f"no annotations file {notes}; pass --annotations (eval/composite/annotations.json)"
        )
    gallery_ids = {p.path.stem: p.id for p in gallery.paintings().values()}
    paintings_dir = Path(args.paintings).resolve()
    if paintings_dir != gallery.PAINTINGS_DIR.resolve():
        gallery_ids = {}  # other paintings are analysed as uploads are
    reports = evaluate(
        Pipeline(model_store(args.model_dir)),
        Features(model_store(args.model_dir)),
        Path(args.photos),
        paintings_dir,
        load_annotations(notes),
        gallery_ids,
        limit=args.limit,
        save=Path(args.save) if args.save else None,
        style=args.style,
        without=_steps(args.without),
        before_without=None if args.before_without is None else _steps(args.before_without),
    )
    print(json.dumps(as_json(reports), indent=2) if args.json else format_table(reports))
    return 0


def _margin(comparison: dict[str, Any]) -> str:
    """`; style ratio 0.62 vs 0.58 (arbitrary), 8 held-out photos` when the style was compared."""
    if not comparison:
        return ""
    ours, theirs = comparison["trained"]["style_ratio"], comparison["arbitrary"]["style_ratio"]
    verdict = "wins" if comparison.get("wins") else "does not win"
    return (
        f"; style ratio {ours:.3f} vs {theirs:.3f} (arbitrary network), {len(comparison['photos'])} "
        f"held-out photos: {verdict}"
    )


def _steps(names: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in names.split(",") if name.strip())


@needs_extras("sitter bench", "segmenter", "stylizer", "compositor")
def cmd_bench(args: argparse.Namespace) -> int:
    from sitter.bench import run_bench

    run_bench(model_store(args.model_dir), repeats=args.repeats, as_json=args.json)
    return 0


@needs_extras("sitter train-style", "train")  # only this command needs torch; no image installs it
def cmd_train_style(args: argparse.Namespace) -> int:
    from training.cli import run

    return run(args)


@needs_extras("sitter up", "segmenter", "stylizer", "compositor", "worker", "gateway")
def cmd_up(args: argparse.Namespace) -> int:
    from sitter.stack import serve

    return serve(args)


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sitter", description="Put a person into a painting.")
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="model cache (default: SITTER_MODEL_DIR)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    blend = sub.add_parser("blend", help="segment, stylize and blend a portrait into a painting, in-process")
    blend.add_argument(
        "portrait",
        nargs="+",
        help="portrait photo(s) (JPEG, PNG, WebP, HEIC ...); up to 6 in one painting",
    )
    blend.add_argument(
        "--people", choices=("main", "all"), default="main", help="all: every person of one group photo"
    )
    blend.add_argument(
        "--box", action="append", help="X,Y,HEIGHT of one person's box (several people: once per person)"
    )
    blend.add_argument("--order", help="several people: back to front by number, e.g. 2,1 (default 1,2,...)")
    blend.add_argument("--painting", required=True, help="gallery id (see `sitter paintings`) or image path")
    blend.add_argument(
        "--style", default=PAINTING_STYLE, help="painting (default), gallery id, builtin-N, blend, path"
    )
    blend.add_argument("--x", type=int, help="left of the person's box, painting pixels")
    blend.add_argument("--y", type=int, help="top of the person's box, painting pixels")
    blend.add_argument("--height", type=int, help="person's height in painting pixels")
    blend.add_argument("--auto", action="store_true", help="default placement (the default without --x/--y)")
    blend.add_argument(
        "--strength",
        type=float,
        default=None,
        help="style strength 0..1 (default: automatic, full strokes on expressive paintings, a gentler mix "
        "on smooth realistic ones)",
    )
    blend.add_argument("--keep-colors", action="store_true", help="keep the photo's colours")
    blend.add_argument("--spot", type=int, help="one of the painting's suggested spots (0 = best)")
    blend.add_argument(
        "--harmonize", action="store_true", help="(the default) all the harmonisation steps below"
    )
    blend.add_argument(
        "--no-harmonize", action="store_true", help="none: the person only cut out and resized"
    )
    blend.add_argument("--no-local-style", action="store_true", help="style of the whole painting only")
    blend.add_argument(
        "--no-placed-size", action="store_true", help="stylize at the photo's size, then resize"
    )
    blend.add_argument("--no-tone", action="store_true", help="no tone/colour match to the surroundings")
    blend.add_argument("--no-foreground", action="store_true", help="no foreground colour at soft edges")
    blend.add_argument(
        "--no-edge-fade", action="store_true", help="keep hard edges where the photo's frame cut the person"
    )
    blend.add_argument(
        "--no-skin-colour", action="store_true", help="skin in the painting's palette, not partly the photo's"
    )
    blend.add_argument(
        "--no-face-light", action="store_true", help="the face darkens and flattens with the body's tone"
    )
    blend.add_argument(
        "--no-face-features",
        action="store_true",
        help="the strokes may paint over the face's features (no floor on how well the face reads)",
    )
    blend.add_argument(
        "--no-abstraction",
        action="store_true",
        help="full network strokes on every painting, not by the painting's abstraction",
    )
    blend.add_argument(
        "--max-size",
        type=_positive_int,
        default=1600,
        help="cap on the stylized portrait's long side (at 1x; grows with --output-scale)",
    )
    blend.add_argument(
        "--output-scale",
        default="1",
        help="result size, 1 to 2 times the painting's (the person is painted at that size)",
    )
    blend.add_argument("--cutout", help="also write the RGBA cut-out (PNG) here")
    blend.add_argument("-o", "--output", required=True, help="output image (.png, .jpg or .webp)")
    blend.set_defaults(handler=cmd_blend)

    paintings = sub.add_parser("paintings", help="list the bundled gallery")
    paintings.add_argument("--json", action="store_true")
    paintings.set_defaults(handler=cmd_paintings)
    sub.add_parser("styles", help="list the styles").set_defaults(handler=cmd_styles)

    model_cmd = sub.add_parser("models", help="fetch or list the pretrained models").add_subparsers(
        dest="models_command", required=True
    )
    model_cmd.add_parser("fetch", help="download, verify and cache every model").set_defaults(
        handler=cmd_models_fetch
    )
    model_cmd.add_parser("list", help="name, size, path and state of each model").set_defaults(
        handler=cmd_models_list
    )
    export = model_cmd.add_parser(
        "export", help="copy the verified models one worker service's image carries into a directory"
    )
    export.add_argument("service", choices=list(SERVICE_MODELS))
    export.add_argument("into", help="the directory (created when missing)")
    export.set_defaults(handler=cmd_models_export)

    evaluation = sub.add_parser("eval", help="evaluate a stage").add_subparsers(
        dest="eval_command", required=True
    )
    seg = evaluation.add_parser("segmentation", help="IoU, boundary F, alpha error and speed on a masked set")
    seg.add_argument("--images", required=True)
    seg.add_argument("--masks", required=True)
    seg.add_argument("--json", action="store_true")
    seg.set_defaults(handler=cmd_eval_segmentation)

    comp = evaluation.add_parser(
        "composite", help="style, tone, legibility, detail and coverage of composites, before and after"
    )
    comp.add_argument("--photos", required=True, help="folder of portrait photos")
    comp.add_argument("--paintings", default=str(gallery.PAINTINGS_DIR), help="folder of paintings")
    comp.add_argument(
        "--annotations", default="eval/composite/annotations.json", help="painted faces and figures (JSON)"
    )
    comp.add_argument("--limit", type=_positive_int, help="stop after this many pairs")
    comp.add_argument(
        "--style", default=PAINTING_STYLE, help="style of the `after` blend (e.g. trained-ID), as for blend"
    )
    comp.add_argument(
        "--without",
        default="",
        help="harmonisation steps to switch off in the `after` blend, e.g. skin,tone (to measure each)",
    )
    comp.add_argument(
        "--before-without",
        help="make `before` the default blend with these steps off (e.g. light), not the old product: "
        "one run measures a step",
    )
    comp.add_argument("--save", help="also write each before and after composite (JPEG) into this folder")
    comp.add_argument("--json", action="store_true")
    comp.set_defaults(handler=cmd_eval_composite)

    bench = sub.add_parser("bench", help="time each stage on the 600x800 sample, warm, against the paper")
    bench.add_argument("--repeats", type=_positive_int, default=10)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)

    train = sub.add_parser(
        "train-style", help="train a network of one painting's own (needs `pip install -e '.[train]'`)"
    )
    train.add_argument("painting", help="gallery id or image path")
    train.add_argument("--id", required=True, help="the style is served as trained-ID (kebab-case)")
    train.add_argument(
        "--content",
        action="append",
        help="folder of photos of people (repeatable; default: the bundled PD/CC0 ones)",
    )
    train.add_argument(
        "--from",
        dest="route",
        choices=("scratch", "arbitrary", "cin"),
        default="scratch",
        help="scratch: a network of its own; arbitrary: the arbitrary network's style vector, optimised; "
        "cin: a new style (gamma/beta) for the 26-style network, exported as a network of its own",
    )
    train.add_argument("--steps", type=_positive_int, help="training steps (default: the preset's)")
    train.add_argument("--size", type=_positive_int, help="training crop side in px (default: the preset's)")
    train.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    train.add_argument(
        "--preset", choices=("cpu", "full"), default="cpu", help="cpu: <= 45 min on 2 cores; full: a GPU"
    )
    train.add_argument("--threads", type=_positive_int, help="torch CPU threads (default: torch's)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", help="where the ONNX file and trained.json go (default: the package's)")
    train.add_argument(
        "--work-dir", help="checkpoints (default: ~/.cache/sitter/train); a rerun resumes from them"
    )
    train.add_argument("--restart", action="store_true", help="ignore an existing checkpoint")
    train.add_argument(
        "--eval-photos",
        help="held-out portraits for the comparison with the arbitrary network (default: "
        "eval/composite/photos; photos it trained on are left out)",
    )
    train.add_argument(
        "--eval-limit", type=_positive_int, default=8, help="at most this many held-out photos (default 8)"
    )
    train.add_argument(
        "--keep-anyway",
        action="store_true",
        help="register the style even when it does not beat the arbitrary network (or was not compared)",
    )
    train.add_argument(
        "--licence",
        default="Apache-2.0 (Sitter); trained on public-domain/CC0 photos and a public-domain painting",
        help="licence note stored with the network",
    )
    train.set_defaults(handler=cmd_train_style)

    add_submit_parser(sub)
    up = sub.add_parser("up", help="run the whole stack here: redis, gateway, one worker per service")
    add_stack_arguments(up)  # the same options as `python -m sitter.stack`
    up.set_defaults(handler=cmd_up)
    gallery_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except SitterError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`sitter train-style PAINTING --id ID ...`: train, export, compare with the arbitrary network on held-out
photos, and register the style only when it wins (or with --keep-anyway).

Three routes (`--from`): `scratch`, a network of its own (training/train.py, exported to ONNX and checked);
`arbitrary`, the painting's style vector for the arbitrary-style network, optimised from the predictor's
guess (training/vector.py; the style file is 100 numbers); and `cin`, a new style's gamma and beta for the
26-style network, the rest frozen (training/cin.py), exported to ONNX as a network of its own. The
candidate is written under the work directory first and served from there for the comparison
(training/compare.py); only a winner is copied into the catalogue directory.

Imported only when the command runs, because it needs torch (`pip install -e '.[train]'`).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shared import gallery, models, trained
from shared.errors import InvalidParameterError, ModelMissingError, SitterError
from shared.imageio import decode_image
from shared.models import ModelStore, sha256_of
from shared.queues import is_style_id
from shared.settings import model_store
from training import compare as compare_module
from training.compare import Comparison
from training.export import check_export, export_onnx
from training.train import PRESETS, checkpoint_path, load_network, train, with_overrides

# public-domain / CC0 photos of people (sources in each folder's SOURCES.md): safe to ship weights from
DEFAULT_CONTENT = (Path(__file__).parent / "data" / "content", gallery.SAMPLES_DIR)


def load_painting(ref: str) -> tuple[str, str, Any]:
    """(painting id or file name, title, RGB array) of a gallery id or an image path."""
    if ref in gallery.paintings():
        item = gallery.painting(ref)
        return item.id, f"{item.title} ({item.artist})", gallery.load_painting(ref)
    path = Path(ref)
    if not path.is_file():
        raise InvalidParameterError(
            f"{ref!r} is neither a gallery painting id nor an image file", field="painting"
        )
    return path.name, path.stem, decode_image(path, what="painting")


def run(args: argparse.Namespace) -> int:
    if not is_style_id(args.id) or args.id.startswith(trained.STYLE_PREFIX):
        raise InvalidParameterError(
            f"--id {args.id!r} must be kebab-case (a-z, 0-9, -) without the `trained-` prefix", field="id"
        )
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SitterError("--device cuda: this torch has no usable CUDA device")
    if args.threads:
        torch.set_num_threads(args.threads)
    painting_id, title, painting = load_painting(args.painting)
    content_dirs = [Path(folder) for folder in (args.content or DEFAULT_CONTENT)]
    from training.data import content_files

    files = content_files(content_dirs)
    out_dir = Path(args.out) if args.out else trained.TRAINED_DIR
    store = model_store(args.model_dir)  # SITTER_TRAINED_DIR arrives as store.trained_dir
    work_dir = Path(args.work_dir) if args.work_dir else store.directory.parent / "train"
    style_id = f"{trained.STYLE_PREFIX}{args.id}"
    candidate_dir = work_dir / "candidates" / args.id
    started = time.perf_counter()
    train_route = {"arbitrary": _train_vector, "cin": _train_cin}.get(args.route, _train_network)
    entry = train_route(args, style_id, painting_id, painting, files, work_dir, candidate_dir, store)
    entry.update({"id": args.id, "painting": painting_id, "title": title, "licence": args.licence})
    trained.register(candidate_dir, entry)

    comparison = _compare(args, store, candidate_dir, style_id, painting_id, files)
    if comparison is not None:
        print(comparison.table())
        wins, failures = comparison.verdict()
        entry["comparison"] = comparison.as_dict()
        print(
            f"{style_id} wins against the arbitrary network"
            if wins
            else "does not win: " + "; ".join(failures)
        )
    else:
        wins = False
    if not wins and not args.keep_anyway:
        print(
            f"{style_id} not registered (pass --keep-anyway to register it all the same); "
            f"the candidate is in {candidate_dir}"
        )
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(candidate_dir / entry["file"], out_dir / entry["file"])
    catalogue = trained.register(out_dir, entry)
    print(f"registered {style_id} in {catalogue}" + ("" if wins else " (--keep-anyway: it does not win)"))
    if out_dir.resolve() in {d.resolve() for d in trained.trained_dirs(store.trained_dir)}:
        models.fetch(store, names={style_id}, log=print)  # verified copy into the model cache
    else:
        print(f"set SITTER_TRAINED_DIR={out_dir} (then `sitter models fetch`) to serve it")
    print(
        f"done in {(time.perf_counter() - started) / 60:.1f} min: try `sitter blend PORTRAIT --painting "
        f"{painting_id if painting_id in gallery.paintings() else 'ID'} --style {style_id} -o out.png`"
    )
    return 0


def _train_network(
    args: argparse.Namespace,
    style_id: str,
    painting_id: str,
    painting: np.ndarray,
    files: list[Path],
    work_dir: Path,
    candidate_dir: Path,
    store: ModelStore,
) -> dict[str, Any]:
    """Route `scratch`: a network of its own (training/train.py), exported to ONNX and checked."""
    preset = with_overrides(PRESETS[args.preset], steps=args.steps, size=args.size)
    ckpt = checkpoint_path(work_dir, style_id)
    if args.restart and ckpt.is_file():
        ckpt.unlink()
    print(
        f"training {style_id} from scratch: preset {preset.name}, {preset.steps} steps, "
        f"{preset.size} px crops, batch {preset.batch}, {len(files)} content images, device {args.device}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    result = train(painting, files, work_dir, style_id, preset, device=args.device, seed=args.seed)
    print(f"trained in {result.seconds / 60:.1f} min; loss {result.first_loss:.3g} -> {result.last_loss:.3g}")
    net = load_network(result.checkpoint)
    onnx_path = export_onnx(net, candidate_dir / f"{args.id}.onnx")
    worst = check_export(net, onnx_path)
    print(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); ONNX vs torch max diff {worst:.1e}"
    )
    return {
        "kind": trained.NETWORK,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "training": {
            "route": "scratch",
            "preset": preset.name,
            "steps": result.steps,
            "size": preset.size,
            "batch": preset.batch,
            "minutes": round(result.seconds / 60, 1),
            "device": args.device,
            "threads": torch.get_num_threads(),
            "content": sorted(path.name for path in files),
            "loss": [round(result.first_loss, 4), round(result.last_loss, 4)],
        },
    }


def _placed_samples(
    store: ModelStore,
    painting: np.ndarray,
    painting_id: str,
    files: list[Path],
    size: int,
    face_weight: float,
    regional_vectors: bool,
) -> tuple[np.ndarray, list[Any], list[Any], list[Any]]:
    """What routes `arbitrary` and `cin` both train on: (the painting's predicted style vector, the content
    photos with faces and mattes, the painting's regions, the photos placed as the planner places them).
    With no placement found, random crops train against the painting's regions, each with its own local
    style vector when `regional_vectors` (route `arbitrary` reads them; `cin` uses only their pixels)."""
    from services.painting.analysis import PaintingAnalyser
    from services.painting.portrait import portrait_info
    from services.segmenter.matting import PortraitMatter
    from services.stylizer.stylizer import Stylizer
    from training import vector

    threads = torch.get_num_threads()
    stylizer = Stylizer(store, threads=threads)
    start = stylizer.style_vector(painting)  # the arbitrary network's own guess, for the whole painting
    analyser = PaintingAnalyser(store, threads=threads)
    matter = PortraitMatter(store, threads=threads)
    photos = vector.load_content(
        files, size, lambda rgb: portrait_info(rgb, analyser.faces).face, matter.matte
    )
    gallery_id = painting_id if painting_id in gallery.paintings() else None
    regions, placed = placed_regions(stylizer, analyser, painting, gallery_id, photos, start, face_weight)
    if not placed:  # no placement found: random crops against random regions of the painting
        regions = [
            vector.Region(
                painting[y0:y1, x0:x1],
                stylizer.local_style(painting, (x0, y0, x1, y1), start).vector if regional_vectors else start,
            )
            for x0, y0, x1, y1 in vector.region_boxes(*painting.shape[:2])
        ]
    return start, photos, regions, placed


def _train_vector(
    args: argparse.Namespace,
    style_id: str,
    painting_id: str,
    painting: np.ndarray,
    files: list[Path],
    work_dir: Path,
    candidate_dir: Path,
    store: ModelStore,
) -> dict[str, Any]:
    """Route `arbitrary`: the painting's style vector for the shared arbitrary-style transformer, from the
    predictor's vector, optimised (training/vector.py); the style file is the 100 numbers."""
    from training import vector

    preset = with_overrides(vector.VECTOR_PRESETS[args.preset], steps=args.steps, size=args.size)
    ckpt = vector.checkpoint_path(work_dir, style_id)
    if args.restart and ckpt.is_file():
        ckpt.unlink()
    threads = torch.get_num_threads()
    samples = _placed_samples(store, painting, painting_id, files, preset.size, preset.face_weight, True)
    start, photos, regions, placed = samples
    transformer = models.model_path("arbitrary-transform", store)
    print(
        f"training {style_id} from the arbitrary network's style vector: preset {preset.name}, "
        f"{preset.steps} steps, batch {preset.batch}, {len(photos)} content images "
        f"({sum(p.face is not None for p in photos)} with a face) whole at {len(placed)} placements, "
        f"device {args.device}, {threads} thread(s)"
    )
    result = vector.train_vector(
        painting,
        photos,
        start,
        transformer,
        regions,
        work_dir,
        style_id,
        preset,
        placed=placed or None,
        device=args.device,
        seed=args.seed,
    )
    moved = float(np.linalg.norm(result.vector - result.start) / np.linalg.norm(result.start))
    print(
        f"trained in {result.seconds / 60:.1f} min ({result.step_seconds:.2f} s/step); loss "
        f"{result.first_loss:.3g} -> {result.last_loss:.3g}; the vector moved {moved:.0%} of its length"
    )
    path = vector.write_vector(
        candidate_dir / f"{args.id}{vector.VECTOR_FILE_SUFFIX}",
        result.vector,
        result.start,
        "arbitrary-transform",
        sha256_of(transformer),
    )
    return {
        "kind": trained.VECTOR,
        "file": path.name,
        "sha256": sha256_of(path),
        "training": {
            "route": "arbitrary",
            "preset": preset.name,
            "steps": result.steps,
            "size": preset.size,
            "batch": preset.batch,
            "minutes": round(result.seconds / 60, 1),
            "seconds_per_step": round(result.step_seconds, 2),
            "device": args.device,
            "threads": threads,
            "content": sorted(path.name for path in files),
            "loss": [round(result.first_loss, 4), round(result.last_loss, 4)],
            "vector_moved": round(moved, 3),
            "regions": len(regions),
        },
    }


def _train_cin(
    args: argparse.Namespace,
    style_id: str,
    painting_id: str,
    painting: np.ndarray,
    files: list[Path],
    work_dir: Path,
    candidate_dir: Path,
    store: ModelStore,
) -> dict[str, Any]:
    """Route `cin`: a new style for the frozen 26-style network (training/cin.py), trained on the same placed
    samples as route `arbitrary`, exported to ONNX with an image-only input and checked against torch."""
    from training import cin

    preset = with_overrides(cin.CIN_PRESETS[args.preset], steps=args.steps, size=args.size)
    ckpt = cin.checkpoint_path(work_dir, style_id)
    if args.restart and ckpt.is_file():
        ckpt.unlink()
    threads = torch.get_num_threads()
    _, photos, regions, placed = _placed_samples(
        store, painting, painting_id, files, preset.size, preset.face_weight, False
    )
    multistyle = models.model_path("multistyle26", store)
    print(
        f"training {style_id} as a new style of the 26-style network: preset {preset.name}, "
        f"{preset.steps} steps, batch {preset.batch}, {len(photos)} content images "
        f"({sum(p.face is not None for p in photos)} with a face) whole at {len(placed)} placements, "
        f"device {args.device}, {threads} thread(s)"
    )
    result = cin.train_cin(
        photos,
        regions,
        work_dir,
        style_id,
        preset,
        multistyle,
        placed=placed or None,
        device=args.device,
        seed=args.seed,
    )
    print(
        f"trained in {result.seconds / 60:.1f} min ({result.step_seconds:.2f} s/step); loss "
        f"{result.first_loss:.3g} -> {result.last_loss:.3g}"
    )
    onnx_path = export_onnx(result.model, candidate_dir / f"{args.id}.onnx")
    worst = check_export(result.model, onnx_path)
    print(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB); ONNX vs torch max diff {worst:.1e}"
    )
    return {
        "kind": trained.NETWORK,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "training": {
            "route": "cin",
            "preset": preset.name,
            "steps": result.steps,
            "batch": preset.batch,
            "minutes": round(result.seconds / 60, 1),
            "seconds_per_step": round(result.step_seconds, 2),
            "device": args.device,
            "threads": threads,
            "content": sorted(path.name for path in files),
            "loss": [round(result.first_loss, 4), round(result.last_loss, 4)],
            "start": [round(float(w), 4) for w in result.start],
            "trunk": "multistyle26",
            "trunk_sha256": sha256_of(multistyle),
            "regions": len(regions),
        },
    }


SPOTS = (None, 0, 1, 2)  # the automatic place and the painting's first suggested spots


def placed_regions(
    stylizer: Any,
    analyser: Any,
    painting: np.ndarray,
    painting_id: str | None,
    photos: list[Any],
    start: np.ndarray,
    face_weight: float,
) -> tuple[list[Any], list[Any]]:
    """Where the product places these photos' people in the painting (automatically and at its suggested
    spots): each place as the painting around the person's box with the local style vector used there
    (the regions), and each photo at the size it is placed at, paired with its region (the samples): what
    the trained style has to paint, at the scale it is painted at."""
    from services.painting.known import bundled_known
    from services.painting.planning import plan_for
    from training.vector import Region, placed_sample, surroundings

    known = bundled_known(painting_id) if painting_id else None

    seen: set[tuple[int, tuple[int, int, int, int]]] = set()
    regions, placed = [], []
    for index, photo in enumerate(photos):
        for spot in SPOTS:
            try:
                plan = plan_for(analyser, photo.rgb, painting, known, None, spot)
            except SitterError:  # fewer spots than asked for
                continue
            box = (plan.box.x, plan.box.y, plan.box.x + plan.box.w, plan.box.y + plan.box.h)
            if (index, box) in seen:
                continue
            seen.add((index, box))
            around, weight = surroundings(painting, box)
            local = stylizer.local_style(painting, plan.style_region, start).vector
            regions.append(Region(around, local, weight))
            placed.append(placed_sample(photo, plan.scale, len(regions) - 1, face_weight))
    return regions, placed


def _compare(
    args: argparse.Namespace,
    store: ModelStore,
    candidate_dir: Path,
    style_id: str,
    painting_id: str,
    files: list[Path],
) -> Comparison | None:
    """The candidate against the arbitrary network on held-out photos (training/compare.py); None when
    there is nothing to compare on."""
    if painting_id not in gallery.paintings():
        print("no comparison: the painting is not a gallery painting (the eval needs its analysis)")
        return None
    folder = Path(args.eval_photos) if args.eval_photos else compare_module.DEFAULT_EVAL_PHOTOS
    kept, dropped = compare_module.held_out(compare_module.images(folder), files)
    if dropped:
        print(
            f"not compared on {len(dropped)} photo(s) of {folder} that it trained on: "
            + ", ".join(p.name for p in dropped)
        )
    kept = kept[: args.eval_limit]
    if not kept:
        print(f"no comparison: no photo in {folder} is held out from training (pass --eval-photos DIR)")
        return None
    print(f"comparing {style_id} with the arbitrary network on {len(kept)} held-out photo(s) of {folder}")
    return compare_module.compare(
        candidate_store(store, candidate_dir, style_id),
        style_id,
        painting_id,
        kept,
        save=candidate_dir / "compare",
        threads=torch.get_num_threads(),
    )


def candidate_store(store: ModelStore, candidate_dir: Path, style_id: str) -> ModelStore:
    """A model store that serves the candidate beside every model of `store`: its own model directory of
    links to `store`'s files plus the candidate's verified copy, so a candidate that is not registered
    never replaces a cached model of the same name."""
    if not store.directory.is_dir():
        raise ModelMissingError(
            f"no models in {store.directory} to compare with; "
            "run `sitter models fetch` (or set SITTER_MODEL_DIR)"
        )
    directory = candidate_dir / "models"
    directory.mkdir(parents=True, exist_ok=True)
    for source in store.directory.iterdir():
        link = directory / source.name
        if source.is_file() and not link.exists() and not source.name.startswith(style_id):
            link.symlink_to(source.resolve())
    candidate = ModelStore(directory, store.extra_catalogue, candidate_dir)
    stale = directory / candidate.catalogue()[style_id].filename
    if stale.is_symlink() or stale.exists():
        stale.unlink()
    models.fetch(candidate, names={style_id}, log=lambda line: None)
    return candidate

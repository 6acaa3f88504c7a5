"""`sitter train-style PAINTING --id ID ...`: train, export to ONNX, check the export, register the style.

Imported only when the command runs, because it needs torch (`pip install -e '.[train]'`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from shared import gallery, models, trained
from shared.errors import InvalidParameterError, SitterError
from shared.imageio import decode_image
from shared.models import sha256_of
from shared.queues import is_style_id
from shared.settings import model_store
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
    preset = with_overrides(PRESETS[args.preset], steps=args.steps, size=args.size)
    painting_id, title, painting = load_painting(args.painting)
    content_dirs = [Path(folder) for folder in (args.content or DEFAULT_CONTENT)]
    from training.data import content_files

    files = content_files(content_dirs)
    out_dir = Path(args.out) if args.out else trained.TRAINED_DIR
    work_dir = (
        Path(args.work_dir) if args.work_dir else model_store(args.model_dir).directory.parent / "train"
    )
    style_id = f"{trained.STYLE_PREFIX}{args.id}"
    ckpt = checkpoint_path(work_dir, style_id)
    if args.restart and ckpt.is_file():
        ckpt.unlink()
    print(
        f"training {style_id} on {title}: preset {preset.name}, {preset.steps} steps, "
        f"{preset.size} px crops, "
        f"batch {preset.batch}, {len(files)} content images, device {args.device}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    started = time.perf_counter()
    result = train(painting, files, work_dir, style_id, preset, device=args.device, seed=args.seed)
    print(f"trained in {result.seconds / 60:.1f} min; loss {result.first_loss:.3g} -> {result.last_loss:.3g}")

    net = load_network(result.checkpoint)
    onnx_path = export_onnx(net, out_dir / f"{args.id}.onnx")
    worst = check_export(net, onnx_path)
    print(
        f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB); ONNX vs torch max diff {worst:.1e}"
    )
    entry = {
        "id": args.id,
        "painting": painting_id,
        "title": title,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "licence": args.licence,
        "training": {
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
    catalogue = trained.register(out_dir, entry)
    print(f"registered {style_id} in {catalogue}")
    store = model_store(args.model_dir)  # SITTER_TRAINED_DIR arrives as store.trained_dir
    if out_dir.resolve() in {d.resolve() for d in trained.trained_dirs(store.trained_dir)}:
        models.fetch(store, names={style_id}, log=print)  # verified copy into the model cache
    else:
        print(f"set SITTER_TRAINED_DIR={out_dir} (then `sitter models fetch`) to serve it")
    print(
        f"done in {(time.perf_counter() - started) / 60:.1f} min: try `sitter blend PORTRAIT --painting "
        f"{painting_id if painting_id in gallery.paintings() else 'ID'} --style {style_id} -o out.png`"
    )
    return 0

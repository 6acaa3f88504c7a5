"""Compare each trained network with the arbitrary-style network on the same photos and painting.

    python -m training.compare --photos DIR [--styles trained-a,trained-b] [--limit N] [--size PX]
                               [--json] [--out DIR]

Two numbers per stylized photo, the same for both networks:
- style distance: the relative Gram distance to the painting, averaged over VGG16 relu1_2, relu2_2, relu3_3
  and relu4_3 (HED's VGG16, the painting at 512 px long side): lower is closer to the painting's brushwork
  and palette;
- legibility: SSIM of the luminance against the photo (Gaussian window, sigma 1.5): higher keeps more of
  the face readable.
`--out` also writes photo | arbitrary | trained strips to look at. A stop-gap until `sitter eval composite`
takes a `--style`; it scores the stylized portrait itself, not the composite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

from services.stylizer.resolve import resolve_style
from services.stylizer.stylizer import Stylizer
from shared import gallery
from shared.imageio import decode_image
from shared.settings import model_store
from training.data import IMAGE_SUFFIXES, style_image
from training.network import Vgg16Features, gram

LAYERS = ("conv1_2", "conv2_2", "conv3_3", "conv4_3")
PAINTING_SIDE = 512


def grams(vgg: Vgg16Features, rgb: np.ndarray, side: int) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        features = vgg(torch.from_numpy(style_image(rgb, side)))
    return {name: gram(features[name])[0] for name in LAYERS}


def style_distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return float(np.mean([float((a[n] - b[n]).norm() / b[n].norm()) for n in LAYERS]))


def ssim_luma(x: np.ndarray, y: np.ndarray) -> float:
    def luma(rgb: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)

    a, b = luma(x), luma(y)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(image: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.GaussianBlur(image, (11, 11), 1.5))

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(ssim.mean())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.compare", description=__doc__)
    parser.add_argument("--photos", required=True, type=Path)
    parser.add_argument("--styles", help="trained style ids (default: every trained style)")
    parser.add_argument("--limit", type=int, default=10, help="photos used (sorted by name)")
    parser.add_argument("--size", type=int, default=800, help="working size (long side) of the photos")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, help="write photo | arbitrary | trained strips here")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    store = model_store()
    known = store.trained_styles()
    chosen = args.styles.split(",") if args.styles else list(known)
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[: args.limit]
    stylizer = Stylizer(store, threads=args.threads)
    vgg = Vgg16Features(LAYERS)
    report = []
    for style_id in chosen:
        painting_id = known[style_id].painting
        painting = gallery.load_painting(painting_id)
        target = grams(vgg, painting, PAINTING_SIDE)
        methods = {
            "arbitrary": resolve_style("painting", stylizer, painting),
            "trained": resolve_style(style_id, stylizer),
        }
        scores: dict[str, dict[str, list[float]]] = {m: {"style": [], "ssim": []} for m in methods}
        for photo_path in photos:
            photo = decode_image(photo_path, what="photo")
            outputs = {m: stylizer.stylize(photo, spec, max_size=args.size) for m, spec in methods.items()}
            working = outputs["trained"].shape[:2]
            small = np.asarray(
                Image.fromarray(photo).resize((working[1], working[0]), Image.Resampling.LANCZOS)
            )
            for method, out in outputs.items():
                scores[method]["style"].append(style_distance(grams(vgg, out, max(out.shape[:2])), target))
                scores[method]["ssim"].append(ssim_luma(out, small))
            if args.out:
                args.out.mkdir(parents=True, exist_ok=True)
                strip = np.concatenate([small, outputs["arbitrary"], outputs["trained"]], axis=1)
                Image.fromarray(strip).save(args.out / f"{style_id}_{photo_path.stem}.jpg", quality=88)
        for method in methods:
            report.append(
                {
                    "style": style_id,
                    "painting": painting_id,
                    "method": method,
                    "photos": len(photos),
                    "style_distance": round(statistics.mean(scores[method]["style"]), 4),
                    "legibility_ssim": round(statistics.mean(scores[method]["ssim"]), 4),
                }
            )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{'style':<28} {'method':<10} {'style dist (lower)':>18} {'SSIM (higher)':>14}")
        for row in report:
            print(
                f"{row['style']:<28} {row['method']:<10} {row['style_distance']:>18.4f} "
                f"{row['legibility_ssim']:>14.4f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

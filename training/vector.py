"""Issue 24, route (a): a painting's own style vector for the arbitrary-style network, optimised.

The arbitrary network (training/arbitrary.py, Ghiasi et al.) paints a photo from a 100-number style vector
that its predictor guesses from the painting. Here that guess is only the start: the vector is optimised
under the perceptual loss of training/train.py (content + Gram style on VGG16, the same `relative_mse`)
over many crops of the content photos, with the transformer frozen. Step 0 is exactly the arbitrary
network's result; the loss can only be improved from there. The result is 100 numbers that the shipped
(int8) transformer runs as `trained-<id>`, no new network file.

Sizes follow the product: the person is stylized at the size they are placed at (300-1000 px), so the
content photos are cropped at that scale (training/data.py's CropSampler on photos kept at 800 px) and the
painting's Gram targets are taken at its own size (the strokes the person is placed among). A face-region
weight on the content loss keeps faces legible (the faces are found once per photo with the product's
full-range face detector).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from shared.errors import SitterError
from shared.imageio import decode_image
from training.arbitrary import ArbitraryTransformer, load_arbitrary
from training.data import LOAD_SIDE, MAX_ZOOM_OUT, style_image
from training.network import Vgg16Features, gram
from training.train import relative_mse

VECTOR_FILE_SUFFIX = ".style.json"


@dataclass(frozen=True)
class VectorPreset:
    name: str
    size: int  # crop side: the part of the placed person the loss sees at once
    batch: int
    steps: int
    lr: float
    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]
    style_weight: float
    content_weight: float
    face_weight: float  # extra content weight inside the photo's face box (0: none)
    style_side: int  # cap on the painting's long side for its Gram targets (its own size below that)
    checkpoint_every: int = 25


VECTOR_PRESETS = {
    # 2 busy CPU cores, one thread: measured step time in docs/training.md; 300 steps fit 45 min there.
    "cpu": VectorPreset(
        name="cpu",
        size=256,
        batch=2,
        steps=300,
        lr=0.02,
        style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        content_layers=("conv3_3",),
        style_weight=1.0,
        content_weight=1.0,
        face_weight=2.0,
        style_side=1280,
    ),
    # a GPU: bigger crops and batches, more steps (not run here: no GPU was lent to this work)
    "full": VectorPreset(
        name="full",
        size=384,
        batch=8,
        steps=1500,
        lr=0.01,
        style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        content_layers=("conv3_3",),
        style_weight=1.0,
        content_weight=1.0,
        face_weight=2.0,
        style_side=1600,
        checkpoint_every=100,
    ),
}


@dataclass(frozen=True)
class VectorResult:
    vector: np.ndarray  # (100,) float32, the optimised style
    start: np.ndarray  # the predictor's vector it started from
    checkpoint: Path
    steps: int
    seconds: float
    step_seconds: float  # median wall time of one step in this run
    first_loss: float
    last_loss: float
    losses: list[float]


@dataclass(frozen=True)
class Photo:
    rgb: np.ndarray  # HxWx3 uint8, long side about LOAD_SIDE
    face: tuple[int, int, int, int] | None  # x0, y0, x1, y1 in rgb's pixels


FaceFinder = Callable[[np.ndarray], tuple[int, int, int, int] | None]


def load_content(files: list[Path], min_side: int, find_face: FaceFinder | None) -> list[Photo]:
    """Each photo decoded, long side LOAD_SIDE (short side >= min_side), with its face box when
    `find_face` (rgb -> (x0, y0, x1, y1) or None) is given."""
    photos = []
    for path in files:
        image = Image.fromarray(decode_image(path, what="content image"))
        scale = max(min(1.0, LOAD_SIDE / max(image.size)), min_side / min(image.size))
        size = (round(image.width * scale), round(image.height * scale))
        if size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        rgb = np.asarray(image)
        photos.append(Photo(rgb, find_face(rgb) if find_face is not None else None))
    return photos


class FaceCropSampler:
    """CropSampler's crops (side 1..MAX_ZOOM_OUT times `size`, resized, flipped half the time) with a
    content-weight map: 1 everywhere, 1 + face_weight inside the photo's face box."""

    def __init__(self, photos: list[Photo], size: int, face_weight: float, seed: int = 0) -> None:
        self.photos = photos
        self.size = size
        self.face_weight = face_weight
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        crops, weights = zip(*(self.crop() for _ in range(count)), strict=True)
        return np.stack(crops), np.stack(weights)

    def crop(self) -> tuple[np.ndarray, np.ndarray]:
        photo = self.photos[int(self.rng.integers(len(self.photos)))]
        height, width = photo.rgb.shape[:2]
        largest = min(height, width, round(self.size * MAX_ZOOM_OUT))
        side = int(self.rng.integers(self.size, largest + 1)) if largest > self.size else min(height, width)
        top = int(self.rng.integers(0, height - side + 1))
        left = int(self.rng.integers(0, width - side + 1))
        crop = Image.fromarray(photo.rgb[top : top + side, left : left + side])
        if side != self.size:
            crop = crop.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(crop, dtype=np.float32) / 255.0
        weight = np.ones((self.size, self.size), dtype=np.float32)
        if photo.face is not None and self.face_weight > 0:
            x0, y0, x1, y1 = photo.face
            k = self.size / side
            fx0, fx1 = (max(0, round((x - left) * k)) for x in (x0, x1))
            fy0, fy1 = (max(0, round((y - top) * k)) for y in (y0, y1))
            weight[fy0:fy1, fx0:fx1] += self.face_weight
        if self.rng.random() < 0.5:
            array, weight = array[:, ::-1], weight[:, ::-1]
        return np.ascontiguousarray(array.transpose(2, 0, 1)), np.ascontiguousarray(weight)


def weighted_relative_mse(value: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """training.train.relative_mse with a per-pixel weight (Nx1xHxW, resized to the features' size),
    normalised so a uniform weight gives relative_mse itself."""
    w = torch.nn.functional.interpolate(weight, size=value.shape[2:], mode="area")
    w = w / w.mean(dim=(2, 3), keepdim=True)
    return ((value - target).pow(2) * w).mean() / (target.detach().pow(2).mean() + 1e-8)


def checkpoint_path(work_dir: Path, style_id: str) -> Path:
    return work_dir / f"{style_id}.vector.ckpt"


def train_vector(
    painting: np.ndarray,
    photos: list[Photo],
    start: np.ndarray,
    transformer: Path,
    work_dir: Path,
    style_id: str,
    preset: VectorPreset,
    *,
    device: str = "cpu",
    seed: int = 0,
    log: Callable[[str], object] = lambda line: print(line, flush=True),
    log_every: int = 10,
) -> VectorResult:
    """Optimise the style vector from `start` (the predictor's), or resume from the checkpoint."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    work_dir.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint_path(work_dir, style_id)
    ported = load_arbitrary(transformer)
    net: ArbitraryTransformer = ported.net.to(dev)
    start_t = torch.from_numpy(np.asarray(start, dtype=np.float32).reshape(1, -1)).to(dev)
    vector = torch.nn.Parameter(start_t.clone())
    optimiser = torch.optim.Adam([vector], lr=preset.lr)
    first_step, elapsed, losses, step_times = 0, 0.0, [], []
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        if state["preset"] != _preset_dict(preset) or not np.allclose(state["start"], start, atol=1e-6):
            raise SitterError(
                f"{ckpt} was trained with other settings; delete it or pass --restart to start over"
            )
        with torch.no_grad():
            vector.copy_(state["vector"].to(dev))
        optimiser.load_state_dict(state["optimiser"])
        first_step, elapsed, losses = state["step"], state["seconds"], state["losses"]
        log(f"resuming {style_id} from step {first_step} ({ckpt})")

    layers = sorted(set(preset.style_layers) | set(preset.content_layers))
    vgg = Vgg16Features(layers).to(dev)
    side = min(preset.style_side, max(painting.shape[:2]))  # the painting at its own size, capped
    with torch.no_grad():
        style_features = vgg(torch.from_numpy(style_image(painting, side)).to(dev))
        targets = {name: gram(style_features[name]) for name in preset.style_layers}
    sampler = FaceCropSampler(photos, preset.size, preset.face_weight, seed=seed + first_step)

    def save(step: int, seconds: float) -> None:
        state = {
            "vector": vector.detach().cpu(),
            "start": np.asarray(start, dtype=np.float32),
            "optimiser": optimiser.state_dict(),
            "step": step,
            "seconds": seconds,
            "losses": losses,
            "preset": _preset_dict(preset),
        }
        tmp = ckpt.with_suffix(".part")
        torch.save(state, tmp)
        tmp.replace(ckpt)

    started = time.perf_counter()
    for step in range(first_step, preset.steps):
        tick = time.perf_counter()
        crops, weights = sampler.batch(preset.batch)
        batch = torch.from_numpy(crops).to(dev)
        weight = torch.from_numpy(weights)[:, None].to(dev)
        with torch.no_grad():
            content_targets = {n: v for n, v in vgg(batch).items() if n in preset.content_layers}
        out = net.stylize(batch, vector.expand(batch.shape[0], -1))
        features = vgg(out)
        content_loss = torch.stack(
            [weighted_relative_mse(features[n], content_targets[n], weight) for n in preset.content_layers]
        ).sum()
        style_loss = torch.stack(
            [
                relative_mse(gram(features[n]), targets[n].expand(out.shape[0], -1, -1))
                for n in preset.style_layers
            ]
        ).sum()
        loss = preset.content_weight * content_loss + preset.style_weight * style_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        with torch.no_grad():  # the graph quantises its style input to int8: stay inside that range
            vector.clamp_(ported.style_low, ported.style_high)
        losses.append(float(loss.detach()))
        step_times.append(time.perf_counter() - tick)
        done = step + 1
        if done % log_every == 0 or done == preset.steps:
            per_step = float(np.median(step_times[-log_every:]))
            log(
                f"step {done}/{preset.steps}  loss {np.mean(losses[-log_every:]):.4g} "
                f"(content {_value(content_loss) * preset.content_weight:.4g}, "
                f"style {_value(style_loss) * preset.style_weight:.4g})  {per_step:.2f} s/step  "
                f"{_clock((preset.steps - done) * per_step)} left"
            )
        if done % preset.checkpoint_every == 0 or done == preset.steps:
            save(done, elapsed + time.perf_counter() - started)
    if first_step >= preset.steps:
        log(f"{style_id}: checkpoint already at step {first_step}; nothing to train")
    window = max(1, min(25, len(losses) // 5))
    return VectorResult(
        vector=vector.detach().cpu().numpy().reshape(-1).astype(np.float32),
        start=np.asarray(start, dtype=np.float32).reshape(-1),
        checkpoint=ckpt,
        steps=preset.steps,
        seconds=elapsed + time.perf_counter() - started,
        step_seconds=float(np.median(step_times)) if step_times else math.nan,
        first_loss=float(np.mean(losses[:window])) if losses else math.nan,
        last_loss=float(np.mean(losses[-window:])) if losses else math.nan,
        losses=losses,
    )


def write_vector(path: Path, vector: np.ndarray, transformer: str, transformer_sha256: str) -> Path:
    """The style file `trained-<id>` is served from: the 100 numbers and the transformer they are for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "style_vector": [round(float(v), 6) for v in np.asarray(vector).reshape(-1)],
        "transformer": transformer,
        "transformer_sha256": transformer_sha256,
    }
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    return path


def with_overrides(
    preset: VectorPreset, *, steps: int | None = None, size: int | None = None
) -> VectorPreset:
    changes: dict[str, Any] = {}
    if steps is not None:
        changes["steps"] = steps
    if size is not None:
        changes["size"] = size
    return replace(preset, **changes)


def _preset_dict(preset: VectorPreset) -> dict[str, Any]:
    data = asdict(preset)
    data.pop("steps")  # more steps may be asked for when resuming
    data.pop("checkpoint_every")
    return json.loads(json.dumps(data))


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _value(loss: torch.Tensor | float) -> float:
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)

"""Issue 24, route (a): a painting's own style vector for the arbitrary-style network, optimised.

The arbitrary network (training/arbitrary.py, Ghiasi et al.) paints a photo from a 100-number style vector
that its predictor guesses from the painting. Here that guess is only the start: the vector is optimised
under the perceptual loss of training/train.py (content + Gram style on VGG16, the same `relative_mse`)
over many crops of the content photos, with the transformer frozen. Step 0 is exactly the arbitrary
network's result; the loss can only be improved from there. The result is 100 numbers that the shipped
(int8) transformer runs as `trained-<id>`, no new network file.

What is optimised follows what the product does with it:
- the product paints a person with a local style (the painting around the place, mixed with the whole), so
  what is learnt is one correction added to the local vectors of many regions of the painting, each crop
  scored against its region's Gram matrices; the stylizer adds the same correction to any local style;
- only the person is cut out and painted in, so the style Grams are of the person (the photo's matte), not
  of the photo's background;
- the person is stylized at the size they are placed at: each content photo is run whole at the size the
  planner places it at in this painting (`Placed`; for Starry Night 94-387 px high, far below the 800 px
  crops tried first), against the painting around that very place, the painting at its own size; the
  style loss is also taken at 0.4x, about the scale a composite is seen at whole. Without placements
  (`placed=None`) random crops of the photos are used (FaceCropSampler) against random regions;
- a face-region weight on the content loss keeps faces legible (faces found once per photo with the
  product's full-range face detector).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from shared.errors import SitterError
from shared.imageio import decode_image
from training.arbitrary import ArbitraryTransformer, load_arbitrary
from training.data import LOAD_SIDE, MAX_ZOOM_OUT, style_image
from training.network import Vgg16Features
from training.train import clock, preset_dict, relative_mse

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
    # the style loss is averaged over these scales of the output and the painting alike: 1 is the strokes
    # as placed, 0.4 about the scale a composite is seen (and scored by `sitter eval composite`) at whole
    style_scales: tuple[float, ...] = (1.0, 0.4)
    checkpoint_every: int = 25


VECTOR_PRESETS = {
    # One thread of this shared 2-core machine: 1.5 s/step median (1.1-2.2) on Starry Night's placed photos,
    # 300 steps 9.5 min, the whole command with its comparison on 8 photos 10.4 min (docs/training.md).
    "cpu": VectorPreset(
        name="cpu",
        size=256,
        batch=2,
        steps=300,
        lr=0.02,
        style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        content_layers=("conv2_2", "conv3_3"),
        style_weight=1.0,
        content_weight=0.5,
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
        content_layers=("conv2_2", "conv3_3"),
        style_weight=1.0,
        content_weight=0.5,
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
    matte: np.ndarray | None = None  # float32 HxW 0..1: the person (what is cut out and painted in)


FaceFinder = Callable[[np.ndarray], tuple[int, int, int, int] | None]
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Region:
    """A part of the painting a person may stand in: its pixels (the Gram target, at the painting's own
    scale), which of them count (`weight`, HxW; None: all), and the style vector the product paints a
    person there with (`Stylizer.local_style`: the region's predicted vector mixed with the whole
    painting's)."""

    rgb: np.ndarray
    vector: np.ndarray
    weight: np.ndarray | None = None


@dataclass(frozen=True)
class Placed:
    """A content photo as the product stylizes it for one placement: the whole photo at the size it is
    placed at (float32 3xHxW 0..1, sides multiples of 4), its person's matte and content weight (HxW), and
    the index of the region (painting around the box) it is placed in."""

    rgb: np.ndarray
    matte: np.ndarray
    weight: np.ndarray
    region: int


def placed_sample(photo: Photo, scale: float, region: int, face_weight: float) -> Placed:
    """`photo` resized by the plan's `scale` (as the stylizer does), cropped to multiples of 4."""
    height, width = photo.rgb.shape[:2]
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    image = Image.fromarray(photo.rgb).resize(
        size, Image.Resampling.BOX if scale < 1 else Image.Resampling.LANCZOS
    )
    h4, w4 = size[1] // 4 * 4, size[0] // 4 * 4
    rgb = (np.asarray(image, np.float32)[:h4, :w4] / 255.0).transpose(2, 0, 1)
    matte = np.ones((h4, w4), np.float32)
    if photo.matte is not None:
        matte = np.asarray(
            Image.fromarray(photo.matte.astype(np.float32)).resize(size, Image.Resampling.BILINEAR)
        )
        matte = np.ascontiguousarray(matte[:h4, :w4], dtype=np.float32)
    weight = np.ones((h4, w4), np.float32)
    if photo.face is not None and face_weight > 0:
        x0, y0, x1, y1 = (round(v * scale) for v in photo.face)
        weight[y0:y1, x0:x1] += face_weight
    return Placed(np.ascontiguousarray(rgb), matte, weight, region)


SURROUNDINGS = 0.6  # as sitter/eval_composite.py: the painting around a box reaches this share beyond it


def surroundings(painting: np.ndarray, box: Box) -> tuple[np.ndarray, np.ndarray]:
    """The painting around a person's box (x0, y0, x1, y1) and a weight that is 0 inside the box: what the
    person has to look like, as `sitter eval composite` measures it."""
    height, width = painting.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = round(SURROUNDINGS * (x1 - x0)), round(SURROUNDINGS * (y1 - y0))
    ax0, ay0, ax1, ay1 = max(0, x0 - mx), max(0, y0 - my), min(width, x1 + mx), min(height, y1 + my)
    weight = np.ones((ay1 - ay0, ax1 - ax0), np.float32)
    weight[max(0, y0 - ay0) : max(0, y1 - ay0), max(0, x0 - ax0) : max(0, x1 - ax0)] = 0.0
    return painting[ay0:ay1, ax0:ax1], weight


REGION_SIDES = (0.5, 0.75)  # of the painting's short side: about STYLE_CONTEXT x a placed person
REGION_GRID = 3


def region_boxes(height: int, width: int) -> list[Box]:
    """Squares on a REGION_GRID x REGION_GRID grid at each of REGION_SIDES, covering the painting."""
    boxes = []
    for share in REGION_SIDES:
        side = round(share * min(height, width))
        for y in np.linspace(0, height - side, REGION_GRID).round().astype(int):
            for x in np.linspace(0, width - side, REGION_GRID).round().astype(int):
                boxes.append((int(x), int(y), int(x) + side, int(y) + side))
    return boxes


def load_content(
    files: list[Path],
    min_side: int,
    find_face: FaceFinder | None,
    find_matte: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Photo]:
    """Each photo decoded, long side LOAD_SIDE (short side >= min_side), with its face box when
    `find_face` (rgb -> (x0, y0, x1, y1) or None) is given, and its person's matte with `find_matte`."""
    photos = []
    for path in files:
        image = Image.fromarray(decode_image(path, what="content image"))
        scale = max(min(1.0, LOAD_SIDE / max(image.size)), min_side / min(image.size))
        size = (round(image.width * scale), round(image.height * scale))
        if size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        rgb = np.asarray(image)
        face = find_face(rgb) if find_face is not None else None
        photos.append(Photo(rgb, face, find_matte(rgb) if find_matte is not None else None))
    return photos


class FaceCropSampler:
    """CropSampler's crops (side 1..MAX_ZOOM_OUT times `size`, resized, flipped half the time) with a
    content-weight map: 1 everywhere, 1 + face_weight inside the photo's face box."""

    def __init__(self, photos: list[Photo], size: int, face_weight: float, seed: int = 0) -> None:
        self.photos = photos
        self.size = size
        self.face_weight = face_weight
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nx3xSxS crops, NxSxS content weights, NxSxS person mattes (all ones without a matte)."""
        crops, weights, mattes = zip(*(self.crop() for _ in range(count)), strict=True)
        return np.stack(crops), np.stack(weights), np.stack(mattes)

    def crop(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        matte = np.ones((self.size, self.size), dtype=np.float32)
        if photo.matte is not None:
            part = Image.fromarray(photo.matte[top : top + side, left : left + side].astype(np.float32))
            matte = np.asarray(part.resize((self.size, self.size), Image.Resampling.BILINEAR), np.float32)
        weight = np.ones((self.size, self.size), dtype=np.float32)
        if photo.face is not None and self.face_weight > 0:
            x0, y0, x1, y1 = photo.face
            k = self.size / side
            fx0, fx1 = (max(0, round((x - left) * k)) for x in (x0, x1))
            fy0, fy1 = (max(0, round((y - top) * k)) for y in (y0, y1))
            weight[fy0:fy1, fx0:fx1] += self.face_weight
        if self.rng.random() < 0.5:
            array, weight, matte = array[:, ::-1], weight[:, ::-1], matte[:, ::-1]
        return (
            np.ascontiguousarray(array.transpose(2, 0, 1)),
            np.ascontiguousarray(weight),
            np.ascontiguousarray(matte),
        )


def weighted_relative_mse(value: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """training.train.relative_mse with a per-pixel weight (Nx1xHxW, resized to the features' size),
    normalised so a uniform weight gives relative_mse itself."""
    w = torch.nn.functional.interpolate(weight, size=value.shape[2:], mode="area")
    w = w / w.mean(dim=(2, 3), keepdim=True)
    return ((value - target).pow(2) * w).mean() / (target.detach().pow(2).mean() + 1e-8)


def person_gram(features: torch.Tensor, matte: torch.Tensor, floor: float = 0.02) -> torch.Tensor:
    """Gram matrices of the person alone (Nx1xHxW matte, resized to the features): what the composite's
    style is scored on, since the photo's background is cut away. training.network.gram for a full matte;
    a crop with little person keeps a little of the rest (`floor`)."""
    b, c, h, w = features.shape
    m = torch.nn.functional.interpolate(matte, size=(h, w), mode="area") + floor
    flat = features.reshape(b, c, h * w)
    return (flat * m.reshape(b, 1, h * w)) @ flat.transpose(1, 2) / (c * m.sum(dim=(1, 2, 3)))[:, None, None]


def checkpoint_path(work_dir: Path, style_id: str) -> Path:
    return work_dir / f"{style_id}.vector.ckpt"


def train_vector(
    painting: np.ndarray,
    photos: list[Photo],
    start: np.ndarray,
    transformer: Path,
    regions: list[Region] | None,
    work_dir: Path,
    style_id: str,
    preset: VectorPreset,
    *,
    placed: list[Placed] | None = None,
    device: str = "cpu",
    seed: int = 0,
    log: Callable[[str], object] = lambda line: print(line, flush=True),
    log_every: int = 10,
) -> VectorResult:
    """Optimise the style vector from `start` (the predictor's vector of the whole painting), or resume from
    the checkpoint. With `regions`, what is optimised is one correction added to every region's own vector
    (the product's local style), each sample scored against its region's Gram matrices: the trained style
    still follows the place the person stands in, as the arbitrary network's does; without, the whole
    painting's vector against the whole painting's Grams. `placed`: the samples (photos at their placed
    size, each with its region); without, random crops of `photos` against random regions."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    work_dir.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint_path(work_dir, style_id)
    ported = load_arbitrary(transformer)
    net: ArbitraryTransformer = ported.net.to(dev)
    start_t = torch.from_numpy(np.asarray(start, dtype=np.float32).reshape(1, -1)).to(dev)
    places = regions or [Region(painting, np.asarray(start, dtype=np.float32))]
    bases = torch.from_numpy(np.stack([r.vector.reshape(-1) for r in places]).astype(np.float32)).to(dev)
    correction = torch.nn.Parameter(torch.zeros_like(start_t))  # step 0: the arbitrary network's own result
    optimiser = torch.optim.Adam([correction], lr=preset.lr)
    first_step, elapsed, losses, step_times = 0, 0.0, [], []
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        same = state["preset"] == preset_dict(preset) and state["regions"] == len(places)
        if not same or not np.allclose(state["start"], start, atol=1e-6):
            raise SitterError(
                f"{ckpt} was trained with other settings; delete it or pass --restart to start over"
            )
        with torch.no_grad():
            correction.copy_(state["correction"].to(dev))
        optimiser.load_state_dict(state["optimiser"])
        first_step, elapsed, losses = state["step"], state["seconds"], state["losses"]
        log(f"resuming {style_id} from step {first_step} ({ckpt})")

    layers = sorted(set(preset.style_layers) | set(preset.content_layers))
    vgg = Vgg16Features(layers).to(dev)
    shrink = min(1.0, preset.style_side / max(painting.shape[:2]))  # the painting at its own size, capped
    targets: dict[tuple[float, str], list[torch.Tensor]] = {
        (scale, name): [] for scale in preset.style_scales for name in preset.style_layers
    }
    with torch.no_grad():
        for place in places:
            mask = np.ones(place.rgb.shape[:2], np.float32) if place.weight is None else place.weight
            mask_t = torch.from_numpy(mask)[None, None].to(dev)
            for scale in preset.style_scales:
                side = max(32, round(scale * shrink * max(place.rgb.shape[:2])))
                style_features = vgg(torch.from_numpy(style_image(place.rgb, side)).to(dev))
                for name in preset.style_layers:
                    targets[scale, name].append(person_gram(style_features[name], mask_t, floor=0.0)[0])
    stacked = {key: torch.stack(grams) for key, grams in targets.items()}
    sampler = FaceCropSampler(photos, preset.size, preset.face_weight, seed=seed + first_step)
    pick = np.random.default_rng(seed + 1 + first_step)

    def save(step: int, seconds: float) -> None:
        state = {
            "correction": correction.detach().cpu(),
            "start": np.asarray(start, dtype=np.float32),
            "regions": len(places),
            "optimiser": optimiser.state_dict(),
            "step": step,
            "seconds": seconds,
            "losses": losses,
            "preset": preset_dict(preset),
        }
        tmp = ckpt.with_suffix(".part")
        torch.save(state, tmp)
        tmp.replace(ckpt)

    started = time.perf_counter()
    for step in range(first_step, preset.steps):
        tick = time.perf_counter()

        def terms(
            images: np.ndarray, weights: np.ndarray, mattes: np.ndarray, chosen: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            batch = torch.from_numpy(images).to(dev)
            weight = torch.from_numpy(weights)[:, None].to(dev)
            matte = torch.from_numpy(mattes)[:, None].to(dev)
            with torch.no_grad():
                content_targets = {n: v for n, v in vgg(batch).items() if n in preset.content_layers}
            # the graph quantises its style input to int8: a vector is clipped to that range, as there
            vectors = (bases[chosen] + correction).clamp(ported.style_low, ported.style_high)
            out = net.stylize(batch, vectors)
            features = vgg(out)
            content = torch.stack(
                [
                    weighted_relative_mse(features[n], content_targets[n], weight)
                    for n in preset.content_layers
                ]
            ).sum()
            style_terms = []
            for scale in preset.style_scales:
                scaled = features if scale == 1.0 else vgg(_resized(out, scale))
                style_terms += [
                    relative_mse(person_gram(scaled[n], matte), stacked[scale, n][chosen])
                    for n in preset.style_layers
                ]
            return content, torch.stack(style_terms).sum() / len(preset.style_scales)

        if placed:  # whole photos at their placed size, one at a time (sizes differ)
            parts = [
                terms(p.rgb[None], p.weight[None], p.matte[None], torch.tensor([p.region], device=dev))
                for p in (placed[int(i)] for i in pick.integers(len(placed), size=preset.batch))
            ]
            content_loss = torch.stack([c for c, _ in parts]).mean()
            style_loss = torch.stack([st for _, st in parts]).mean()
        else:
            crops, weights, mattes = sampler.batch(preset.batch)
            chosen = torch.from_numpy(pick.integers(len(places), size=len(crops))).to(dev)
            content_loss, style_loss = terms(crops, weights, mattes, chosen)
        loss = preset.content_weight * content_loss + preset.style_weight * style_loss
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        step_times.append(time.perf_counter() - tick)
        done = step + 1
        if done % log_every == 0 or done == preset.steps:
            per_step = float(np.median(step_times[-log_every:]))
            log(
                f"step {done}/{preset.steps}  loss {np.mean(losses[-log_every:]):.4g} "
                f"(content {_value(content_loss) * preset.content_weight:.4g}, "
                f"style {_value(style_loss) * preset.style_weight:.4g})  {per_step:.2f} s/step  "
                f"{clock((preset.steps - done) * per_step)} left"
            )
        if done % preset.checkpoint_every == 0 or done == preset.steps:
            save(done, elapsed + time.perf_counter() - started)
    if first_step >= preset.steps:
        log(f"{style_id}: checkpoint already at step {first_step}; nothing to train")
    window = max(1, min(25, len(losses) // 5))
    whole = (start_t + correction).clamp(ported.style_low, ported.style_high)
    return VectorResult(
        vector=whole.detach().cpu().numpy().reshape(-1).astype(np.float32),
        start=np.asarray(start, dtype=np.float32).reshape(-1),
        checkpoint=ckpt,
        steps=preset.steps,
        seconds=elapsed + time.perf_counter() - started,
        step_seconds=float(np.median(step_times)) if step_times else math.nan,
        first_loss=float(np.mean(losses[:window])) if losses else math.nan,
        last_loss=float(np.mean(losses[-window:])) if losses else math.nan,
        losses=losses,
    )


def write_vector(
    path: Path, vector: np.ndarray, predicted: np.ndarray, transformer: str, transformer_sha256: str
) -> Path:
    """The style file `trained-<id>` is served from: the 100 numbers, the predictor's vector of the whole
    painting they were trained from (their difference is the correction the stylizer adds to a local
    style), and the transformer they are for."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "style_vector": [round(float(v), 6) for v in np.asarray(vector).reshape(-1)],
        "predicted_vector": [round(float(v), 6) for v in np.asarray(predicted).reshape(-1)],
        "transformer": transformer,
        "transformer_sha256": transformer_sha256,
    }
    tmp = path.with_suffix(".part")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)
    return path


def _resized(images: torch.Tensor, scale: float) -> torch.Tensor:
    size = [max(32, round(side * scale)) for side in images.shape[2:]]
    return torch.nn.functional.interpolate(images, size=size, mode="bilinear", antialias=True)


def _value(loss: torch.Tensor | float) -> float:
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)

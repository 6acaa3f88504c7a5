"""Issue 24, route (b): a new style for the 26-style network (Dumoulin et al.'s conditional instance norm).

Dumoulin et al. add a style to their trained network by learning only its scale and shift (gamma, beta) per
normalised layer, the convolutions frozen. Here the trunk is the product's `multistyle26` network ported to
torch (training/multistyle.py); the new style's 990 numbers start from one of the 26 built-in rows (the one
whose loss on the painting's samples is lowest, or the mean of all) and are optimised under route (a)'s loss
(training/vector.py's pieces: content on VGG16 with the face counting more, Gram style of the person alone
against the painting around the place it is put in, at the placed scale and at 0.4x). The result is a
network of its own with an image-only input, exported to ONNX like training/train.py's networks and served
as `trained-<id>` on its own queue with no serving change.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from shared.errors import SitterError
from training.data import style_image
from training.multistyle import STYLES, OneStyle, load_multistyle
from training.network import Vgg16Features
from training.train import clock, preset_dict, relative_mse
from training.vector import FaceCropSampler, Photo, Placed, Region, person_gram, weighted_relative_mse


@dataclass(frozen=True)
class CinPreset:
    name: str
    size: int  # crop side when there are no placements (random crops of the photos)
    batch: int
    steps: int
    lr: float
    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]
    style_weight: float
    content_weight: float
    face_weight: float  # extra content weight inside the photo's face box
    style_side: int  # cap on the painting's long side for its Gram targets
    style_scales: tuple[float, ...] = (1.0, 0.4)
    start: str = "best"  # "best": the built-in row with the lowest loss on the probe samples; "mean": all 26
    probes: int = 4  # samples the start is chosen on
    checkpoint_every: int = 25


CIN_PRESETS = {
    # 2 CPU cores: 600 steps took 20.8 min on Starry Night's placed photos on this shared machine (0.71-1.0
    # s/step median; docs/training.md): within the 45 min budget
    "cpu": CinPreset(
        name="cpu",
        size=256,
        batch=2,
        steps=600,
        lr=0.01,
        style_layers=("conv1_1", "conv2_1", "conv3_1", "conv4_1"),
        content_layers=("conv2_2", "conv3_3"),
        style_weight=1.0,
        content_weight=0.5,
        face_weight=2.0,
        style_side=1280,
    ),
    # a GPU: more samples a step and more steps
    "full": CinPreset(
        name="full",
        size=384,
        batch=8,
        steps=3000,
        lr=0.005,
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
class CinResult:
    model: OneStyle  # the trunk with the learnt style, on the CPU
    start: np.ndarray  # (26,) the style weights the style started from
    start_losses: list[float]  # each built-in row's loss on the probe samples (empty for "mean")
    checkpoint: Path
    steps: int
    seconds: float
    step_seconds: float
    first_loss: float
    last_loss: float
    losses: list[float]


def checkpoint_path(work_dir: Path, style_id: str) -> Path:
    return work_dir / f"{style_id}.cin.ckpt"


class StyleLoss:
    """Route (a)'s loss for any network: content (VGG16, per-pixel weight) + Gram style of the person against
    the Gram targets of each region, at the preset's scales."""

    def __init__(self, regions: list[Region], preset: CinPreset, dev: torch.device) -> None:
        self.preset = preset
        self.dev = dev
        layers = sorted(set(preset.style_layers) | set(preset.content_layers))
        self.vgg = Vgg16Features(layers).to(dev)
        targets: dict[tuple[float, str], list[torch.Tensor]] = {
            (scale, name): [] for scale in preset.style_scales for name in preset.style_layers
        }
        with torch.no_grad():
            for region in regions:
                shrink = min(1.0, preset.style_side / max(region.rgb.shape[:2]))
                mask = np.ones(region.rgb.shape[:2], np.float32) if region.weight is None else region.weight
                mask_t = torch.from_numpy(mask)[None, None].to(dev)
                for scale in preset.style_scales:
                    side = max(32, round(scale * shrink * max(region.rgb.shape[:2])))
                    features = self.vgg(torch.from_numpy(style_image(region.rgb, side)).to(dev))
                    for name in preset.style_layers:
                        targets[scale, name].append(person_gram(features[name], mask_t, floor=0.0)[0])
        self.targets = {key: torch.stack(grams) for key, grams in targets.items()}

    def __call__(
        self,
        net: Callable[[torch.Tensor], torch.Tensor],
        images: np.ndarray,
        weights: np.ndarray,
        mattes: np.ndarray,
        chosen: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(content, style) losses of `net` on a batch (Nx3xHxW, NxHxW, NxHxW) against regions `chosen`."""
        preset = self.preset
        batch = torch.from_numpy(images).to(self.dev)
        weight = torch.from_numpy(weights)[:, None].to(self.dev)
        matte = torch.from_numpy(mattes)[:, None].to(self.dev)
        with torch.no_grad():
            content_targets = {n: v for n, v in self.vgg(batch).items() if n in preset.content_layers}
        out = net(batch)
        features = self.vgg(out)
        content = torch.stack(
            [weighted_relative_mse(features[n], content_targets[n], weight) for n in preset.content_layers]
        ).sum()
        style_terms = []
        for scale in preset.style_scales:
            scaled = features if scale == 1.0 else self.vgg(_resized(out, scale))
            style_terms += [
                relative_mse(person_gram(scaled[n], matte), self.targets[scale, n][chosen])
                for n in preset.style_layers
            ]
        return content, torch.stack(style_terms).sum() / len(preset.style_scales)

    def total(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.preset.content_weight * content + self.preset.style_weight * style


def train_cin(
    photos: list[Photo],
    regions: list[Region],
    work_dir: Path,
    style_id: str,
    preset: CinPreset,
    multistyle: Path,
    *,
    placed: list[Placed] | None = None,
    device: str = "cpu",
    seed: int = 0,
    log: Callable[[str], object] = lambda line: print(line, flush=True),
    log_every: int = 10,
) -> CinResult:
    """Learn one style's gamma and beta for the frozen 26-style network at `multistyle`, or resume from the
    checkpoint. `placed`: the samples (photos at their placed size, each with its region); without, random
    crops of `photos` against random regions."""
    if not regions:
        raise SitterError("no region of the painting to train against")
    torch.manual_seed(seed)
    dev = torch.device(device)
    work_dir.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint_path(work_dir, style_id)
    trunk = load_multistyle(multistyle).to(dev)
    loss_fn = StyleLoss(regions, preset, dev)
    sampler = FaceCropSampler(photos, preset.size, preset.face_weight, seed=seed)

    def sample(
        rng: np.random.Generator, count: int
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, torch.Tensor]]:
        """`count` samples as batches, each (images, weights, mattes, region indices)."""
        if placed:  # whole photos at their placed size, one at a time (sizes differ)
            chosen = [placed[int(i)] for i in rng.integers(len(placed), size=count)]
            return [(p.rgb[None], p.weight[None], p.matte[None], _index([p.region], dev)) for p in chosen]
        crops, weights, mattes = sampler.batch(count)
        return [(crops, weights, mattes, _index(rng.integers(len(regions), size=count).tolist(), dev))]

    state = torch.load(ckpt, map_location="cpu", weights_only=False) if ckpt.is_file() else None
    if state is not None and state["preset"] != preset_dict(preset):
        raise SitterError(
            f"{ckpt} was trained with other settings; delete it or pass --restart to start over"
        )
    start_losses: list[float] = []
    if state is not None:
        start = np.asarray(state["start"], dtype=np.float32)
        start_losses = state["start_losses"]
    elif preset.start == "mean":
        start = np.full(STYLES, 1.0 / STYLES, np.float32)
    else:  # the built-in row that is already closest to the painting under the training loss
        probes = sample(np.random.default_rng(seed + 12345), preset.probes)
        rows = np.eye(STYLES, dtype=np.float32)
        with torch.no_grad():
            for row in rows:
                builtin = OneStyle(trunk, row).to(dev)
                parts = [loss_fn(builtin, *probe) for probe in probes]
                start_losses.append(float(np.mean([float(loss_fn.total(c, s)) for c, s in parts])))
        best = int(np.argmin(start_losses))
        start = rows[best]
        log(
            f"starting from built-in style {best} (loss {start_losses[best]:.4g}; "
            f"the 26 rows {min(start_losses):.4g}..{max(start_losses):.4g})"
        )
    model = OneStyle(trunk, start).to(dev)
    optimiser = torch.optim.Adam(model.style_parameters(), lr=preset.lr)
    first_step, elapsed, losses, step_times = 0, 0.0, [], []
    if state is not None:
        model.load_style_state(state["style"])
        optimiser.load_state_dict(state["optimiser"])
        first_step, elapsed, losses = state["step"], state["seconds"], state["losses"]
        log(f"resuming {style_id} from step {first_step} ({ckpt})")
    pick = np.random.default_rng(seed + 1 + first_step)

    def save(step: int, seconds: float) -> None:
        data = {
            "style": model.style_state(),
            "start": start,
            "start_losses": start_losses,
            "optimiser": optimiser.state_dict(),
            "step": step,
            "seconds": seconds,
            "losses": losses,
            "preset": preset_dict(preset),
        }
        tmp = ckpt.with_suffix(".part")
        torch.save(data, tmp)
        tmp.replace(ckpt)

    started = time.perf_counter()
    for step in range(first_step, preset.steps):
        tick = time.perf_counter()
        parts = [loss_fn(model, *batch) for batch in sample(pick, preset.batch)]
        content_loss = torch.stack([c for c, _ in parts]).mean()
        style_loss = torch.stack([s for _, s in parts]).mean()
        loss = loss_fn.total(content_loss, style_loss)
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
                f"(content {float(content_loss.detach()) * preset.content_weight:.4g}, "
                f"style {float(style_loss.detach()) * preset.style_weight:.4g})  {per_step:.2f} s/step  "
                f"{clock((preset.steps - done) * per_step)} left"
            )
        if done % preset.checkpoint_every == 0 or done == preset.steps:
            save(done, elapsed + time.perf_counter() - started)
    if first_step >= preset.steps:
        log(f"{style_id}: checkpoint already at step {first_step}; nothing to train")
    window = max(1, min(25, len(losses) // 5))
    return CinResult(
        model=model.cpu().eval(),
        start=start,
        start_losses=start_losses,
        checkpoint=ckpt,
        steps=preset.steps,
        seconds=elapsed + time.perf_counter() - started,
        step_seconds=float(np.median(step_times)) if step_times else math.nan,
        first_loss=float(np.mean(losses[:window])) if losses else math.nan,
        last_loss=float(np.mean(losses[-window:])) if losses else math.nan,
        losses=losses,
    )


def _index(values: list[int], dev: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.long, device=dev)


def _resized(images: torch.Tensor, scale: float) -> torch.Tensor:
    size = [max(32, round(side * scale)) for side in images.shape[2:]]
    return torch.nn.functional.interpolate(images, size=size, mode="bilinear", antialias=True)

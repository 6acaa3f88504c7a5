"""Train one transformer network for one painting: content + Gram style + total-variation losses on VGG16.

Presets budget the VGG16 forward and backward passes, which dominate each step: `cpu` trains on small crops
with the shallower VGG layers (minutes on one core), `full` is Johnson et al.'s recipe for a GPU. Checkpoints
(model, optimiser, step, settings) are written every `checkpoint_every` steps and at the end; a run with the
same id and output directory resumes from its checkpoint.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import torch
from torch.nn import functional

from shared.errors import SitterError
from training.data import CropSampler, load_photos, style_image
from training.network import Architecture, TransformerNet, Vgg16Features, gram

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

P = TypeVar("P", bound="DataclassInstance")


@dataclass(frozen=True)
class Preset:
    name: str
    size: int  # training crop side
    batch: int
    steps: int
    lr: float
    style_layers: tuple[str, ...]
    content_layers: tuple[str, ...]
    style_weight: float
    content_weight: float
    tv_weight: float
    style_side: int  # the painting's long side when its Gram targets are taken
    arch: Architecture = field(default_factory=Architecture)
    checkpoint_every: int = 100


PRESETS = {
    # One CPU thread: ~1 step/s at 160 px, batch 2, VGG to conv4_1 (0.5-0.9 on a busy 2-core machine).
    # Style 5 drowned the faces after 200 steps, 1.5 kept them but left a pale monotone palette; dropping
    # conv1_2 lost the palette. TV 2 is meant to damp the finest pixel grid (not compared against 0.5).
    "cpu": Preset(
        name="cpu",
        size=160,
        batch=2,
        steps=600,
        lr=2e-3,
        style_layers=("conv1_2", "conv2_2", "conv3_3", "conv4_1"),
        content_layers=("conv2_2", "conv3_3"),
        style_weight=2.5,
        content_weight=1.0,
        tv_weight=2.0,
        style_side=512,
    ),
    # Johnson et al.'s 256 px, batch 4, relu1_2..relu4_3 for style, with the cpu preset's loss weights.
    # Not run here (no GPU was lent to this work): untested beyond its first steps.
    "full": Preset(
        name="full",
        size=256,
        batch=4,
        steps=20000,
        lr=1e-3,
        style_layers=("conv1_2", "conv2_2", "conv3_3", "conv4_3"),
        content_layers=("conv2_2", "conv3_3"),
        style_weight=2.5,
        content_weight=1.0,
        tv_weight=2.0,
        style_side=768,
        checkpoint_every=1000,
    ),
}


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    losses: list[float]


def checkpoint_path(out_dir: Path, style_id: str) -> Path:
    return out_dir / f"{style_id}.ckpt"


def train(
    painting: np.ndarray,
    content: list[Path],
    out_dir: Path,
    style_id: str,
    preset: Preset,
    *,
    device: str = "cpu",
    seed: int = 0,
    log: Callable[[str], object] = lambda line: print(line, flush=True),
    log_every: int = 20,
) -> TrainResult:
    """Train (or resume) and return where the final checkpoint is; the caller exports it."""
    torch.manual_seed(seed)
    dev = torch.device(device)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt = checkpoint_path(out_dir, style_id)

    net = TransformerNet(preset.arch).to(dev)
    optimiser = torch.optim.Adam(net.parameters(), lr=preset.lr)
    start_step, elapsed, losses = 0, 0.0, []
    if ckpt.is_file():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        if state["preset"] != preset_dict(preset):
            raise SitterError(
                f"{ckpt} was trained with other settings; delete it or pass --restart to start over"
            )
        net.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        start_step, elapsed, losses = state["step"], state["seconds"], state["losses"]
        log(f"resuming {style_id} from step {start_step} ({ckpt})")

    layers = sorted(set(preset.style_layers) | set(preset.content_layers))
    vgg = Vgg16Features(layers).to(dev)
    with torch.no_grad():
        style_features = vgg(torch.from_numpy(style_image(painting, preset.style_side)).to(dev))
        targets = {name: gram(style_features[name]) for name in preset.style_layers}
    sampler = CropSampler(load_photos(content, preset.size), preset.size, seed=seed + start_step)

    def save(step: int, seconds: float) -> None:
        state = {
            "model": net.state_dict(),
            "optimiser": optimiser.state_dict(),
            "step": step,
            "seconds": seconds,
            "losses": losses,
            "preset": preset_dict(preset),
            "arch": preset.arch.as_dict(),
        }
        tmp = ckpt.with_suffix(".part")
        torch.save(state, tmp)
        tmp.replace(ckpt)

    net.train()
    started = time.perf_counter()
    window_start, window_steps = started, 0
    for step in range(start_step, preset.steps):
        batch = torch.from_numpy(sampler.batch(preset.batch)).to(dev)
        with torch.no_grad():
            content_targets = {
                name: value for name, value in vgg(batch).items() if name in preset.content_layers
            }
        out = net(batch)
        features = vgg(out)
        content_loss = sum(relative_mse(features[n], content_targets[n]) for n in preset.content_layers)
        style_loss = sum(
            relative_mse(gram(features[n]), targets[n].expand(out.shape[0], -1, -1))
            for n in preset.style_layers
        )
        tv = (out[:, :, 1:, :] - out[:, :, :-1, :]).abs().mean() + (
            out[:, :, :, 1:] - out[:, :, :, :-1]
        ).abs().mean()
        loss = preset.content_weight * content_loss + preset.style_weight * style_loss + preset.tv_weight * tv
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
        window_steps += 1
        done = step + 1
        if done % log_every == 0 or done == preset.steps:
            now = time.perf_counter()
            rate = window_steps / max(now - window_start, 1e-9)
            left = (preset.steps - done) / rate
            recent = float(np.mean(losses[-log_every:]))
            log(
                f"step {done}/{preset.steps}  loss {recent:.4g} "
                f"(content {_value(content_loss) * preset.content_weight:.4g}, "
                f"style {_value(style_loss) * preset.style_weight:.4g})  {rate:.2f} steps/s  "
                f"{clock(left)} left"
            )
            window_start, window_steps = now, 0
        if done % preset.checkpoint_every == 0 or done == preset.steps:
            save(done, elapsed + time.perf_counter() - started)
    seconds = elapsed + time.perf_counter() - started
    if start_step >= preset.steps:
        log(f"{style_id}: checkpoint already at step {start_step}; nothing to train")
    window = max(1, min(50, len(losses) // 5))
    return TrainResult(
        checkpoint=ckpt,
        steps=preset.steps,
        seconds=seconds,
        first_loss=float(np.mean(losses[:window])) if losses else math.nan,
        last_loss=float(np.mean(losses[-window:])) if losses else math.nan,
        losses=losses,
    )


def relative_mse(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error relative to the target's own energy: 1.0 for an all-zero output at any layer, so the
    weights mean the same for every VGG layer (Caffe-scale features differ by orders of magnitude)."""
    return functional.mse_loss(value, target) / (target.detach().pow(2).mean() + 1e-8)


def load_network(ckpt: Path) -> TransformerNet:
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    net = TransformerNet(Architecture.from_dict(state["arch"]))
    net.load_state_dict(state["model"])
    net.eval()
    return net


def checkpoint_info(ckpt: Path) -> dict[str, Any]:
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    return {"step": state["step"], "seconds": state["seconds"], "preset": state["preset"]}


def with_overrides(preset: P, *, steps: int | None = None, size: int | None = None) -> P:
    """Any route's preset (train.Preset, vector.VectorPreset, cin.CinPreset) with the command line's
    --steps / --size where given."""
    changes: dict[str, Any] = {}
    if steps is not None:
        changes["steps"] = steps
    if size is not None:
        changes["size"] = size
    return replace(preset, **changes)


def preset_dict(preset: DataclassInstance) -> dict[str, Any]:
    """A route's preset as its checkpoint stores it, to refuse resuming under other settings: all but the
    step count and the checkpoint interval (more steps may be asked for when resuming)."""
    data = asdict(preset)
    data.pop("steps")
    data.pop("checkpoint_every")
    return json.loads(json.dumps(data))  # tuples -> lists, as stored


def _value(loss: torch.Tensor | float) -> float:
    return float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)


def clock(seconds: float) -> str:
    """m:ss, for the progress lines of every route."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"

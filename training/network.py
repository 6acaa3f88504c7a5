"""The transformer network that is trained and shipped, and the VGG16 loss network that trains it.

The transformer is Johnson et al.'s (instance norm, residual blocks) slimmed for CPU serving: resize-then-
convolve upsampling (Odena et al. 2016: no checkerboard), reflection padding, and widths chosen so a 600x800
portrait runs in well under a quarter of a second with onnxruntime. Its input and output are 1x3xHxW RGB
in 0..1, like the other stylizer networks, and any H, W that are multiples of 4 work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from shared.settings import model_store
from shared.vgg16_weights import BGR_MEAN, ConvLayer, load_vgg16


@dataclass(frozen=True)
class Architecture:
    """Widths of the three resolution levels and the number of residual blocks at the lowest one."""

    channels: tuple[int, int, int] = (16, 32, 48)
    res_blocks: int = 3
    edge_kernel: int = 5  # the first and last convolution, at full resolution

    def as_dict(self) -> dict[str, object]:
        return {
            "channels": list(self.channels),
            "res_blocks": self.res_blocks,
            "edge_kernel": self.edge_kernel,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Architecture:
        c1, c2, c3 = (int(c) for c in data["channels"])
        return cls(
            channels=(c1, c2, c3), res_blocks=int(data["res_blocks"]), edge_kernel=int(data["edge_kernel"])
        )


class ConvLayerBlock(nn.Sequential):
    """Reflection-padded convolution, then instance norm and ReLU (or nothing, for the output)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm: bool = True) -> None:
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """Nearest-neighbour x2, then a convolution: no checkerboard artefacts, unlike a transposed conv."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvLayerBlock(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(functional.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    def __init__(self, arch: Architecture | None = None) -> None:
        super().__init__()
        self.arch = arch or Architecture()
        c1, c2, c3 = self.arch.channels
        k = self.arch.edge_kernel
        self.body = nn.Sequential(
            ConvLayerBlock(3, c1, k),
            ConvLayerBlock(c1, c2, 3, 2),
            ConvLayerBlock(c2, c3, 3, 2),
            *(Residual(c3) for _ in range(self.arch.res_blocks)),
            Upsample(c3, c2),
            Upsample(c2, c1),
            ConvLayerBlock(c1, 3, k, norm=False),
        )

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        """1x3xHxW RGB 0..1 in, the same out (a sigmoid keeps it in range without clipping gradients)."""
        out: torch.Tensor = torch.sigmoid(self.body(rgb * 2.0 - 1.0))
        return out


class Vgg16Features(nn.Module):
    """VGG16's convolutions up to the deepest layer asked for, frozen; returns the ReLU outputs by name.

    Built from `shared.vgg16_weights.load_vgg16` (HED's VGG16: Caffe convention, BGR 0..255 minus means),
    so it takes RGB 0..1 and converts it here.
    """

    def __init__(self, wanted: Sequence[str], layers: list[ConvLayer] | None = None) -> None:
        super().__init__()
        layers = layers if layers is not None else load_vgg16(models=model_store())
        names = [layer.name for layer in layers]
        missing = [name for name in wanted if name not in names]
        if missing:
            raise ValueError(f"unknown VGG16 layers {missing}; known: {names}")
        self.wanted = list(wanted)
        last = max(names.index(name) for name in wanted)
        self.names = names[: last + 1]
        self.pool_before = [layer.pool_before for layer in layers[: last + 1]]
        self.convs = nn.ModuleList()
        for layer in layers[: last + 1]:
            conv = nn.Conv2d(layer.kernel.shape[1], layer.kernel.shape[0], 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(layer.kernel))
                assert conv.bias is not None
                conv.bias.copy_(torch.from_numpy(layer.bias))
            self.convs.append(conv)
        self.requires_grad_(False)
        self.eval()
        self.mean: torch.Tensor
        self.register_buffer("mean", torch.tensor(BGR_MEAN, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, rgb: torch.Tensor) -> dict[str, torch.Tensor]:
        x = rgb.flip(1) * 255.0 - self.mean
        out: dict[str, torch.Tensor] = {}
        for name, pool, conv in zip(self.names, self.pool_before, self.convs, strict=True):
            if pool:
                x = functional.max_pool2d(x, 2)
            x = functional.relu(conv(x))
            if name in self.wanted:
                out[name] = x
        return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """Batch of Gram matrices, normalised by the number of entries (so layers weigh alike at any size)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)

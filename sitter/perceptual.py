"""VGG16 features and Gram-matrix style statistics, run with onnxruntime (no torch, no TensorFlow).

The graph is built in memory from the HED VGG16 weights (`shared.vgg16_weights`): 3x3 convolutions with
ReLU, 2x2 max pools, outputs after relu1_1, relu2_1, relu3_1 and relu4_1 (Gatys et al.'s style layers).
Height and width are symbolic, so any crop runs at its own size.
"""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from shared.models import ModelStore
from shared.vgg16_weights import load_vgg16, preprocess

STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1")


def build_graph(models: ModelStore | None = None) -> bytes:
    """The ONNX model of VGG16 up to the last style layer."""
    nodes, inits, outputs = [], [], []
    current = "image"
    last = STYLE_LAYERS[-1]
    for layer in load_vgg16(models=models):
        if layer.pool_before:
            nodes.append(
                helper.make_node(
                    "MaxPool", [current], [f"{layer.name}_pool"], kernel_shape=[2, 2], strides=[2, 2]
                )
            )
            current = f"{layer.name}_pool"
        inits += [
            numpy_helper.from_array(layer.kernel, f"{layer.name}_w"),
            numpy_helper.from_array(layer.bias, f"{layer.name}_b"),
        ]
        nodes.append(
            helper.make_node(
                "Conv",
                [current, f"{layer.name}_w", f"{layer.name}_b"],
                [f"{layer.name}_conv"],
                pads=[1, 1, 1, 1],
            )
        )
        nodes.append(helper.make_node("Relu", [f"{layer.name}_conv"], [layer.name]))
        current = layer.name
        if layer.name in STYLE_LAYERS:
            outputs.append(
                helper.make_tensor_value_info(layer.name, TensorProto.FLOAT, [1, None, None, None])
            )
        if layer.name == last:
            break
    graph = helper.make_graph(
        nodes,
        "vgg16_style",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, "h", "w"])],
        outputs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return bytes(model.SerializeToString())


class Features:
    """VGG16 style-layer activations of any RGB image; the session is built once."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        model = build_graph(models)
        onnx.checker.check_model(onnx.load_from_string(model))
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        """One (C, h, w) float32 array per style layer."""
        outputs = self.session.run(list(STYLE_LAYERS), {"image": preprocess(rgb)})
        return [out[0] for out in outputs]


def gram(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted Gram matrix (C x C) of (C, h, w) features; `weights` (any size) is resized to h x w."""
    channels, h, w = features.shape
    mask = cv2.resize(weights.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA).reshape(-1)
    total = float(mask.sum())
    if total <= 1e-6:
        return np.zeros((channels, channels), dtype=np.float64)
    flat = features.reshape(channels, -1).astype(np.float64)
    return (flat * mask) @ flat.T / total


def style_distance(grams_a: list[np.ndarray], grams_b: list[np.ndarray]) -> float:
    """Mean over layers of the relative Frobenius distance ||A - B|| / ||B||: 0 is the same style."""
    values = [
        float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), 1e-9)
        for a, b in zip(grams_a, grams_b, strict=True)
    ]
    return float(np.mean(values))

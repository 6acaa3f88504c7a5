"""Portrait matting: the MediaPipe selfie segmenter (LiteRT) plus edge-aware refinement at full resolution.

Pipeline, each step chosen by measuring on the dev masks (see the segmenter report): stretch the photo to
the network's input, run it, keep only the main person at the network's resolution, then let a fast colour
guided filter lift the coarse 256 px probability to a soft matte that follows the photo's real edges.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter

from services.segmenter.guided_filter import fast_guided_filter
from services.segmenter.mask_cleanup import keep_main_person
from shared.models import model_path

GUIDE_LONG_SIDE = 320  # working grid of the guided filter: fine enough for hair, cheap on 2 cores
GUIDE_RADIUS = 4  # in working-grid pixels
GUIDE_EPS = 1e-3


class SelfieSegmenter:
    """One selfie-segmentation network: RGB photo in, person probability on the network's own grid out."""

    def __init__(self, path: Path, threads: int | None) -> None:
        self.interpreter = Interpreter(model_path=str(path), num_threads=threads or 2)
        self.interpreter.allocate_tensors()
        source = self.interpreter.get_input_details()[0]
        self.input_index = source["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        _, self.height, self.width, _ = (int(n) for n in source["shape"])

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability (float32, network height x width) for the photo stretched to the input size.

        The network expects float RGB in [0,1] (measured: [-1,1] scores worse).
        """
        small = cv2.resize(rgb, (self.width, self.height), interpolation=cv2.INTER_AREA)
        self.interpreter.set_tensor(self.input_index, (small.astype(np.float32) / 255.0)[None])
        self.interpreter.invoke()
        return np.array(self.interpreter.get_tensor(self.output_index)[0, :, :, 0], dtype=np.float32)


class PortraitMatter:
    """Loads the segmentation networks once; `matte` turns a portrait photo into a full-resolution alpha."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None) -> None:
        self.general = SelfieSegmenter(model_path("selfie-segmenter", model_dir), threads)
        self.landscape = SelfieSegmenter(model_path("selfie-segmenter-landscape", model_dir), threads)

    def coarse(self, rgb: np.ndarray) -> np.ndarray:
        """The main person's probability on the network's grid (any aspect: the caller resizes it)."""
        return keep_main_person(self.landscape.probability(rgb))

    def matte(self, rgb: np.ndarray) -> np.ndarray:
        """Soft alpha (float32 HxW in [0,1]) of the main person at the photo's full resolution."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected a uint8 HxWx3 RGB array, got {rgb.dtype} {rgb.shape}")
        height, width = rgb.shape[:2]
        scale = min(1.0, GUIDE_LONG_SIDE / max(height, width))
        work = (max(1, round(width * scale)), max(1, round(height * scale)))
        alpha = fast_guided_filter(rgb, self.coarse(rgb), GUIDE_RADIUS, GUIDE_EPS, work)
        return np.clip(alpha, 0.0, 1.0, out=alpha)


def binary_mask(matte: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The paper's hard person mask: alpha at or above the threshold."""
    return np.asarray(matte >= threshold)

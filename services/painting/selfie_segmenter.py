"""The MediaPipe selfie segmentation network (LiteRT): the segmenter's matte and the painting analysis's
search for small painted people (services/painting/small_people.py) both run it, so it lives in this
common core rather than in either worker service.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from ai_edge_litert.interpreter import Interpreter


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

    def probability_at(self, rgb: np.ndarray) -> np.ndarray:
        """Person probability at the photo's own size (bilinear from the network's grid): per pixel of a
        tile or close-up, to compare with a map over the whole picture."""
        height, width = rgb.shape[:2]
        return cv2.resize(self.probability(rgb), (width, height), interpolation=cv2.INTER_LINEAR)

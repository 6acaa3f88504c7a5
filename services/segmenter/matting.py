"""Portrait matting: the MediaPipe selfie segmenters (LiteRT) plus edge-aware refinement at full resolution.

Pipeline, each step chosen by measuring on the dev masks (EG1800 portraits): stretch the photo to both
networks' inputs (stretching beat letterbox and crop), average their probabilities, keep only the main
person at that coarse resolution, then let a fast colour guided filter lift the 256 px probability to a
soft matte that follows the photo's real edges, within a band around the networks' outline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from services.painting.selfie_segmenter import SelfieSegmenter
from services.segmenter.guided_filter import fast_guided_filter
from services.segmenter.mask_cleanup import keep_main_person
from shared.models import ModelStore, model_path

if TYPE_CHECKING:
    from services.painting.detectors import Detection
    from services.segmenter.person_check import PersonFinder

GUIDE_LONG_SIDE = 320  # working grid of the guided filter: fine enough for hair, cheap on 2 cores
GUIDE_RADIUS = 6  # in working-grid pixels
GUIDE_EPS = 3e-3
CONTRAST = 4.0  # the networks' mean probability is stretched around 0.5 by this gain
BAND = 6  # working-grid pixels either side of the network's outline where the guided filter decides
EDGE_GAIN = 1.5  # final alpha stretched around 0.5: solid ears and collars, no faint halo, hair still soft


def decided_outside_band(source: np.ndarray, band: int) -> tuple[np.ndarray, np.ndarray]:
    """The hard mask, and a weight that is 1 within `band` pixels of its outline and fades to 0 beyond.

    The guided filter's local colour model extrapolates badly far from the outline: a gold badge on a white
    cap, or a shirt whose colour resembles the wall, would turn grey. Its answer is trusted only in a band
    around the network's edge, where the true edge can be; elsewhere the network's decision stands.
    """
    hard = (source >= 0.5).astype(np.uint8)
    size = 2 * band + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    edge = cv2.dilate(hard, kernel) - cv2.erode(hard, kernel)
    trust = cv2.blur(edge.astype(np.float32), (size, size))
    return hard.astype(np.float32), np.minimum(trust * 2.0, 1.0)


class PortraitMatter:
    """Loads the segmentation networks once; `matte` turns a portrait photo into a full-resolution alpha."""

    def __init__(self, models: ModelStore | None = None, threads: int | None = None) -> None:
        self.general = SelfieSegmenter(model_path("selfie-segmenter", models), threads)
        self.landscape = SelfieSegmenter(model_path("selfie-segmenter-landscape", models), threads)

    def coarse(self, rgb: np.ndarray) -> np.ndarray:
        """The main person's probability on the landscape network's grid (the caller resizes it).

        Both networks see the photo and their probabilities are averaged: each misses parts the other
        gets (the general one a white cap against the sky, the landscape one loose shoulders), and the
        mean scores best on the dev masks. The contrast stretch then settles where the two nearly agree,
        so only the outline is left for the guided filter to soften.
        """
        grid = (self.landscape.width, self.landscape.height)
        general = cv2.resize(self.general.probability(rgb), grid, interpolation=cv2.INTER_LINEAR)
        mean = (general + self.landscape.probability(rgb)) * 0.5
        return keep_main_person(np.clip((mean - 0.5) * CONTRAST + 0.5, 0.0, 1.0))

    def matte(self, rgb: np.ndarray) -> np.ndarray:
        """Soft alpha (float32 HxW in [0,1]) of the main person at the photo's full resolution."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected a uint8 HxWx3 RGB array, got {rgb.dtype} {rgb.shape}")
        height, width = rgb.shape[:2]
        scale = min(1.0, GUIDE_LONG_SIDE / max(height, width))
        work = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, work, interpolation=cv2.INTER_AREA) if scale < 1.0 else rgb
        source = cv2.resize(self.coarse(small), work, interpolation=cv2.INTER_LINEAR)
        soft = fast_guided_filter(rgb, small, source, GUIDE_RADIUS, GUIDE_EPS)
        decided, trust = decided_outside_band(source, BAND)
        # decided + trust * (soft - decided), then the edge gain, in place on the full-size planes
        decided = cv2.resize(decided, (width, height), interpolation=cv2.INTER_LINEAR)
        alpha = soft
        alpha -= decided
        alpha *= cv2.resize(trust, (width, height), interpolation=cv2.INTER_LINEAR)
        alpha += decided
        del decided
        alpha -= 0.5
        alpha *= EDGE_GAIN
        alpha += 0.5
        return np.clip(alpha, 0.0, 1.0, out=alpha)


def binary_mask(matte: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """The paper's hard person mask: alpha at or above the threshold."""
    return np.asarray(matte >= threshold)


class PersonMatter:
    """The matte and the check that it holds a person: what the segment stage and the CLI run together."""

    def __init__(
        self, models: ModelStore | None = None, threads: int | None = None, finder: PersonFinder | None = None
    ) -> None:
        from services.segmenter.person_check import PersonFinder

        self.matter = PortraitMatter(models, threads)
        self.finder = finder or PersonFinder(models, threads)

    def matte(self, rgb: np.ndarray, full_range: list[Detection] | None = None) -> np.ndarray:
        """The person's soft alpha; NoPersonError when the photo shows no person (or too little of one).
        `full_range`: the full-range face detector's detections on `rgb`, when the caller has them."""
        alpha = self.matter.matte(rgb)
        self.finder.require_person(rgb, alpha, full_range)
        return alpha

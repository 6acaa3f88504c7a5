"""How abstract a painting is: 0 for a smooth, glazed, realistic surface (Raphael, Mona Lisa, Vermeer), 1 for
bold strokes, hard edges and strong colour (Starry Night, Composition VII). Deep Painterly Harmonization
(Luan et al. 2018) sets its transfer's strength from such an estimate; here it sets how much of the style
network's strokes a person gets (services/stylizer/painterly.py).

Four cheap measures on the painting's lightness and colour at a fixed working size (WORK_SIDE on the long
side, so a 4000 px scan and a 600 px thumbnail of the same painting score alike), each mapped linearly from
its range over the bundled gallery (low: the smoothest old masters, high: the most expressive) to 0..1:

- edges: share of Canny edge pixels on L* lightly blurred. Drawn contours and stroke boundaries; a glazed
  surface has edges only at its few forms (Raphael 0.03, Starry Night 0.29).
- strokes: mean absolute band-pass of L* (Gaussian sigma 1 minus sigma 3, in L* units): the brush marks at
  the scale the style network paints. Glazes blend them away (Raphael 0.8, Starry Night 4.4).
- shapes: mean absolute band-pass at a coarser scale (sigma 3 minus sigma 12): contrast between bold flat
  shapes (Udnie, Matisse, Kandinsky) rather than the soft modelling of realistic forms (Mona Lisa 2.9,
  Udnie 7.2).
- chroma: mean Lab chroma. Expressionist and fauvist palettes are strong, old masters' earth and glaze
  palettes muted (Monet's brown self-portrait 8, Kandinsky's Murnau 32).

The score is their mean. Pure numpy/OpenCV, ~10 ms at 512 px plus the resize.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np

WORK_SIDE = 512
# (low, high) of each measure: the gallery's smoothest and most expressive (docs/quality.md lists them)
RANGES = {
    "edges": (0.03, 0.25),
    "strokes": (0.8, 4.0),
    "shapes": (2.5, 6.5),
    "chroma": (8.0, 30.0),
}


@dataclass(frozen=True)
class Abstraction:
    score: float  # 0 smooth and realistic .. 1 expressive
    edges: float
    strokes: float
    shapes: float
    chroma: float

    def to_json(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Abstraction:
        return cls(**{key: float(data[key]) for key in ("score", "edges", "strokes", "shapes", "chroma")})


def estimate_abstraction(rgb: np.ndarray) -> Abstraction:
    """The abstraction of a uint8 RGB painting (or a region of one)."""
    height, width = rgb.shape[:2]
    scale = WORK_SIDE / max(height, width)
    if scale < 1:
        size = (max(8, round(width * scale)), max(8, round(height * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb.astype(np.float32) * (1.0 / 255.0), cv2.COLOR_RGB2Lab)
    lightness = np.ascontiguousarray(lab[..., 0])
    fine = cv2.GaussianBlur(lightness, (0, 0), 1.0)
    mid = cv2.GaussianBlur(lightness, (0, 0), 3.0)
    coarse = cv2.GaussianBlur(lightness, (0, 0), 12.0)
    edge_map = cv2.Canny(np.clip(fine * 2.55, 0, 255).astype(np.uint8), 30, 60)
    measures = {
        "edges": float(np.count_nonzero(edge_map)) / edge_map.size,
        "strokes": float(np.abs(fine - mid).mean()),
        "shapes": float(np.abs(mid - coarse).mean()),
        "chroma": float(np.hypot(lab[..., 1], lab[..., 2]).mean()),
    }
    parts = [float(np.clip((measures[k] - lo) / (hi - lo), 0.0, 1.0)) for k, (lo, hi) in RANGES.items()]
    return Abstraction(score=float(np.mean(parts)), **measures)


def known_or_estimated(known: Abstraction | None, painting: np.ndarray) -> Abstraction:
    """A gallery painting's shipped (or an added one's stored) estimate; else, an uploaded painting's, now."""
    return known if known is not None else estimate_abstraction(painting)

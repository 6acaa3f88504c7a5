"""Keep only the main person in a coarse probability map: drop stray islands, fill small holes.

The network sometimes fires on a poster, a second face in the crowd or a patch of skin-coloured wall, and
sometimes leaves a pinhole in a dark sweater. Both are cheap to fix at the network's resolution, before the
edge refinement spreads them to full size.
"""

from __future__ import annotations

import cv2
import numpy as np


def keep_main_person(
    probability: np.ndarray, threshold: float = 0.5, margin: float = 0.02, max_hole: float = 0.005
) -> np.ndarray:
    """Probability map with everything away from the largest person blob zeroed and small holes set to 1.

    margin: how far (fraction of the long side) around the main blob the map survives, so the soft fringe
    of hair and stray tufts or fingers just detached from the body are kept. max_hole: holes (background
    enclosed by the person, not touching the border) smaller than this fraction of the image are filled.
    """
    person = (probability >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(person, connectivity=8)
    if count <= 1:
        return probability
    main = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    reach = max(1, round(margin * max(probability.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    zone = cv2.dilate(main.astype(np.uint8), kernel).astype(bool)
    cleaned = np.where(zone, probability, 0.0).astype(np.float32)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~main).astype(np.uint8), connectivity=4)
    height, width = probability.shape
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if not touches_border and area <= max_hole * probability.size:
            cleaned[labels == label] = 1.0
    return cleaned

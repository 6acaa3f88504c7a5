"""One entry point for the stylizer task and the in-process pipeline: the plan for a portrait and painting."""

from __future__ import annotations

import numpy as np

from services.compositor.placement import Placement
from services.painting.analysis import PaintingAnalyser
from services.painting.gallery_analysis import gallery_analysis, gallery_spots
from services.painting.plan import Plan, plan_placement
from services.painting.portrait import portrait_info


def plan_for(
    analyser: PaintingAnalyser,
    portrait: np.ndarray,
    painting: np.ndarray,
    painting_id: str | None,
    placement: Placement | None,
    spot: int | None,
) -> Plan:
    """A gallery painting uses its shipped analysis and spots; any other painting is analysed now."""
    if painting_id:
        analysis, spots = gallery_analysis(painting_id), gallery_spots(painting_id)
    else:
        analysis, spots = analyser.analyse(painting), None
    return plan_placement(analysis, portrait_info(portrait, analyser.faces), placement, spot, spots)

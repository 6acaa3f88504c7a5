"""One entry point for the stylizer task and the in-process pipeline: the plan for a portrait and painting."""

from __future__ import annotations

import numpy as np

from services.painting.analysis import PaintingAnalyser
from services.painting.detectors import Detection
from services.painting.known import KnownPainting
from services.painting.placement import Placement
from services.painting.plan import Plan, plan_placement
from services.painting.portrait import portrait_info
from services.painting.scene import PaintingAnalysis


def analysis_for(
    analyser: PaintingAnalyser, painting: np.ndarray, known: KnownPainting | None
) -> PaintingAnalysis:
    """A gallery painting's (bundled or added) shipped or stored analysis; any other painting's, made now."""
    return known.analysis if known is not None else analyser.analyse(painting)


def plan_for(
    analyser: PaintingAnalyser,
    portrait: np.ndarray,
    painting: np.ndarray,
    known: KnownPainting | None,
    placement: Placement | None,
    spot: int | None,
    faces_found: list[Detection] | None = None,
    analysis: PaintingAnalysis | None = None,
) -> Plan:
    """A gallery painting (bundled or added) comes with its analysis and spots; any other painting is
    analysed now, unless the caller has (`analysis`: from analysis_for, whose abstraction the stylizer uses
    too). `faces_found`: the analyser's face detector's detections on `portrait`, when known."""
    analysis = analysis or analysis_for(analyser, painting, known)
    spots = known.spots if known is not None else None
    info = portrait_info(portrait, analyser.faces, faces_found)
    return plan_placement(analysis, info, placement, spot, spots)

"""The gallery's analyses, computed once at build time and shipped as shared/data/paintings/analysis.json.

Shipping them means every worker and the gateway (which has no ML libraries) use the very same faces,
figures and spots, and no process pays ~200 ms per painting at start-up. A test recomputes them and
checks the file is current. Regenerate after changing the gallery or the analysis:

    python -m services.painting.gallery_analysis
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from services.painting.analysis import PaintingAnalyser
from services.painting.plan import Spot, suggest_spots
from services.painting.scene import PaintingAnalysis
from shared import gallery
from shared.settings import model_store


def analysis_document(analyser: PaintingAnalyser, painting: np.ndarray) -> dict[str, Any]:
    """What is kept of a painting's analysis: faces, figures, ground, saliency and the suggested spots.
    The same for the bundled gallery (this file's output) and the operator's added paintings."""
    analysis = analyser.analyse(painting)
    return {**analysis.to_json(), "spots": [asdict(spot) for spot in suggest_spots(analysis)]}


def compute(analyser: PaintingAnalyser) -> dict[str, dict[str, Any]]:
    """{painting id: analysis JSON with its suggested spots} for the whole gallery."""
    return {
        painting_id: analysis_document(analyser, gallery.load_painting(painting_id))
        for painting_id in gallery.paintings()
    }


@cache
def gallery_analysis(painting_id: str) -> PaintingAnalysis:
    """The shipped analysis (parsed once per process); unknown ids raise UnknownPaintingError."""
    gallery.painting(painting_id)
    return PaintingAnalysis.from_json(json.loads(gallery.ANALYSIS_PATH.read_text())[painting_id])


def gallery_spots(painting_id: str) -> list[Spot]:
    return [Spot(**spot) for spot in gallery.spots(painting_id)]  # type: ignore[arg-type]


def main(path: Path = gallery.ANALYSIS_PATH) -> int:
    data = compute(PaintingAnalyser(model_store()))
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({len(data)} paintings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
